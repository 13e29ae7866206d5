// What the context sets for every call and stream run inside it: default options and middleware. `Baml.call` and
// `Baml.stream` read it once when they start; with nothing set, they run as they are. BamlMiddleware.ts and
// `Baml.withOptions` document it.
import { Effect, Option, Stream } from "effect"
import type { BamlError } from "../BamlError.js"
import type { BamlRuntime } from "../BamlRuntime.js"
import { type CallOptions, mergeOptions } from "../core/engine/engine.js"
import * as Kit from "#kit"

/** One call or stream as a middleware sees it: the function, its arguments and its options (the defaults merged in). */
export interface Request {
  readonly functionName: string
  readonly args: Readonly<Record<string, unknown>>
  readonly options: CallOptions | undefined
}

/** What a middleware hands a call on to: the next middleware, or the call itself. */
export type CallNext = (request: Request) => Effect.Effect<unknown, BamlError, BamlRuntime>

/** What a middleware hands a stream on to: the next middleware, or the stream itself. */
export type StreamNext = (request: Request) => Stream.Stream<unknown, BamlError, BamlRuntime>

/** A wrapper of every call, every stream, or both. What it leaves out passes through as it is. */
export interface Middleware {
  readonly call?: ((request: Request, next: CallNext) => Effect.Effect<unknown, BamlError, BamlRuntime>) | undefined
  readonly stream?:
    | ((request: Request, next: StreamNext) => Stream.Stream<unknown, BamlError, BamlRuntime>)
    | undefined
}

/** The default options in force (`Baml.withOptions`, `Baml.layerOptions`). */
export class CurrentOptions extends Kit.Service<CurrentOptions, CallOptions>()("effect-baml/CurrentOptions") {}

/** The middleware in force, outermost first (`BamlMiddleware.withMiddleware`, `BamlMiddleware.layer`). */
export class CurrentMiddleware
  extends Kit.Service<CurrentMiddleware, ReadonlyArray<Middleware>>()("effect-baml/CurrentMiddleware")
{}

/** `request` with `options` over its own, field by field. */
export const withOptions = (request: Request, options: CallOptions | undefined): Request => ({
  ...request,
  options: mergeOptions(request.options, options)
})

// Defaults and middleware are set where they are provided, over those in force there.
const moreOptions = (options: CallOptions) =>
  Effect.map(Effect.serviceOption(CurrentOptions), (outer) =>
    Option.isNone(outer) ? options : mergeOptions(outer.value, options)!)

const moreMiddleware = (middleware: ReadonlyArray<Middleware>) =>
  Effect.map(Effect.serviceOption(CurrentMiddleware), (outer) =>
    Option.isNone(outer) ? middleware : [...outer.value, ...middleware])

/** Runs `self` with `options` over the defaults in force. */
export const provideOptions = <A, E, R>(self: Effect.Effect<A, E, R>, options: CallOptions): Effect.Effect<A, E, R> =>
  Effect.flatMap(moreOptions(options), (merged) => Effect.provideService(self, CurrentOptions, merged))

/** A layer of `options` over the defaults in force where it is built. */
export const layerOptions = (options: CallOptions) => Kit.layerScoped(CurrentOptions, moreOptions(options))

/** Runs `self` with `middleware` inside the middleware in force. */
export const provideMiddleware = <A, E, R>(
  self: Effect.Effect<A, E, R>,
  middleware: ReadonlyArray<Middleware>
): Effect.Effect<A, E, R> =>
  Effect.flatMap(moreMiddleware(middleware), (all) => Effect.provideService(self, CurrentMiddleware, all))

/** A layer of `middleware` inside the middleware in force where it is built. */
export const layerMiddleware = (middleware: ReadonlyArray<Middleware>) =>
  Kit.layerScoped(CurrentMiddleware, moreMiddleware(middleware))

const inForce = Effect.zip(Effect.serviceOption(CurrentOptions), Effect.serviceOption(CurrentMiddleware))

/**
 * Runs `request` through the middleware's wrappers that `pick` chooses (outermost first), the defaults merged into its
 * options, and finally through `run`; with nothing in force, `run` alone.
 */
const through = <Out>(
  [defaults, all]: readonly [Option.Option<CallOptions>, Option.Option<ReadonlyArray<Middleware>>],
  request: Request,
  run: (request: Request) => Out,
  pick: (middleware: Middleware) => ((request: Request, next: (request: Request) => Out) => Out) | undefined
): Out => {
  if (Option.isNone(defaults) && Option.isNone(all)) return run(request)
  const middleware = Option.getOrElse(all, () => [])
  const next = (i: number): (request: Request) => Out => {
    if (i === middleware.length) return run
    const wrap = pick(middleware[i]!)
    return wrap === undefined ? next(i + 1) : (request) => wrap(request, next(i + 1))
  }
  return next(0)({ ...request, options: mergeOptions(Option.getOrUndefined(defaults), request.options) })
}

/** Runs a call through the middleware in force, the defaults merged into its options; `run` is the call itself. */
export const call = (request: Request, run: CallNext): Effect.Effect<unknown, BamlError, BamlRuntime> =>
  Effect.flatMap(inForce, (configuration) => through(configuration, request, run, (middleware) => middleware.call))

/** Runs a stream through the middleware in force, the defaults merged into its options; `run` is the stream itself. */
export const stream = (request: Request, run: StreamNext): Stream.Stream<unknown, BamlError, BamlRuntime> =>
  Kit.unwrapStream(
    Effect.map(inForce, (configuration) => through(configuration, request, run, (middleware) => middleware.stream))
  )
