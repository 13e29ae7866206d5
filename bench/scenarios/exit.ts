/**
 * Measure 3: leaving a stream early. Each way of leaving stops after the third partial reaches user code; the
 * provider then reports when the connection closed and which chunks it wrote after that moment (tokens paid for
 * and thrown away). The reply is ~320 chunks at 10 ms, so a stream that is not aborted runs for ~3 s more.
 */
import { Deferred, Effect, Fiber, Stream } from "effect"
import { Baml, BamlRuntime } from "../../src/index.js"
import { ScriptedProvider } from "../../src/testing/index.js"
import type { Args } from "../clients.js"
import { nativeStream, officialStream } from "../clients.js"
import { resume } from "../replies.js"
import type { Scenario } from "../scenario.js"
import { collector, eachRound, mark, settled, useScript } from "../scenario.js"
import { rotate } from "../stats.js"
import type { Target } from "../target.js"
import { watchingAborts } from "../target.js"

/** Partials user code takes before it leaves. */
const take = 3
const fn = "ExtractResume"

/** Streams `args` and leaves after `take` partials; returns the `performance.now()` of the moment it left. */
type Leave = (target: Target, args: Args) => Effect.Effect<number, unknown>

const ways: ReadonlyArray<{ readonly label: string; readonly leave: Leave }> = [
  {
    label: "native: abort signal",
    leave: (target, args) =>
      Effect.tryPromise(async () => {
        const controller = new AbortController()
        let seen = 0
        let leftAt = Number.NaN
        await nativeStream(target, fn, args, () => {
          if (++seen === take) {
            leftAt = performance.now()
            controller.abort()
          }
        }, controller.signal)
        return leftAt
      })
  },
  {
    label: "effect-baml: Fiber.interrupt",
    leave: (target, args) =>
      Effect.gen(function*() {
        const enough = yield* Deferred.make<void>()
        let seen = 0
        const fiber = yield* Baml.stream(fn, args).pipe(
          Stream.runForEach(() => ++seen === take ? Deferred.succeed(enough, undefined) : Effect.void),
          Effect.fork
        )
        yield* Deferred.await(enough)
        const leftAt = performance.now()
        yield* Fiber.interrupt(fiber)
        return leftAt
      }).pipe(Effect.provideService(BamlRuntime.BamlRuntime, target.service))
  },
  {
    label: "effect-baml: Stream.take",
    leave: (target, args) =>
      Effect.suspend(() => {
        let seen = 0
        let leftAt = Number.NaN
        return Baml.stream(fn, args).pipe(
          Stream.take(take),
          Stream.runForEach(() =>
            Effect.sync(() => {
              if (++seen === take) leftAt = performance.now()
            })
          ),
          Effect.map(() => leftAt),
          Effect.provideService(BamlRuntime.BamlRuntime, target.service)
        )
      })
  },
  {
    label: "official: abort signal + break",
    leave: (target, args) =>
      Effect.tryPromise(async () => {
        const controller = new AbortController()
        let seen = 0
        let leftAt = Number.NaN
        for await (const _ of officialStream(target, fn, args, controller.signal)) {
          if (++seen === take) {
            leftAt = performance.now()
            controller.abort()
            break
          }
        }
        return leftAt
      })
  },
  {
    label: "official: break, no abort",
    leave: (target, args) =>
      Effect.tryPromise(async () => {
        let seen = 0
        let leftAt = Number.NaN
        for await (const _ of officialStream(target, fn, args)) {
          if (++seen === take) {
            leftAt = performance.now()
            break
          }
        }
        return leftAt
      })
  }
]

export const exit: Scenario = {
  name: "exit",
  steps: (rounds) => (rounds.exit + 1) * ways.length,
  run: (bench) =>
    Effect.gen(function*() {
      yield* useScript(bench.provider, ScriptedProvider.json(resume(40), { delayMs: 10 }))
      let abortedAt = Number.NaN
      const target = watchingAborts(bench.target, (at) => (abortedAt = at))
      const abort = collector()
      const close = collector()
      const wasted = collector()
      yield* eachRound(bench.rounds.exit, (round, recorded) =>
        Effect.forEach(rotate(ways, round), (way) =>
          Effect.gen(function*() {
            const label = mark("exit")
            abortedAt = Number.NaN
            const leftAt = yield* way.leave(target, { resume: label })
            const record = yield* settled(bench.provider, label)
            if (recorded) {
              if (Number.isFinite(abortedAt)) abort.add(way.label, abortedAt - leftAt)
              close.add(way.label, (record.closedAt ?? Number.NaN) - leftAt)
              wasted.add(way.label, ScriptedProvider.chunksAfter(record, leftAt))
            }
            bench.tick(`exit: ${way.label}`)
          }), { discard: true }))
      return [
        {
          id: "abortAfterExit",
          title: "Leaving the stream → the call's abort signal fires",
          unit: "ms",
          rows: abort.rows(),
          method: "The client's share of the close: the moment the AbortSignal handed to the native call fires " +
            "(an `abort` listener added through a Proxy on the engine) minus the moment user code left."
        },
        {
          id: "closeAfterExit",
          title: "Leaving the stream → provider sees the connection close",
          unit: "ms",
          rows: close.rows(),
          method: `User code leaves once it has received ${take} partials; sample = the provider's \`closedAt\` ` +
            "for that request minus the moment user code left (for Fiber.interrupt: just before `Fiber.interrupt`). " +
            "A stream that is not aborted closes only when the reply is complete. The provider shares the event " +
            "loop with the client, so JS work a client still does after pulling the wire delays the moment the " +
            "provider notices the close; the row above separates the client's share."
        },
        {
          id: "chunksAfterExit",
          title: "Chunks the provider sent after user code left (10 ms pacing)",
          unit: "chunks",
          rows: wasted.rows(),
          method: "`ScriptedProvider.chunksAfter(record, leftAt)`: content chunks written at or after the moment " +
            "user code left."
        }
      ]
    })
}
