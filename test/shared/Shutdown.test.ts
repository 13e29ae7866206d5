/**
 * `BamlHttp.layerShutdown` in this process: which signals start the shutdown, that its grace period runs from the
 * signal, and that closing it leaves no listener and no error behind. The signals are emitted to the process's
 * listeners (`process.emit`), not sent: nothing else in a test worker listens to them. Real servers stopped by real
 * signals are in `BamlHttp.shutdown.test.ts`.
 */
import { BamlHttp, describe, Effect, Exit, expect, Fiber, forkChild, isRunning, it, Option } from "#line"

const signals = ["SIGINT", "SIGTERM"] as const

/** How many listeners each of SIGINT and SIGTERM has. */
const listeners = () => signals.map((signal) => process.listenerCount(signal))

/** `started` of the layer's service: it completes when the shutdown has begun. */
const started = Effect.flatMap(
  Effect.serviceOption(BamlHttp.Shutdown),
  (shutdown) => Option.getOrThrow(shutdown).started
)

/** Waits long enough for a fiber that was going to finish to have finished. */
const settle = Effect.sleep("100 millis")

describe("BamlHttp.layerShutdown", () => {
  it.live("with no options, SIGINT and SIGTERM each start the shutdown at once; closed, it leaves no listener", () =>
    Effect.gen(function*() {
      const before = listeners()
      for (const signal of signals) {
        const exit = yield* Effect.exit(
          Effect.gen(function*() {
            expect(listeners()).toEqual(before.map((count) => count + 1))
            const waiting = yield* forkChild(started)
            yield* settle
            expect(yield* isRunning(waiting)).toBe(true)
            process.emit(signal)
            yield* Fiber.join(waiting).pipe(Effect.timeout("5 seconds"))
          }).pipe(Effect.provide(BamlHttp.layerShutdown()))
        )
        expect(Exit.isSuccess(exit)).toBe(true)
        expect(listeners()).toEqual(before)
      }
    }), 20_000)

  it.live("the grace period runs from the signal, and only the signals it was given count", () =>
    Effect.gen(function*() {
      const before = listeners()
      const exit = yield* Effect.exit(
        Effect.gen(function*() {
          expect(listeners()).toEqual([before[0]! + 1, before[1]!])
          const waiting = yield* forkChild(started)
          process.emit("SIGTERM")
          yield* settle
          expect(yield* isRunning(waiting)).toBe(true)
          process.emit("SIGINT")
          const signalledAt = Date.now()
          yield* settle
          expect(yield* isRunning(waiting)).toBe(true)
          yield* Fiber.join(waiting).pipe(Effect.timeout("10 seconds"))
          expect(Date.now() - signalledAt).toBeGreaterThanOrEqual(400)
        }).pipe(Effect.provide(BamlHttp.layerShutdown({ signals: ["SIGINT"], grace: "500 millis" })))
      )
      expect(Exit.isSuccess(exit)).toBe(true)
      expect(listeners()).toEqual(before)
    }), 20_000)

  it.live("closed before any signal, it ends cleanly and a later signal starts nothing", () =>
    Effect.gen(function*() {
      const before = listeners()
      const exit = yield* Effect.exit(
        Effect.andThen(started.pipe(Effect.timeout("50 millis"), Effect.ignore), Effect.void).pipe(
          Effect.provide(BamlHttp.layerShutdown({ grace: "10 millis" }))
        )
      )
      expect(Exit.isSuccess(exit)).toBe(true)
      expect(listeners()).toEqual(before)
      // nothing listens any more: emitting reaches no one
      expect(process.emit("SIGTERM")).toBe(false)
    }), 20_000)
})
