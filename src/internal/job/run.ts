/**
 * Making, running, resuming and cancelling a job: each item an activity of the job's workflow.
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
import * as Baml from "../../Baml.js"
import {
  BamlClientError,
  BamlClientHttpError,
  BamlError,
  BamlTimeoutError,
  BudgetExceeded,
  fromEngine
} from "../../BamlError.js"
import { BamlError as BamlErrorSchema } from "../../client/BamlError.js"
import { BamlInvalidArgumentError } from "../../BamlError.js"
import { BamlRuntime } from "../../BamlRuntime.js"
import * as TokenBudget from "../../TokenBudget.js"
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
import { StoredSummary, makeWorkflow, encodeResults, decodeResults, inInputOrder } from "./stored.js"
import { type Stop, type Live, emptyProgress, totalOf, updateProgress, stop, record } from "./progress.js"
import { request } from "./rateLimit.js"
import {
  lives,
  cancelledNames,
  markCancelled,
  registered,
  registerCancel,
  storedCancel,
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

/**
 * The body of an item's activity: its requests with the retry policy (its item counts it in flight). A spent budget
 * stops the job: the item signals it and waits to be interrupted with the others, so that it stores no result and is
 * requested again when the job resumes.
 */
export const attempt = <I, A, R>(live: Live<I, A, R>, input: I): Effect.Effect<A, BamlError> => {
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
export const userDefect = (name: string, what: string, defect: unknown) =>
  new BamlInvalidArgumentError({
    message: `BamlJob ${name}: ${what} threw: ${defect instanceof Error ? defect.message : String(defect)}`
  })

/**
 * One item: an activity named after its key, so that the engine stores its result and, on a replay, returns the stored
 * result instead of running it again.
 */
export const item = <I, A, R>(
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

/** The workflow's body: every item, unless this process is told to stop; then the run suspends, resumable. */
export const body = (engine: object, name: string) =>
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
