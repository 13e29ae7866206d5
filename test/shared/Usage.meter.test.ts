/** What the meter of a call or stream reads when it ends: its own times, and the engine's records (or their absence). */
import * as Engine from "@boundaryml/baml"
import { Baml, describe, Effect, expect, layer, ScriptedProvider, Stream } from "#line"
import { marker, scriptFor, shortResume, TestLayer } from "./fixtures.js"

const resume = shortResume("Ada Lovelace")

// The engine's Collector whose `last` cannot be read: the native read fails, as a broken engine's would.
const unreadableRecords = Effect.acquireRelease(
  Effect.sync(() => {
    const original = Object.getOwnPropertyDescriptor(Engine.Collector.prototype, "last")!
    Object.defineProperty(Engine.Collector.prototype, "last", {
      ...original,
      get: () => {
        throw new Error("the engine's records cannot be read")
      }
    })
    return original
  }),
  (original) => Effect.sync(() => Object.defineProperty(Engine.Collector.prototype, "last", original))
)

layer(TestLayer, { timeout: "60 seconds", excludeTestServices: true })("Usage: what the meter reads", (it) => {
  describe("times", () => {
    it.effect("a stream's times run from its own start: its first partial within its duration, within the caller's wait", () =>
      Effect.gen(function*() {
        const mark = marker("meter-times")
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
        expect(usage!.durationMs).toBeLessThanOrEqual(waited)
      }), 20_000)
  })

  describe("the engine's records", () => {
    it.effect("when they cannot be read, the call's outcome is still reported, with nothing counted", () =>
      Effect.scoped(Effect.gen(function*() {
        const mark = marker("meter-unreadable")
        yield* scriptFor(mark, ScriptedProvider.json(resume, { delayMs: 1, chunkSize: 8 }))
        yield* unreadableRecords
        const [value, usage] = yield* Baml.callWithUsage("ExtractResume", { resume: mark })
        expect(value).toEqual(resume)
        expect(usage).toMatchObject({
          kind: "call",
          functionName: "ExtractResume",
          outcome: "success",
          aborted: false,
          client: "unknown",
          attempts: 0,
          inputTokens: 0,
          outputTokens: 0,
          reported: { inputTokens: false, outputTokens: false, cachedInputTokens: false }
        })
      })), 20_000)
  })
})
