/**
 * A job's budget and rate limit, held by its run (the workflow that dispatches the items), so that there is one of each
 * per job, whatever the runners its items run on and however often the run is resumed or taken over.
 *
 * The budget's count is the sum of the tokens stored with each item's outcome: a run that replays (after a kill, a
 * takeover or a resume) reads every stored outcome again, so its count is rebuilt from the store, with nothing stored
 * of its own. Once the budget is spent, no item is dispatched; the items in flight finish (and are stored), so the job
 * spends at most the budget plus what the items in flight spend. The rate limit paces the dispatch of the items that
 * are requested in this run (an item's outcome read back from the store costs no request).
 */
import { Effect } from "effect"
import * as RateLimiter from "effect/persistence/RateLimiter"
import { BudgetExceeded } from "../../BamlError.js"
import * as Budget from "../../core/usage/budget.js"
import type { Live } from "./progress.js"

const requestsKey = (client: string) => `effect-baml/BamlJob/${client}/requests`
const tokensKey = (client: string) => `effect-baml/BamlJob/${client}/tokens`

/**
 * A limit of `perMinute` as a token bucket that holds one token and gets one back every `60_000 / perMinute` ms: no
 * burst, even on a first start (a bucket as big as the limit would let a whole minute's worth go at once, and as much
 * again in the same minute as it refills). Requests are spaced by a whole number of milliseconds (rounded up), so that
 * no sliding minute sees more than the limit; tokens, spent after the fact, come back at the limit's exact pace.
 */
const spaced = (perMinute: number, key: string, wholeMillis: boolean) => ({
  algorithm: "token-bucket" as const,
  limit: 1,
  window: wholeMillis ? Math.ceil(60_000 / perMinute) : 60_000 / perMinute,
  key
})

/** What an item's requests spent: their tokens (as the provider reported them) and the retries. */
export interface Spent {
  inputTokens: number
  outputTokens: number
  cachedInputTokens: number
  retries: number
}

/** The budget and the rate limit of one run of a job. */
export interface RunLimits {
  /**
   * Before an item is requested: waits for the rate limit (a request slot, and the tokens spent back under the limit),
   * then `true`; `false` when the budget is spent (the item is not dispatched, and waits for a later start).
   */
  readonly dispatch: Effect.Effect<boolean>
  /**
   * An item ended: its tokens count against the budget; requested in this run, against the rate limit too (its
   * tokens, and a request slot per retry, paid back at the limit's pace before the next dispatch).
   */
  readonly ended: (spent: Spent, requestedNow: boolean) => Effect.Effect<void>
  /** Why this run dispatched no more items: its budget spent, or nothing. */
  readonly refused: () => BudgetExceeded | undefined
}

export const makeRunLimits = <I, A, R>(live: Live<I, A, R>): RunLimits => {
  const { job, limiter } = live
  const budget = job.options.budget
  const count = Budget.counter(budget ?? {})
  const isSpent = () => budget !== undefined && Budget.isSpent(budget, count.unsafeUsed(), "before-start")
  let refused: BudgetExceeded | undefined
  const refuse = () => {
    if (refused === undefined && budget !== undefined) refused = budgetError(job.name, budget, count.unsafeUsed())
    return false
  }
  const limit = job.options.rateLimit
  const client = job.options.client ?? "default"
  const rpm = limit?.requestsPerMinute
  const tpm = limit?.tokensPerMinute
  // A limiter's store that fails (e.g. Redis unreachable) does not stop the job: it is dispatched unthrottled.
  const pace = limiter === undefined ? Effect.void : Effect.ignore(Effect.andThen(
    rpm === undefined ? Effect.void : RateLimiter.sleep(limiter, spaced(rpm, requestsKey(client), true)),
    // Zero tokens asked: the answer is how long until the tokens already spent are paid back.
    tpm === undefined ? Effect.void : RateLimiter.sleep(limiter, { ...spaced(tpm, tokensKey(client), false), tokens: 0 })
  ))
  const charge = (key: string, perMinute: number, wholeMillis: boolean, tokens: number) =>
    limiter === undefined || tokens === 0
      ? Effect.void
      : Effect.ignore(limiter.consume({ ...spaced(perMinute, key, wholeMillis), onExceeded: "delay", tokens }))
  return {
    dispatch: Effect.suspend(() =>
      isSpent() ? Effect.succeed(refuse()) : Effect.map(pace, () => isSpent() ? refuse() : true)
    ),
    ended: (spent, requestedNow) =>
      Effect.suspend(() => {
        count.unsafeAdd(spent)
        if (!requestedNow) return Effect.void
        return Effect.andThen(
          tpm === undefined ? Effect.void : charge(tokensKey(client), tpm, false, spent.inputTokens + spent.outputTokens),
          rpm === undefined ? Effect.void : charge(requestsKey(client), rpm, true, spent.retries)
        )
      }),
    refused: () => refused
  }
}

/** What a job whose budget is spent ends with: what it spent, against its limits. */
const budgetError = (name: string, limits: Budget.Options, used: Budget.Used) => {
  const fields = Budget.exceeded(limits, used, name, 0)
  return new BudgetExceeded({
    ...fields,
    message: `BamlJob ${name}: ${fields.message.slice(0, fields.message.lastIndexOf("): ") + 1)}; ` +
      "its items not yet requested wait for a start with a larger budget"
  })
}
