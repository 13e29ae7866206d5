/** The times in a usage (`timeToFirstPartialMs`, `durationMs`): read from the call or stream's own start. */
import { Baml, describe, Effect, expect, layer, ScriptedProvider, Stream } from "#line"
import { marker, scriptFor, shortResume, TestLayer } from "./fixtures.js"

const resume = shortResume("Ada Lovelace")

layer(TestLayer, { timeout: "60 seconds", excludeTestServices: true })("Usage: times", (it) => {
  describe("Baml.withUsage", () => {
    it.effect("a stream's times run from its own start: its first partial within its duration, within the caller's wait", () =>
      Effect.gen(function*() {
        const mark = marker("usage-times")
        yield* scriptFor(mark, ScriptedProvider.json(resume, { delayMs: 5, chunkSize: 8 }))
        const before = performance.now()
        const [, usages] = yield* Baml.withUsage(Stream.runDrain(Baml.stream("ExtractResume", { resume: mark })))
        const waited = performance.now() - before
        expect(usages).toHaveLength(1)
        const [usage] = usages
        expect(usage!.outcome).toBe("success")
        expect(usage!.timeToFirstPartialMs).toBeGreaterThanOrEqual(0)
        expect(usage!.timeToFirstPartialMs).toBeLessThanOrEqual(usage!.durationMs)
        expect(usage!.durationMs).toBeGreaterThan(0)
        // the same clock as the meter's (one process): a duration counted from anywhere else would not fit in the wait
        expect(usage!.durationMs).toBeLessThanOrEqual(waited)
      }), 20_000)
  })
})
