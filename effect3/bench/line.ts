/**
 * The Effect 3 line (`effect-baml/effect3`) as the benchmark drives it. The harness (bench/) runs on Effect 4; this
 * module resolves Effect 3 from effect3/node_modules, so both runtimes live in one process. Each function here is
 * written as an Effect 3 user writes it (`Baml.stream` consumed with `Stream.runForEach`, fibers with
 * `Effect.forEach`, `Fiber.interrupt`, `Stream.take`) and handed to the harness as a plain Promise or callback, so
 * that no Effect value crosses from one runtime to the other.
 */
import { Deferred, Effect, Exit, Fiber, Stream } from "effect"
import { Baml, BamlRuntime } from "effect-baml/effect3"

export type Args = Readonly<Record<string, unknown>>

/** User code: called with each element of the stream as it is received. */
export type OnValue = (value: unknown) => void

/** What one stream delivered to user code (the last element, the final value, is not counted as a partial). */
export interface Delivered {
  readonly partials: number
  readonly completed: boolean
}

/** Hooks into one stream among many: its first partial, and its end. */
export interface ManyHooks {
  readonly first: () => void
  readonly end: () => void
}

/** Work running in an Effect 3 fiber: its end (rejected on a failure that is not an interrupt), and a way to stop it. */
export interface Running {
  readonly done: Promise<void>
  /** Interrupts the fiber and resolves once it has ended. */
  readonly stop: () => Promise<void>
}

const provided = <A, E>(service: BamlRuntime.Service, effect: Effect.Effect<A, E, BamlRuntime.BamlRuntime>) =>
  Effect.provideService(effect, BamlRuntime.BamlRuntime, service)

const running = (fiber: Fiber.RuntimeFiber<unknown, unknown>): Running => ({
  done: Effect.runPromise(Fiber.await(fiber)).then((exit) => {
    if (Exit.isFailure(exit) && !Exit.isInterrupted(exit)) throw new Error(`effect3 fiber failed: ${String(exit)}`)
  }),
  stop: () => Effect.runPromise(Fiber.interrupt(fiber)).then(() => undefined)
})

/** `Baml.stream` drained with `Stream.runForEach`. */
const toEnd = (fn: string, args: Args, onValue: OnValue) =>
  Effect.suspend(() => {
    let elements = 0
    return Baml.stream(fn, args).pipe(
      Stream.runForEach((value) =>
        Effect.sync(() => {
          elements++
          onValue(value)
        })
      ),
      Effect.map((): Delivered => ({ partials: elements - 1, completed: true }))
    )
  })

/** Streams `fn` to its end. */
export const streamToEnd = (service: BamlRuntime.Service, fn: string, args: Args, onValue: OnValue) =>
  Effect.runPromise(provided(service, toEnd(fn, args, onValue)))

/**
 * Streams `count` calls of `fn` at once, one fiber each with `Effect.forEach`, user code keeping only the latest
 * partial; `stop` interrupts them all.
 */
export const streamMany = (
  service: BamlRuntime.Service,
  fn: string,
  count: number,
  argsFor: (i: number) => Args,
  hooks: ManyHooks
): Running => {
  const consumer = () => {
    let latest: unknown = undefined
    return (value: unknown) => {
      if (latest === undefined) hooks.first()
      latest = value
    }
  }
  return running(Effect.runFork(provided(
    service,
    Effect.forEach(
      Array.from({ length: count }, (_, i) => i),
      (i) => toEnd(fn, argsFor(i), consumer()).pipe(Effect.ensuring(Effect.sync(hooks.end))),
      { concurrency: "unbounded", discard: true }
    )
  )))
}

/**
 * Streams `fn` in a fiber of its own and interrupts that fiber once user code has received `take` partials; resolves
 * with the `performance.now()` taken just before `Fiber.interrupt`.
 */
export const leaveByInterrupt = (service: BamlRuntime.Service, fn: string, args: Args, take: number) =>
  Effect.runPromise(provided(
    service,
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
    })
  ))

/** `Stream.take(take)` on the stream; resolves with the moment user code received the last partial it takes. */
export const leaveByTake = (service: BamlRuntime.Service, fn: string, args: Args, take: number) =>
  Effect.runPromise(provided(
    service,
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
        Effect.map(() => leftAt)
      )
    })
  ))

/** How a failure reached user code: the moment its handler ran, and the error's tag. */
export interface Failed {
  readonly at: number
  readonly tag: string
}

const failedAt = <A, E>(effect: Effect.Effect<A, E, BamlRuntime.BamlRuntime>, service: BamlRuntime.Service) =>
  Effect.runPromise(provided(
    service,
    effect.pipe(
      Effect.map((): Failed => ({ at: Number.NaN, tag: "none" })),
      Effect.catchAll((error) =>
        Effect.sync((): Failed => ({
          at: performance.now(),
          tag: typeof error === "object" && error !== null && "_tag" in error ? String(error._tag) : String(error)
        }))
      )
    )
  ))

/** `Baml.stream` drained with `Stream.runForEach`, its failure caught by user code (`Effect.catchAll`). */
export const streamFailure = (service: BamlRuntime.Service, fn: string, args: Args) =>
  failedAt(Stream.runDrain(Baml.stream(fn, args)), service)

/** `Baml.call`, its failure caught by user code (`Effect.catchAll`). */
export const callFailure = (service: BamlRuntime.Service, fn: string, args: Args) =>
  failedAt(Baml.call(fn, args), service)
