/**
 * The Effect 4 line, as the tests in `test/shared/` see it. Those tests run once per Effect line: they import
 * everything that depends on the line from `#line`, which this project's Vitest and TypeScript configurations map to
 * this file for the Effect 4 line and to `effect3/test/line.ts` for the Effect 3 line. The two files export the same
 * names; where the two Effect APIs differ, the helper below says what it stands for.
 */
import { Cause, Effect, Exit, Fiber, Layer, Option, References, Result, Schedule, Schema, Scope } from "effect"
import { BamlHttp } from "effect-baml"
import type { Duration } from "effect"
import { HttpRouter } from "effect/http"

export { describe, expect, it, layer } from "@effect/vitest"
export { Cause, Effect, Exit, Fiber, Layer, Option, Schedule, Schema, Scope, Stream } from "effect"
export { Baml, BamlError, BamlHttp, BamlMedia, BamlRuntime, TokenBudget } from "effect-baml"
export { ScriptedProvider } from "effect-baml/testing"
export * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
export * as Client from "../baml_client/index.js"

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

/** Routes serving each of `names` with `BamlHttp.handler` at `POST /api/baml/<name>`, as this line declares routes. */
export const handlerRoutes = (names: readonly [string, ...Array<string>]) => {
  const [first, ...rest] = names.map((name) => HttpRouter.add("POST", `/api/baml/${name}`, BamlHttp.handler(name)))
  return Layer.mergeAll(first!, ...rest)
}

/** `Layer.effectDiscard`: a layer that runs a scoped effect when built and provides nothing. */
export const layerScopedDiscard = Layer.effectDiscard
