/**
 * The Effect 4 line, as the tests in `test/shared/` see it. Those tests run once per Effect line: they import
 * everything that depends on the line from `#line`, which this project's Vitest and TypeScript configurations map to
 * this file for the Effect 4 line and to `effect3/test/line.ts` for the Effect 3 line. The two files export the same
 * names; where the two Effect APIs differ, the helper below says what it stands for.
 */
import type { MetricReader } from "@opentelemetry/sdk-metrics"
import type { SpanProcessor } from "@opentelemetry/sdk-trace-base"
import {
  Cause,
  Context,
  Effect,
  Exit,
  Fiber,
  Layer,
  Logger,
  Option,
  References,
  Result,
  Schedule,
  Schema,
  Scope,
  Stream,
  Tracer
} from "effect"
import { HttpClientRequest, HttpRouter } from "effect/http"
import * as Pull from "effect/Pull"
import { BamlHttp } from "effect-baml"
import type { Duration } from "effect"

export { describe, expect, it, layer } from "@effect/vitest"
export { Cause, Effect, Exit, Fiber, Layer, Option, Schedule, Schema, Scope, Stream, Tracer } from "effect"
export {
  FetchHttpClient,
  HttpClient,
  HttpClientRequest,
  HttpServer,
  HttpServerRequest,
  HttpServerResponse
} from "effect/http"
export { Baml, BamlError, BamlHedge, BamlHttp, BamlMedia, BamlMiddleware, BamlRuntime, TokenBudget } from "effect-baml"
export { BamlClient, BamlError as ClientErrors } from "effect-baml/client"
export { ScriptedProvider } from "effect-baml/testing"
export * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
export * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
export * as Client from "../baml_client/index.js"
export * as ClientHttp from "../baml_client/http.js"
export * as ClientSchemas from "../baml_client/schemas.js"

/** Which Effect line this is. */
export const line: 3 | 4 = 4

/** `Layer.unwrap`: the layer an effect builds. */
export const unwrapLayer = Layer.unwrap

/** `Effect.forkChild`: runs an effect in a new fiber, a child of the current one. */
export const forkChild = Effect.forkChild

/** `Effect.yieldNow`: lets other fibers run. */
export const yieldNow: Effect.Effect<void> = Effect.yieldNow

/** `Scope.provide`: runs an effect in a scope the caller closes. */
export const provideScope = Scope.provide

/** Fails with `error()` when `self` has not ended within `duration`. */
export const timeoutFail =
  <E>(duration: Duration.Input, error: () => E) => <A, E1, R>(self: Effect.Effect<A, E1, R>) =>
    Effect.timeoutOrElse(self, { duration, orElse: () => Effect.fail(error()) })

/** Whether `fiber` is still running. */
export const isRunning = <A, E>(fiber: Fiber.Fiber<A, E>): Effect.Effect<boolean> =>
  Effect.sync(() => fiber.pollUnsafe() === undefined)

/** Whether `error`, a file system error of this line's platform, says the file was not found. */
export const isNotFound = (error: { readonly _tag: string }): boolean =>
  error._tag === "PlatformError" && "reason" in error &&
  (error.reason as { readonly _tag: string })._tag === "NotFound"

/** How long, as this line's `Duration` takes it. */
export type DurationInput = Duration.Input

/** The error `Effect.timeout` fails with on this line. */
export type TimeoutError = Cause.TimeoutError

/** The tag of {@link TimeoutError}. */
export const timeoutErrorTag = "TimeoutError"

/** `Cause.findErrorOption`: the first typed error of a cause. */
export const failureOf: <E>(cause: Cause.Cause<E>) => Option.Option<E> = Cause.findErrorOption

/** `Exit.hasInterrupts`: whether the fiber was interrupted. */
export const isInterrupted: <A, E>(exit: Exit.Exit<A, E>) => boolean = Exit.hasInterrupts

/** `Effect.forkChild` with `startImmediately`: the child runs at once rather than on a later tick. */
export const forkNow = <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.forkChild(self, { startImmediately: true })

/** `Effect.catch`: recovers from any typed error. */
export const catchAll = Effect.catch

/** `Schedule.upTo`: stops retrying after `duration`. */
export const upTo = (duration: DurationInput) => Schedule.upTo({ duration })

/** `Effect.Success`: what an effect succeeds with. */
export type Success<T extends Effect.Effect<unknown, unknown, unknown>> = Effect.Success<T>

/** Runs `self` with a fiber giving way to others every `n` steps (`References.MaxOpsBeforeYield`). */
export const withMaxOpsBeforeYield =
  (n: number) => <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.provideService(self, References.MaxOpsBeforeYield, n)

/** The generated client of the kinds fixture (one of each kind of BAML type), and its schemas. */
export * as Kinds from "./fixtures/kinds/baml_client/index.js"
export * as KindsSchemas from "./fixtures/kinds/baml_client/schemas.js"
/** The generated client of the forms fixture (every BAML type form), and its schemas. */
export * as Forms from "./fixtures/forms/baml_client/index.js"
export * as FormsSchemas from "./fixtures/forms/baml_client/schemas.js"
export * as KindsHttp from "./fixtures/kinds/baml_client/http.js"

/** A schema that decodes without services, as `Schema.decodeUnknownResult` takes it. */
export type AnySchema = Schema.Top & { readonly DecodingServices: never }

/** Whether `value` decodes with `schema`. */
export const decodes = (schema: AnySchema, value: unknown): boolean =>
  Result.isSuccess(Schema.decodeUnknownResult(schema)(value))

/** The first issue of a value that does not decode with `schema`, as a server reports it (`BamlHttp.invalidArguments`). */
export const firstIssue = (schema: AnySchema, value: unknown) => {
  const result = Schema.decodeUnknownResult(schema)(value)
  if (Result.isSuccess(result)) throw new Error(`${JSON.stringify(value)} decoded`)
  return BamlHttp.invalidArguments("test", result.failure).issues![0]!
}

/** `Effect.callback`: an effect from a callback-taking API; the effect it returns, if any, runs on interruption. */
export const callback = Effect.callback

/** `Layer.effect`, which closes the effect's scope with the layer's: a service acquired and released with it. */
export const scopedLayer = Layer.effect

/** `Context.Service(key)`: the key of a service of shape `Shape`. */
export const serviceKey = <Shape>(key: string) => Context.Service<Shape>(key)

/** A runner of effects to promises with the current fiber's services (`Effect.context` and `Effect.runPromiseWith`). */
export const promiseRunner = <R>() =>
  Effect.map(
    Effect.context<R>(),
    (context) => <A, E>(effect: Effect.Effect<A, E, R>) => Effect.runPromiseWith(context)(effect)
  )

/** `Stream.flattenIterable`: each iterable element of a stream, one element per item. */
export const flattenIterable = Stream.flattenIterable

/** The ids of the fibers that interrupted, named in `exit`'s cause (none when it did not fail). */
export const interruptorsOf = <A, E>(exit: Exit.Exit<A, E>): ReadonlyArray<number> =>
  Exit.isFailure(exit) ? [...Cause.interruptors(exit.cause)] : []

/** The current fiber's ids, as {@link interruptorsOf} names them. */
export const currentFiberIds: Effect.Effect<ReadonlyArray<number>> = Effect.map(Effect.fiberId, (id) => [id])

/** Interrupts `fiber` as plain code holding it would, naming no fiber as the interruptor, and waits for its end. */
export const interruptUnnamed = <A, E>(fiber: Fiber.Fiber<A, E>): Effect.Effect<void> =>
  Effect.suspend(() => {
    fiber.interruptUnsafe()
    return Effect.asVoid(Fiber.await(fiber))
  })

/** `Cause.hasDies`: whether a cause holds a defect. */
export const hasDefect: <E>(cause: Cause.Cause<E>) => boolean = Cause.hasDies

/** Every typed error of a cause. */
export const failuresOf = <E>(cause: Cause.Cause<E>): ReadonlyArray<E> =>
  cause.reasons.filter(Cause.isFailReason).map((reason) => reason.error)

/** Whether an exit of a pull (`Stream.toPull`) says the stream has ended (`Pull.isDoneCause`). */
export const isPullEnd = <A, E>(exit: Exit.Exit<A, E>): boolean => Exit.isFailure(exit) && Pull.isDoneCause(exit.cause)

/** The stream's own error, from what a pull (`Stream.toPull`) failed with: here that error itself. */
export const pullError = (error: unknown): unknown => error

/** One log as {@link captureLogs} hands it on: its level's name (`"Debug"`, `"Error"`, ...) and annotations. */
export interface LogEntry {
  readonly level: string
  readonly message: unknown
  readonly cause: Cause.Cause<unknown>
  readonly annotations: Readonly<Record<string, unknown>>
}

/** A layer whose logger, in place of the others, hands every log to `log` (`Logger.layer`). */
export const captureLogs = (log: (entry: LogEntry) => void): Layer.Layer<never> =>
  Logger.layer([
    Logger.make(({ cause, fiber, logLevel, message }) =>
      log({ level: logLevel, message, cause, annotations: { ...fiber.getRef(References.CurrentLogAnnotations) } })
    )
  ])

/** Runs `self` with logs from `level` up written (`References.MinimumLogLevel`). */
export const withMinimumLogLevel =
  (level: "All" | "Debug") => <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.provideService(self, References.MinimumLogLevel, level)

/** A tracer like `base` that hands each span it makes to `onSpan`, and uses the span `onSpan` returns. */
export const recordingTracer = (base: Tracer.Tracer, onSpan: (span: Tracer.Span) => Tracer.Span): Tracer.Tracer =>
  Tracer.make({
    span(options) {
      return onSpan(base.span(options))
    },
    ...(base.context === undefined ? {} : { context: base.context })
  })

/**
 * What `NodeSdk.layer` builds for `serviceName`, spans to `spanProcessor` and metrics to `metricReader`, with the base
 * SDK's tracer provider (the Node one adds only context propagation). OpenTelemetry is loaded only by the tests that
 * use it.
 */
export const telemetryLayer = (options: {
  readonly serviceName: string
  readonly spanProcessor: SpanProcessor
  readonly metricReader: MetricReader
}) =>
  Layer.unwrap(Effect.promise(async () => {
    const [OtelMetrics, OtelTracer, Resource, { BasicTracerProvider }] = await Promise.all([
      import("@effect/opentelemetry/OtelMetrics"),
      import("@effect/opentelemetry/OtelTracer"),
      import("@effect/opentelemetry/Resource"),
      import("@opentelemetry/sdk-trace-base")
    ])
    return Layer.mergeAll(
      Layer.provide(
        OtelTracer.layer,
        Layer.effect(
          OtelTracer.OtelTracerProvider,
          Effect.map(Effect.service(Resource.Resource), (resource) =>
            new BasicTracerProvider({ resource, spanProcessors: [options.spanProcessor] }))
        )
      ),
      OtelMetrics.layer(() => options.metricReader)
    ).pipe(Layer.provideMerge(Resource.layer({ serviceName: options.serviceName })))
  }))

/** A route of a test server: `handler` answers `method` requests to `path` (`HttpRouter.add`). */
export const route = HttpRouter.add

/** Serves `routes` on the `HttpServer` the caller provides, logging nothing (`HttpRouter.serve`). */
export const serve = <Routes extends [Route, ...Array<Route>]>(...routes: Routes) =>
  HttpRouter.serve(Layer.mergeAll(...routes), { disableListenLog: true, disableLogger: true })

/** What {@link route} makes: a layer that adds one route to the server's router. */
type Route = Layer.Layer<never, never, unknown>

/** `HttpClientRequest.bodyJsonUnsafe`: a request with `body` as its JSON body. */
export const withJsonBody = HttpClientRequest.bodyJsonUnsafe

/** The tag of the error an `HttpClient` fails with on a response it will not take (its status, say). */
export const responseErrorTag = "HttpClientError"

/** The tag of the error an `HttpClient` fails with when it cannot make a request (nothing listens, say). */
export const requestErrorTag = "HttpClientError"

/** {@link responseErrorTag}, as a test's name says it. */
export const responseErrorName = "HttpClientError"

/** The status of the response an `HttpClient` error is about, if it is about one. */
export const responseStatus = (error: { readonly _tag: string }): number | undefined =>
  error._tag === "HttpClientError" && "response" in error
    ? (error.response as { readonly status: number } | undefined)?.status
    : undefined

/** The path, from the repository root, of a program in `test/fixtures/` run in a process of its own. */
export const fixtureScript = (name: string) => `test/fixtures/${name}`

/** The `node` flags that run this line's TypeScript in a process of its own: tsx. */
export const nodeImports: ReadonlyArray<string> = ["--import", "tsx"]

/** Where a README test written out for this line runs (so that `effect` and `@effect/vitest` resolve to its own). */
export const readmeRunDirectory = "test/.readme-run"

/** A README block as a user of this line writes it: here, as written. */
export const asUserWrites = (code: string): string => code

/** The web example of this line (examples/web/server.ts), loaded only by the tests that serve it. */
export const webExample = () => import("../examples/web/server.js")

/** Routes serving each of `names` with `BamlHttp.handler` at `POST /api/baml/<name>`, as this line declares routes. */
export const handlerRoutes = (names: readonly [string, ...Array<string>]) => {
  const [first, ...rest] = names.map((name) => HttpRouter.add("POST", `/api/baml/${name}`, BamlHttp.handler(name)))
  return Layer.mergeAll(first!, ...rest)
}

/** `Layer.effectDiscard`: a layer that runs a scoped effect when built and provides nothing. */
export const layerScopedDiscard = Layer.effectDiscard
