/**
 * Measure 3: leaving a stream early. Each way of leaving stops after the third partial reaches user code; the
 * provider then reports when the connection closed and which chunks it wrote after that moment (tokens paid for
 * and thrown away). The reply is ~320 chunks at 10 ms, so a stream that is not aborted runs for ~3 s more. Every way
 * runs against a provider in its own process (as a real provider is elsewhere) and against one in this process.
 */
import { Deferred, Effect, Fiber, Stream } from "effect"
import { Effect3 } from "../effect3.js"
import { Baml, BamlRuntime } from "../../src/index.js"
import { ScriptedProvider } from "../../src/testing/index.js"
import type { Args } from "../clients.js"
import { nativeStream, officialStream } from "../clients.js"
import { remoteProvider } from "../remote.js"
import { resume } from "../replies.js"
import type { Scenario } from "../scenario.js"
import { collector, eachRound, mark, settled, useScript } from "../scenario.js"
import { rotate } from "../stats.js"
import type { Target } from "../target.js"
import { makeTarget, watchingAborts } from "../target.js"

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
          Effect.forkChild
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
    label: "effect-baml/effect3: Fiber.interrupt",
    leave: (target, args) => Effect.tryPromise(() => Effect3.leaveByInterrupt(target.service, fn, args, take))
  },
  {
    label: "effect-baml/effect3: Stream.take",
    leave: (target, args) => Effect.tryPromise(() => Effect3.leaveByTake(target.service, fn, args, take))
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

/** Where the provider runs: a remote provider sees the close as soon as the engine's native side drops it. */
interface Place {
  readonly name: string
  readonly target: Target
  readonly settled: (label: string) => Effect.Effect<ScriptedProvider.RequestRecord, Error>
  /** Where the moments the provider saw the close go, and the chunks it sent after the exit (if counted here). */
  readonly close: ReturnType<typeof collector>
  readonly wasted?: ReturnType<typeof collector>
}

const script = ScriptedProvider.json(resume(40), { delayMs: 10 })

export const exit: Scenario = {
  name: "exit",
  steps: (rounds) => 2 * (rounds.exit + 1) * ways.length,
  run: (bench) =>
    Effect.scoped(Effect.gen(function*() {
      yield* useScript(bench.provider, script)
      const remote = yield* remoteProvider([{ script }])
      const service = yield* BamlRuntime.fromDirectory("baml_src", {
        env: { ...process.env, SCRIPTED_BASE_URL: remote.baseUrl }
      })
      let abortedAt = Number.NaN
      const watched = (target: Target) => watchingAborts(target, (at) => (abortedAt = at))
      const abort = collector()
      const close = collector()
      const closeHere = collector()
      const wasted = collector()
      const places: ReadonlyArray<Place> = [
        {
          name: "own process",
          target: watched(makeTarget(service.engine, { ...service.env })),
          settled: remote.settled,
          close,
          wasted
        },
        {
          name: "this process",
          target: watched(bench.target),
          settled: (label) => settled(bench.provider, label),
          close: closeHere
        }
      ]
      yield* eachRound(bench.rounds.exit, (round, recorded) =>
        Effect.forEach(places, (place) =>
          Effect.forEach(rotate(ways, round), (way) =>
            Effect.gen(function*() {
              const label = mark("exit")
              abortedAt = Number.NaN
              const leftAt = yield* way.leave(place.target, { resume: label })
              const record = yield* place.settled(label)
              if (recorded) {
                if (Number.isFinite(abortedAt)) abort.add(way.label, abortedAt - leftAt)
                place.close.add(way.label, (record.closedAt ?? Number.NaN) - leftAt)
                place.wasted?.add(way.label, ScriptedProvider.chunksAfter(record, leftAt))
              }
              bench.tick(`exit (provider in ${place.name}): ${way.label}`)
            }), { discard: true }), { discard: true }))
      return [
        {
          id: "abortAfterExit",
          title: "Leaving the stream → the call's abort signal fires",
          unit: "ms",
          rows: abort.rows(),
          method: "The client's share of the close: the moment the AbortSignal handed to the native call fires " +
            "(an `abort` listener added through a Proxy on the engine) minus the moment user code left. Samples " +
            "from both providers below."
        },
        {
          id: "closeAfterExit",
          title: "Leaving the stream → provider sees the connection close",
          unit: "ms",
          rows: close.rows(),
          method: `User code leaves once it has received ${take} partials; sample = the provider's \`closedAt\` ` +
            "for that request minus the moment user code left (for Fiber.interrupt: just before `Fiber.interrupt`). " +
            "The provider runs in a child process, as a real provider runs elsewhere; its clock is mapped onto " +
            "this process's by the fastest of 20 IPC round trips. A stream that is not aborted closes only when " +
            "the reply is complete."
        },
        {
          id: "closeAfterExitInProcess",
          title: "The same, provider in the client's process",
          unit: "ms",
          rows: closeHere.rows(),
          method: "As above, with the provider in the client's own process: it notices the close only when the " +
            "client's JS yields the event loop, so any work a client still does after pulling the wire (ending " +
            "its stream, its span, its metrics) is added here, though a remote provider would not wait for it."
        },
        {
          id: "chunksAfterExit",
          title: "Chunks the provider sent after user code left (10 ms pacing)",
          unit: "chunks",
          rows: wasted.rows(),
          method: "`ScriptedProvider.chunksAfter(record, leftAt)` on the provider in its own process: content " +
            "chunks written at or after the moment user code left."
        }
      ]
    }))
}
