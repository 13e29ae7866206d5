// The token budget's arithmetic and its rule, without Effect: TokenBudget.ts holds a budget as a service, and the
// meter asks this module whether a call may start and whether a stream has gone over.

/**
 * Prices for the estimated cost, in any currency, per million tokens (the way providers quote them).
 *
 * @example
 * ```ts
 * import type { TokenBudget } from "effect-baml"
 *
 * const gpt4oMini: TokenBudget.Cost = { max: 0.5, perMillionInputTokens: 0.15, perMillionOutputTokens: 0.6 }
 * ```
 * @since 0.1.0
 * @category models
 */
export interface Cost {
  /** The most the calls and streams may cost together. */
  readonly max: number
  readonly perMillionInputTokens: number
  readonly perMillionOutputTokens: number
  /**
   * The price of cached input tokens, which providers count among the input tokens (as OpenAI reports them).
   * Defaults to the input price.
   */
  readonly perMillionCachedInputTokens?: number | undefined
}

/**
 * The limits of a budget. A budget without limits only counts.
 *
 * @example
 * ```ts
 * import type { TokenBudget } from "effect-baml"
 *
 * const options: TokenBudget.Options = { maxOutputTokens: 2_000 }
 * ```
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The most output tokens the calls and streams may use together. */
  readonly maxOutputTokens?: number | undefined
  /** A cap on the estimated cost, from the token counts and these prices. */
  readonly cost?: Cost | undefined
}

/**
 * What the calls and streams under a budget have used so far. `outputTokens` includes the live count of streams still
 * running; input tokens are known once the provider reports them, at the end of a call or stream.
 *
 * @example
 * ```ts
 * import type { TokenBudget } from "effect-baml"
 *
 * const left = (options: TokenBudget.Options, used: TokenBudget.Used) =>
 *   (options.maxOutputTokens ?? Infinity) - used.outputTokens
 * ```
 * @since 0.1.0
 * @category models
 */
export interface Used {
  readonly inputTokens: number
  readonly outputTokens: number
  readonly cachedInputTokens: number
  /** The estimated cost, when the budget has prices; otherwise 0. */
  readonly cost: number
}

/** The estimated cost of these tokens; 0 without prices. Cached input tokens are counted among the input tokens. */
export const costOf = (cost: Cost | undefined, input: number, output: number, cached: number): number => {
  if (cost === undefined) return 0
  const cachedPrice = cost.perMillionCachedInputTokens ?? cost.perMillionInputTokens
  const uncached = Math.max(0, input - cached)
  return (uncached * cost.perMillionInputTokens + cached * cachedPrice + output * cost.perMillionOutputTokens) / 1e6
}

/**
 * The budget's rule. Before a call: refused once a limit is reached (`>=`), since the call would go over it. While a
 * stream runs: cut off once a limit is passed (`>`), so that a stream may use exactly what is left.
 */
export const isSpent = (limits: Options, used: Used, when: "before-start" | "while-running"): boolean => {
  const over = (value: number, max: number | undefined) =>
    max !== undefined && (when === "while-running" ? value > max : value >= max)
  return over(used.outputTokens, limits.maxOutputTokens) || over(used.cost, limits.cost?.max)
}

/** The fields of the `BudgetExceeded` error for a call or stream refused or cut off after `callOutputTokens`. */
export const exceeded = (limits: Options, used: Used, functionName: string, callOutputTokens: number) => {
  const { cost, maxOutputTokens } = limits
  const spent = [
    maxOutputTokens === undefined ? undefined : `${used.outputTokens} of ${maxOutputTokens} output tokens used`,
    cost === undefined ? undefined : `an estimated cost of ${used.cost.toFixed(6)} of ${cost.max}`
  ].filter((part) => part !== undefined).join(", ")
  const what = callOutputTokens === 0
    ? `${functionName} was not started`
    : `${functionName} was cut off after ${callOutputTokens} output tokens`
  return {
    message: `Token budget exceeded (${spent}): ${what}`,
    functionName,
    outputTokens: used.outputTokens,
    callOutputTokens,
    ...(maxOutputTokens === undefined ? {} : { maxOutputTokens }),
    ...(cost === undefined ? {} : { cost: used.cost, maxCost: cost.max })
  }
}

/**
 * A budget's running count. Synchronous, because the engine reports stream events from native callbacks, outside any
 * fiber; each line's `TokenBudget.make` wraps it in its service.
 */
export const counter = (options: Options) => {
  let inputTokens = 0
  let outputTokens = 0
  let cachedInputTokens = 0
  return {
    unsafeUsed: (): Used => ({
      inputTokens,
      outputTokens,
      cachedInputTokens,
      cost: costOf(options.cost, inputTokens, outputTokens, cachedInputTokens)
    }),
    unsafeAdd: (tokens: {
      readonly inputTokens?: number | undefined
      readonly outputTokens?: number | undefined
      readonly cachedInputTokens?: number | undefined
    }): void => {
      inputTokens += tokens.inputTokens ?? 0
      outputTokens += tokens.outputTokens ?? 0
      cachedInputTokens += tokens.cachedInputTokens ?? 0
    }
  }
}
