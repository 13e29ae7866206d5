/**
 * What Effect 3 itself costs, with no engine and no effect-baml: a fiber running `Stream.runDrain(Stream.never)` (any
 * running Effect 3 stream), and `Stream.asyncPush` with a sliding buffer of one (the bridge the Effect 3 line builds
 * on) fed by a callback as the stub engine feeds the clients, consumed with `Stream.runForEach`. Handed to the
 * harness as Promises, like line.ts.
 */
import { Effect, Exit, Fiber, Mailbox, Stream } from "effect"
import type { Running } from "./line.js"

export type FloorKind = "never" | "asyncPush"

/** A push-bridged stream of `partials` ready-made partials, one per macrotask, then the final value; or no end. */
const bridged = (partials: number, end: boolean) =>
  Stream.asyncPush<unknown>(
    (emit) =>
      Effect.sync(() => {
        let sent = 0
        const next = () => {
          if (sent < partials) {
            emit.single({ name: "Ada Lovelace", skills: ["analysis"], sent: ++sent })
            setImmediate(next)
          } else if (end) {
            emit.done(Exit.succeed({ name: "Ada Lovelace", skills: ["analysis"], sent }))
          }
        }
        setImmediate(next)
      }),
    { bufferSize: 1, strategy: "sliding" }
  )

/** `count` such streams at once, each consumed keeping only its latest element, as the clients' users do. */
const many = (count: number, partials: number, end: boolean, first: () => void) =>
  Effect.forEach(
    Array.from({ length: count }),
    () =>
      Effect.suspend(() => {
        let latest: unknown = undefined
        return Stream.runForEach(bridged(partials, end), (value) =>
          Effect.sync(() => {
            if (latest === undefined) first()
            latest = value
          }))
      }),
    { concurrency: "unbounded", discard: true }
  )

/** `count` push-bridged streams of `partials` partials and a final value, run to their end. */
export const runFloor = (count: number, partials: number, first: () => void = () => undefined): Promise<void> =>
  Effect.runPromise(many(count, partials, true, first))

/** `count` fibers holding an open stream of `kind` (an asyncPush stream has delivered one partial), until stopped. */
export const openFloor = (count: number, kind: FloorKind): Running => {
  const fiber = Effect.runFork(
    kind === "never"
      ? Effect.forEach(Array.from({ length: count }), () => Stream.runDrain(Stream.never), {
        concurrency: "unbounded",
        discard: true
      })
      : many(count, 1, false, () => undefined)
  )
  return {
    done: Effect.runPromise(Effect.asVoid(Fiber.await(fiber))),
    stop: () => Effect.runPromise(Fiber.interrupt(fiber)).then(() => undefined)
  }
}

/**
 * How long Effect 3 itself takes to run an interrupted fiber's `onInterrupt`: a fiber waits in `Mailbox.takeAll`
 * (where the Effect 3 line's stream waits for the engine) and is interrupted with `Fiber.interrupt`. Resolves with the
 * time from calling `Fiber.interrupt` to its `onInterrupt` running, in ms.
 */
export const interruptDelivery = (): Promise<number> =>
  Effect.runPromise(Effect.gen(function*() {
    const mailbox = yield* Mailbox.make<unknown>({ capacity: 1, strategy: "sliding" })
    let ranAt = Number.NaN
    const fiber = yield* mailbox.takeAll.pipe(
      Effect.onInterrupt(() => Effect.sync(() => (ranAt = performance.now()))),
      Effect.fork
    )
    yield* Effect.sleep("5 millis")
    const interruptedAt = performance.now()
    yield* Fiber.interrupt(fiber)
    return ranAt - interruptedAt
  }))

/**
 * How long Effect 3 itself takes to bring a failure from a callback to user code: a `Stream.asyncPush` stream (sliding
 * buffer of one) whose callback fails it from a macrotask, drained with `Stream.runDrain` and caught with
 * `Effect.catchAll`. Resolves with the time from `emit.fail` to the handler, in ms.
 */
export const failureDelivery = (): Promise<number> => {
  let failedAt = Number.NaN
  const stream = Stream.asyncPush<unknown, Error>(
    (emit) =>
      Effect.sync(() => {
        setImmediate(() => {
          failedAt = performance.now()
          emit.fail(new Error("HTTP 500"))
        })
      }),
    { bufferSize: 1, strategy: "sliding" }
  )
  return Effect.runPromise(
    Stream.runDrain(stream).pipe(
      Effect.as(Number.NaN),
      Effect.catchAll(() => Effect.sync(() => performance.now() - failedAt))
    )
  )
}
