/**
 * What any Effect stream fed by a callback costs before effect-baml adds anything, on each Effect line: Effect 4's
 * `Stream.callback` and Effect 3's `Stream.asyncPush` (effect3/bench/floor.ts), each with a sliding buffer of one (the
 * bridge each line builds on), fed like the stub engine feeds the clients, consumed with `Stream.runForEach`; and a
 * fiber running `Stream.runDrain(Stream.never)`, any running stream. Their rows are the floor under each line's rows,
 * as the native rows are the floor under all.
 */
import { Cause, Effect, Fiber, Queue, Stream } from "effect"
import { Floor3 } from "./effect3.js"

export const floorLabels = {
  effect4: "effect 4 floor: Stream.callback",
  effect4Never: "effect 4 floor: Stream.never",
  effect3: "effect 3 floor: Stream.asyncPush",
  effect3Never: "effect 3 floor: Stream.never"
} as const

/** A callback-bridged stream of `partials` ready-made partials, one per macrotask, then the final value; or no end. */
const bridged = (partials: number, end: boolean) =>
  Stream.callback<unknown>(
    (queue) =>
      Effect.sync(() => {
        let sent = 0
        const next = () => {
          if (sent < partials) {
            Queue.offerUnsafe(queue, { name: "Ada Lovelace", skills: ["analysis"], sent: ++sent })
            setImmediate(next)
          } else if (end) {
            Queue.offerUnsafe(queue, { name: "Ada Lovelace", skills: ["analysis"], sent })
            Queue.endUnsafe(queue)
          }
        }
        setImmediate(next)
      }),
    { bufferSize: 1, strategy: "sliding" }
  )

/** `count` such streams at once, each consumed keeping only its latest element, as the clients' users do. */
const many = (count: number, partials: number, end: boolean, first: () => void = () => undefined) =>
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

/** `count` bridged streams of `partials` partials and a final value, run to their end, on `line`. */
export const runFloor = (line: "effect4" | "effect3", count: number, partials: number): Effect.Effect<void, unknown> =>
  line === "effect4" ? many(count, partials, true) : Effect.tryPromise(() => Floor3.runFloor(count, partials))

/** An open floor: `stop` ends every stream of it. */
export interface OpenFloor {
  readonly stop: Effect.Effect<void>
}

/** `count` fibers holding an open stream (a bridged one has delivered one partial), on `line`, until stopped. */
export const openFloor = (
  line: "effect4" | "effect3",
  count: number,
  kind: "never" | "bridged"
): Effect.Effect<OpenFloor> =>
  line === "effect3"
    ? Effect.sync(() => {
      const running = Floor3.openFloor(count, kind === "never" ? "never" : "asyncPush")
      return { stop: Effect.promise(running.stop) }
    })
    : Effect.map(
      Effect.forkDetach(
        kind === "never"
          ? Effect.forEach(Array.from({ length: count }), () => Stream.runDrain(Stream.never), {
            concurrency: "unbounded",
            discard: true
          })
          : many(count, 1, false)
      ),
      (fiber) => ({ stop: Fiber.interrupt(fiber) })
    )

/**
 * How long Effect 4 itself takes to run an interrupted fiber's `onInterrupt`: a fiber waits in `Queue.takeAll` (where
 * the Effect 4 line's stream waits for the engine) and is interrupted with `Fiber.interrupt`. The time from calling
 * `Fiber.interrupt` to its `onInterrupt` running, in ms.
 */
export const interruptDelivery: Effect.Effect<number> = Effect.gen(function*() {
  const queue = yield* Queue.make<unknown, Cause.Done>({ capacity: 1, strategy: "sliding" })
  let ranAt = Number.NaN
  const fiber = yield* Queue.takeAll(queue).pipe(
    Effect.onInterrupt(() => Effect.sync(() => (ranAt = performance.now()))),
    Effect.forkChild
  )
  yield* Effect.sleep("5 millis")
  const interruptedAt = performance.now()
  yield* Fiber.interrupt(fiber)
  return ranAt - interruptedAt
})

/**
 * How long Effect 4 itself takes to bring a failure from a callback to user code: a `Stream.callback` stream (sliding
 * buffer of one) failed from a macrotask, drained with `Stream.runDrain` and caught with `Effect.catch`. The time from
 * failing the queue to the handler, in ms.
 */
export const failureDelivery: Effect.Effect<number> = Effect.suspend(() => {
  let failedAt = Number.NaN
  const stream = Stream.callback<unknown, Error>(
    (queue) =>
      Effect.sync(() => {
        setImmediate(() => {
          failedAt = performance.now()
          Queue.failCauseUnsafe(queue, Cause.fail(new Error("HTTP 500")))
        })
      }),
    { bufferSize: 1, strategy: "sliding" }
  )
  return Stream.runDrain(stream).pipe(
    Effect.as(Number.NaN),
    Effect.catch(() => Effect.sync(() => performance.now() - failedAt))
  )
})
