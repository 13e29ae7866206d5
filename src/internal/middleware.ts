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

/** The defaults and the middleware (outermost first) in force. */
export interface Configuration {
  readonly options: CallOptions | undefined
  readonly middleware: ReadonlyArray<Middleware>
}

export class CurrentConfiguration
  extends Kit.Service<CurrentConfiguration, Configuration>()("effect-baml/CurrentConfiguration")
{}

const current = Effect.serviceOption(CurrentConfiguration)

const none: Configuration = { options: undefined, middleware: [] }

/** The configuration in force, with `change` applied over it. */
const changed = (change: (outer: Configuration) => Configuration) =>
  Effect.map(current, (outer) => change(Option.getOrElse(outer, () => none)))

/** Runs `self` with `change` applied to the configuration in force. */
export const withConfiguration = <A, E, R>(
  self: Effect.Effect<A, E, R>,
  change: (outer: Configuration) => Configuration
): Effect.Effect<A, E, R> =>
  Effect.flatMap(changed(change), (configuration) => Effect.provideService(self, CurrentConfiguration, configuration))

/** A layer that applies `change` to the configuration in force where it is built. */
export const layerConfiguration = (change: (outer: Configuration) => Configuration) =>
  Kit.layerScoped(CurrentConfiguration, changed(change))

/** `request` with `options` over its own, field by field. */
export const withOptions = (request: Request, options: CallOptions | undefined): Request => ({
  ...request,
  options: mergeOptions(request.options, options)
})

export const addOptions = (options: CallOptions) => (outer: Configuration): Configuration => ({
  ...outer,
  options: mergeOptions(outer.options, options)
})

export const addMiddleware = (middleware: Middleware) => (outer: Configuration): Configuration => ({
  ...outer,
  middleware: [...outer.middleware, middleware]
})

/** Runs a call through the middleware in force, the defaults merged into its options; `run` is the call itself. */
export const call = (
  request: Request,
  run: CallNext
): Effect.Effect<unknown, BamlError, BamlRuntime> =>
  Effect.flatMap(current, (configuration) => {
    if (Option.isNone(configuration)) return run(request)
    const { middleware, options } = configuration.value
    const next = (i: number): CallNext => {
      if (i === middleware.length) return run
      const wrap = middleware[i]!.call
      return wrap === undefined ? next(i + 1) : (request) => wrap(request, next(i + 1))
    }
    return next(0)({ ...request, options: mergeOptions(options, request.options) })
  })

/** Runs a stream through the middleware in force, the defaults merged into its options; `run` is the stream itself. */
export const stream = (
  request: Request,
  run: StreamNext
): Stream.Stream<unknown, BamlError, BamlRuntime> =>
  Kit.unwrapStream(Effect.map(current, (configuration) => {
    if (Option.isNone(configuration)) return run(request)
    const { middleware, options } = configuration.value
    const next = (i: number): StreamNext => {
      if (i === middleware.length) return run
      const wrap = middleware[i]!.stream
      return wrap === undefined ? next(i + 1) : (request) => wrap(request, next(i + 1))
    }
    return next(0)({ ...request, options: mergeOptions(options, request.options) })
  }))
