/**
 * Hedged requests, for the long tail of provider latency: a call or stream that has delivered nothing after a delay is
 * started a second time (on another client, or the same), the first of the two to deliver wins, and the other is
 * aborted at once. Each request runs and is metered as any other: `Baml.withUsage`, metrics and spans count both.
 *
 * @since 0.3.0
 */
import { Effect, Exit, Scope, Stream } from "effect"
import { dual } from "effect/Function"
import type * as Layer from "effect/Layer"
import type * as Tracer from "effect/Tracer"
import type * as BamlMiddleware from "./BamlMiddleware.js"
import * as Middleware from "./internal/middleware.js"
import * as Kit from "#kit"

/**
 * When the hedge starts: `after` the first request has delivered nothing (no result of a call, no first element of a
 * stream) for that long.
 *
 * @example
 * ```ts
 * import type { BamlHedge } from "effect-baml"
 *
 * const options: BamlHedge.Options = { after: "2 seconds" }
 * ```
 * @since 0.3.0
 * @category models
 */
export interface Options {
  readonly after: Kit.DurationInput
}

/**
 * Options of {@link middleware} and {@link layer}: the delay, and where the hedge of each call and stream goes (its
 * own options with these over them: `client` for another client, nothing for the same one).
 *
 * @example
 * ```ts
 * import type { BamlHedge } from "effect-baml"
 *
 * const options: BamlHedge.MiddlewareOptions = { after: "2 seconds", options: { client: "Backup" } }
 * ```
 * @since 0.3.0
 * @category models
 */
export interface MiddlewareOptions extends Options {
  readonly options?: BamlMiddleware.Request["options"]
}

/** Which request won: the first, or the hedge. */
type Winner = "primary" | "hedge"

// The span's attributes: which request won, and whether the hedge was started at all.
const annotate = (span: Tracer.Span | undefined, winner: Winner, started: boolean) => {
  span?.attribute("baml.hedge.winner", winner)
  span?.attribute("baml.hedge.started", started)
}

const hedgeEffect = <A, E, R, A2, E2, R2>(
  self: Effect.Effect<A, E, R>,
  hedge: Effect.Effect<A2, E2, R2>,
  options: Options,
  name: string
): Effect.Effect<A | A2, E | E2, R | R2> =>
  Effect.suspend(() => {
    let started = false
    const second = Effect.suspend(() => {
      started = true
      return Effect.map(hedge, (value) => [value, "hedge"] as const)
    })
    return Effect.race(
      Effect.map(self, (value) => [value, "primary"] as const),
      Effect.delay(second, options.after)
    ).pipe(
      Effect.tap(([, winner]) => Effect.map(Effect.option(Effect.currentSpan), (span) =>
        annotate(span._tag === "Some" ? span.value : undefined, winner, started))),
      Effect.map(([value]) => value),
      Effect.withSpan(name, { kind: "internal" })
    )
  })

/**
 * Runs `self`; if it has not succeeded `after` the delay, also runs `hedge` (e.g. the same function on another
 * client). The first to succeed wins and the other is interrupted, which aborts its LLM request at once; a failure
 * does not win (the other may still succeed), and when both fail, the race fails with both. The span `BamlHedge.effect`
 * says which won (`baml.hedge.winner`: `primary` or `hedge`) and whether the hedge started (`baml.hedge.started`).
 *
 * @example
 * ```ts
 * import { BamlHedge } from "effect-baml"
 * import * as Client from "./baml_client/index.js"
 *
 * const resume = Client.ExtractResume("Ada Lovelace, ...").pipe(
 *   BamlHedge.effect({ after: "3 seconds", hedge: Client.ExtractResume("Ada Lovelace, ...", { client: "Backup" }) })
 * )
 * ```
 * @since 0.3.0
 * @category combinators
 */
export const effect: {
  <A2, E2, R2>(
    options: Options & { readonly hedge: Effect.Effect<A2, E2, R2> }
  ): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A | A2, E | E2, R | R2>
  <A, E, R, A2, E2, R2>(
    self: Effect.Effect<A, E, R>,
    options: Options & { readonly hedge: Effect.Effect<A2, E2, R2> }
  ): Effect.Effect<A | A2, E | E2, R | R2>
} = dual(2, <A, E, R, A2, E2, R2>(
  self: Effect.Effect<A, E, R>,
  options: Options & { readonly hedge: Effect.Effect<A2, E2, R2> }
): Effect.Effect<A | A2, E | E2, R | R2> => hedgeEffect(self, options.hedge, options, "BamlHedge.effect"))

/** A scope of its own for one of the two streams, closed at once when that stream loses, or else with the stream's. */
const ownScope = Effect.acquireRelease(Scope.make(), (scope, exit) => Scope.close(scope, exit))

const hedgeStream = <A, E, R, A2, E2, R2>(
  self: Stream.Stream<A, E, R>,
  hedge: Stream.Stream<A2, E2, R2>,
  options: Options,
  name: string
): Stream.Stream<A | A2, E | E2, R | R2> =>
  Kit.unwrapStream(Effect.gen(function*() {
    const span = yield* Effect.makeSpanScoped(name, { kind: "internal" })
    const primaryScope = yield* ownScope
    const hedgeScope = yield* ownScope
    const open = <B, EB, RB>(stream: Stream.Stream<B, EB, RB>, scope: Scope.Scope) =>
      Effect.provideService(Stream.toPull(stream), Scope.Scope, scope)
    const primary = yield* open<A | A2, E | E2, R | R2>(self, primaryScope)
    let started = false
    let winner: typeof primary | undefined
    // The first pull races the two streams to their first elements; every later pull is the winner's. The race's
    // loser is interrupted inside its pull, which aborts a BAML stream's request at once, and its scope is closed.
    const second = Effect.suspend(() => {
      started = true
      return Effect.flatMap(open<A | A2, E | E2, R | R2>(hedge, hedgeScope), (pull) =>
        Effect.map(pull, (chunk) => [chunk, pull, "hedge"] as const))
    })
    const race = Effect.race(
      Effect.map(primary, (chunk) => [chunk, primary, "primary"] as const),
      Effect.delay(second, options.after)
    ).pipe(
      Effect.tap(([, pull, won]) => {
        winner = pull
        annotate(span, won, started)
        return Scope.close(won === "primary" ? hedgeScope : primaryScope, Exit.void)
      }),
      Effect.map(([chunk]) => chunk)
    )
    return Stream.fromPull(Effect.succeed(Effect.suspend(() => winner ?? race)))
  }))

/**
 * Streams `self`; if it has not emitted its first element `after` the delay, also starts `hedge` (e.g. the same
 * function on another client). The first to emit wins: the stream goes on with its elements only, and the other is
 * interrupted, which aborts its LLM request at once. A stream that fails before its first element does not win.
 * The span `BamlHedge.stream`, open for the stream's life, says which won and whether the hedge started.
 *
 * @example
 * ```ts
 * import { Baml, BamlHedge } from "effect-baml"
 * import * as Client from "./baml_client/index.js"
 *
 * const resume = Client.stream.ExtractResume("Ada Lovelace, ...").pipe(
 *   BamlHedge.stream({ after: "2 seconds", hedge: Client.stream.ExtractResume("Ada Lovelace, ...", { client: "Backup" }) }),
 *   Baml.final
 * )
 * ```
 * @since 0.3.0
 * @category combinators
 */
export const stream: {
  <A2, E2, R2>(
    options: Options & { readonly hedge: Stream.Stream<A2, E2, R2> }
  ): <A, E, R>(self: Stream.Stream<A, E, R>) => Stream.Stream<A | A2, E | E2, R | R2>
  <A, E, R, A2, E2, R2>(
    self: Stream.Stream<A, E, R>,
    options: Options & { readonly hedge: Stream.Stream<A2, E2, R2> }
  ): Stream.Stream<A | A2, E | E2, R | R2>
} = dual(2, <A, E, R, A2, E2, R2>(
  self: Stream.Stream<A, E, R>,
  options: Options & { readonly hedge: Stream.Stream<A2, E2, R2> }
): Stream.Stream<A | A2, E | E2, R | R2> => hedgeStream(self, options.hedge, options, "BamlHedge.stream"))

/**
 * A middleware that hedges every call and stream: the hedge is the same function with the same arguments, its options
 * with `options.options` over them. Its spans are `BamlHedge <function>`.
 *
 * @example
 * ```ts
 * import { Baml, BamlHedge, BamlMiddleware } from "effect-baml"
 *
 * const program = Baml.call("ExtractResume", { resume: "..." }).pipe(
 *   BamlMiddleware.withMiddleware(BamlHedge.middleware({ after: "3 seconds", options: { client: "Backup" } }))
 * )
 * ```
 * @since 0.3.0
 * @category middleware
 */
export const middleware = (options: MiddlewareOptions): BamlMiddleware.Middleware => ({
  call: (request, next) =>
    hedgeEffect(
      next(request),
      next(Middleware.withOptions(request, options.options)),
      options,
      `BamlHedge ${request.functionName}`
    ),
  stream: (request, next) =>
    hedgeStream(
      next(request),
      next(Middleware.withOptions(request, options.options)),
      options,
      `BamlHedge ${request.functionName}`
    )
})

/**
 * A layer that hedges every call and stream of the program it is provided to (generated clients and jobs included):
 * {@link middleware} as a layer.
 *
 * @example
 * ```ts
 * import { Baml, BamlHedge, BamlRuntime } from "effect-baml"
 * import { Effect, Layer } from "effect"
 *
 * const Live = Layer.merge(
 *   BamlRuntime.layerFromDirectory("./baml_src"),
 *   BamlHedge.layer({ after: "3 seconds", options: { client: "Backup" } })
 * )
 * const program = Baml.call("ExtractResume", { resume: "..." }).pipe(Effect.provide(Live))
 * ```
 * @since 0.3.0
 * @category middleware
 */
export const layer = (options: MiddlewareOptions): Layer.Layer<BamlMiddleware.CurrentMiddleware> =>
  Middleware.layerMiddleware([middleware(options)])
