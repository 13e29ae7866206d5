/**
 * The progress accounting of one start of a job: its live state in this process, and the changes of its progress.
 */
import { Clock, Context, Deferred, Effect, SubscriptionRef } from "effect"
import * as RateLimiter from "effect/persistence/RateLimiter"
import { BudgetExceeded } from "../../BamlError.js"
import * as Budget from "../../core/usage/budget.js"
import type { Prices, CommonOptions, BamlJob, ItemResult, Progress } from "./models.js"

/** Why this process stopped running a job: its stop signal. */
export type Stop =
  | { readonly _tag: "Budget"; readonly error: BudgetExceeded }
  | { readonly _tag: "Interrupted" }
  | { readonly _tag: "Cancelled" }

/**
 * What one start of a job holds in this process: its view of the results, its progress, its rate limiter and the
 * services its items run with.
 */
export interface Live<I, A, R> {
  readonly job: BamlJob<I, A, R>
  readonly context: Context.Context<R>
  /** Hosted by `BamlJob.layer` (for the layer's life), not by a start (for its scope's life). */
  readonly byLayer: boolean
  readonly results: Map<string, ItemResult<A>>
  readonly ordered: Array<ItemResult<A>>
  readonly progress: SubscriptionRef.SubscriptionRef<Progress>
  readonly stop: Deferred.Deferred<Stop>
  readonly limiter: RateLimiter.RateLimiter | undefined
  readonly prices: Prices | undefined
  readonly startedAt: number
  /**
   * Tokens of ended requests not yet in the progress: the next change of the progress takes them (an item's end, most
   * often), so that a request's end is not a change of its own.
   */
  readonly pendingTokens: { input: number; output: number; cached: number }
  /** The time items requested in this run took, from their start to their end (rate-limit waits included). */
  readonly durations: { total: number; count: number }
  /** Ended when the run of this start (in this process) has ended: its items stopped here, its run suspended. */
  halted?: Deferred.Deferred<void>
}

export const emptyProgress = (total: number | undefined): Progress => ({
  total,
  done: 0,
  succeeded: 0,
  failed: 0,
  inFlight: 0,
  stored: 0,
  retries: 0,
  inputTokens: 0,
  outputTokens: 0,
  cachedInputTokens: 0,
  cost: undefined,
  elapsedMs: 0,
  etaMs: undefined,
  state: "running"
})

export const totalOf = <I>(options: CommonOptions<I>): number | undefined => {
  if (options.total !== undefined) return options.total
  return Array.isArray(options.inputs) ? options.inputs.length : undefined
}

/** Applies `f` to the progress, and brings its times, cost and estimate of the time left up to date. */
export const updateProgress = <I, A, R>(live: Live<I, A, R>, f: (progress: Progress) => Progress) =>
  Effect.flatMap(Clock.currentTimeMillis, (now) =>
    SubscriptionRef.update(live.progress, (before) => {
      const pending = live.pendingTokens
      const p = {
        ...f(before),
        inputTokens: before.inputTokens + pending.input,
        outputTokens: before.outputTokens + pending.output,
        cachedInputTokens: before.cachedInputTokens + pending.cached
      }
      pending.input = pending.output = pending.cached = 0
      const elapsedMs = now - live.startedAt
      // The pace of the items requested in this run (stored ones cost no time), by Little's law: as many items as run at
      // once, each taking the average time an item took. (Items ended over the time elapsed would count the first items
      // as if they had run one after another: `concurrency` times too slow.)
      const left = p.total === undefined ? undefined : Math.max(0, p.total - p.done)
      const { count, total } = live.durations
      const atOnce = Math.max(1, Math.min(live.job.options.concurrency ?? 4, left ?? 1))
      const etaMs = left === undefined || count === 0 ? undefined : (left * (total / count)) / atOnce
      const cost = live.prices === undefined
        ? undefined
        : Budget.costOf({ max: Infinity, ...live.prices }, p.inputTokens, p.outputTokens, p.cachedInputTokens)
      return { ...p, elapsedMs, etaMs, cost }
    }))

/**
 * Tells this process's run of the job to stop (the first reason wins). The progress is told first: the stop interrupts
 * the fiber that tells it.
 */
export const stop = <I, A, R>(live: Live<I, A, R>, how: Stop) =>
  Effect.andThen(
    updateProgress(live, (p) => p.state === "running" ? { ...p, state: "stopped" } : p),
    Deferred.succeed(live.stop, how)
  )

/** Ends one item in this run's view: its result by key and in order, and its count in the progress. */
export const record = <I, A, R>(live: Live<I, A, R>, result: ItemResult<A>, inFlight = false) =>
  Effect.suspend(() => {
    if (!live.results.has(result.key)) live.results.set(result.key, result)
    live.ordered.push(result)
    const succeeded = result._tag === "Succeeded" ? 1 : 0
    return updateProgress(live, (p) => ({
      ...p,
      done: p.done + 1,
      inFlight: p.inFlight - (inFlight ? 1 : 0),
      succeeded: p.succeeded + succeeded,
      failed: p.failed + 1 - succeeded,
      stored: p.stored + (result.stored ? 1 : 0)
    }))
  })
