/**
 * The Effect 4 line, as the tests in `test/shared/` see it. Those tests run once per Effect line: they import
 * everything that depends on the line from `#line`, which this project's Vitest and TypeScript configurations map to
 * this file for the Effect 4 line and to `effect3/test/line.ts` for the Effect 3 line. The two files export the same
 * names; where the two Effect APIs differ, the helper below says what it stands for.
 */
import { Effect, Fiber, Layer, Scope } from "effect"
import type { Duration } from "effect"

export { describe, expect, it, layer } from "@effect/vitest"
export { Cause, Effect, Exit, Fiber, Layer, Option, Schema, Scope, Stream } from "effect"
export { Baml, BamlError, BamlMedia, BamlRuntime, TokenBudget } from "effect-baml"
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
