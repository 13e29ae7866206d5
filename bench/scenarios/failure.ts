/**
 * A provider failure reaching user code: the provider answers every request with an HTTP 500. The engine is seen
 * through `watchingOutcomes`, which stamps the moment its native side hands the failure to JS (the `done()` or call
 * promise settling, or an error given to the stream's callback); each sample is the moment user code's own handler
 * runs (a `catch` block, `Effect.catch` on each Effect line) minus that stamp. Streams and calls are measured apart.
 */
import { Effect, Stream } from "effect"
import { Effect3 } from "../effect3.js"
import { Baml, BamlRuntime } from "../../src/index.js"
import { ScriptedProvider } from "../../src/testing/index.js"
import type { Args } from "../clients.js"
import { lines, nativeStream, officialStream } from "../clients.js"
import { resume } from "../replies.js"
import type { Scenario } from "../scenario.js"
import { collector, eachRound, mark, useScript } from "../scenario.js"
import { rotate } from "../stats.js"
import type { Target } from "../target.js"
import { watchingOutcomes } from "../target.js"

const fn = "ExtractResume"

/** Runs a call or stream that fails; resolves with the moment user code's handler ran (NaN if it did not fail). */
type Fail = (target: Target, args: Args) => Effect.Effect<number, unknown>

const caught = (run: () => Promise<unknown>): Effect.Effect<number> =>
  Effect.promise(() =>
    run().then(
      () => Number.NaN,
      () => performance.now()
    )
  )

const onFailure = <A, E>(effect: Effect.Effect<A, E, BamlRuntime.BamlRuntime>, target: Target) =>
  effect.pipe(
    Effect.map(() => Number.NaN),
    Effect.catch(() => Effect.sync(() => performance.now())),
    Effect.provideService(BamlRuntime.BamlRuntime, target.service)
  )

const streams: ReadonlyArray<{ readonly label: string; readonly fail: Fail }> = [
  { label: "native", fail: (target, args) => caught(() => nativeStream(target, fn, args, () => undefined)) },
  {
    label: "official",
    fail: (target, args) =>
      caught(async () => {
        const stream = officialStream(target, fn, args)
        for await (const _ of stream) {
          // nothing: the reply fails before any partial
        }
        await stream.getFinalResponse()
      })
  },
  { label: lines.effect4, fail: (target, args) => onFailure(Stream.runDrain(Baml.stream(fn, args)), target) },
  {
    label: lines.effect3,
    fail: (target, args) => Effect.map(Effect.promise(() => Effect3.streamFailure(target.service, fn, args)), (f) => f.at)
  }
]

const calls: ReadonlyArray<{ readonly label: string; readonly fail: Fail }> = [
  {
    label: "native",
    fail: (target, args) =>
      caught(async () => {
        const ctx = target.ctx.cloneContext()
        const result = await target.engine.callFunction(fn, { ...args }, ctx, undefined, undefined, [], {}, target.env)
        return result.parsed(false)
      })
  },
  { label: lines.effect4, fail: (target, args) => onFailure(Baml.call(fn, args), target) },
  {
    label: lines.effect3,
    fail: (target, args) => Effect.map(Effect.promise(() => Effect3.callFailure(target.service, fn, args)), (f) => f.at)
  }
]

export const failure: Scenario = {
  name: "failure",
  steps: (rounds) => (rounds.failure + 1) * (streams.length + calls.length),
  run: (bench) =>
    Effect.gen(function*() {
      yield* useScript(bench.provider, { ...ScriptedProvider.json(resume(2)), fault: { _tag: "HttpError", status: 500 } })
      let engineAt = Number.NaN
      const target = watchingOutcomes(bench.target, (at) => (engineAt = at))
      const stream = collector()
      const call = collector()
      const kinds = [{ name: "stream", ways: streams, rows: stream }, { name: "call", ways: calls, rows: call }]
      yield* eachRound(bench.rounds.failure, (round, recorded) =>
        Effect.forEach(kinds, (kind) =>
          Effect.forEach(rotate(kind.ways, round), (way) =>
            Effect.gen(function*() {
              engineAt = Number.NaN
              const userAt = yield* way.fail(target, { resume: mark("failure") })
              if (!Number.isFinite(userAt)) return yield* Effect.die(new Error(`${way.label}: the ${kind.name} did not fail`))
              if (recorded) kind.rows.add(way.label, userAt - engineAt)
              bench.tick(`HTTP 500 (${kind.name}): ${way.label}`)
            }), { discard: true }), { discard: true }))
      const method = "The provider answers every request with an HTTP 500. Sample: the moment user code's handler runs " +
        "(a `catch` block; `Effect.catch` on the Effect lines) minus the moment the engine's native side handed the " +
        "failure to JS (its promise settling, or an error given to the stream's callback, stamped through a Proxy " +
        "on the engine)."
      return [
        {
          id: "streamFailure",
          title: "HTTP 500 on a stream: engine hands it to JS → user code's handler",
          unit: "ms",
          rows: stream.rows(),
          method
        },
        {
          id: "callFailure",
          title: "HTTP 500 on a call: engine hands it to JS → user code's handler",
          unit: "ms",
          rows: call.rows(),
          method
        }
      ]
    })
}
