/**
 * The rate limit of a job's requests, per client: requests and tokens per minute, without a burst.
 */
import { Context, Effect, Option } from "effect"
import * as RateLimiter from "effect/persistence/RateLimiter"
import { BamlError } from "../../BamlError.js"
import * as TokenBudget from "../../TokenBudget.js"
import type * as CoreUsage from "../../core/usage/usage.js"
import { UsageSink } from "../../internal/meter.js"
import type { Live } from "./progress.js"

export const requestsKey = (client: string) => `effect-baml/BamlJob/${client}/requests`
const tokensKey = (client: string) => `effect-baml/BamlJob/${client}/tokens`

/**
 * A limit of `perMinute` as a token bucket that holds one token and gets one back every `60_000 / perMinute` ms: no
 * burst, even on a first start (a bucket as big as the limit would let a whole minute's worth go at once, and as much
 * again in the same minute as it refills). Requests are spaced by a whole number of milliseconds (rounded up), so that
 * no sliding minute sees more than the limit; tokens, spent after the fact, come back at the limit's exact pace.
 */
export const spaced = (perMinute: number, key: string, wholeMillis: boolean) => ({
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

/**
 * One request of one item, under the rate limit: it waits for a request slot and for the tokens spent to be back
 * under the limit, and charges its own tokens when it ends (to the limit, and to what the item `spent`).
 */
export const request = <I, A, R>(live: Live<I, A, R>, input: I, spent: Spent): Effect.Effect<A, BamlError> => {
  const { job, limiter } = live
  const limit = job.options.rateLimit
  const client = job.options.client ?? "default"
  const usages: Array<CoreUsage.Usage> = []
  // a `Baml.withUsage` around the job still sees every call
  const outer = Context.getOption(live.context, UsageSink)
  const call = job.execute(input).pipe(
    Effect.provideService(UsageSink, (usage) => {
      usages.push(usage)
      if (Option.isSome(outer)) outer.value(usage)
    }),
    Effect.provideService(TokenBudget.TokenBudget, live.budget),
    Effect.provideContext(live.context)
  )
  const charge = Effect.suspend(() => {
    let inputTokens = 0
    let outputTokens = 0
    let cachedInputTokens = 0
    for (const usage of usages) {
      inputTokens += usage.inputTokens
      outputTokens += usage.outputTokens
      cachedInputTokens += usage.cachedInputTokens
    }
    const tokens = inputTokens + outputTokens
    const progress = Effect.sync(() => {
      spent.inputTokens += inputTokens
      spent.outputTokens += outputTokens
      spent.cachedInputTokens += cachedInputTokens
    })
    if (limiter === undefined || limit?.tokensPerMinute === undefined || tokens === 0) return progress
    return Effect.andThen(
      progress,
      limiter.consume({ ...spaced(limit.tokensPerMinute, tokensKey(client), false), onExceeded: "delay", tokens })
        .pipe(Effect.ignore)
    )
  })
  if (limiter === undefined) return Effect.ensuring(call, charge)
  const waitForRequest = limit?.requestsPerMinute === undefined
    ? Effect.void
    : RateLimiter.sleep(limiter, spaced(limit.requestsPerMinute, requestsKey(client), true))
  // Zero tokens asked: the answer is how long until the tokens already spent are paid back.
  const waitForTokens = limit?.tokensPerMinute === undefined
    ? Effect.void
    : RateLimiter.sleep(limiter, { ...spaced(limit.tokensPerMinute, tokensKey(client), false), tokens: 0 })
  // A limiter's store that fails (e.g. Redis unreachable) does not fail the item: it runs unthrottled.
  return Effect.andThen(
    Effect.ignore(Effect.andThen(waitForRequest, waitForTokens)),
    Effect.ensuring(call, charge)
  )
}
