import { Effect, Layer } from "effect"
import { BamlRuntime } from "effect-baml"
import { ScriptedProvider } from "effect-baml/testing"

/** The scripted provider and a runtime loaded from the project's baml_src, pointed at it. */
export const TestLayer = Layer.unwrapEffect(
  Effect.map(
    ScriptedProvider.ScriptedProvider,
    (provider) => BamlRuntime.layerFromDirectory("baml_src", { env: { SCRIPTED_BASE_URL: provider.baseUrl } })
  )
).pipe(Layer.provideMerge(ScriptedProvider.layer()))

/** A resume as a model would write it, long enough that streaming it takes a few seconds at 5 ms a chunk. */
export const longResume = (name: string, skills = 120) => ({
  name,
  email: `${name.toLowerCase().replace(/\W+/g, ".")}@example.com`,
  skills: Array.from({ length: skills }, (_, i) => `skill number ${i}`),
  experience: [
    { company: "Analytical Engines Ltd", title: "Programmer", years: 3 },
    { company: "Royal Society", title: "Correspondent", years: 9 }
  ]
})

/** A short resume that streams in well under a second. */
export const shortResume = (name: string) => longResume(name, 6)

let counter = 0
/** A marker unique to one test, put in the input so that a rule matches only that test's requests. */
export const marker = (label: string) => `[${label}-${++counter}-${Math.random().toString(36).slice(2, 8)}]`

/** Waits until the provider has finished the one request whose prompt contains `mark` (completed or closed). */
export const settled = (mark: string) =>
  Effect.flatMap(ScriptedProvider.ScriptedProvider, (provider) =>
    provider.awaitRequests((records) => records.some((r) => r.prompt.includes(mark) && r.status !== "open"))
  ).pipe(
    Effect.map((records) => records.find((r) => r.prompt.includes(mark))!),
    Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => new Error(`request ${mark} never settled`) })
  )
