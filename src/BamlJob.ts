/**
 * Batch jobs: one BAML function over many inputs, each with a key, on Effect's workflow engine. Every item is an
 * `Activity` of one `Workflow` whose execution id is derived from the job's name, so that on a durable engine a job
 * started again resumes where it stopped and an item whose result was stored is never requested again. The engine is
 * the caller's choice: the job needs only a `WorkflowEngine` (`WorkflowEngine.layerMemory` when durability is not
 * asked for, a SQL-backed one when it is).
 *
 * A job runs its items with bounded concurrency, under a rate limit per client (requests and tokens per minute, on
 * Effect's `RateLimiter`), one `TokenBudget` for the whole job, and a retry policy per item for the errors worth
 * retrying. Its progress is a `Stream`; its results are readable by key while it runs. Stopping it (an interrupt, the
 * budget, `cancel`) aborts every LLM request in flight.
 *
 * @since 0.2.0
 */
import {
  Cause,
  Clock,
  Context,
  Deferred,
  Effect,
  Exit,
  Fiber,
  Option,
  Schedule,
  Schema,
  Scope,
  Stream,
  SubscriptionRef
} from "effect"
import * as Activity from "effect/workflow/Activity"
import * as RateLimiter from "effect/persistence/RateLimiter"
import * as Workflow from "effect/workflow/Workflow"
import * as WorkflowEngine from "effect/workflow/WorkflowEngine"
import * as Baml from "./Baml.js"
import {
  BamlClientError,
  BamlClientHttpError,
  BamlError,
  BamlTimeoutError,
  BudgetExceeded,
  fromEngine
} from "./BamlError.js"
import { BamlError as BamlErrorSchema } from "./client/BamlError.js"
import { BamlInvalidArgumentError } from "./BamlError.js"
import { BamlRuntime } from "./BamlRuntime.js"
import * as TokenBudget from "./TokenBudget.js"
import * as Budget from "./core/usage/budget.js"
import type * as CoreUsage from "./core/usage/usage.js"
import { UsageSink } from "./internal/meter.js"

// ---------------------------------------------------------------------------------------------------------------------
// models
// ---------------------------------------------------------------------------------------------------------------------

/**
 * A rate limit for the client a job calls: requests per minute and tokens (input and output) per minute, without a
 * burst: requests are spaced evenly (`requestsPerMinute: 120` sends one every 500 ms, from the first), so that no
 * sliding minute sees more than the limit. Tokens are counted when a request ends (a request's tokens are not known
 * before it), and the next request waits until the tokens spent are paid back at the limit's pace: in any minute, at
 * most the limit plus the tokens of the requests already in flight.
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
  /** The key of an input: unique in the job, stable from one run to the next (it names the item's activity). */
  readonly key: (input: I) => string
  /** The number of items in flight at most (default 4). */
  readonly concurrency?: number | undefined
  /** The name of the client for the rate limit's keys (default: the `client` call option, or `"default"`). */
  readonly client?: string | undefined
  /** A rate limit for the client. */
  readonly rateLimit?: RateLimit | undefined
  /**
   * One budget for the whole job: when it is spent, the job stops and every request in flight is aborted (default: the
   * `TokenBudget` the job runs in, if any).
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
  /** The workflow every item of the job is an activity of. */
  readonly workflow: JobWorkflow
  /**
   * How an item's result is stored in the engine (and in the finished job's stored outcome): `Schema.Unknown` unless
   * the options gave one.
   */
  readonly success: Schema.Codec<A, unknown>
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
   * The result of the item with this key, once it has ended in this run. `Option.none()` does not tell an item still
   * to run or in flight from a key that is not in the job (the keys are not known before the inputs are read).
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

// ---------------------------------------------------------------------------------------------------------------------
// the workflow
// ---------------------------------------------------------------------------------------------------------------------

/**
 * An item's result as the workflow stores it: its value as the job's `success` schema encodes it (decoded again when
 * it is read back), or its error.
 */
const StoredItem = Schema.Struct({
  key: Schema.String,
  index: Schema.Number,
  value: Schema.optionalKey(Schema.Unknown),
  error: Schema.optionalKey(BamlErrorSchema)
})

/**
 * What the workflow stores when a job finishes: its counts and every item's result, so that a finished job started
 * again (the engine returns the stored outcome without running anything) still returns them. `results` is absent when
 * a value could not be encoded.
 */
const StoredSummary = Schema.Struct({
  succeeded: Schema.Number,
  failed: Schema.Number,
  results: Schema.optionalKey(Schema.Array(StoredItem))
})

const makeWorkflow = (name: string) =>
  Workflow.make(`effect-baml/BamlJob/${name}`, {
    payload: { name: Schema.String },
    idempotencyKey: (payload) => payload.name,
    success: StoredSummary
  })

/**
 * A job's cancel, stored with the engine: a workflow of its own per job name that does nothing, executed by a cancel.
 * Its stored outcome is what tells any process, later or elsewhere, that the job was cancelled.
 */
const makeCancelWorkflow = (name: string) =>
  Workflow.make(`effect-baml/BamlJob/${name}/cancelled`, {
    payload: { name: Schema.String },
    idempotencyKey: (payload) => payload.name,
    success: Schema.Void
  })

/** How often a started job asks the engine whether it was cancelled elsewhere (another process, or `cancel`). */
const cancelPollInterval = "1 second"

/**
 * The workflow of a job: one per job name; its payload is the name, its success the counts.
 *
 * @example
 * ```ts
 * import type { BamlJob } from "effect-baml"
 *
 * const tag = (workflow: BamlJob.JobWorkflow) => workflow._tag
 * ```
 * @since 0.2.0
 * @category models
 */
export type JobWorkflow = ReturnType<typeof makeWorkflow>

// ---------------------------------------------------------------------------------------------------------------------
// constructors
// ---------------------------------------------------------------------------------------------------------------------

/**
 * The errors an item is retried for: an HTTP status that may pass (408, 409, 429, 5xx, or the engine's code for a
 * reply that could not be read), a timeout, a client that could not reach the provider. A validation error, a bad
 * argument or a spent budget would fail the same way again.
 *
 * @example
 * ```ts
 * import { BamlJob, BamlError } from "effect-baml"
 *
 * BamlJob.isRetryable(new BamlError.BamlClientError({ message: "connection refused" })) // true
 * ```
 * @since 0.2.0
 * @category predicates
 */
export const isRetryable = (error: BamlError): boolean => {
  if (error instanceof BamlClientHttpError) {
    const status = error.statusCode
    return status < 100 || status === 408 || status === 409 || status === 429 || status >= 500
  }
  return error instanceof BamlTimeoutError || error instanceof BamlClientError
}

/**
 * The default retry policy of an item: three retries, 500 ms, 1 s and 2 s apart, for the errors {@link isRetryable}
 * accepts.
 *
 * @example
 * ```ts
 * import { BamlJob } from "effect-baml"
 * import { Schedule } from "effect"
 *
 * const patient = Schedule.max([BamlJob.defaultRetry, Schedule.spaced("5 seconds")])
 * ```
 * @since 0.2.0
 * @category constructors
 */
export const defaultRetry: Schedule.Schedule<unknown, BamlError> = Schedule.max([
  Schedule.exponential("500 millis"),
  Schedule.recurs(3)
])

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

/**
 * Defines a job: a BAML function (by name, or any function of an input) over inputs, each with a key. A job by
 * function name has `unknown` results, as `Baml.call` has (give `success` a schema to store and decode them); a job over
 * a generated client's function has that function's result type. Two inputs with one key: the second is not
 * requested, and ends `Failed` with a `BamlInvalidArgumentError` naming the key. A `key`, `args` or `function` that
 * throws (or dies) fails that item alone, not retried, with a `BamlInvalidArgumentError` carrying the thrown message
 * (an item whose key could not be computed is keyed `#<index>`).
 *
 * @example
 * ```ts
 * import { BamlJob } from "effect-baml"
 *
 * const job = BamlJob.make({
 *   name: "resumes-2026-11",
 *   function: "ExtractResume",
 *   inputs: ["Ada Lovelace, mathematician", "Grace Hopper, admiral"],
 *   key: (resume) => resume.split(",")[0]!,
 *   args: (resume) => ({ resume }),
 *   concurrency: 8,
 *   rateLimit: { requestsPerMinute: 500 },
 *   budget: { maxOutputTokens: 100_000 }
 * })
 * ```
 * @since 0.2.0
 * @category constructors
 */
export const make: {
  <I>(options: ByNameOptions<I>): BamlJob<I, unknown, BamlRuntime>
  <I, A, R>(options: FunctionOptions<I, A, R>): BamlJob<I, A, R>
} = <I, A, R>(options: ByNameOptions<I> | FunctionOptions<I, A, R>): BamlJob<I, A, R> => {
  const workflow = makeWorkflow(options.name)
  if (typeof options.function === "string") {
    const named = options as ByNameOptions<I>
    const functionName = named.function
    const args = named.args ?? ((input: I) => input as Readonly<Record<string, unknown>>)
    return {
      name: options.name,
      functionName,
      workflow,
      success: (named.success ?? Schema.Unknown) as Schema.Codec<A, unknown>,
      options: { ...options, client: options.client ?? named.callOptions?.client },
      execute: (input) => Baml.call(functionName, args(input), named.callOptions) as Effect.Effect<A, BamlError, R>
    }
  }
  const fn = options as FunctionOptions<I, A, R>
  return {
    name: options.name,
    functionName: undefined,
    workflow,
    success: fn.success ?? (Schema.Unknown as Schema.Codec<A, unknown>),
    options,
    execute: fn.function
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// running
// ---------------------------------------------------------------------------------------------------------------------

/** Why this process stopped running a job: its stop signal. */
type Stop =
  | { readonly _tag: "Budget"; readonly error: BudgetExceeded }
  | { readonly _tag: "Interrupted" }
  | { readonly _tag: "Cancelled" }

/**
 * What one start of a job holds in this process: its view of the results, its progress, its budget, its limits and
 * the services its items run with.
 */
interface Live<I, A, R> {
  readonly job: BamlJob<I, A, R>
  readonly context: Context.Context<R>
  readonly results: Map<string, ItemResult<A>>
  readonly ordered: Array<ItemResult<A>>
  readonly progress: SubscriptionRef.SubscriptionRef<Progress>
  readonly stop: Deferred.Deferred<Stop>
  readonly budget: TokenBudget.Service
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
  /** Ended when the run of this start (in this process) has ended: its activities interrupted, its run suspended. */
  halted?: Deferred.Deferred<void>
}

// The engine replays an execution with the closure of the start that began it: each start puts its live state here,
// under its engine and the job's name, and that closure runs the newest.
const lives = new WeakMap<object, Map<string, Live<unknown, unknown, unknown>>>()

/**
 * The job names cancelled with an engine in this process: a start of one fails at once as cancelled (the engine may
 * still be settling the cancel, and a start would wait for it).
 */
const cancelledNames = new WeakMap<object, Set<string>>()

const markCancelled = (engine: object, name: string) =>
  Effect.sync(() => {
    let names = cancelledNames.get(engine)
    if (names === undefined) cancelledNames.set(engine, names = new Set())
    names.add(name)
  })

/** The job names whose workflow is registered with an engine. */
const registered = new WeakMap<object, Set<string>>()

/** The job names whose cancel workflow is registered with an engine. */
const cancelRegistered = new WeakMap<object, Set<string>>()

/**
 * Registers a job's cancel workflow with the engine, once per engine and job name, for the engine's life (as a job's
 * own workflow is: see `start`).
 */
const registerCancel = (engine: WorkflowEngine.WorkflowEngine["Service"], name: string) =>
  Effect.gen(function*() {
    let names = cancelRegistered.get(engine)
    if (names === undefined) cancelRegistered.set(engine, names = new Set())
    if (names.has(name)) return
    names.add(name)
    yield* engine.register(makeCancelWorkflow(name), () => Effect.void).pipe(Scope.provide(yield* Scope.make()))
  })

/** Whether the engine has stored a cancel of the job (from this process or any other, now or before). */
const storedCancel = (engine: WorkflowEngine.WorkflowEngine["Service"], name: string) =>
  Effect.gen(function*() {
    const workflow = makeCancelWorkflow(name)
    const executionId = yield* workflow.executionId({ name })
    return Option.isSome(yield* engine.poll(workflow, executionId))
  })

/**
 * Cancels a job in the engine: its cancel is stored (so that every process answers from it), then its run is
 * interrupted wherever it runs. A job that finished keeps its outcome: nothing is stored, and `false` returned.
 */
const cancelInEngine = <I, A, R>(engine: WorkflowEngine.WorkflowEngine["Service"], job: BamlJob<I, A, R>) =>
  Effect.gen(function*() {
    const executionId = yield* job.workflow.executionId({ name: job.name })
    const outcome = yield* engine.poll(job.workflow, executionId)
    if (Option.isSome(outcome) && outcome.value._tag === "Complete" && Exit.isSuccess(outcome.value.exit)) {
      return false
    }
    yield* registerCancel(engine, job.name)
    const cancelWorkflow = makeCancelWorkflow(job.name)
    yield* engine.execute(cancelWorkflow, {
      executionId: yield* cancelWorkflow.executionId({ name: job.name }),
      payload: { name: job.name }
    })
    yield* markCancelled(engine, job.name)
    yield* engine.interruptUnsafe(job.workflow, executionId)
    return true
  })

const emptyProgress = (total: number | undefined): Progress => ({
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

const totalOf = <I>(options: CommonOptions<I>): number | undefined => {
  if (options.total !== undefined) return options.total
  return Array.isArray(options.inputs) ? options.inputs.length : undefined
}

/** Applies `f` to the progress, and brings its times, cost and estimate of the time left up to date. */
const updateProgress = <I, A, R>(live: Live<I, A, R>, f: (progress: Progress) => Progress) =>
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

/**
 * One request of one item, under the rate limit: it waits for a request slot and for the tokens spent to be back
 * under the limit, and charges its own tokens when it ends.
 */
const request = <I, A, R>(live: Live<I, A, R>, input: I): Effect.Effect<A, BamlError> => {
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
      live.pendingTokens.input += inputTokens
      live.pendingTokens.output += outputTokens
      live.pendingTokens.cached += cachedInputTokens
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

/**
 * The body of an item's activity: its requests with the retry policy (its item counts it in flight). A spent budget
 * stops the job: the item signals it and waits to be interrupted with the others, so that it stores no result and is
 * requested again when the job resumes.
 */
const attempt = <I, A, R>(live: Live<I, A, R>, input: I): Effect.Effect<A, BamlError> => {
  let tries = 0
  const retried = updateProgress(live, (p) => ({ ...p, retries: p.retries + 1 }))
  const once = Effect.suspend(() => tries++ > 0 ? Effect.andThen(retried, request(live, input)) : request(live, input))
  return once.pipe(
    // A defect in the caller's code (an `args` or `function` that throws or dies) fails this item alone, typed.
    Effect.catchDefect((defect) => Effect.fail(userDefect(live.job.name, "the function of an input", defect))),
    Effect.retry({ schedule: live.job.options.retry ?? defaultRetry, while: isRetryable }),
    Effect.catchTag(
      "BudgetExceeded",
      (error) => Effect.andThen(stop(live, { _tag: "Budget", error }), Effect.never)
    )
  )
}

/** What an item fails with when the caller's code for it (its `key`, `args` or `function`) throws or dies. */
const userDefect = (name: string, what: string, defect: unknown) =>
  new BamlInvalidArgumentError({
    message: `BamlJob ${name}: ${what} threw: ${defect instanceof Error ? defect.message : String(defect)}`
  })

/**
 * Tells this process's run of the job to stop (the first reason wins). The progress is told first: the stop interrupts
 * the fiber that tells it.
 */
const stop = <I, A, R>(live: Live<I, A, R>, how: Stop) =>
  Effect.andThen(
    updateProgress(live, (p) => p.state === "running" ? { ...p, state: "stopped" } : p),
    Deferred.succeed(live.stop, how)
  )

/** Ends one item in this run's view: its result by key and in order, and its count in the progress. */
const record = <I, A, R>(live: Live<I, A, R>, result: ItemResult<A>, inFlight = false) =>
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

/**
 * One item: an activity named after its key, so that the engine stores its result and, on a replay, returns the stored
 * result instead of running it again.
 */
const item = <I, A, R>(
  live: Live<I, A, R>,
  seen: Set<string>,
  input: I,
  index: number
) =>
  Effect.suspend(() => {
    // Counted in flight from its start until it ends: its end is one change of the progress (its `record`, which
    // takes the tokens of its requests too), or its interruption's.
    let inFlight = false
    let startedAt = 0
    const started = Effect.uninterruptible(
      Effect.andThen(
        updateProgress(live, (p) => ({ ...p, inFlight: p.inFlight + 1 })),
        Effect.flatMap(Clock.currentTimeMillis, (now) =>
          Effect.sync(() => {
            inFlight = true
            startedAt = now
          }))
      )
    )
    const ended = (result: ItemResult<A>) =>
      Effect.uninterruptible(Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const was = inFlight
        inFlight = false
        if (was) {
          live.durations.total += now - startedAt
          live.durations.count++
        }
        return record(live, result, was)
      }))
    return Effect.gen(function*() {
      // A key function that throws fails this item alone; its key in the results is `#<index>`.
      let key: string
      try {
        key = live.job.options.key(input)
      } catch (defect) {
        const error = userDefect(live.job.name, `the key of input #${index}`, defect)
        return yield* record(live, { _tag: "Failed", key: `#${index}`, index, error, stored: false })
      }
      if (seen.has(key)) {
        const error = new BamlInvalidArgumentError({
          message: `BamlJob ${live.job.name}: the key "${key}" is used by an earlier input; each input needs its own key`
        })
        return yield* record(live, { _tag: "Failed", key, index, error, stored: false })
      }
      seen.add(key)
      let ran = false
      const activity = Activity.make({
        name: `item/${key}`,
        success: live.job.success,
        error: BamlErrorSchema,
        // The engine interrupts an activity with its run (a cancel from any runner, a stop in this process; in a
        // cluster too, where the activity runs apart from the run), which aborts its request.
        execute: Effect.suspend(() => {
          ran = true
          return Effect.andThen(started, attempt(live, input))
        })
      })
      const exit = yield* Effect.exit(activity)
      if (Exit.isSuccess(exit)) {
        return yield* ended({ _tag: "Succeeded", key, index, value: exit.value, stored: !ran })
      }
      const error = Cause.findErrorOption(exit.cause)
      if (Option.isNone(error)) return yield* Effect.failCause(exit.cause as Cause.Cause<never>)
      return yield* ended({ _tag: "Failed", key, index, error: error.value, stored: !ran })
    }).pipe(
      Effect.onExit(() =>
        Effect.suspend(() => {
          if (!inFlight) return Effect.void
          inFlight = false
          return updateProgress(live, (p) => ({ ...p, inFlight: p.inFlight - 1 }))
        })
      )
    )
  })

/** The results of the items ended so far in this run, in the order of the inputs. */
const inInputOrder = <I, A, R>(live: Live<I, A, R>): Array<ItemResult<A>> =>
  [...live.ordered].sort((a, b) => a.index - b.index)

/** This run's results, in the order of the inputs, as the workflow stores them (none when a value cannot be encoded). */
const encodeResults = <I, A, R>(live: Live<I, A, R>) => {
  const encode = Schema.encodeUnknownEffect(live.job.success)
  return Effect.forEach(
    inInputOrder(live),
    (result): Effect.Effect<typeof StoredItem.Type, Schema.SchemaError> =>
      result._tag === "Succeeded"
        ? Effect.map(encode(result.value), (value) => ({ key: result.key, index: result.index, value }))
        : Effect.succeed({ key: result.key, index: result.index, error: result.error })
  ).pipe(Effect.orElseSucceed(() => undefined))
}

/** The results a finished job's workflow stored, as this run's results (each `stored`). */
const decodeResults = <A>(
  job: BamlJob<unknown, A, unknown>,
  stored: ReadonlyArray<typeof StoredItem.Type>
): Effect.Effect<Array<ItemResult<A>>> => {
  const decode = Schema.decodeUnknownEffect(job.success)
  return Effect.forEach(stored, (item): Effect.Effect<ItemResult<A>, Schema.SchemaError> =>
    item.error !== undefined
      ? Effect.succeed({ _tag: "Failed", key: item.key, index: item.index, error: item.error, stored: true })
      : Effect.map(
        decode(item.value),
        (value) => ({ _tag: "Succeeded", key: item.key, index: item.index, value, stored: true })
      )).pipe(
      Effect.mapError((error) =>
        new Error(`BamlJob ${job.name}: a stored result does not decode with the job's success schema: ${error.message}`)
      ),
      Effect.orDie
    )
}

/** The workflow's body: every item, unless this process is told to stop; then the run suspends, resumable. */
const body = (engine: object, name: string) =>
  Effect.gen(function*() {
    const live = lives.get(engine)?.get(name)
    if (live === undefined) return yield* Effect.die(new Error(`BamlJob ${name} was not started in this process`))
    const instance = yield* WorkflowEngine.WorkflowInstance
    const { concurrency, inputs } = live.job.options
    const seen = new Set<string>()
    const halted = yield* Deferred.make<void>()
    live.halted = halted
    const stream = Stream.isStream(inputs) ? inputs : Stream.fromIterable(inputs)
    const items = stream.pipe(
      Stream.zipWithIndex,
      Stream.mapEffect(([input, index]) => item(live, seen, input, index), {
        concurrency: concurrency ?? 4,
        unordered: true
      }),
      Stream.runDrain,
      Effect.andThen(SubscriptionRef.get(live.progress)),
      Effect.flatMap(({ failed, succeeded }) =>
        Effect.map(encodeResults(live), (results) => results === undefined ? { succeeded, failed } : { succeeded, failed, results })
      )
    )
    return yield* Effect.raceFirst(
      items,
      Effect.andThen(Deferred.await(live.stop), Workflow.suspend(instance))
    ).pipe(Effect.onExit(() => Deferred.succeed(halted, undefined)))
  })

/**
 * Starts a job (or resumes it, when the engine has stored part of it) and returns its handle. The job runs in the
 * engine; closing the scope stops it in this process, aborting every request in flight, and leaves it resumable. One
 * start of a job at a time per process.
 *
 * It fails before any item runs only when the job cannot start: a job by function name whose function baml_src does
 * not have fails with `BamlRuntimeError`, whose message names the functions baml_src has, closest first. Any other
 * error is an item's: that item ends `Failed` and the job goes on. A job cancelled earlier ends at once: its `await`
 * fails with {@link BamlJobCancelled}.
 *
 * @example
 * ```ts
 * import { BamlJob } from "effect-baml"
 * import { Effect, Option } from "effect"
 *
 * declare const job: BamlJob.BamlJob<{ readonly resume: string }, unknown>
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const handle = yield* BamlJob.start(job)
 *   const first = yield* handle.result("ada") // Option.none() until the item has ended
 *   return Option.isSome(first) ? first.value : yield* handle.await
 * }))
 * ```
 * @since 0.2.0
 * @category running
 */
export const start = <I, A, R>(
  job: BamlJob<I, A, R>
): Effect.Effect<Handle<A>, BamlError, Scope.Scope | WorkflowEngine.WorkflowEngine | R> =>
  Effect.gen(function*() {
    const engine = yield* WorkflowEngine.WorkflowEngine
    const scope = yield* Effect.scope
    yield* checkFunction(job)
    const cancelled = new BamlJobCancelled({ message: `BamlJob ${job.name} was cancelled`, name: job.name })
    const context = yield* Effect.context<R>()
    const limiter = job.options.rateLimit === undefined
      ? undefined
      : Option.getOrUndefined(yield* Effect.serviceOption(RateLimiter.RateLimiter)) ??
        (yield* RateLimiter.make.pipe(Effect.provide(RateLimiter.layerStoreMemory)))
    const live: Live<I, A, R> = {
      job,
      context,
      results: new Map(),
      ordered: [],
      progress: yield* SubscriptionRef.make(emptyProgress(totalOf(job.options))),
      stop: yield* Deferred.make<Stop>(),
      // the job's own budget, or else the one around it, or else one that only counts
      budget: job.options.budget === undefined
        ? Option.getOrUndefined(Context.getOption(context, TokenBudget.TokenBudget)) ?? (yield* TokenBudget.make({}))
        : yield* TokenBudget.make(job.options.budget),
      limiter,
      prices: job.options.prices ?? job.options.budget?.cost,
      startedAt: yield* Clock.currentTimeMillis,
      pendingTokens: { input: 0, output: 0, cached: 0 },
      durations: { total: 0, count: 0 }
    }
    let byName = lives.get(engine)
    if (byName === undefined) lives.set(engine, byName = new Map())
    const mine = byName
    mine.set(job.name, live as Live<unknown, unknown, unknown>)

    const executionId = yield* job.workflow.executionId({ name: job.name })
    // One registration per engine and job name, for the engine's life: with effect 4.1's cluster engine, closing a
    // workflow's registration makes every later execution in the process end at once as interrupted (a second job
    // would fail as cancelled). A start that ends stops its run through `live.stop` instead.
    let names = registered.get(engine)
    if (names === undefined) registered.set(engine, names = new Set())
    if (!names.has(job.name)) {
      names.add(job.name)
      yield* engine.register(job.workflow, () => body(engine, job.name)).pipe(Scope.provide(yield* Scope.make()))
    }
    yield* registerCancel(engine, job.name)
    // Cancelled in this process, or stored as cancelled by any process: it ends at once, without asking the engine to
    // run it (which would wait for a run that never comes).
    const cancelledHere = cancelledNames.get(engine)?.has(job.name) === true || (yield* storedCancel(engine, job.name))

    yield* Scope.addFinalizer(
      scope,
      Effect.gen(function*() {
        yield* stop(live, { _tag: "Interrupted" })
        // the run in this process, if it runs here, ends before the start does
        if (live.halted !== undefined) yield* Deferred.await(live.halted)
        if (mine.get(job.name) === live) mine.delete(job.name)
      })
    )

    // A run stopped earlier (interrupted, or suspended by a spent budget) is run again; a finished one is not.
    // A job cancelled in this process ends as cancelled at once, without asking the engine (which may still be
    // settling the cancel).
    if (!cancelledHere) yield* job.workflow.resume(executionId)
    // A cancelled job's stored result is an interruption: it ends the job as cancelled, here or in another process.
    // Cancelled here (by this start's handle, or found cancelled): a later start in this process ends at once too.
    const cancelledNow = Effect.andThen(markCancelled(engine, job.name), stop(live, { _tag: "Cancelled" }))
    const endCancelled = Effect.andThen(cancelledNow, Effect.fail(cancelled))
    // A finished job started again: the engine returns its stored outcome without running an item here; its results
    // are this run's, each stored.
    // Its inputs with keys the stored outcome does not have are refused, not skipped.
    const readBack = ({ results }: typeof StoredSummary.Type) =>
      live.ordered.length > 0 || results === undefined
        ? Effect.void
        : Effect.flatMap(
          decodeResults(job as BamlJob<unknown, A, unknown>, results),
          (decoded) =>
            Effect.andThen(
              Effect.forEach(decoded, (result) => record(live, result), { discard: true }),
              refuseNewKeys(job, new Set(results.map((result) => result.key)))
            )
        )
    // A cancel from another process (or from `BamlJob.cancel`) is stored with the engine: this start reads it, stops
    // its run here (aborting its requests) and ends as cancelled.
    const watcher = yield* storedCancel(engine, job.name).pipe(
      Effect.repeat({ schedule: Schedule.spaced(cancelPollInterval), until: (found) => found }),
      Effect.andThen(cancelledNow),
      Effect.forkIn(scope)
    )
    const execution = yield* (cancelledHere ? endCancelled : job.workflow.execute({ name: job.name }).pipe(
      Effect.exit,
      Effect.flatMap((exit) => Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause) ? endCancelled : exit)
    )).pipe(
      Effect.tap(readBack),
      Effect.tap(() => updateProgress(live, (p) => ({ ...p, state: "completed" }))),
      // however the run ends (a defect included), the progress ends with it
      Effect.onExit(() =>
        Effect.andThen(
          Fiber.interrupt(watcher),
          updateProgress(live, (p) => p.state === "running" ? { ...p, state: "stopped" } : p)
        )
      ),
      Effect.forkIn(scope)
    )
    const summary = Effect.map(Fiber.join(execution), ({ failed, succeeded }): Summary<A> => ({
      succeeded,
      failed,
      results: inInputOrder(live)
    }))
    const whyStopped = Effect.flatMap(
      Deferred.await(live.stop),
      (stop): Effect.Effect<never, BudgetExceeded | BamlJobCancelled> => {
        switch (stop._tag) {
          case "Budget":
            return Effect.fail(stop.error)
          case "Cancelled":
            return Effect.fail(cancelled)
          case "Interrupted":
            return Effect.interrupt
        }
      }
    )
    const handle: Handle<A> = {
      name: job.name,
      executionId,
      progress: SubscriptionRef.changes(live.progress).pipe(Stream.takeUntil((p) => p.state !== "running")),
      current: SubscriptionRef.get(live.progress),
      result: (key) => Effect.sync(() => Option.fromUndefinedOr(live.results.get(key))),
      results: Effect.sync(() => inInputOrder(live)),
      await: Effect.raceFirst(summary, whyStopped),
      cancel: Effect.flatMap(cancelInEngine(engine, job), (cancelledIt) => cancelledIt ? cancelledNow : Effect.void)
    }
    return handle
  })

/** Fails with {@link BamlJobFinished} when the job's inputs have keys that are not in `stored` (its finished run's). */
const refuseNewKeys = <I, A, R>(job: BamlJob<I, A, R>, stored: ReadonlySet<string>) =>
  Effect.gen(function*() {
    const { inputs, key } = job.options
    const stream = Stream.isStream(inputs) ? inputs : Stream.fromIterable(inputs)
    const newKeys: Array<string> = []
    yield* stream.pipe(
      Stream.zipWithIndex,
      Stream.runForEach(([input, index]) =>
        Effect.sync(() => {
          let k: string
          try {
            k = key(input)
          } catch {
            k = `#${index}`
          }
          if (!stored.has(k) && newKeys.length < 100) newKeys.push(k)
        })
      ),
      Effect.orDie
    )
    if (newKeys.length === 0) return
    return yield* Effect.fail(
      new BamlJobFinished({
        message: `BamlJob ${job.name} finished before, and its inputs now have keys it did not run: ` +
          `${newKeys.slice(0, 10).join(", ")}${newKeys.length > 10 ? ", …" : ""}; run them as a job of a new name`,
        name: job.name,
        newKeys
      })
    )
  })

/** A job that calls a function by name fails at once when baml_src has no such function, with what it has. */
const checkFunction = <I, A, R>(job: BamlJob<I, A, R>): Effect.Effect<void, BamlError> =>
  Effect.gen(function*() {
    const functionName = job.functionName
    if (functionName === undefined) return
    const runtime = Option.getOrUndefined(yield* Effect.serviceOption(BamlRuntime))
    const functions = runtime?.functions
    if (functions === undefined || functions.has(functionName)) return
    return yield* Effect.fail(
      fromEngine(new Error(`function '${functionName}' not found`), {}, { functionName, functions })
    )
  })

/**
 * Runs a job to its end: starts it (or resumes it) and waits for its summary. Interrupting it aborts every request in
 * flight and leaves the job resumable.
 *
 * It fails with a `BamlError` only when the job cannot start (a function by name that baml_src does not have:
 * `BamlRuntimeError`, naming the closest functions); an item's error ends that item alone, in the summary. It fails
 * with `BudgetExceeded` when the budget stopped it, with {@link BamlJobFinished} when it had finished before and its
 * inputs now have keys it did not run, and with {@link BamlJobCancelled} when it was cancelled (at once,
 * for a job cancelled earlier).
 *
 * @example
 * ```ts
 * import { BamlJob, BamlRuntime } from "effect-baml"
 * import { Effect, Layer } from "effect"
 * import { WorkflowEngine } from "effect/workflow"
 *
 * const job = BamlJob.make({
 *   name: "resumes",
 *   function: "ExtractResume",
 *   inputs: [{ resume: "Ada Lovelace" }, { resume: "Grace Hopper" }],
 *   key: (input) => input.resume
 * })
 * const program = BamlJob.run(job).pipe(
 *   Effect.provide(Layer.merge(WorkflowEngine.layerMemory, BamlRuntime.layerFromDirectory("./baml_src")))
 * )
 * ```
 * @since 0.2.0
 * @category running
 */
export const run = <I, A, R>(
  job: BamlJob<I, A, R>
): Effect.Effect<
  Summary<A>,
  BamlError | BamlJobCancelled | BamlJobFinished,
  WorkflowEngine.WorkflowEngine | Exclude<R, Scope.Scope>
> => Effect.scoped(Effect.flatMap(start(job), (handle) => handle.await))

/**
 * Cancels a job for good, wherever the engine runs it: the cancel is stored with the job in the engine, every request
 * in flight is aborted, and a later start of the job, in any process, fails at once with {@link BamlJobCancelled}
 * without a request. Every `handle.await` of the job fails with it too: at once in this process, and within about a
 * second in another (each start asks the engine every second). A job that had finished keeps its outcome: cancelling
 * it does nothing, and it is still answered with its summary.
 *
 * @example
 * ```ts
 * import { BamlJob } from "effect-baml"
 *
 * declare const job: BamlJob.BamlJob<{ readonly resume: string }, unknown>
 * const stopForGood = BamlJob.cancel(job)
 * ```
 * @since 0.2.0
 * @category running
 */
export const cancel = <I, A, R>(job: BamlJob<I, A, R>): Effect.Effect<void, never, WorkflowEngine.WorkflowEngine> =>
  Effect.gen(function*() {
    const engine = yield* WorkflowEngine.WorkflowEngine
    if (!(yield* cancelInEngine(engine, job))) return
    // a start of the job in this process ends as cancelled (its own run, if it runs here, is interrupted already)
    const live = lives.get(engine)?.get(job.name)
    if (live !== undefined) yield* stop(live, { _tag: "Cancelled" })
  })

// ---------------------------------------------------------------------------------------------------------------------
// progress bar
// ---------------------------------------------------------------------------------------------------------------------

/**
 * Where {@link progressBar} draws: any stream with `write` (`process.stdout`, `process.stderr`, a Node `Writable`),
 * and whether it is a terminal and how wide it is. A structural type, so that the declarations need no `@types/node`.
 *
 * @example
 * ```ts
 * import type { BamlJob } from "effect-baml"
 *
 * const lines: Array<string> = []
 * const memory: BamlJob.ProgressOutput = { write: (chunk) => lines.push(String(chunk)) > 0, isTTY: false }
 * ```
 * @since 0.2.0
 * @category models
 */
export interface ProgressOutput {
  readonly write: (chunk: string) => boolean
  readonly isTTY?: boolean | undefined
  readonly columns?: number | undefined
}

/**
 * Options of {@link progressBar}: where to draw (default `process.stdout`), and whether to draw when it is not a
 * terminal.
 *
 * @example
 * ```ts
 * import type { BamlJob } from "effect-baml"
 *
 * const toStderr: BamlJob.ProgressBarOptions = { output: process.stderr }
 * ```
 * @since 0.2.0
 * @category models
 */
export interface ProgressBarOptions {
  /** Where to draw (default `process.stdout`). */
  readonly output?: ProgressOutput | undefined
  /** Draw even when `output` is not a TTY (default false: then nothing is drawn). */
  readonly force?: boolean | undefined
}

/**
 * The progress in one line of words (what {@link progressBar} draws after the bar), for a log line.
 *
 * @example
 * ```ts
 * import { BamlJob } from "effect-baml"
 * import { Effect, Stream } from "effect"
 *
 * declare const handle: BamlJob.Handle<unknown>
 * const logEverySecond = handle.progress.pipe(
 *   Stream.throttle({ cost: () => 1, units: 1, duration: "1 second", strategy: "enforce" }),
 *   Stream.runForEach((p) => Effect.log(BamlJob.describeProgress(p)))
 * )
 * ```
 * @since 0.2.0
 * @category progress
 */
export const describeProgress = (p: Progress): string => {
  const parts = [
    `${p.done}${p.total === undefined ? "" : `/${p.total}`} done`,
    `${p.inFlight} in flight`,
    ...(p.failed > 0 ? [`${p.failed} failed`] : []),
    ...(p.stored > 0 ? [`${p.stored} stored`] : []),
    `${p.inputTokens} in / ${p.outputTokens} out tokens`,
    ...(p.cost === undefined ? [] : [`~${p.cost.toFixed(4)}`]),
    ...(p.etaMs === undefined || p.state !== "running" ? [] : [`${Math.ceil(p.etaMs / 1000)}s left`]),
    ...(p.state === "running" ? [] : [p.state])
  ]
  return parts.join(" | ")
}

/**
 * A finished job's summary in one line of words, with why items failed: the count of each error's tag, and the first
 * failed item's key and message.
 *
 * @example
 * ```ts
 * import { BamlJob } from "effect-baml"
 * import { Effect } from "effect"
 *
 * declare const job: BamlJob.BamlJob<{ readonly resume: string }, unknown>
 * const program = Effect.flatMap(BamlJob.run(job), (summary) => Effect.log(BamlJob.describeSummary(summary)))
 * // "48 succeeded, 2 failed (BamlClientHttpError: 2; first: r7: ...)"
 * ```
 * @since 0.2.0
 * @category progress
 */
export const describeSummary = <A>(summary: Summary<A>): string => {
  const line = `${summary.succeeded} succeeded, ${summary.failed} failed`
  const failures = summary.results.flatMap((result) => result._tag === "Failed" ? [result] : [])
  if (failures.length === 0) return line
  const byTag = new Map<string, number>()
  for (const failure of failures) byTag.set(failure.error._tag, (byTag.get(failure.error._tag) ?? 0) + 1)
  const tags = [...byTag].sort((a, b) => b[1] - a[1]).map(([tag, count]) => `${tag}: ${count}`).join(", ")
  const first = failures[0]!
  const message = first.error.message.split("\n")[0]!
  return `${line} (${tags}; first: ${first.key}: ${message.length > 200 ? `${message.slice(0, 200)}…` : message})`
}

/** Whether the warning that `cli-progress` is not installed has been logged (once per process). */
let warnedNoCliProgress = false

/**
 * Draws a job's progress as a bar on the terminal until the progress stream ends (the job ends), with the
 * `cli-progress` package (an optional peer dependency: `npm i cli-progress`). When the output is not a TTY, it only
 * waits for the end of the stream. Without `cli-progress` installed, it logs a warning once and writes a
 * {@link describeProgress} line instead, each time an item ends and when the job ends.
 *
 * @example
 * ```ts
 * import { BamlJob } from "effect-baml"
 * import { Effect } from "effect"
 *
 * declare const job: BamlJob.BamlJob<{ readonly resume: string }, unknown>
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const handle = yield* BamlJob.start(job)
 *   yield* Effect.forkScoped(BamlJob.progressBar(handle.progress))
 *   return yield* handle.await
 * }))
 * ```
 * @since 0.2.0
 * @category progress
 */
export const progressBar = (
  progress: Stream.Stream<Progress>,
  options: ProgressBarOptions = {}
): Effect.Effect<void> => {
  const output: ProgressOutput = options.output ?? process.stdout
  const force = options.force === true
  if (!output.isTTY && !force) return Stream.runDrain(progress)
  const bar = (cli: typeof import("cli-progress")) =>
    Effect.acquireUseRelease(
      Effect.sync(() => {
        const bar = new cli.SingleBar({
          // cli-progress reads only write, isTTY and columns (and cursor moves when isTTY)
          stream: output as NodeJS.WritableStream,
          format: "{bar} {percentage}% | {line}",
          hideCursor: true,
          clearOnComplete: false,
          noTTYOutput: force,
          fps: 10
        }, cli.Presets.shades_classic)
        bar.start(1, 0, { line: "" })
        return bar
      }),
      (bar) =>
        Stream.runForEach(progress, (p) =>
          Effect.sync(() => {
            bar.setTotal(Math.max(1, p.total ?? p.done + p.inFlight))
            bar.update(p.done, { line: describeProgress(p) })
          })),
      (bar) => Effect.sync(() => bar.stop())
    )
  // Without cli-progress: a line when an item ends and when the job ends.
  const lines = Effect.andThen(
    Effect.suspend(() => {
      if (warnedNoCliProgress) return Effect.void
      warnedNoCliProgress = true
      return Effect.logWarning(
        "BamlJob.progressBar: the optional package cli-progress is not installed (npm i cli-progress); " +
          "writing the progress as lines instead"
      )
    }),
    progress.pipe(
      Stream.changesWith((a, b) => a.done === b.done && a.state === b.state),
      Stream.runForEach((p) => Effect.sync(() => output.write(`${describeProgress(p)}\n`)))
    )
  )
  return Effect.tryPromise(() => import("cli-progress")).pipe(
    Effect.matchEffect({ onFailure: () => lines, onSuccess: (cli) => bar(cli.default) })
  )
}
