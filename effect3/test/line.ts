/**
 * The Effect 3 line, as the tests in `test/shared/` see it: the same names as `test/line.ts` exports for the Effect 4
 * line (read it first), from Effect 3 and `effect-baml/effect3`.
 */
import { Cause, Effect, Either, Exit, Fiber, Layer, Option, Schedule, Schema, Scope } from "effect"
import { HttpRouter } from "@effect/platform"
import { BamlHttp } from "effect-baml/effect3"
import type { BamlRuntime as Runtime } from "effect-baml/effect3"
import type { Duration } from "effect"

export { describe, expect, it, layer } from "@effect/vitest"
export { Cause, Effect, Exit, Fiber, Layer, Option, Schedule, Schema, Scope, Stream } from "effect"
export { Baml, BamlError, BamlHttp, BamlMedia, BamlRuntime, TokenBudget } from "effect-baml/effect3"
export { ScriptedProvider } from "effect-baml/effect3/testing"
export { NodeFileSystem } from "@effect/platform-node"
export * as Client from "./fixtures/baml_client/index.js"

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

/** Routes serving each of `names` with `BamlHttp.handler` at `POST /api/baml/<name>`, as this line declares routes. */
export const handlerRoutes = (names: readonly [string, ...Array<string>]) =>
  names.reduce(
    (router, name) => HttpRouter.post(router, `/api/baml/${name}`, BamlHttp.handler(name)),
    HttpRouter.empty as HttpRouter.HttpRouter<never, Runtime.BamlRuntime>
  )

/** `Layer.scopedDiscard`: a layer that runs a scoped effect when built and provides nothing. */
export const layerScopedDiscard = Layer.scopedDiscard
