/**
 * The models of a batch job (`BamlJob`): its options, its items' results, its progress, its summary, its handle and
 * its errors.
 */
import { Effect, Option, Schedule, Schema, Stream } from "effect"
import * as Baml from "../../Baml.js"
import { BamlError, BudgetExceeded } from "../../BamlError.js"
import { BamlRuntime } from "../../BamlRuntime.js"
import * as TokenBudget from "../../TokenBudget.js"
import type { JobWorkflow } from "./stored.js"
// for the links of the docs
import type { describeProgress, describeSummary } from "./progressBar.js"
import type { cancel, defaultRetry, isRetryable, make, run, start } from "./run.js"

/**
 * A rate limit for the client a job calls, one per job (its run paces the dispatch of its items, whatever runners
 * they run on): requests per minute and tokens (input and output) per minute, without a burst: items are dispatched
 * evenly spaced (`requestsPerMinute: 120` sends one every 500 ms, from the first), so that no sliding minute sees more
 * than the limit. Tokens are counted when an item ends (a request's tokens are not known before it), and the next
 * dispatch waits until the tokens spent are paid back at the limit's pace: in any minute, at most the limit plus the
 * tokens of the items already in flight. An item's retries are charged when it ends (the dispatches not yet waiting
 * then wait for them).
 *
 * @example
 * ```ts
 * import type { BamlJob } from "effect-baml"
 *
 * const tier1: BamlJob.RateLimit = { requestsPerMinute: 500, tokensPerMinute: 200_000 }
 * ```
 * @since 0.2.0
 * @category models
 */
export interface RateLimit {
  readonly requestsPerMinute?: number | undefined
  readonly tokensPerMinute?: number | undefined
}

/**
 * Prices per million tokens, for the estimated cost in the progress.
 *
 * @example
 * ```ts
 * import type { BamlJob } from "effect-baml"
 *
 * const gpt4oMini: BamlJob.Prices = { perMillionInputTokens: 0.15, perMillionOutputTokens: 0.6 }
 * ```
 * @since 0.2.0
 * @category models
 */
export interface Prices {
  readonly perMillionInputTokens: number
  readonly perMillionOutputTokens: number
  readonly perMillionCachedInputTokens?: number | undefined
}

/**
 * What a job does, besides the function it runs: the name its workflow execution id is derived from, the inputs and
 * their keys, and the limits it runs under.
 *
 * @example
 * ```ts
 * import { BamlJob } from "effect-baml"
 *
 * const common: BamlJob.CommonOptions<{ readonly id: string; readonly text: string }> = {
 *   name: "summaries-2026-11",
 *   inputs: [{ id: "a", text: "..." }],
 *   key: (input) => input.id,
 *   concurrency: 8
 * }
 * ```
 * @since 0.2.0
 * @category models
 */
export interface CommonOptions<I> {
  /** The job's name: its workflow's execution id is derived from it, so a job started again under it resumes. */
  readonly name: string
  /** The inputs, as a list or a stream (read once per run; on a resumed run, stored items are not requested again). */
  readonly inputs: Iterable<I> | Stream.Stream<I>
  /** The key of an input: unique in the job, stable from one run to the next (it names the item's workflow execution). */
  readonly key: (input: I) => string
  /** The number of items in flight at most (default 4). */
  readonly concurrency?: number | undefined
  /** The name of the client for the rate limit's keys (default: the `client` call option, or `"default"`). */
  readonly client?: string | undefined
  /** A rate limit for the client. */
  readonly rateLimit?: RateLimit | undefined
  /**
   * One budget for the whole job, across runners and resumes (its run counts the tokens stored with each item's
   * outcome): once it is spent, no more items are dispatched, the items in flight finish (the job may go over by what
   * they spend), and the job ends with `BudgetExceeded`; started again with a larger budget, it resumes. Without one, a
   * `TokenBudget` around the job caps the calls of the process it is provided in.
   */
  readonly budget?: TokenBudget.Options | undefined
  /** Prices for the estimated cost in the progress (default: the budget's prices, if it has any). */
  readonly prices?: Prices | undefined
  /**
   * The retry policy of an item, for the errors {@link isRetryable} accepts (default: {@link defaultRetry}).
   */
  readonly retry?: Schedule.Schedule<unknown, BamlError> | undefined
  /** The number of items, when `inputs` is a stream and it is known: the progress then estimates the time left. */
  readonly total?: number | undefined
  /**
   * How an input is stored in its item's workflow (each item is a workflow execution with its input, so that any runner
   * of a cluster can run it): default as it is, which a durable engine stores as JSON (give a schema for inputs that
   * JSON does not keep, e.g. dates).
   */
  readonly input?: Schema.Codec<I, unknown> | undefined
}

/**
 * A job definition, made by {@link make}: run it with {@link run} or {@link start}.
 *
 * @example
 * ```ts
 * import { BamlJob } from "effect-baml"
 *
 * const job: BamlJob.BamlJob<{ readonly resume: string }, unknown> = BamlJob.make({
 *   name: "resumes",
 *   function: "ExtractResume",
 *   inputs: [{ resume: "Ada Lovelace" }],
 *   key: (input) => input.resume
 * })
 * ```
 * @since 0.2.0
 * @category models
 */
export interface BamlJob<I, A, R = BamlRuntime> {
  /** The job's name (its workflow's execution id is derived from it). */
  readonly name: string
  /** The BAML function's name, when the job calls it by name. */
  readonly functionName: string | undefined
  /** The workflow of the job's run (which dispatches each item as a workflow execution of its own). */
  readonly workflow: JobWorkflow
  /**
   * How an item's result is stored in the engine (and in the finished job's stored outcome): `Schema.Unknown` unless
   * the options gave one.
   */
  readonly success: Schema.Codec<A, unknown>
  /** How an input is stored in its item's workflow: `Schema.Unknown` unless the options gave one. */
  readonly input: Schema.Codec<I, unknown>
  /** The options the job was made with (`client` filled in from the call options of a job by name). */
  readonly options: CommonOptions<I>
  /** Runs one item, once (retries, rate limit and budget are the job's). */
  readonly execute: (input: I) => Effect.Effect<A, BamlError, R>
}

/**
 * The result of one item: its key, its position in the inputs and its value or its error.
 *
 * @example
 * ```ts
 * import type { BamlJob } from "effect-baml"
 *
 * const describe = (item: BamlJob.ItemResult<unknown>) =>
 *   item._tag === "Succeeded" ? `${item.key}: done` : `${item.key}: ${item.error.message}`
 * ```
 * @since 0.2.0
 * @category models
 */
export type ItemResult<A> =
  | {
    readonly _tag: "Succeeded"
    readonly key: string
    readonly index: number
    readonly value: A
    /** Whether the result came from the engine's storage (a run before this one stored it). */
    readonly stored: boolean
  }
  | {
    readonly _tag: "Failed"
    readonly key: string
    readonly index: number
    readonly error: BamlError
    readonly stored: boolean
  }

/**
 * Where a job stands, as its progress stream tells it.
 *
 * @example
 * ```ts
 * import type { BamlJob } from "effect-baml"
 *
 * const line = (p: BamlJob.Progress) => `${p.done}/${p.total ?? "?"} done, ${p.inFlight} in flight`
 * ```
 * @since 0.2.0
 * @category models
 */
export interface Progress {
  /** The number of items, when known (a list, or `total`). */
  readonly total: number | undefined
  /** Items ended: succeeded plus failed. */
  readonly done: number
  /** Items ended with a value (stored ones included). */
  readonly succeeded: number
  /** Items ended with an error, after the retries (stored ones included). */
  readonly failed: number
  /** Items whose request is running (or waiting for the rate limit). */
  readonly inFlight: number
  /** Items whose result came from the engine's storage, not from a request in this run. */
  readonly stored: number
  /** Requests sent again by the retry policy. */
  readonly retries: number
  /** Tokens of this run's requests, as the provider reported them (estimated where it did not). */
  readonly inputTokens: number
  /** Output tokens of this run's requests, as the provider reported them (estimated where it did not). */
  readonly outputTokens: number
  /** Input tokens read from the provider's cache (a part of `inputTokens`). */
  readonly cachedInputTokens: number
  /**
   * The estimated cost of this run's tokens, when prices are known: in the prices' unit (prices in dollars per million
   * tokens give dollars), as a `TokenBudget`'s cost is.
   */
  readonly cost: number | undefined
  /** Milliseconds since this start of the job. */
  readonly elapsedMs: number
  /**
   * The time left, when the total is known and one item requested in this run has ended: the items left, times the
   * average time an item took, over the number of items that run at once.
   */
  readonly etaMs: number | undefined
  /** `running`, then `completed`, or `stopped` (interrupted, cancelled, or the budget spent). */
  readonly state: "running" | "completed" | "stopped"
}

/**
 * What a finished job returns: its counts and every item's result, in the order of the inputs. A finished job started
 * again runs nothing and returns the results its workflow stored, each `stored` (or fails with {@link BamlJobFinished}
 * when its inputs now have keys it did not run).
 *
 * @example
 * ```ts
 * import type { BamlJob } from "effect-baml"
 *
 * const failures = (summary: BamlJob.Summary<unknown>) => summary.results.filter((r) => r._tag === "Failed")
 * ```
 * @since 0.2.0
 * @category models
 */
export interface Summary<A> {
  /** Items that ended with a value. */
  readonly succeeded: number
  /** Items that ended with an error, after the retries ({@link describeSummary} says which errors). */
  readonly failed: number
  /** Every item's result, in the order of the inputs. */
  readonly results: ReadonlyArray<ItemResult<A>>
}

/**
 * A job that has been started: its progress, its results by key, its end, and a way to cancel it.
 *
 * @example
 * ```ts
 * import { BamlJob } from "effect-baml"
 * import { Effect, Stream } from "effect"
 *
 * declare const job: BamlJob.BamlJob<{ readonly resume: string }, unknown>
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const handle = yield* BamlJob.start(job)
 *   yield* handle.progress.pipe(Stream.runForEach((p) => Effect.log(`${p.done} done`)), Effect.forkScoped)
 *   return yield* handle.await
 * }))
 * ```
 * @since 0.2.0
 * @category models
 */
export interface Handle<A> {
  /** The job's name. */
  readonly name: string
  /** The workflow execution id (derived from the name). */
  readonly executionId: string
  /**
   * The progress now, then at every change: two per item (it starts; it ends, with its requests' tokens), and one per
   * retry; it ends with the job (its last element's `state` is not `running`). To log it less often, throttle it (see
   * {@link describeProgress}) or keep the elements whose `done` changed.
   */
  readonly progress: Stream.Stream<Progress>
  /** The progress now. */
  readonly current: Effect.Effect<Progress>
  /**
   * The result of the item with this key, once it has ended: as this process saw it end, or else as the engine stored
   * it (so that any process of a cluster reads it, `stored`). `Option.none()` does not tell an item still to run or in
   * flight from a key that is not in the job (the keys are not known before the inputs are read).
   */
  readonly result: (key: string) => Effect.Effect<Option.Option<ItemResult<A>>>
  /** The results of the items ended so far in this run, in the order of the inputs. */
  readonly results: Effect.Effect<ReadonlyArray<ItemResult<A>>>
  /**
   * Waits for the job to end: its summary, or `BudgetExceeded` when the budget stopped it, or `BamlJobCancelled`, or
   * `BamlJobFinished` when the job had finished before this start and its inputs now have keys it did not run.
   */
  readonly await: Effect.Effect<Summary<A>, BudgetExceeded | BamlJobCancelled | BamlJobFinished>
  /**
   * Cancels the job for good, as {@link cancel} does: stored with the job, every request in flight aborted, and a later
   * start, in any process, ends as cancelled at once. A job that has finished keeps its outcome.
   */
  readonly cancel: Effect.Effect<void>
}

/**
 * The job was cancelled by {@link cancel} (or `Handle.cancel`): it will not resume.
 *
 * @example
 * ```ts
 * import { BamlJob } from "effect-baml"
 * import { Effect } from "effect"
 *
 * declare const job: BamlJob.BamlJob<{ readonly resume: string }, unknown>
 * const program = BamlJob.run(job).pipe(Effect.catchTag("BamlJobCancelled", () => Effect.log("cancelled")))
 * ```
 * @since 0.2.0
 * @category errors
 */
export class BamlJobCancelled extends Schema.TaggedError<BamlJobCancelled>()("BamlJobCancelled", {
  message: Schema.String,
  name: Schema.String
}) {}

/**
 * The job finished before this start, and its inputs now have keys it did not run: a finished job runs nothing again,
 * so they are refused rather than skipped. `newKeys` names them (the first 100); run them as a job of a new name.
 *
 * @example
 * ```ts
 * import { BamlJob } from "effect-baml"
 * import { Effect } from "effect"
 *
 * declare const job: BamlJob.BamlJob<{ readonly resume: string }, unknown>
 * const program = BamlJob.run(job).pipe(
 *   Effect.catchTag("BamlJobFinished", (e) => Effect.log(`not run: ${e.newKeys.join(", ")}`))
 * )
 * ```
 * @since 0.2.0
 * @category errors
 */
export class BamlJobFinished extends Schema.TaggedError<BamlJobFinished>()("BamlJobFinished", {
  message: Schema.String,
  name: Schema.String,
  newKeys: Schema.Array(Schema.String)
}) {}

/**
 * The options of a job that calls a BAML function by name: the arguments of an item are `args(input)`, or the input
 * itself.
 *
 * @example
 * ```ts
 * import type { BamlJob } from "effect-baml"
 *
 * const options: BamlJob.ByNameOptions<string> = {
 *   name: "resumes",
 *   function: "ExtractResume",
 *   inputs: ["Ada Lovelace", "Grace Hopper"],
 *   key: (resume) => resume,
 *   args: (resume) => ({ resume })
 * }
 * ```
 * @since 0.2.0
 * @category models
 */
export interface ByNameOptions<I> extends CommonOptions<I> {
  readonly function: string
  readonly args?: ((input: I) => Readonly<Record<string, unknown>>) | undefined
  /** Call options for every item (a client, a client registry, tags…). */
  readonly callOptions?: Baml.Options | undefined
  /** How a result is stored (default: as it is, which a durable engine stores as JSON). */
  readonly success?: Schema.Codec<unknown, unknown> | undefined
}

/**
 * The options of a job that runs any function of an input: a generated client's function, or any
 * `(input) => Effect` that fails with a `BamlError`.
 *
 * @example
 * ```ts
 * import { Baml, type BamlJob, type BamlRuntime } from "effect-baml"
 *
 * const options: BamlJob.FunctionOptions<string, unknown, BamlRuntime.BamlRuntime> = {
 *   name: "resumes",
 *   function: (resume) => Baml.call("ExtractResume", { resume }),
 *   inputs: ["Ada Lovelace"],
 *   key: (resume) => resume
 * }
 * ```
 * @since 0.2.0
 * @category models
 */
export interface FunctionOptions<I, A, R> extends CommonOptions<I> {
  readonly function: (input: I) => Effect.Effect<A, BamlError, R>
  /** How a result is stored (default: as it is, which a durable engine stores as JSON). */
  readonly success?: Schema.Codec<A, unknown> | undefined
}
