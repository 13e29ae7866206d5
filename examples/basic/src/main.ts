/**
 * A complete program on the typed client that `npm run generate` writes to src/baml_client from ./baml_src.
 *
 * 1. ExtractRecipe as an Effect: its result is a `Recipe`, which goes straight into RateDifficulty.
 * 2. ExtractRecipe as a Stream of partial recipes, stopped as soon as two steps are known: ending the stream aborts
 *    the request, and the provider's record shows how much of the reply was never generated.
 *
 * Offline by default, even with OPENAI_API_KEY set: the scripted provider from effect-baml/testing plays the model.
 * With EFFECT_BAML_REAL_PROVIDER=openai (and OPENAI_API_KEY), the OpenAI client from baml_src/clients.baml answers.
 */
import { Cause, Console, Effect, Fiber, Layer, Option, Stream } from "effect"
import { BamlRuntime } from "effect-baml"
import { ScriptedProvider } from "effect-baml/testing"
import * as Recipes from "./baml_client/index.js"

const text = [
  "Sunday pancakes (feeds four).",
  "Whisk 2 cups of flour, 2 eggs, 1.5 cups of milk and a pinch of salt until smooth, then let the batter rest for",
  "ten minutes. Melt a little butter in a pan over medium heat, pour in a ladleful, and turn it once bubbles form.",
  "Keep the pancakes warm in a low oven while you fry the rest, and serve with lemon and sugar."
].join("\n")

// What the scripted provider replies: what a model would extract from `text`.
const reply: Recipes.Recipe = {
  title: "Sunday pancakes",
  servings: 4,
  ingredients: [
    { name: "flour", quantity: "2 cups" },
    { name: "eggs", quantity: "2" },
    { name: "milk", quantity: "1.5 cups" },
    { name: "salt", quantity: "a pinch" },
    { name: "butter", quantity: null },
    { name: "lemon", quantity: null },
    { name: "sugar", quantity: null }
  ],
  steps: [
    "Whisk the flour, eggs, milk and salt until smooth.",
    "Let the batter rest for ten minutes.",
    "Melt a little butter in a pan over medium heat.",
    "Pour in a ladleful of batter and turn the pancake once bubbles form.",
    "Keep the pancakes warm in a low oven while frying the rest.",
    "Serve with lemon and sugar."
  ]
}

// A real provider only when asked for by name: an API key in the environment alone spends nothing.
const choice = process.env.EFFECT_BAML_REAL_PROVIDER ?? ""
if (choice !== "" && choice !== "openai") throw new Error(`EFFECT_BAML_REAL_PROVIDER=${choice}: only "openai" is known`)
const openAi = choice === "openai"
const options = openAi ? { client: "OpenAI" } : {}

// Offline, the engine is loaded from the sources embedded in the generated client and pointed at the provider.
const Offline = Layer.unwrap(
  Effect.map(ScriptedProvider.ScriptedProvider, (provider) =>
    BamlRuntime.layerFromFiles(Recipes.files, {
      env: { ...process.env, SCRIPTED_BASE_URL: provider.baseUrl }
    }))
).pipe(
  Layer.provideMerge(ScriptedProvider.layer({
    rules: [
      { match: (prompt) => prompt.includes("How hard"), script: { reply: "Easy" } },
      { script: ScriptedProvider.json(reply, { chunkSize: 8, delayMs: 20 }) }
    ]
  }))
)

// Online, the generated `layer` needs nothing else: it reads OPENAI_API_KEY from the environment.
const Online = Recipes.layer

const program = Effect.gen(function*() {
  yield* Console.log(
    openAi
      ? "Provider: OpenAI (gpt-4o-mini), because EFFECT_BAML_REAL_PROVIDER=openai: this spends tokens\n"
      : "Provider: the scripted provider (offline, no tokens spent; EFFECT_BAML_REAL_PROVIDER=openai uses OpenAI)\n"
  )
  yield* Console.log(`1. Recipes.ExtractRecipe(text), then Recipes.RateDifficulty(recipe, "a beginner")`)
  const recipe = yield* Recipes.ExtractRecipe(text, options)
  const difficulty = yield* Recipes.RateDifficulty(recipe, "a beginner", options)
  yield* Console.log(`   ${recipe.title}, serves ${recipe.servings ?? "?"}: ${recipe.ingredients.length} ingredients,`)
  yield* Console.log(`   ${recipe.steps.length} steps, ${difficulty === Recipes.Difficulty.Easy ? "easy" : difficulty}`)

  yield* Console.log(`\n2. Recipes.stream.ExtractRecipe(text), until the first two steps are complete`)
  const partial = yield* Recipes.stream.ExtractRecipe(text, options).pipe(
    // Each element is an event: `Partial`, a `partial_types.Recipe` (fields still being written are null, lists still
    // growing), then one `Final`, a `Recipe`. Here only the recipe so far matters; `Baml.final` would give the Recipe.
    Stream.map((event) => event.value),
    Stream.changesWith((a, b) =>
      a.title === b.title && a.ingredients.length === b.ingredients.length && a.steps.length === b.steps.length
    ),
    Stream.tap((p) =>
      Console.log(`   ${p.title ?? "…"} · ${p.ingredients.length} ingredients · ${p.steps.length} steps`)
    ),
    // A third step has begun, so the first two are complete: the rest of the reply is not needed.
    Stream.takeUntil((p) => p.steps.length > 2),
    Stream.runLast
  )
  const steps = Option.match(partial, { onNone: () => [], onSome: (p) => p.steps.slice(0, 2) })
  yield* Console.log(`   first steps: ${steps.join(" ")}`)
  const provider = yield* Effect.serviceOption(ScriptedProvider.ScriptedProvider)
  if (Option.isNone(provider)) return
  // The request the stream left closes a moment later, when the provider sees the connection go.
  const records = yield* provider.value.settled
  const { planned, sent, status } = records[2]!
  yield* Console.log(`   the provider sent ${sent} of ${planned} chunks: the request was ${status}`)
}).pipe(Effect.provide(openAi ? Online : Offline))

const fiber = Effect.runFork(program)
// Ctrl-C interrupts the program like any other interrupt: the request in flight is aborted.
process.once("SIGINT", () => Effect.runFork(Fiber.interrupt(fiber)))
fiber.addObserver((exit) => {
  if (exit._tag === "Failure") {
    process.exitCode = 1
    console.error(Cause.pretty(exit.cause))
  }
})
