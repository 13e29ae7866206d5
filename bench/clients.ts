/**
 * The four ways to stream a BAML function that the benchmark compares, each written as its users write it:
 *
 * - `native`: the engine's `streamFunction(...).onEvent(cb)` and `done()`, with nothing between the native
 *   runtime and user code (the floor);
 * - `official`: the generated client's `b.stream.F(args, { signal })`, a `BamlStream` consumed with `for await`;
 * - `effect-baml`: the Effect 4 line, `Baml.stream(F, args)` consumed with `Stream.runForEach`;
 * - `effect-baml/effect3`: the Effect 3 line, the same on Effect 3 (effect3/bench/line.ts runs it in its own
 *   runtime and hands the harness Promises).
 */
import * as Engine from "@boundaryml/baml"
import { Effect, Stream } from "effect"
import { Effect3 } from "./effect3.js"
import { Baml, BamlRuntime } from "../src/index.js"
import type { Target } from "./target.js"

export type Client = "native" | "official" | "effect-baml" | "effect-baml/effect3"

export const clients: ReadonlyArray<Client> = ["native", "official", "effect-baml", "effect-baml/effect3"]

/** The two Effect lines, as their rows are labelled. */
export const lines = { effect4: "effect-baml", effect3: "effect-baml/effect3" } as const

export type Args = Readonly<Record<string, unknown>>

/** User code: called with each element of the stream as it is received. */
export type OnValue = (value: unknown) => void

/** What one stream delivered to user code. */
export interface Delivered {
  /** Partial results (effect-baml's last element, the final value, is not counted). */
  readonly partials: number
  readonly completed: boolean
}

/**
 * The generated client's environment for a call made with `{ env }`: the process environment with `env` over it,
 * without undefined values, computed on every call.
 */
const callEnv = (env: Readonly<Record<string, string>>): Record<string, string> =>
  Object.fromEntries(
    Object.entries({ ...process.env, ...env }).filter((entry): entry is [string, string] => entry[1] !== undefined)
  )

/**
 * `b.stream.F(args, { signal, env: target.env })` as the generated client (baml_client/async_client.ts, 0.226.2)
 * implements it, for a call without collectors, type builder or client registry.
 */
export const officialStream = (
  target: Target,
  fn: string,
  args: Args,
  signal?: AbortSignal
): Engine.BamlStream<unknown, unknown> => {
  if (signal?.aborted) throw new Engine.BamlAbortError("Operation was aborted", signal.reason)
  const raw = target.engine.streamFunction(
    fn,
    { ...args },
    undefined,
    target.ctx.cloneContext(),
    undefined,
    undefined,
    [],
    {},
    callEnv(target.env),
    signal,
    undefined
  )
  return new Engine.BamlStream<unknown, unknown>(
    raw,
    (a) => a,
    (a) => a,
    target.ctx.cloneContext(),
    signal
  )
}

/**
 * The bare native stream: every ok partial goes straight to `onValue` from the native callback. The callback is
 * released afterwards, as the official client does in its `finally`.
 */
export const nativeStream = async (
  target: Target,
  fn: string,
  args: Args,
  onValue: OnValue,
  signal?: AbortSignal
): Promise<Delivered> => {
  const ctx = target.ctx.cloneContext()
  const stream = target.engine.streamFunction(
    fn,
    { ...args },
    undefined,
    ctx,
    undefined,
    undefined,
    [],
    {},
    target.env,
    signal,
    undefined
  )
  let partials = 0
  try {
    stream.onEvent((error, result) => {
      if (!error && result.isOk()) {
        partials++
        onValue(result.parsed(true))
      }
    })
    const result = await stream.done(ctx)
    if (signal?.aborted) return { partials, completed: false }
    result.parsed(false)
    return { partials, completed: true }
  } finally {
    stream.onEvent(undefined)
  }
}

/** `for await` over the official stream, then its final response. */
const officialToEnd = async (
  target: Target,
  fn: string,
  args: Args,
  onValue: OnValue,
  signal?: AbortSignal
): Promise<Delivered> => {
  const stream = officialStream(target, fn, args, signal)
  let partials = 0
  for await (const partial of stream) {
    partials++
    onValue(partial)
  }
  if (signal?.aborted) return { partials, completed: false }
  await stream.getFinalResponse()
  return { partials, completed: true }
}

/** `Baml.stream` drained with `Stream.runForEach`. */
export const effectBamlStream = (
  fn: string,
  args: Args,
  onValue: OnValue
): Effect.Effect<Delivered, unknown, BamlRuntime.BamlRuntime> =>
  Effect.suspend(() => {
    let elements = 0
    return Baml.stream(fn, args).pipe(
      Stream.runForEach((value) =>
        Effect.sync(() => {
          elements++
          onValue(value)
        })
      ),
      Effect.map(() => ({ partials: elements - 1, completed: true }))
    )
  })

/** Streams `fn` to its end with `client`. */
export const runToEnd = (
  client: Client,
  target: Target,
  fn: string,
  args: Args,
  onValue: OnValue
): Effect.Effect<Delivered, unknown> => {
  switch (client) {
    case "native":
      return Effect.tryPromise(() => nativeStream(target, fn, args, onValue))
    case "official":
      return Effect.tryPromise(() => officialToEnd(target, fn, args, onValue))
    case "effect-baml":
      return effectBamlStream(fn, args, onValue).pipe(Effect.provideService(BamlRuntime.BamlRuntime, target.service))
    case "effect-baml/effect3":
      return Effect.tryPromise(() => Effect3.streamToEnd(target.service, fn, args, onValue))
  }
}

/** Hooks into one stream among many: its first partial, and its end. */
export interface ManyHooks {
  readonly first: () => void
  readonly end: () => void
}

/**
 * Streams `count` calls of `fn` at once with `client`, each as its users would: promises with `Promise.all` for
 * `native` and `official`, fibers with `Effect.forEach` for the Effect lines. User code keeps only the latest partial.
 * The promise clients stop early when `signal` aborts (an aborted stream counts as ended, not failed); the Effect
 * lines' streams stop when the fiber running them is interrupted (for the Effect 3 line: the Effect 4 fiber waiting
 * for them interrupts the Effect 3 fiber running them, and waits for it to end).
 */
export const runManyToEnd = (
  client: Client,
  target: Target,
  fn: string,
  count: number,
  argsFor: (i: number) => Args,
  hooks: ManyHooks,
  signal?: AbortSignal
): Effect.Effect<void, unknown> => {
  const indices = Array.from({ length: count }, (_, i) => i)
  const consumer = () => {
    let latest: unknown = undefined
    return (value: unknown) => {
      if (latest === undefined) hooks.first()
      latest = value
    }
  }
  const promised = (stream: (args: Args, onValue: OnValue) => Promise<Delivered>) =>
    Effect.tryPromise(() =>
      Promise.all(indices.map((i) =>
        stream(argsFor(i), consumer()).catch((error: unknown) => {
          if (signal?.aborted !== true) throw error
        }).finally(hooks.end)
      ))
    )
  switch (client) {
    case "native":
      return Effect.asVoid(promised((args, onValue) => nativeStream(target, fn, args, onValue, signal)))
    case "official":
      return Effect.asVoid(promised((args, onValue) => officialToEnd(target, fn, args, onValue, signal)))
    case "effect-baml":
      return Effect.forEach(
        indices,
        (i) => effectBamlStream(fn, argsFor(i), consumer()).pipe(Effect.ensuring(Effect.sync(hooks.end))),
        { concurrency: "unbounded", discard: true }
      ).pipe(Effect.provideService(BamlRuntime.BamlRuntime, target.service))
    case "effect-baml/effect3":
      return Effect.suspend(() => {
        const running = Effect3.streamMany(target.service, fn, count, argsFor, hooks)
        return Effect.tryPromise(() => running.done).pipe(Effect.onInterrupt(() => Effect.promise(running.stop)))
      })
  }
}
