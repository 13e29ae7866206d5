/**
 * `Baml.streamWithReasoning`: the model's reasoning text as it arrives and its finish reason, in every provider format
 * that carries them, beside the partials and the final value, which are those of `Baml.streamEvents`.
 */
import { Baml, describe, Effect, expect, layer, ScriptedProvider, Stream } from "#line"
import { marker, providerClients, scriptFor, settled, shortResume, TestLayer } from "./fixtures.js"

const resume = shortResume("Ada Lovelace")
const reasoning = "The reply must be a Resume. The name comes first, then the email, then each skill in order. " +
  "Experience is a list of jobs with a company, a title and years."

/** Each format's default finish reason, as the scripted provider writes it. */
const finishReasons: Readonly<Record<ScriptedProvider.WireFormat, string>> = {
  "chat-completions": "stop",
  "anthropic-messages": "end_turn",
  responses: "completed",
  gemini: "STOP"
}

type Element = Baml.StreamEvent<unknown, unknown> | Baml.ModelEvent

const deltas = (elements: ReadonlyArray<Element>) =>
  elements.flatMap((element) => element._tag === "ReasoningDelta" ? [element.delta] : [])

layer(TestLayer, { timeout: "60 seconds", excludeTestServices: true })("Baml.streamWithReasoning", (it) => {
  describe.each(providerClients)("$format ($provider)", ({ client, format }) => {
    it.effect("streams the reasoning text whole, then one Finish with the provider's reason, then the Final", () =>
      Effect.gen(function*() {
        const mark = marker(`reasoning-${format}`)
        // 20 chunks of reasoning 40 ms apart: many times the 50 ms between reads, also on a loaded machine
        yield* scriptFor(mark, ScriptedProvider.json(resume, { reasoning, chunkSize: 8, delayMs: 40 }))
        const elements: ReadonlyArray<Element> = Array.from(
          yield* Stream.runCollect(Baml.streamWithReasoning("ExtractResume", { resume: mark }, { client }))
        )
        expect(deltas(elements).join("")).toBe(reasoning)
        // more than one delta: the text arrives as it is written, not at the end
        expect(deltas(elements).length).toBeGreaterThan(1)
        const tags = elements.map((element) => element._tag)
        expect(tags.filter((tag) => tag === "Finish")).toHaveLength(1)
        expect(tags.slice(-2)).toEqual(["Finish", "Final"])
        expect(elements.at(-2)).toMatchObject({ _tag: "Finish", reason: finishReasons[format] })
        // the reasoning is not part of the value: the final is the reply alone
        expect(elements.at(-1)).toMatchObject({ _tag: "Final", value: resume })
        expect(tags).toContain("Partial")
      }), 20_000)

    it.effect("the same reply through Baml.streamEvents parses to the same value, and reads none of the reasoning", () =>
      Effect.gen(function*() {
        const mark = marker(`reasoning-plain-${format}`)
        yield* scriptFor(mark, ScriptedProvider.json(resume, { reasoning, chunkSize: 8, delayMs: 1 }))
        const elements = Array.from(
          yield* Stream.runCollect(Baml.streamEvents("ExtractResume", { resume: mark }, { client }))
        )
        expect(elements.map((element) => element._tag).filter((tag) => tag !== "Partial")).toEqual(["Final"])
        expect(elements.at(-1)!.value).toEqual(resume)
        const record = yield* settled(mark)
        expect(record.status).toBe("completed")
      }), 20_000)
  })

  it.effect("a reply without reasoning: no ReasoningDelta, and the finish reason the script sets", () =>
    Effect.gen(function*() {
      const mark = marker("reasoning-none")
      yield* scriptFor(mark, ScriptedProvider.json(resume, { chunkSize: 16, delayMs: 1, finishReason: "length" }))
      const elements: ReadonlyArray<Element> = Array.from(
        yield* Stream.runCollect(Baml.streamWithReasoning("ExtractResume", { resume: mark }))
      )
      expect(deltas(elements)).toEqual([])
      expect(elements.filter((element) => element._tag === "Finish")).toMatchObject([{ reason: "length" }])
      expect(yield* Baml.final(Baml.streamWithReasoning("ExtractResume", { resume: mark }))).toEqual(resume)
    }), 20_000)

  it.effect("a consumer slower than the model still gets every piece of reasoning; partials replace each other", () =>
    Effect.gen(function*() {
      const mark = marker("reasoning-slow")
      yield* scriptFor(
        mark,
        ScriptedProvider.json(resume, { reasoning: reasoning.repeat(3), chunkSize: 4, delayMs: 1 })
      )
      const elements: Array<Element> = []
      yield* Baml.streamWithReasoning("ExtractResume", { resume: mark }).pipe(
        Stream.tap((element) => Effect.andThen(Effect.sync(() => elements.push(element)), Effect.sleep("40 millis"))),
        Stream.runDrain
      )
      expect(deltas(elements).join("")).toBe(reasoning.repeat(3))
      const record = yield* settled(mark)
      // far fewer partials than the reply's chunks: the newest one replaced those the consumer had not taken
      expect(elements.filter((element) => element._tag === "Partial").length).toBeLessThan(record.planned / 2)
      expect(elements.at(-1)).toMatchObject({ _tag: "Final", value: resume })
    }), 20_000)

  it.effect("ending it early aborts the request, during the reasoning", () =>
    Effect.gen(function*() {
      const mark = marker("reasoning-take")
      yield* scriptFor(mark, ScriptedProvider.json(resume, { reasoning: reasoning.repeat(20), chunkSize: 4, delayMs: 5 }))
      // up to the first reasoning delta (an empty partial the engine emits first may come before it)
      const first = Array.from(
        yield* Baml.streamWithReasoning("ExtractResume", { resume: mark }).pipe(
          Stream.takeUntil((element) => element._tag === "ReasoningDelta"),
          Stream.runCollect
        )
      )
      expect(first.at(-1)).toMatchObject({ _tag: "ReasoningDelta" })
      expect(first.filter((element) => element._tag !== "Partial" && element._tag !== "ReasoningDelta")).toEqual([])
      const record = yield* settled(mark)
      expect(record.status).toBe("closed-early")
      // it was cut during the reasoning: not one chunk of the reply was sent
      expect(record.sent).toBe(0)
    }), 20_000)
})
