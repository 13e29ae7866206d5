/**
 * One point to wrap every BAML call and stream a program makes (for hedging, caching, logging, a client per tenant):
 * a middleware set with {@link withMiddleware} or {@link layer} sees each `Baml.call` and `Baml.stream` run inside it,
 * the ones of generated clients and of jobs included, with its options (the defaults of `Baml.withOptions` merged in),
 * and hands it on, changed or not, to the next middleware and finally to the engine.
 *
 * @since 0.3.0
 */
import type { Effect, Layer } from "effect"
import { dual } from "effect/Function"
import * as Internal from "./internal/middleware.js"

/**
 * One call or stream as a middleware sees it: the BAML function, its arguments, and its options with the defaults in
 * force merged in.
 *
 * @example
 * ```ts
 * import type { BamlMiddleware } from "effect-baml"
 *
 * const describe = (request: BamlMiddleware.Request) => `${request.functionName} on ${request.options?.client ?? "its client"}`
 * ```
 * @since 0.3.0
 * @category models
 */
export interface Request extends Internal.Request {}

/**
 * A wrapper of every call (`call`), every stream (`stream`), or both; what it leaves out passes through. Each gets
 * the request and `next`, which runs it through the middleware inside this one and then the engine; call `next` once,
 * several times (a hedge, a retry) or not at all (a cache hit). A stream's elements are what its caller asked for
 * (values of `Baml.stream`, events of `Baml.streamEvents` and generated clients): pass them on as they are.
 *
 * @example
 * ```ts
 * import { type BamlMiddleware } from "effect-baml"
 * import { Effect } from "effect"
 *
 * const logging: BamlMiddleware.Middleware = {
 *   call: (request, next) =>
 *     Effect.tap(next(request), () => Effect.log(`${request.functionName} answered`))
 * }
 * ```
 * @since 0.3.0
 * @category models
 */
export interface Middleware extends Internal.Middleware {}

/**
 * What a middleware's `call` hands a request on to.
 *
 * @example
 * ```ts
 * import type { BamlMiddleware } from "effect-baml"
 *
 * const twice = (request: BamlMiddleware.Request, next: BamlMiddleware.CallNext) => next(request)
 * ```
 * @since 0.3.0
 * @category models
 */
export type CallNext = Internal.CallNext

/**
 * What a middleware's `stream` hands a request on to.
 *
 * @example
 * ```ts
 * import type { BamlMiddleware } from "effect-baml"
 *
 * const same = (request: BamlMiddleware.Request, next: BamlMiddleware.StreamNext) => next(request)
 * ```
 * @since 0.3.0
 * @category models
 */
export type StreamNext = Internal.StreamNext

/**
 * The middleware in force where it is provided, outermost first (set by {@link withMiddleware} and {@link layer};
 * nothing needs to read it).
 *
 * @example
 * ```ts
 * import { BamlMiddleware } from "effect-baml"
 * import { Effect, Option } from "effect"
 *
 * const wrapped = Effect.map(Effect.serviceOption(BamlMiddleware.CurrentMiddleware), Option.isSome)
 * ```
 * @since 0.3.0
 * @category services
 */
export const CurrentMiddleware = Internal.CurrentMiddleware

/**
 * The service of {@link CurrentMiddleware}: the middleware in force, outermost first.
 *
 * @example
 * ```ts
 * import type { BamlMiddleware } from "effect-baml"
 * import type { Layer } from "effect"
 *
 * declare const layer: Layer.Layer<BamlMiddleware.CurrentMiddleware>
 * ```
 * @since 0.3.0
 * @category services
 */
export type CurrentMiddleware = Internal.CurrentMiddleware

/**
 * Runs `self` with `middleware` around every call and stream inside it. Nested, the middleware set outermost runs
 * first, and hands on to the ones set inside it.
 *
 * @example
 * ```ts
 * import { Baml, BamlMiddleware } from "effect-baml"
 * import { Effect } from "effect"
 *
 * const program = Baml.call("ExtractResume", { resume: "..." }).pipe(
 *   BamlMiddleware.withMiddleware({
 *     call: (request, next) => Effect.withLogSpan(next(request), request.functionName)
 *   })
 * )
 * ```
 * @since 0.3.0
 * @category middleware
 */
export const withMiddleware: {
  (middleware: Middleware): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  <A, E, R>(self: Effect.Effect<A, E, R>, middleware: Middleware): Effect.Effect<A, E, R>
} = dual(
  2,
  <A, E, R>(self: Effect.Effect<A, E, R>, middleware: Middleware): Effect.Effect<A, E, R> =>
    Internal.provideMiddleware(self, [middleware])
)

/**
 * A layer that puts `middleware` around every call and stream of the program it is provided to, the first given
 * outermost (inside the middleware in force where the layer is built). Give several middleware to one layer: two
 * middleware layers merged side by side (`Layer.merge`) each provide the whole list, and only one of them is kept; a
 * middleware layer and `Baml.layerOptions` merge as expected.
 *
 * @example
 * ```ts
 * import { Baml, BamlMiddleware, BamlRuntime } from "effect-baml"
 * import { Effect, Layer } from "effect"
 *
 * const Logged = BamlMiddleware.layer({
 *   call: (request, next) => Effect.tap(next(request), () => Effect.log(`${request.functionName} answered`))
 * })
 * const program = Baml.call("ExtractResume", { resume: "..." }).pipe(
 *   Effect.provide(Layer.merge(BamlRuntime.layerFromDirectory("./baml_src"), Logged))
 * )
 * ```
 * @since 0.3.0
 * @category middleware
 */
export const layer = (...middleware: ReadonlyArray<Middleware>): Layer.Layer<CurrentMiddleware> =>
  Internal.layerMiddleware(middleware)

/**
 * A request, as a middleware hands it on: the same function and arguments with `options` over its own
 * (field by field, as `Baml.withOptions` merges them).
 *
 * @example
 * ```ts
 * import { BamlMiddleware } from "effect-baml"
 *
 * const onBackup: BamlMiddleware.Middleware = {
 *   call: (request, next) => next(BamlMiddleware.withRequestOptions(request, { client: "Backup" }))
 * }
 * ```
 * @since 0.3.0
 * @category middleware
 */
export const withRequestOptions: {
  (options: Request["options"]): (request: Request) => Request
  (request: Request, options: Request["options"]): Request
} = dual(2, (request: Request, options: Request["options"]): Request => Internal.withOptions(request, options))
