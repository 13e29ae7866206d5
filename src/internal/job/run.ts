/**
 * Making, hosting, running, resuming and cancelling a job: each item a workflow execution, dispatched by the job's run.
 */
import {
  Cause,
  Clock,
  Context,
  Deferred,
  Effect,
  Exit,
  Fiber,
  Layer,
  Option,
  Schedule,
  Schema,
  Scope,
  Stream,
  SubscriptionRef
} from "effect"
import * as RateLimiter from "effect/persistence/RateLimiter"
import * as Workflow from "effect/workflow/Workflow"
import * as WorkflowEngine from "effect/workflow/WorkflowEngine"
import * as Baml from "../../Baml.js"
import {
  BamlClientError,
  BamlClientHttpError,
  BamlError,
  BamlTimeoutError,
  BudgetExceeded,
  fromEngine
} from "../../BamlError.js"
import { BamlInvalidArgumentError } from "../../BamlError.js"
import { BamlRuntime } from "../../BamlRuntime.js"
import {
  type BamlJob,
  type ItemResult,
  type Summary,
  type Handle,
  BamlJobCancelled,
  BamlJobFinished,
  type ByNameOptions,
  type FunctionOptions
} from "./models.js"
import {
  StoredSummary,
  budgetKey,
  type ItemOutcome,
  makeWorkflow,
  itemWorkflowOf,
  type ItemWorkflow,
  encodeResults,
  decodeResults,
  inInputOrder
} from "./stored.js"
import { type Stop, type Live, emptyProgress, totalOf, updateProgress, stop, record } from "./progress.js"
import { makeRunLimits, type RunLimits, type Spent } from "./limits.js"
import {
  lives,
  cancelledNames,
  markCancelled,
  registered,
  registerCancel,
  storedCancel,
  budgetSpentAt,
  budgetStops,
  storeBudgetSpent,
  cancelInEngine,
  cancelPollInterval
} from "./registry.js"

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
      input: options.input ?? (Schema.Unknown as Schema.Codec<I, unknown>),
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
    input: options.input ?? (Schema.Unknown as Schema.Codec<I, unknown>),
    options,
    execute: fn.function
  }
}

/**
 * One request of one item, with the services the job runs with; the tokens it spent (as `Baml.withUsage` reads them)
 * go to what the item `spent`, whether it succeeded or failed.
 */
const request = <I, A, R>(live: Live<I, A, R>, input: I, spent: Spent): Effect.Effect<A, BamlError> =>
  Baml.withUsage(Effect.exit(live.job.execute(input))).pipe(
    Effect.flatMap(([exit, usages]) => {
      for (const usage of usages) {
        spent.inputTokens += usage.inputTokens
        spent.outputTokens += usage.outputTokens
        spent.cachedInputTokens += usage.cachedInputTokens
      }
      return exit
    }),
    // a `Baml.withUsage` or a `TokenBudget` around the job (in the process that hosts it) still sees every call
    Effect.provideContext(live.context)
  )

/**
 * The requests of one item, with the retry policy; what they spent goes to `spent`. The job's own budget is its run's
 * (see `limits.ts`); a `TokenBudget` around the job, spent, stops the job in this process: the item signals it and
 * waits to be stopped with the others, so that it stores no result and is requested again when the job resumes.
 */
export const attempt = <I, A, R>(live: Live<I, A, R>, input: I, spent: Spent): Effect.Effect<A, BamlError> => {
  let tries = 0
  const once = Effect.suspend(() => {
    if (tries++ > 0) spent.retries++
    return request(live, input, spent)
  })
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
export const userDefect = (name: string, what: string, defect: unknown) =>
  new BamlInvalidArgumentError({
    message: `BamlJob ${name}: ${what} threw: ${defect instanceof Error ? defect.message : String(defect)}`
  })

/**
 * The body of an item's workflow, on whichever runner the cluster placed it (one that hosts the job): its input
 * decoded, its requests, its outcome with the tokens they spent. Told to stop in this process (its start's scope
 * closed, or a spent budget), it suspends: it stores no outcome, and the job's next run resumes it.
 */
export const itemBody = (engine: object, name: string) =>
(payload: { readonly index: number; readonly input: unknown }): Effect.Effect<typeof ItemOutcome.Type, never, WorkflowEngine.WorkflowInstance> =>
  Effect.gen(function*() {
    const instance = yield* WorkflowEngine.WorkflowInstance
    // Not hosted here any more (its start's scope closed): stopped here, as an item told to stop is.
    const live = lives.get(engine)?.get(name)
    // stopped here already: not even started (a race with the stop could send its request before it is interrupted)
    if (live === undefined || (yield* Deferred.isDone(live.stop))) return yield* Workflow.suspend(instance)
    // A cancelled job runs nothing more (a run that replays after the cancel may still dispatch its items). Read from
    // memory: every process that hosts the job asks the engine once a second (`layer`'s poll, a start's watcher) and
    // marks it here, rather than each item asking the store (a query per item).
    if (cancelledNames.get(engine)?.has(name) === true) {
      yield* markCancelled(engine, name)
      yield* stop(live, { _tag: "Cancelled" })
      return yield* Workflow.suspend(instance)
    }
    const spent: Spent = { inputTokens: 0, outputTokens: 0, cachedInputTokens: 0, retries: 0 }
    const work = Effect.gen(function*() {
      const input = yield* Schema.decodeUnknownEffect(live.job.input)(payload.input).pipe(
        Effect.mapError((error) => userDefect(name, "the input's schema", error))
      )
      return yield* attempt(live, input, spent)
    }).pipe(
      Effect.flatMap((value) => Effect.mapError(Schema.encodeUnknownEffect(live.job.success)(value), (error) =>
        userDefect(name, "the result's schema", error))),
      Effect.exit
    )
    const exit = yield* Effect.raceFirst(work, Effect.andThen(Deferred.await(live.stop), Workflow.suspend(instance)))
    const endedAt = yield* Clock.currentTimeMillis
    const { index } = payload
    if (Exit.isSuccess(exit)) return { index, value: exit.value, ...spent, endedAt }
    const error = Cause.findErrorOption(exit.cause)
    if (Option.isNone(error)) return yield* Effect.failCause(exit.cause as Cause.Cause<never>)
    return { index, error: error.value, ...spent, endedAt }
  })

/** How many times an item whose workflow died (not an item's error: a defect) is dispatched again, as a new execution. */
const dispatchAttempts = 3

/** One run of a job (in the process the engine runs it in): when it began, its budget and rate limit. */
export interface Run {
  readonly startedAt: number
  readonly limits: RunLimits
  /** Under a budget or a rate limit. */
  readonly limited: boolean
}

/**
 * One item: its own workflow execution (dispatched by the job's run), named after its key, so that the engine stores its
 * outcome and, on a replay, it is read back instead of run again. On a cluster it runs on whichever runner its
 * shard is on, so that the items of a job spread over the runners that host it. An item not stored yet is dispatched
 * under the run's rate limit, unless the run's budget is spent: then it is not dispatched (nor counted).
 */
export const item = <I, A, R>(
  live: Live<I, A, R>,
  run: Run,
  seen: Set<string>,
  input: I,
  index: number
) =>
  Effect.suspend(() => {
    // Counted in flight from its dispatch until it ends: its end is one change of the progress (its `record`, which
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
    const ended = (result: ItemResult<A>, outcome: typeof ItemOutcome.Type) =>
      Effect.uninterruptible(Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const was = inFlight
        inFlight = false
        if (was && !result.stored) {
          live.durations.total += now - startedAt
          live.durations.count++
        }
        live.pendingTokens.input += outcome.inputTokens
        live.pendingTokens.output += outcome.outputTokens
        live.pendingTokens.cached += outcome.cachedInputTokens
        return Effect.andThen(
          run.limits.ended(outcome, !result.stored),
          Effect.andThen(
            outcome.retries === 0
              ? Effect.void
              : updateProgress(live, (p) => ({ ...p, retries: p.retries + outcome.retries })),
            record(live, result, was)
          )
        )
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
      const encoded = yield* Effect.exit(Schema.encodeUnknownEffect(live.job.input)(input))
      if (Exit.isFailure(encoded)) {
        const error = userDefect(live.job.name, `the input schema of "${key}"`, Cause.squash(encoded.cause))
        return yield* record(live, { _tag: "Failed", key, index, error, stored: false })
      }
      yield* started
      const engine = yield* WorkflowEngine.WorkflowEngine
      const items = itemWorkflowOf(live.job as BamlJob<unknown, unknown, unknown>)
      for (let attempt = 0;; attempt++) {
        const payload = { key, index, attempt, input: encoded.value }
        const executionId = yield* items.executionId(payload)
        // Its outcome stored (by an earlier run, or this one's before a replay): read back, not requested again. Looked
        // up first only under a budget or a rate limit (a stored item is not paced, nor refused); otherwise the
        // execution returns the stored outcome itself, and a suspended one is resumed by `dispatch`.
        const found = run.limited ? yield* engine.poll(items, executionId) : Option.none()
        let exit: Exit.Exit<typeof ItemOutcome.Type>
        if (Option.isSome(found) && found.value._tag === "Complete") {
          exit = found.value.exit
        } else {
          // the budget spent: not dispatched; it waits for a start with a larger budget
          if (!(yield* run.limits.dispatch)) return
          // An item stopped in a run before this one suspended: it is run again.
          if (Option.isSome(found)) yield* items.resume(executionId)
          exit = yield* Effect.exit(dispatch(engine, items, executionId, payload))
        }
        if (Exit.isFailure(exit)) {
          if (Cause.hasInterruptsOnly(exit.cause)) return yield* Effect.failCause(exit.cause)
          // A run that died (e.g. on a runner that did not host the job): stored as it is, so the item is dispatched
          // again as a new execution (the cluster places it anew), a few times, before it fails.
          if (attempt + 1 < dispatchAttempts) continue
          const error = userDefect(live.job.name, `the run of "${key}"`, Cause.squash(exit.cause))
          return yield* ended({ _tag: "Failed", key, index, error, stored: false }, { ...noSpending, index })
        }
        const outcome = exit.value
        const stored = outcome.endedAt < run.startedAt
        if (outcome.error !== undefined) {
          return yield* ended({ _tag: "Failed", key, index, error: outcome.error, stored }, outcome)
        }
        const value = yield* decodeValue(live.job as BamlJob<unknown, A, unknown>, key, outcome.value)
        return yield* ended(
          value.ok
            ? { _tag: "Succeeded", key, index, value: value.value, stored }
            : { _tag: "Failed", key, index, error: value.error, stored },
          outcome
        )
      }
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

/**
 * Runs an item's workflow and waits for its outcome. Not as a child of the run: a child's end also sends its parent a
 * wake (a second message, its reply and their bookkeeping: 4 of the 9 SQL statements an item cost on PostgreSQL), which
 * the run does not need, since it waits for each item's reply. What a child's link gave, done here instead: an item
 * suspended where it ran (its runner stopped, e.g. a runner shutting down) is resumed, so that it runs elsewhere, rather
 * than the run waiting for it; the run itself suspends only when it is told to stop in its own process.
 */
const dispatch = (
  engine: WorkflowEngine.WorkflowEngine["Service"],
  items: ItemWorkflow,
  executionId: string,
  payload: typeof items.payloadSchema.Type
) => {
  // a store that fails this once (e.g. a lost connection) is asked again next time, not taken for the item's end
  const resumeIfSuspended = Effect.flatMap(
    engine.poll(items, executionId),
    (result) => Option.isSome(result) && result.value._tag === "Suspended" ? items.resume(executionId) : Effect.void
  ).pipe(Effect.exit, Effect.asVoid)
  return Effect.raceFirst(
    items.execute(payload).pipe(Effect.updateContext(Context.omit(WorkflowEngine.WorkflowInstance))),
    Effect.forever(Effect.delay(resumeIfSuspended, suspendedCheckInterval))
  ) as Effect.Effect<typeof ItemOutcome.Type, never, WorkflowEngine.WorkflowEngine>
}

/** How long an item may run before its run first asks whether it was suspended where it ran (then every as long). */
const suspendedCheckInterval = "5 seconds"

const noSpending: typeof ItemOutcome.Type = {
  index: 0,
  inputTokens: 0,
  outputTokens: 0,
  cachedInputTokens: 0,
  retries: 0,
  endedAt: 0
}

/** An item's stored value, decoded with the job's `success` schema (a value that does not decode fails that item). */
const decodeValue = <A>(
  job: BamlJob<unknown, A, unknown>,
  key: string,
  value: unknown
): Effect.Effect<{ readonly ok: true; readonly value: A } | { readonly ok: false; readonly error: BamlError }> =>
  Schema.decodeUnknownEffect(job.success)(value).pipe(
    Effect.match({
      onSuccess: (value) => ({ ok: true as const, value }),
      onFailure: (error) => ({ ok: false as const, error: userDefect(job.name, `the stored result of "${key}"`, error) })
    })
  )

/**
 * The job's run: every item, unless this process is told to stop; then the run suspends, resumable. With its budget
 * spent, it dispatches no more items, waits for those in flight, stores the spent budget (see `storeBudgetSpent`) and
 * suspends: a start with a larger budget resumes it.
 */
export const body = (engine: WorkflowEngine.WorkflowEngine["Service"], name: string) =>
  Effect.gen(function*() {
    const instance = yield* WorkflowEngine.WorkflowInstance
    // Not hosted here any more (its start's scope closed; an item that ended after woke the run): it stays suspended.
    const live = lives.get(engine)?.get(name)
    if (live === undefined || (yield* Deferred.isDone(live.stop))) return yield* Workflow.suspend(instance)
    // hosted by `layer`, a run that replays here (resumed) counts its items again from the store
    if (live.byLayer) yield* resetView(live)
    const { concurrency, inputs } = live.job.options
    const seen = new Set<string>()
    const halted = yield* Deferred.make<void>()
    live.halted = halted
    const run: Run = {
      startedAt: yield* Clock.currentTimeMillis,
      limits: makeRunLimits(live),
      limited: live.job.options.budget !== undefined || live.job.options.rateLimit !== undefined
    }
    const stream = Stream.isStream(inputs) ? inputs : Stream.fromIterable(inputs)
    const items = stream.pipe(
      Stream.zipWithIndex,
      Stream.mapEffect(([input, index]) => item(live, run, seen, input, index), {
        concurrency: concurrency ?? 4,
        unordered: true
      }),
      Stream.runDrain,
      Effect.andThen(SubscriptionRef.get(live.progress)),
      Effect.flatMap(({ failed, succeeded }): Effect.Effect<typeof StoredSummary.Type | BudgetExceeded> => {
        const spent = run.limits.refused()
        if (spent !== undefined) return Effect.succeed(spent)
        return Effect.map(encodeResults(live), (results) =>
          results === undefined ? { succeeded, failed } : { succeeded, failed, results })
      })
    )
    return yield* Effect.gen(function*() {
      const ended = yield* Effect.raceFirst(items, Effect.andThen(Deferred.await(live.stop), Workflow.suspend(instance)))
      if (!(ended instanceof BudgetExceeded)) return ended
      yield* storeBudgetSpent(engine, live.job, ended)
      // A start that hosts the job for its scope ends with the error at once; one that watches a runner's job (or one in
      // another process) reads it from the store. A runner's job is not stopped: a later run goes on.
      if (live.byLayer) yield* updateProgress(live, (p) => p.state === "running" ? { ...p, state: "stopped" } : p)
      else yield* stop(live, { _tag: "Budget", error: ended })
      return yield* Workflow.suspend(instance)
    }).pipe(Effect.onExit(() => Deferred.succeed(halted, undefined)))
  })

/** Empties this process's view of a job's results and progress, for a run that counts them again. */
const resetView = <I, A, R>(live: Live<I, A, R>) =>
  Effect.suspend(() => {
    live.results.clear()
    live.ordered.length = 0
    live.durations.total = live.durations.count = 0
    return SubscriptionRef.set(live.progress, emptyProgress(totalOf(live.job.options)))
  })

/** The state of a job in this process: what its run and its items run with here. */
const makeLive = <I, A, R>(job: BamlJob<I, A, R>, byLayer: boolean) =>
  Effect.gen(function*() {
    const context = yield* Effect.context<R>()
    const limiter = job.options.rateLimit === undefined
      ? undefined
      : Option.getOrUndefined(yield* Effect.serviceOption(RateLimiter.RateLimiter)) ??
        (yield* RateLimiter.make.pipe(Effect.provide(RateLimiter.layerStoreMemory)))
    const live: Live<I, A, R> = {
      job,
      context,
      byLayer,
      results: new Map(),
      ordered: [],
      progress: yield* SubscriptionRef.make(emptyProgress(totalOf(job.options))),
      stop: yield* Deferred.make<Stop>(),
      limiter,
      prices: job.options.prices ?? job.options.budget?.cost,
      startedAt: yield* Clock.currentTimeMillis,
      pendingTokens: { input: 0, output: 0, cached: 0 },
      durations: { total: 0, count: 0 }
    }
    return live
  })

/**
 * Hosts a job in this process: its live state is the one its run and its items run with here, and its workflows (its
 * run, its items, its cancel) are registered with the engine, once per engine and job name, for the engine's life
 * (with effect 4.1's cluster engine, closing a workflow's registration makes every later execution in the process end
 * at once as interrupted: a run that ends here stops through `live.stop` instead).
 */
const host = <I, A, R>(engine: WorkflowEngine.WorkflowEngine["Service"], live: Live<I, A, R>) =>
  Effect.gen(function*() {
    const { job } = live
    let byName = lives.get(engine)
    if (byName === undefined) lives.set(engine, byName = new Map())
    byName.set(job.name, live as Live<unknown, unknown, unknown>)
    let names = registered.get(engine)
    if (names === undefined) registered.set(engine, names = new Set())
    if (!names.has(job.name)) {
      names.add(job.name)
      const forever = yield* Scope.make()
      yield* engine.register(job.workflow, () => body(engine, job.name)).pipe(Scope.provide(forever))
      yield* engine.register(itemWorkflowOf(job as BamlJob<unknown, unknown, unknown>), itemBody(engine, job.name))
        .pipe(Scope.provide(forever))
    }
    yield* registerCancel(engine, job.name)
    return byName
  })

/**
 * Stops hosting a job in this process (a `layer` released, or a `start` that hosts it ending): its run here, if it
 * runs here, is stopped and ends first, and the job is no longer this process's to run.
 */
const unhost = <I, A, R>(live: Live<I, A, R>, mine: Map<string, Live<unknown, unknown, unknown>>) =>
  Effect.gen(function*() {
    yield* stop(live, { _tag: "Interrupted" })
    if (live.halted !== undefined) yield* Deferred.await(live.halted)
    if (mine.get(live.job.name) === live) mine.delete(live.job.name)
  })

/**
 * Hosts a job on this runner for the layer's life, as `Workflow.toLayer` does a workflow: its run and its items can be
 * given to this runner, whether or not it starts the job. On a cluster (`BamlJobStore.layerPostgresCluster`), give it
 * to every runner, for every job the cluster runs: the cluster spreads a job's items over them. A start of the job in
 * this process watches the hosted run (its progress and results); closing the start's scope stops nothing. A process
 * that only starts, cancels or watches jobs (`BamlJobStore.layerPostgresClient`) needs no layer.
 *
 * @example
 * ```ts
 * import { BamlJob, BamlJobStore, BamlRuntime } from "effect-baml"
 * import { Layer } from "effect"
 *
 * declare const job: BamlJob.BamlJob<{ readonly id: string; readonly text: string }, unknown>
 * const runner = BamlJob.layer(job).pipe(
 *   Layer.provide(BamlRuntime.layerFromDirectory("./baml_src")),
 *   Layer.provideMerge(BamlJobStore.layerPostgresCluster({ url: "postgres://jobs@db/jobs", host: "10.0.0.5", port: 34431 }))
 * )
 * ```
 * @since 0.3.0
 * @category layers
 */
export const layer = <I, A, R>(
  job: BamlJob<I, A, R>
): Layer.Layer<never, never, WorkflowEngine.WorkflowEngine | Exclude<R, Scope.Scope>> =>
  Layer.effectDiscard(Effect.gen(function*() {
    const engine = yield* WorkflowEngine.WorkflowEngine
    const live = yield* makeLive(job, true)
    // cancelled before: known before its workflows are registered, so that an item the engine hands over at once
    // (dispatched before the cancel, stored unprocessed) runs nothing
    if (yield* storedCancel(engine, job.name)) yield* markCancelled(engine, job.name)
    const mine = yield* host(engine, live)
    // A cancel stored by any process stops what runs here (its items' requests are aborted).
    yield* storedCancel(engine, job.name).pipe(
      Effect.repeat({ schedule: Schedule.spaced(cancelPollInterval), until: (found) => found }),
      Effect.andThen(Effect.andThen(markCancelled(engine, job.name), stop(live, { _tag: "Cancelled" }))),
      Effect.forkScoped
    )
    yield* Effect.addFinalizer(() => unhost(live, mine))
  }) as Effect.Effect<void, never, WorkflowEngine.WorkflowEngine | Scope.Scope | Exclude<R, Scope.Scope>>)

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
    const hosted = lives.get(engine)?.get(job.name)
    // Hosted by `layer` in this process: this start watches that run (its progress, its results); its scope closing
    // stops nothing. Otherwise this start hosts the job for its scope's life.
    const byLayer = hosted !== undefined && hosted.byLayer
    const live = byLayer ? hosted as unknown as Live<I, A, R> : yield* makeLive(job, false)
    // Cancelled in this process, or stored as cancelled by any process: it ends at once, without asking the engine to
    // run it (which would wait for a run that never comes). Known before its workflows are registered, so that an item
    // the engine hands over at once (dispatched before the cancel, stored unprocessed) runs nothing.
    const cancelledHere = cancelledNames.get(engine)?.has(job.name) === true || (yield* storedCancel(engine, job.name))
    if (cancelledHere) yield* markCancelled(engine, job.name)
    const mine = yield* host(engine, live)
    const executionId = yield* job.workflow.executionId({ name: job.name })
    // Stopped with its budget spent, under the same budget as this start's: it ends at once with the stored error,
    // without a request. Under another budget (or none), it is resumed: its run goes on under the budget of the
    // definition that runs it, and ends again with its budget spent if that one is too (a new stop, which this start
    // waits for).
    const stops = yield* budgetStops(engine, job.name)
    const spentHere = cancelledHere || Option.isNone(stops.last) || job.options.budget === undefined ||
        stops.last.value.limits !== budgetKey(job.options.budget) || (yield* finished(engine, job))
      ? Option.none<BudgetExceeded>()
      : Option.some(stops.last.value.error)
    // the spent budget, when a run stores it (here or in another process) while this start waits
    const budgetSpent = yield* Deferred.make<never, BudgetExceeded>()

    yield* Scope.addFinalizer(
      scope,
      byLayer ? Effect.void : unhost(live, mine)
    )

    // A run stopped earlier (interrupted, or suspended by a spent budget) is run again; a finished one is not.
    // A job cancelled in this process ends as cancelled at once, without asking the engine (which may still be
    // settling the cancel).
    if (!cancelledHere && Option.isNone(spentHere)) yield* job.workflow.resume(executionId)
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
    // its run here (aborting its requests) and ends as cancelled. A spent budget stored by the job's run (wherever it
    // runs) ends this start with it.
    const watcher = yield* Effect.gen(function*() {
      if (yield* storedCancel(engine, job.name)) return "cancelled" as const
      return Option.getOrUndefined(Option.map(yield* budgetSpentAt(engine, job.name, stops.count), (s) => s.error))
    }).pipe(
      Effect.repeat({ schedule: Schedule.spaced(cancelPollInterval), until: (found) => found !== undefined }),
      Effect.flatMap((found) =>
        found === "cancelled" ? cancelledNow : Effect.andThen(
          updateProgress(live, (p) => p.state === "running" ? { ...p, state: "stopped" } : p),
          Deferred.fail(budgetSpent, found!)
        )
      ),
      Effect.forkIn(scope)
    )
    const execution = yield* ((cancelledHere
      ? endCancelled
      : Option.isSome(spentHere)
      ? Effect.andThen(
        updateProgress(live, (p) => p.state === "running" ? { ...p, state: "stopped" } : p),
        Effect.fail(spentHere.value)
      )
      : job.workflow.execute({ name: job.name }).pipe(
        Effect.exit,
        Effect.flatMap((exit) => Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause) ? endCancelled : exit)
      )) as Effect.Effect<typeof StoredSummary.Type, BudgetExceeded | BamlJobCancelled, WorkflowEngine.WorkflowEngine>).pipe(
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
      result: (key) =>
        Effect.suspend(() => {
          const here = live.results.get(key)
          return here !== undefined ? Effect.succeedSome(here) : storedResult(engine, job, key)
        }),
      results: Effect.sync(() => inInputOrder(live)),
      await: Effect.raceFirst(summary, Effect.raceFirst(whyStopped, Deferred.await(budgetSpent))),
      cancel: Effect.flatMap(cancelInEngine(engine, job), (cancelledIt) => cancelledIt ? cancelledNow : Effect.void)
    }
    return handle
  })

/**
 * The result of an item as the engine stored it, from any process: the outcome of its workflow (of its last dispatch,
 * when a run died and it was dispatched again), or none while it has not ended.
 */
export const storedResult = <I, A, R>(
  engine: WorkflowEngine.WorkflowEngine["Service"],
  job: BamlJob<I, A, R>,
  key: string
): Effect.Effect<Option.Option<ItemResult<A>>> =>
  Effect.gen(function*() {
    const items = itemWorkflowOf(job as BamlJob<unknown, unknown, unknown>)
    for (let attempt = 0; attempt < dispatchAttempts; attempt++) {
      const executionId = yield* items.executionId({ key, index: 0, attempt, input: undefined })
      const result = yield* engine.poll(items, executionId)
      if (Option.isNone(result) || result.value._tag === "Suspended") return Option.none()
      const exit = result.value.exit
      if (Exit.isFailure(exit)) continue
      const outcome = exit.value
      const index = outcome.index
      if (outcome.error !== undefined) {
        return Option.some<ItemResult<A>>({ _tag: "Failed", key, index, error: outcome.error, stored: true })
      }
      const value = yield* decodeValue(job as BamlJob<unknown, A, unknown>, key, outcome.value)
      return Option.some<ItemResult<A>>(
        value.ok
          ? { _tag: "Succeeded", key, index, value: value.value, stored: true }
          : { _tag: "Failed", key, index, error: value.error, stored: true }
      )
    }
    return Option.none()
  })

/** Whether the job's run has finished (its outcome stored, not a suspension). */
const finished = <I, A, R>(engine: WorkflowEngine.WorkflowEngine["Service"], job: BamlJob<I, A, R>) =>
  Effect.gen(function*() {
    const outcome = yield* engine.poll(job.workflow, yield* job.workflow.executionId({ name: job.name }))
    return Option.isSome(outcome) && outcome.value._tag === "Complete"
  })

/** Fails with {@link BamlJobFinished} when the job's inputs have keys that are not in `stored` (its finished run's). */
export const refuseNewKeys = <I, A, R>(job: BamlJob<I, A, R>, stored: ReadonlySet<string>) =>
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
export const checkFunction = <I, A, R>(job: BamlJob<I, A, R>): Effect.Effect<void, BamlError> =>
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
