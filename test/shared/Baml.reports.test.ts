/**
 * The stream bridge's handling of what the engine reports through a stream's callback, beyond what the scripted
 * provider can make it report: an error, a result that is not ok (a failed attempt), one that cannot be read, and a
 * failure once the engine has settled (`test/engineReports.ts`). On both lines.
 */
import { Baml, BamlRuntime, Effect, expect, Layer, layer, ScriptedProvider, Stream } from "#line"
import { callbackErrorMessage, notOkValue, rejectedMessage, reporting, reports, signals } from "../engineReports.js"
import { marker, scriptFor, shortResume, TestLayer } from "./fixtures.js"

const ReportingLayer = Layer.effect(
  BamlRuntime.BamlRuntime,
  Effect.map(BamlRuntime.BamlRuntime, (runtime) => ({ ...runtime, engine: reporting(runtime.engine) }))
).pipe(Layer.provideMerge(TestLayer))

layer(ReportingLayer, { timeout: "60 seconds", excludeTestServices: true })("Baml: what the engine reports through a stream's callback", (it) => {
  const streamOf = (report: string) =>
    Effect.gen(function*() {
      const mark = marker(report)
      yield* scriptFor(mark, ScriptedProvider.json(shortResume("Ada Lovelace"), { delayMs: 2 }))
      return Baml.stream("ExtractResume", { resume: mark })
    })

  it.effect("an error reported through the callback fails the stream with it, although the engine's result is ok", () =>
    Effect.gen(function*() {
      const [error, usages] = yield* Baml.withUsage(Effect.flip(Stream.runDrain(yield* streamOf(reports.error))))
      expect(error._tag).toBe("BamlRuntimeError")
      expect(error.message).toBe(callbackErrorMessage)
      // reported as the failure it is, with its error's tag
      expect(usages.map((usage) => [usage.kind, usage.outcome, usage.error, usage.aborted])).toEqual([
        ["stream", "failure", "BamlRuntimeError", false]
      ])
    }), 20_000)

  it.effect("a stream the engine settles with a failure fails with it, and is not aborted afterwards", () =>
    Effect.gen(function*() {
      const mark = marker(reports.rejected)
      yield* scriptFor(mark, ScriptedProvider.json(shortResume("Ada Lovelace"), { delayMs: 2 }))
      const error = yield* Effect.flip(Stream.runDrain(Baml.stream("ExtractResume", { resume: mark })))
      expect(error._tag).toBe("BamlRuntimeError")
      expect(error.message).toBe(rejectedMessage)
      // the stream's finalizer has run: a settled stream's wire is disarmed, so it was not pulled
      expect(signals.get(mark)?.aborted).toBe(false)
    }), 20_000)

  it.effect("a result that is not ok (a failed attempt) is never delivered as a partial", () =>
    Effect.gen(function*() {
      const elements = Array.from(yield* Stream.runCollect(yield* streamOf(reports.notOk)))
      expect(elements.length).toBeGreaterThan(1)
      expect(elements).not.toContainEqual(notOkValue)
      expect(elements[elements.length - 1]).toEqual(shortResume("Ada Lovelace"))
    }), 20_000)

  it.effect("a result whose value cannot be read is skipped: the reader gets the readable ones", () =>
    Effect.gen(function*() {
      const elements = Array.from(yield* Stream.runCollect(yield* streamOf(reports.unreadable)))
      expect(elements.length).toBeGreaterThan(1)
      expect(elements.filter((element) => element === undefined)).toEqual([])
      expect(elements[elements.length - 1]).toEqual(shortResume("Ada Lovelace"))
    }), 20_000)
})
