// The token budget's arithmetic and its rule, without Effect: TokenBudget.ts holds a budget as a service, and the
// meter asks this module whether a call may start and whether a stream has gone over.

/** Prices per million tokens, and the most the calls may cost together (`TokenBudget.Cost`). */
export interface Cost {
  readonly max: number
  readonly perMillionInputTokens: number
  readonly perMillionOutputTokens: number
  readonly perMillionCachedInputTokens?: number | undefined
}

/** The limits of a budget (`TokenBudget.Options`). */
export interface Limits {
  readonly maxOutputTokens?: number | undefined
  readonly cost?: Cost | undefined
}

/** What a budget has counted (`TokenBudget.Used`). */
export interface Used {
  readonly inputTokens: number
  readonly outputTokens: number
  readonly cachedInputTokens: number
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
export const isSpent = (limits: Limits, used: Used, when: "before-start" | "while-running"): boolean => {
  const over = (value: number, max: number | undefined) =>
    max !== undefined && (when === "while-running" ? value > max : value >= max)
  return over(used.outputTokens, limits.maxOutputTokens) || over(used.cost, limits.cost?.max)
}

/** The fields of the `BudgetExceeded` error for a call or stream refused or cut off after `callOutputTokens`. */
export const exceeded = (limits: Limits, used: Used, functionName: string, callOutputTokens: number) => {
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
