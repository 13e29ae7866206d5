/**
 * `Baml.stopWhen`: a stream ends at the first partial that is good enough, that partial is the result (typed), the
 * request is aborted there, and the usage says it stopped early and what it used.
 */
import { Baml, Client, Effect, expect, Kinds, layer, ScriptedProvider, Stream } from "#line"
import { describeArgs, kindsProfile, KindsLayer, longResume, marker, scriptFor, settled, TestLayer } from "./fixtures.js"

const resume = longResume("Ada Lovelace", 60)
// 8 characters a chunk at 5 ms: the whole reply takes about a second and a half
const reply = ScriptedProvider.json(resume, { chunkSize: 8, delayMs: 5 })

layer(TestLayer, { timeout: "60 seconds", excludeTestServices: true })("Baml.stopWhen", (it) => {
  it.effect("stops at the first partial with three skills: that partial typed, the request aborted, the usage says so", () =>
    Effect.gen(function*() {
      const mark = marker("stop-skills")
      yield* scriptFor(mark, reply)
      const [event, usages] = yield* Client.stream.ExtractResume(mark).pipe(
        Baml.stopWhen((partial) => partial.skills.length > 3),
        Baml.withUsage
      )
      expect(event._tag).toBe("Partial")
      // typed as the partial type: `skills` is a string[]
      const skills: ReadonlyArray<string> = event.value.skills
      expect(skills.slice(0, 3)).toEqual(resume.skills.slice(0, 3))
      const record = yield* settled(mark)
      expect(record.status).toBe("closed-early")
      expect(record.sent).toBeLessThan(record.planned / 2)
      const usage = usages[0]!
      expect(usage).toMatchObject({ stoppedEarly: true, aborted: true, outcome: "interrupted" })
      // what was received until the stop (estimated at four characters a token), not the whole reply
      expect(usage.characters).toBeGreaterThan(0)
      expect(usage.characters).toBeLessThanOrEqual(8 * record.sent)
      expect(usage.outputTokens).toBe(Math.ceil(usage.characters / 4))
      expect(usage.outputTokens).toBeLessThan(record.planned)
    }), 20_000)

  it.effect("a predicate no partial satisfies: the stream runs to its end and the result is the Final event", () =>
    Effect.gen(function*() {
      const mark = marker("stop-never")
      yield* scriptFor(mark, ScriptedProvider.json(resume, { chunkSize: 32, delayMs: 1 }))
      const [event, usages] = yield* Baml.streamEvents("ExtractResume", { resume: mark }).pipe(
        Baml.stopWhen(() => false),
        Baml.withUsage
      )
      expect(event).toMatchObject({ _tag: "Final", value: resume })
      expect(usages[0]).toMatchObject({ stoppedEarly: false, aborted: false, outcome: "success" })
      expect((yield* settled(mark)).status).toBe("completed")
    }), 20_000)

  it.effect("a stream cut short by Stream.take is aborted, but did not stop early", () =>
    Effect.gen(function*() {
      const mark = marker("stop-take")
      yield* scriptFor(mark, reply)
      const [, usages] = yield* Baml.stream("ExtractResume", { resume: mark }).pipe(
        Stream.take(2),
        Stream.runDrain,
        Baml.withUsage
      )
      expect(usages[0]).toMatchObject({ stoppedEarly: false, aborted: true })
    }), 20_000)

  it.effect("skips the model's events of Baml.streamWithReasoning", () =>
    Effect.gen(function*() {
      const mark = marker("stop-reasoning")
      yield* scriptFor(mark, ScriptedProvider.json(resume, { reasoning: "a thought ".repeat(30), chunkSize: 8, delayMs: 5 }))
      const event = yield* Baml.streamWithReasoning("ExtractResume", { resume: mark }).pipe(
        Baml.stopWhen((partial) => (partial as { readonly name?: string | null }).name === resume.name)
      )
      expect(event).toMatchObject({ _tag: "Partial", value: { name: resume.name } })
      expect((yield* settled(mark)).status).toBe("closed-early")
    }), 20_000)
})

layer(KindsLayer, { timeout: "60 seconds", excludeTestServices: true })("Baml.stopWhen on streaming states", (it) => {
  it.effect("stops once a @stream.with_state field is Complete, before the rest of the reply", () =>
    Effect.gen(function*() {
      const mark = marker("stop-state")
      // as a browser sends them: the types' values as the model writes them
      const { colors, limits, profile } = describeArgs(mark) as unknown as {
        readonly profile: Kinds.Profile
        readonly colors: Array<Kinds.Color>
        readonly limits: Record<string, number>
      }
      const labels = Array.from({ length: 80 }, (_, i) => `label number ${i}`)
      yield* scriptFor(mark, ScriptedProvider.json({ ...kindsProfile(mark), labels }, { chunkSize: 6, delayMs: 5 }))
      const [event, usages] = yield* Kinds.stream.Describe(profile, colors, mark, limits, "a, b").pipe(
        Baml.stopWhen((partial) => partial.status.state === "Complete"),
        Baml.withUsage
      )
      expect(event._tag).toBe("Partial")
      if (event._tag !== "Partial") return
      expect(event.value.status).toEqual({ value: "active", state: "Complete" })
      // the labels after it were not waited for
      expect(event.value.labels.length).toBeLessThan(labels.length)
      expect((yield* settled(mark)).status).toBe("closed-early")
      expect(usages[0]!.stoppedEarly).toBe(true)
    }), 20_000)
})
