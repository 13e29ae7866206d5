import {
  Baml, catchAll, Effect, Exit, expect, Fiber, forkChild, forkNow, isInterrupted, layer, Option, Schedule,
  ScriptedProvider, Stream, upTo
} from "#line"
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"
import { type Observed, observingLayer, shortResume } from "./fixtures.js"

const observed: Array<Observed> = []
const Observing = observingLayer(observed)
// `gc`, for the test that checks what is collected (a context made after this flag has it).
setFlagsFromString("--expose-gc")


/** A small deterministic PRNG, so that a failing run can be replayed. */
const random = (seed: number) => () => {
  seed = (seed * 1103515245 + 12345) % 2147483648
  return seed / 2147483648
}

layer(Observing, { timeout: "120 seconds", excludeTestServices: true })("Baml under concurrency", (it) => {
  it.effect("200 streams, 50 at a time, interrupted at random points: every request ends, no socket stays open", () =>
    Effect.gen(function*() {
      const provider = yield* ScriptedProvider.ScriptedProvider
      yield* provider.script({ script: ScriptedProvider.json(shortResume("Concurrent Person"), { delayMs: 5 }) })
      const next = random(2026)
      const plans = Array.from({ length: 200 }, (_, i) => ({
        i,
        // about a third run to the end; the others are interrupted somewhere between the start and the last chunk
        interruptAfterMs: next() < 0.33 ? Option.none() : Option.some(Math.floor(next() * 400))
      }))
      const outcomes = yield* Effect.forEach(
        plans,
        ({ i, interruptAfterMs }) =>
          Effect.gen(function*() {
            // Started at once: Effect 4 runs a forked fiber on a later tick, and one interrupted before it ran never starts
            // its stream, which would leave it unobserved.
            const fiber = yield* forkNow(Stream.runLast(Baml.stream("ExtractResume", { resume: `person ${i}` })))
            if (Option.isSome(interruptAfterMs)) {
              yield* Effect.sleep(interruptAfterMs.value)
              yield* Fiber.interrupt(fiber)
            }
            return yield* Fiber.await(fiber)
          }),
        { concurrency: 50 }
      )

      // The fibers that were not interrupted, and those that finished before their interrupt, have the final value.
      for (const exit of outcomes) {
        if (Exit.isSuccess(exit)) expect(Option.getOrThrow(exit.value)).toEqual(shortResume("Concurrent Person"))
        else expect(isInterrupted(exit)).toBe(true)
      }
      const completedRuns = outcomes.filter(Exit.isSuccess).length
      expect(completedRuns).toBeGreaterThan(50)
      expect(outcomes.length - completedRuns).toBeGreaterThan(50)

      // A stream interrupted before its request left the engine never reaches the provider; every one that did
      // either completed or was closed by the client.
      yield* provider.awaitRequests((rs) => rs.every((r) => r.status !== "open")).pipe(Effect.timeout("20 seconds"))
      // The finalizer ran exactly once per stream: the callback was released once, and the trip-wire pulled at most
      // once, only while the call was in flight: never for a stream that ran to its end.
      expect(observed.length).toBe(200)
      for (const seen of observed) {
        expect(seen.releases).toBe(1)
        expect(seen.aborts).toBeLessThanOrEqual(1)
      }
      outcomes.forEach((exit, i) => {
        if (Exit.isSuccess(exit)) expect(observed.find((seen) => seen.args.resume === `person ${i}`)?.aborts).toBe(0)
      })

      // No socket stays open to the provider once every request has ended.
      yield* Effect.repeat(provider.openSockets, {
        until: (open) => open === 0,
        schedule: Schedule.spaced("10 millis")
      }).pipe(Effect.timeout("5 seconds"))
      const records = yield* provider.requests
      expect(records.length).toBeLessThanOrEqual(200)
      expect(records.length).toBeGreaterThan(150)
      expect([...new Set(records.map((r) => r.status))].sort()).toEqual(["closed-early", "completed"])
      expect(records.filter((r) => r.status === "completed").length).toBeGreaterThanOrEqual(completedRuns)
      const pulled = observed.filter((seen) => seen.aborts === 1).length
      expect(pulled).toBeGreaterThanOrEqual(records.filter((r) => r.status === "closed-early").length)
    }), 120_000)

  it.effect("once a stream or call is over, however it ended, nothing keeps its abort signal alive", () =>
    Effect.gen(function*() {
      const provider = yield* ScriptedProvider.ScriptedProvider
      yield* provider.script({ script: ScriptedProvider.json(shortResume("Collected Person"), { delayMs: 5 }) })
      const first = observed.length
      const stream = (i: number) => Baml.stream("ExtractResume", { resume: `collected ${i}` })
      yield* Effect.forEach(Array.from({ length: 10 }, (_, i) => i), (i) =>
        Effect.all([
          Stream.runDrain(stream(i)),
          Stream.runDrain(Stream.take(stream(100 + i), 1)),
          forkChild(Stream.runDrain(stream(200 + i))).pipe(
            Effect.tap(() => Effect.sleep("30 millis")),
            Effect.flatMap(Fiber.interrupt)
          ),
          Baml.call("ExtractResume", { resume: `collected ${300 + i}` })
        ]), { concurrency: "unbounded", discard: true })
      const signals = observed.slice(first).map((seen) => seen.signal)
      expect(signals.length).toBe(40)
      // The engine holds on to a stream's callbacks after some exits: whatever it holds must not reach the stream.
      const gc = runInNewContext("gc") as () => void
      yield* Effect.suspend(() => {
        gc()
        const alive = signals.filter((signal) => signal.deref() !== undefined).length
        return alive === 0 ? Effect.void : Effect.fail(alive)
      }).pipe(
        Effect.retry(Schedule.spaced("50 millis").pipe(upTo("10 seconds"))),
        catchAll((alive) => Effect.sync(() => expect(`${alive} of 40 signals still alive`).toBe("none")))
      )
    }), 60_000)
})
