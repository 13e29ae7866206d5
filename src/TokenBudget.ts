/**
 * A cap on the tokens (and optionally the estimated cost) of every BAML call and stream run inside a scope or a
 * layer. A stream that goes over the budget is cut off as it goes: its request is aborted and it fails with
 * `BudgetExceeded`.
 *
 * How tokens are counted: a stream counts one output token per server-sent event as the event arrives (the engine
 * reports each one), and when it ends the count is replaced with the provider's own usage report, which is exact.
 * A call's reply arrives whole, so a call is refused when the budget is already spent and charged the provider's count
 * when it ends; it cannot be cut off half way. See docs/observability.md for how exact each count is.
 *
 * @since 0.1.0
 */
import { Effect, type Layer, Stream } from "effect"
import { dual } from "effect/Function"
import * as Budget from "./core/usage/budget.js"
import type { Options, Used } from "./core/usage/budget.js"
import * as Kit from "#kit"

export type {
  /**
   * @since 0.1.0
   */
  Cost,
  /**
   * @since 0.1.0
   */
  Options,
  /**
   * @since 0.1.0
   */
  Used
} from "./core/usage/budget.js"

/**
 * A running budget. `unsafeUsed` and `unsafeAdd` are synchronous because the engine reports stream events from native
 * callbacks, outside any fiber; `Baml.call` and `Baml.stream` use them, and so may code that spends tokens elsewhere.
 *
 * @example
 * ```ts
 * import { TokenBudget } from "effect-baml"
 * import { Effect } from "effect"
 *
 * // charge tokens spent by another LLM client to the same budget
 * const charge = Effect.flatMap(TokenBudget.TokenBudget, (budget) =>
 *   Effect.sync(() => budget.unsafeAdd({ inputTokens: 120, outputTokens: 40 })))
 * ```
 * @since 0.1.0
 * @category models
 */
export interface Service {
  readonly options: Options
  readonly used: Effect.Effect<Used>
  readonly unsafeUsed: () => Used
  /** Adds tokens (a negative number corrects an earlier estimate) and their cost. */
  readonly unsafeAdd: (tokens: {
    readonly inputTokens?: number | undefined
    readonly outputTokens?: number | undefined
    readonly cachedInputTokens?: number | undefined
  }) => void
}

/**
 * The budget that `Baml.call` and `Baml.stream` charge, when one is provided. Without one nothing is capped.
 *
 * @example
 * ```ts
 * import { TokenBudget } from "effect-baml"
 * import { Effect } from "effect"
 *
 * const report = Effect.flatMap(TokenBudget.TokenBudget, (budget) => budget.used)
 * ```
 * @since 0.1.0
 * @category services
 */
export class TokenBudget extends Kit.Service<TokenBudget, Service>()("effect-baml/TokenBudget") {}

/**
 * Makes a budget that starts with nothing used.
 *
 * @example
 * ```ts
 * import { TokenBudget } from "effect-baml"
 *
 * const budget = TokenBudget.make({ maxOutputTokens: 1_000 })
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options): Effect.Effect<Service> =>
  Effect.sync(() => {
    const { unsafeAdd, unsafeUsed } = Budget.counter(options)
    return { options, used: Effect.sync(unsafeUsed), unsafeUsed, unsafeAdd }
  })

/**
 * A layer with one budget for everything that uses it.
 *
 * @example
 * ```ts
 * import { Baml, TokenBudget } from "effect-baml"
 * import { Effect } from "effect"
 *
 * const program = Baml.call("Summarize", { text: "..." }).pipe(
 *   Effect.provide(TokenBudget.layer({ maxOutputTokens: 10_000 }))
 * )
 * ```
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<TokenBudget> => Kit.layerScoped(TokenBudget, make(options))

/**
 * Runs an effect with a fresh budget: every call and stream inside it, however many and however concurrent, shares
 * it.
 *
 * @example
 * ```ts
 * import { Baml, TokenBudget } from "effect-baml"
 * import { Effect } from "effect"
 *
 * const both = Effect.all([
 *   Baml.call("Summarize", { text: "first" }),
 *   Baml.call("Summarize", { text: "second" })
 * ], { concurrency: 2 }).pipe(TokenBudget.limit({ maxOutputTokens: 400 }))
 * ```
 * @since 0.1.0
 * @category combinators
 */
export const limit: {
  (options: Options): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, Exclude<R, TokenBudget>>
  <A, E, R>(self: Effect.Effect<A, E, R>, options: Options): Effect.Effect<A, E, Exclude<R, TokenBudget>>
} = dual(
  2,
  <A, E, R>(self: Effect.Effect<A, E, R>, options: Options): Effect.Effect<A, E, Exclude<R, TokenBudget>> =>
    Effect.provideServiceEffect(self, TokenBudget, make(options))
)

/**
 * Runs a stream with a fresh budget; when a BAML stream inside it goes over, the request is aborted and the stream
 * fails with `BudgetExceeded`.
 *
 * @example
 * ```ts
 * import { Baml, TokenBudget } from "effect-baml"
 *
 * const capped = Baml.stream("ExtractResume", { resume: "..." }).pipe(
 *   TokenBudget.limitStream({ maxOutputTokens: 300 })
 * )
 * ```
 * @since 0.1.0
 * @category combinators
 */
export const limitStream: {
  (options: Options): <A, E, R>(self: Stream.Stream<A, E, R>) => Stream.Stream<A, E, Exclude<R, TokenBudget>>
  <A, E, R>(self: Stream.Stream<A, E, R>, options: Options): Stream.Stream<A, E, Exclude<R, TokenBudget>>
} = dual(
  2,
  <A, E, R>(self: Stream.Stream<A, E, R>, options: Options): Stream.Stream<A, E, Exclude<R, TokenBudget>> =>
    Stream.provideServiceEffect(self, TokenBudget, make(options))
)

/**
 * What the budget in the context has used so far.
 *
 * @example
 * ```ts
 * import { Baml, TokenBudget } from "effect-baml"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   yield* Baml.call("Summarize", { text: "..." })
 *   const used = yield* TokenBudget.used
 *   yield* Effect.log(`${used.outputTokens} output tokens so far`)
 * }).pipe(TokenBudget.limit({}))
 * ```
 * @since 0.1.0
 * @category accessors
 */
export const used: Effect.Effect<Used, never, TokenBudget> = Effect.flatMap(TokenBudget, (budget) => budget.used)
