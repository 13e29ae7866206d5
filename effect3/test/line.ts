/**
 * The Effect 3 line, as the tests in `test/shared/` see it: the same names as `test/line.ts` exports for the Effect 4
 * line (read it first), from Effect 3 and `effect-baml/effect3`.
 */
import { HttpClientRequest, HttpRouter, HttpServer } from "@effect/platform"
import type { MetricReader } from "@opentelemetry/sdk-metrics"
import type { SpanProcessor } from "@opentelemetry/sdk-trace-base"
import {
  Cause,
  Chunk,
  Context,
  Effect,
  Either,
  Exit,
  Fiber,
  FiberId,
  HashMap,
  Layer,
  Logger,
  LogLevel,
  Option,
  Runtime,
  Schedule,
  Schema,
  Scope,
  Stream,
  Tracer
} from "effect"
import { fileURLToPath } from "node:url"

import { BamlHttp } from "effect-baml/effect3"
import type { BamlRuntime as BamlRuntimeModule } from "effect-baml/effect3"
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
} from "@effect/platform"
export { Baml, BamlError, BamlHedge, BamlHttp, BamlMedia, BamlMiddleware, BamlRuntime, TokenBudget } from "effect-baml/effect3"
export { BamlClient, BamlError as ClientErrors } from "effect-baml/effect3/client"
export { ScriptedProvider } from "effect-baml/effect3/testing"
export { NodeFileSystem, NodeHttpServer } from "@effect/platform-node"
export * as Client from "./fixtures/baml_client/index.js"
export * as ClientHttp from "./fixtures/baml_client/http.js"
export * as ClientSchemas from "./fixtures/baml_client/schemas.js"

/** Which Effect line this is. */
export const line: 3 | 4 = 3

/** `Layer.unwrapEffect`: the layer an effect builds. */
export const unwrapLayer = Layer.unwrapEffect

/** `Effect.fork`: runs an effect in a new fiber, a child of the current one. */
export const forkChild = Effect.fork

/** `Effect.yieldNow()`: lets other fibers run. */
export const yieldNow: Effect.Effect<void> = Effect.yieldNow()

/** `Scope.extend`: runs an effect in a scope the caller closes. */
export const provideScope = Scope.extend

/** Fails with `error()` when `self` has not ended within `duration`. */
export const timeoutFail =
  <E>(duration: Duration.DurationInput, error: () => E) => <A, E1, R>(self: Effect.Effect<A, E1, R>) =>
    Effect.timeoutFail(self, { duration, onTimeout: error })

/** Whether `fiber` is still running. */
export const isRunning = <A, E>(fiber: Fiber.Fiber<A, E>): Effect.Effect<boolean> =>
  Effect.map(Fiber.poll(fiber), Option.isNone)

/** Whether `error`, a file system error of this line's platform, says the file was not found. */
export const isNotFound = (error: { readonly _tag: string }): boolean =>
  error._tag === "SystemError" && "reason" in error && error.reason === "NotFound"

/** How long, as this line's `Duration` takes it. */
export type DurationInput = Duration.DurationInput

/** The error `Effect.timeout` fails with on this line. */
export type TimeoutError = Cause.TimeoutException

/** The tag of {@link TimeoutError}. */
export const timeoutErrorTag = "TimeoutException"

/** `Cause.failureOption`: the first typed error of a cause. */
export const failureOf: <E>(cause: Cause.Cause<E>) => Option.Option<E> = Cause.failureOption

/** `Exit.isInterrupted`: whether the fiber was interrupted. */
export const isInterrupted: <A, E>(exit: Exit.Exit<A, E>) => boolean = Exit.isInterrupted

/** `Effect.fork`: the child fiber runs at once. */
export const forkNow = <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.fork(self)

/** `Effect.catchAll`: recovers from any typed error. */
export const catchAll = Effect.catchAll

/** `Schedule.upTo`: stops retrying after `duration`. */
export const upTo = (duration: DurationInput) => Schedule.upTo(duration)

/** `Effect.Effect.Success`: what an effect succeeds with. */
export type Success<T extends Effect.Effect<unknown, unknown, unknown>> = Effect.Effect.Success<T>

/** Runs `self` with a fiber giving way to others every `n` steps (`Effect.withMaxOpsBeforeYield`). */
export const withMaxOpsBeforeYield =
  (n: number) => <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> => Effect.withMaxOpsBeforeYield(self, n)

/** The generated client of the kinds fixture (one of each kind of BAML type), and its schemas. */
export * as Kinds from "./fixtures/kinds/baml_client/index.js"
export * as KindsSchemas from "./fixtures/kinds/baml_client/schemas.js"
/** The generated client of the forms fixture (every BAML type form), and its schemas. */
export * as Forms from "./fixtures/forms/baml_client/index.js"
export * as FormsSchemas from "./fixtures/forms/baml_client/schemas.js"
export * as KindsHttp from "./fixtures/kinds/baml_client/http.js"

/** A schema that decodes without services, as `Schema.decodeUnknownEither` takes it. */
export type AnySchema = Schema.Schema.AnyNoContext

/** Whether `value` decodes with `schema`. */
export const decodes = (schema: AnySchema, value: unknown): boolean =>
  Either.isRight(Schema.decodeUnknownEither(schema)(value))

/** The first issue of a value that does not decode with `schema`, as a server reports it (`BamlHttp.invalidArguments`). */
export const firstIssue = (schema: AnySchema, value: unknown) => {
  const result = Schema.decodeUnknownEither(schema)(value)
  if (Either.isRight(result)) throw new Error(`${JSON.stringify(value)} decoded`)
  return BamlHttp.invalidArguments("test", result.left).issues![0]!
}

/** `Effect.async`: an effect from a callback-taking API; the effect it returns, if any, runs on interruption. */
export const callback = Effect.async

/** `Layer.scoped`: a service acquired and released with the layer. */
export const scopedLayer = Layer.scoped

/** `Context.GenericTag(key)`: the key of a service of shape `Shape`. */
export const serviceKey = <Shape>(key: string) => Context.GenericTag<Shape>(key)

/** A runner of effects to promises with the current fiber's services (`Effect.runtime` and `Runtime.runPromise`). */
export const promiseRunner = <R>() =>
  Effect.map(
    Effect.runtime<R>(),
    (runtime) => <A, E>(effect: Effect.Effect<A, E, R>) => Runtime.runPromise(runtime)(effect)
  )

/** `Stream.flattenIterables`: each iterable element of a stream, one element per item. */
export const flattenIterable = Stream.flattenIterables

/** The ids of the fibers that interrupted, named in `exit`'s cause (none when it did not fail). */
export const interruptorsOf = <A, E>(exit: Exit.Exit<A, E>): ReadonlyArray<number> =>
  Exit.isFailure(exit) ? [...FiberId.ids(FiberId.combineAll(Cause.interruptors(exit.cause)))] : []

/** The current fiber's ids, as {@link interruptorsOf} names them. */
export const currentFiberIds: Effect.Effect<ReadonlyArray<number>> = Effect.map(
  Effect.fiberId,
  (id) => [...FiberId.ids(id)]
)

/** Interrupts `fiber` as plain code holding it would, naming no fiber as the interruptor, and waits for its end. */
export const interruptUnnamed = <A, E>(fiber: Fiber.Fiber<A, E>): Effect.Effect<void> =>
  Effect.asVoid(Fiber.interruptAs(fiber, FiberId.none))

/** `Cause.isDie`: whether a cause holds a defect. */
export const hasDefect: <E>(cause: Cause.Cause<E>) => boolean = Cause.isDie

/** Every typed error of a cause. */
export const failuresOf = <E>(cause: Cause.Cause<E>): ReadonlyArray<E> => Chunk.toReadonlyArray(Cause.failures(cause))

/** Whether an exit of a pull (`Stream.toPull`) says the stream has ended: a failure with `None` and nothing else. */
export const isPullEnd = <A, E>(exit: Exit.Exit<A, E>): boolean =>
  Exit.isFailure(exit) && Cause.isFailType(exit.cause) && Option.isOption(exit.cause.error) &&
  Option.isNone(exit.cause.error)

/** The stream's own error, from what a pull (`Stream.toPull`) failed with: the value of its `Some`. */
export const pullError = (error: unknown): unknown =>
  Option.isOption(error) && Option.isSome(error) ? error.value : undefined

/** One log as {@link captureLogs} hands it on: its level's name (`"Debug"`, `"Error"`, ...) and annotations. */
export interface LogEntry {
  readonly level: string
  readonly message: unknown
  readonly cause: Cause.Cause<unknown>
  readonly annotations: Readonly<Record<string, unknown>>
}

/** A layer whose logger, in place of the default one, hands every log to `log` (`Logger.replace`). */
export const captureLogs = (log: (entry: LogEntry) => void): Layer.Layer<never> =>
  Logger.replace(
    Logger.defaultLogger,
    Logger.make(({ annotations, cause, logLevel, message }) =>
      log({ level: logLevel._tag, message, cause, annotations: Object.fromEntries(HashMap.toEntries(annotations)) })
    )
  )

/** Runs `self` with logs from `level` up written (`Logger.withMinimumLogLevel`). */
export const withMinimumLogLevel =
  (level: "All" | "Debug") => <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Logger.withMinimumLogLevel(self, LogLevel.fromLiteral(level))

/** A tracer like `base` that hands each span it makes to `onSpan`, and uses the span `onSpan` returns. */
export const recordingTracer = (base: Tracer.Tracer, onSpan: (span: Tracer.Span) => Tracer.Span): Tracer.Tracer =>
  Tracer.make({
    span: (...args) => onSpan(base.span(...args)),
    context: (f, fiber) => base.context(f, fiber)
  })

/**
 * `NodeSdk.layer` for `serviceName`, spans to `spanProcessor` and metrics to `metricReader`. OpenTelemetry is loaded
 * only by the tests that use it.
 */
export const telemetryLayer = (options: {
  readonly serviceName: string
  readonly spanProcessor: SpanProcessor
  readonly metricReader: MetricReader
}) =>
  Layer.unwrapEffect(Effect.promise(async () => {
    const NodeSdk = await import("@effect/opentelemetry/NodeSdk")
    return NodeSdk.layer(() => ({
      resource: { serviceName: options.serviceName },
      spanProcessor: options.spanProcessor,
      metricReader: options.metricReader
    }))
  }))

/** A route of a test server: `handler` answers `method` requests to `path` (`HttpRouter.makeRoute`). */
export const route = HttpRouter.makeRoute

/** Serves `routes` on the `HttpServer` the caller provides (`HttpRouter.fromIterable`, `HttpServer.serve`). */
export const serve = <Routes extends ReadonlyArray<HttpRouter.Route<unknown, unknown>>>(...routes: Routes) =>
  HttpServer.serve(HttpRouter.fromIterable<Routes[number]>(routes))

/** `HttpClientRequest.bodyUnsafeJson`: a request with `body` as its JSON body. */
export const withJsonBody = HttpClientRequest.bodyUnsafeJson

/** The tag of the error an `HttpClient` fails with on a response it will not take (its status, say). */
export const responseErrorTag = "ResponseError"

/** The tag of the error an `HttpClient` fails with when it cannot make a request (nothing listens, say). */
export const requestErrorTag = "RequestError"

/** {@link responseErrorTag}, as a test's name says it. */
export const responseErrorName = "HttpClientError's ResponseError"

/** The status of the response an `HttpClient` error is about, if it is about one. */
export const responseStatus = (error: { readonly _tag: string }): number | undefined =>
  error._tag === "ResponseError" && "response" in error
    ? (error.response as { readonly status: number }).status
    : undefined

/** The path, from the repository root, of a program in `effect3/test/fixtures/` run in a process of its own. */
export const fixtureScript = (name: string) => `effect3/test/fixtures/${name}`

/**
 * The `node` flags that run this line's TypeScript in a process of its own: tsx, then effect3/register.mjs (the
 * sources resolved as the Effect 3 line: `#kit`, `effect-baml/effect3`, Effect 3's packages).
 */
export const nodeImports: ReadonlyArray<string> = [
  "--import",
  "tsx",
  "--import",
  fileURLToPath(new URL("../register.mjs", import.meta.url))
]

/** Where a README test written out for this line runs (so that `effect` and `@effect/vitest` resolve to its own). */
export const readmeRunDirectory = "effect3/test/.readme-run"

/** A README block as a user of this line writes it: effect-baml's imports made effect-baml/effect3's. */
export const asUserWrites = (code: string): string =>
  code.replaceAll("from \"effect-baml\"", "from \"effect-baml/effect3\"")
    .replaceAll("from \"effect-baml/testing\"", "from \"effect-baml/effect3/testing\"")

/** The web example of this line (effect3/examples/web/server.ts), loaded only by the tests that serve it. */
export const webExample = () => import("../examples/web/server.js")

/** Routes serving each of `names` with `BamlHttp.handler` at `POST /api/baml/<name>`, as this line declares routes. */
export const handlerRoutes = (names: readonly [string, ...Array<string>]) =>
  names.reduce(
    (router, name) => HttpRouter.post(router, `/api/baml/${name}`, BamlHttp.handler(name)),
    HttpRouter.empty as HttpRouter.HttpRouter<never, BamlRuntimeModule.BamlRuntime>
  )

/** `Layer.scopedDiscard`: a layer that runs a scoped effect when built and provides nothing. */
export const layerScopedDiscard = Layer.scopedDiscard
