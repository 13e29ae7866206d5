/**
 * The run/resume registry: which start of a job an engine replays, which jobs are registered, and which cancelled.
 */
import { Effect, Exit, Option, Scope } from "effect"
import { BudgetExceeded } from "../../BamlError.js"
import * as WorkflowEngine from "effect/workflow/WorkflowEngine"
import type { BamlJob } from "./models.js"
import { type BudgetSpent, budgetKey, makeBudgetSpentWorkflow, makeCancelWorkflow } from "./stored.js"
import type { Live } from "./progress.js"

/** How often a started job asks the engine whether it was cancelled elsewhere (another process, or `cancel`). */
export const cancelPollInterval = "1 second"

// The engine replays an execution with the closure of the start that began it: each start puts its live state here,
// under its engine and the job's name, and that closure runs the newest.
export const lives = new WeakMap<object, Map<string, Live<unknown, unknown, unknown>>>()

/**
 * The job names cancelled with an engine in this process: a start of one fails at once as cancelled (the engine may
 * still be settling the cancel, and a start would wait for it).
 */
export const cancelledNames = new WeakMap<object, Set<string>>()

export const markCancelled = (engine: object, name: string) =>
  Effect.sync(() => {
    let names = cancelledNames.get(engine)
    if (names === undefined) cancelledNames.set(engine, names = new Set())
    names.add(name)
  })

/** The job names whose workflow is registered with an engine. */
export const registered = new WeakMap<object, Set<string>>()

/** The job names whose cancel and spent-budget workflows are registered with an engine. */
export const cancelRegistered = new WeakMap<object, Set<string>>()

/**
 * Registers a job's cancel and spent-budget workflows with the engine, once per engine and job name, for the engine's
 * life (as a job's own workflow is: see `start`).
 */
export const registerCancel = (engine: WorkflowEngine.WorkflowEngine["Service"], name: string) =>
  Effect.gen(function*() {
    let names = cancelRegistered.get(engine)
    if (names === undefined) cancelRegistered.set(engine, names = new Set())
    if (names.has(name)) return
    names.add(name)
    const forever = yield* Scope.make()
    yield* engine.register(makeCancelWorkflow(name), () => Effect.void).pipe(Scope.provide(forever))
    yield* engine.register(makeBudgetSpentWorkflow(name), ({ error, limits }) => Effect.succeed({ limits, error })).pipe(
      Scope.provide(forever)
    )
  })

const placeholder = new BudgetExceeded({ message: "", functionName: "", outputTokens: 0, callOutputTokens: 0 })

const budgetSpentExecution = (name: string, stop: number) =>
  makeBudgetSpentWorkflow(name).executionId({ name, stop, limits: "", error: placeholder })

/** The spent budget a job's run stored at its `stop`-th stop (from 0), if it has stopped that often. */
export const budgetSpentAt = (engine: WorkflowEngine.WorkflowEngine["Service"], name: string, stop: number) =>
  Effect.gen(function*() {
    const result = yield* engine.poll(makeBudgetSpentWorkflow(name), yield* budgetSpentExecution(name, stop))
    return Option.isSome(result) && result.value._tag === "Complete" && Exit.isSuccess(result.value.exit)
      ? Option.some<typeof BudgetSpent.Type>(result.value.exit.value)
      : Option.none<typeof BudgetSpent.Type>()
  })

/** How often a job's run has stopped with its budget spent, and the last of those stops (a few lookups: one a stop). */
export const budgetStops = (engine: WorkflowEngine.WorkflowEngine["Service"], name: string) =>
  Effect.gen(function*() {
    let last = Option.none<typeof BudgetSpent.Type>()
    for (let stop = 0;; stop++) {
      const found = yield* budgetSpentAt(engine, name, stop)
      if (Option.isNone(found)) return { count: stop, last }
      last = found
    }
  })

/**
 * Stores that the job's run stopped with its budget spent, as its next stop: every start waiting for the job ends with
 * it, and a later start under the same budget ends at once.
 */
export const storeBudgetSpent = <I, A, R>(
  engine: WorkflowEngine.WorkflowEngine["Service"],
  job: BamlJob<I, A, R>,
  error: BudgetExceeded
) =>
  Effect.gen(function*() {
    const budget = job.options.budget
    if (budget === undefined) return
    const { count } = yield* budgetStops(engine, job.name)
    yield* engine.execute(makeBudgetSpentWorkflow(job.name), {
      executionId: yield* budgetSpentExecution(job.name, count),
      payload: { name: job.name, stop: count, limits: budgetKey(budget), error },
      discard: true,
      detached: true
    })
  })

/** Whether the engine has stored a cancel of the job (from this process or any other, now or before). */
export const storedCancel = (engine: WorkflowEngine.WorkflowEngine["Service"], name: string) =>
  Effect.gen(function*() {
    const workflow = makeCancelWorkflow(name)
    const executionId = yield* workflow.executionId({ name })
    return Option.isSome(yield* engine.poll(workflow, executionId))
  })

/**
 * Cancels a job in the engine: its cancel is stored (so that every process answers from it), then its run is
 * interrupted wherever it runs. A job that finished keeps its outcome: nothing is stored, and `false` returned.
 */
export const cancelInEngine = <I, A, R>(engine: WorkflowEngine.WorkflowEngine["Service"], job: BamlJob<I, A, R>) =>
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
