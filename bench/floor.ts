/**
 * What any Effect stream fed by a callback costs before effect-baml adds anything: `Stream.asyncPush` with a sliding
 * buffer of one (the bridge effect-baml builds on), fed like the stub engine feeds the clients, consumed with
 * `Stream.runForEach`. Its rows are the floor under effect-baml's, as the native rows are the floor under all.
 */
import { Effect, Exit, Stream } from "effect"

export const floorLabel = "effect floor: Stream.asyncPush"

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
export const runFloor = (count: number, partials: number, end: boolean, first: () => void = () => undefined) =>
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
