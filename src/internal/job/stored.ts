/**
 * What the workflows of a job store: an item's outcome (each item its own workflow execution), the finished job's
 * summary, the job's workflow and its cancel; and the shard group they all run in on a cluster.
 */
import { Effect, Schema } from "effect"
import * as ClusterSchema from "effect/cluster/ClusterSchema"
import * as Workflow from "effect/workflow/Workflow"
import { BamlError as BamlErrorSchema, BudgetExceeded } from "../../client/BamlError.js"
import type * as Budget from "../../core/usage/budget.js"
import type { BamlJob, ItemResult } from "./models.js"
import type { Live } from "./progress.js"

/**
 * An item's result as the workflow stores it: its value as the job's `success` schema encodes it (decoded again when
 * it is read back), or its error.
 */
export const StoredItem = Schema.Struct({
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
export const StoredSummary = Schema.Struct({
  succeeded: Schema.Number,
  failed: Schema.Number,
  results: Schema.optionalKey(Schema.Array(StoredItem))
})

/**
 * The shard group of every job's workflows on a cluster: only the runners that host jobs are assigned its shards (see
 * `BamlJobStore`), so a runner that hosts none (or a process that only starts, cancels or watches jobs) never runs one.
 */
export const shardGroup = "effect-baml/jobs"

const inJobsGroup = () => shardGroup

export const makeWorkflow = (name: string) =>
  Workflow.make(`effect-baml/BamlJob/${name}`, {
    payload: { name: Schema.String },
    idempotencyKey: (payload) => payload.name,
    success: StoredSummary
  }).annotate(ClusterSchema.ShardGroup, inJobsGroup)

/**
 * What an item's workflow stores when it ends: its value (as the job's `success` schema encodes it) or its error, the
 * tokens its requests spent (as the provider reported them), its retries, and when it ended.
 */
export const ItemOutcome = Schema.Struct({
  index: Schema.Number,
  value: Schema.optionalKey(Schema.Unknown),
  error: Schema.optionalKey(BamlErrorSchema),
  inputTokens: Schema.Number,
  outputTokens: Schema.Number,
  cachedInputTokens: Schema.Number,
  retries: Schema.Number,
  endedAt: Schema.Number
})

/**
 * The workflow of one item of a job: one execution per key (and per dispatch `attempt`, after a run that died), its
 * input in its payload, so that the cluster places it on any runner that hosts the job.
 */
export const makeItemWorkflow = (name: string) =>
  Workflow.make(`effect-baml/BamlJob/${name}/item`, {
    payload: {
      key: Schema.String,
      index: Schema.Number,
      attempt: Schema.Number,
      input: Schema.Unknown
    },
    idempotencyKey: (payload) => payload.attempt === 0 ? payload.key : `${payload.key}#${payload.attempt}`,
    success: ItemOutcome
  }).annotate(ClusterSchema.ShardGroup, inJobsGroup)

export type ItemWorkflow = ReturnType<typeof makeItemWorkflow>

const itemWorkflows = new WeakMap<JobWorkflow, ItemWorkflow>()

/** The item workflow of a job (one per job definition). */
export const itemWorkflowOf = (job: BamlJob<unknown, unknown, unknown>): ItemWorkflow => {
  let items = itemWorkflows.get(job.workflow)
  if (items === undefined) itemWorkflows.set(job.workflow, items = makeItemWorkflow(job.name))
  return items
}

/**
 * A job's cancel, stored with the engine: a workflow of its own per job name that does nothing, executed by a cancel.
 * Its stored outcome is what tells any process, later or elsewhere, that the job was cancelled.
 */
export const makeCancelWorkflow = (name: string) =>
  Workflow.make(`effect-baml/BamlJob/${name}/cancelled`, {
    payload: { name: Schema.String },
    idempotencyKey: (payload) => payload.name,
    success: Schema.Void
  }).annotate(ClusterSchema.ShardGroup, inJobsGroup)

/**
 * A job's spent budget, stored with the engine each time its run stops with its budget spent: a workflow of its own,
 * one execution per stop (numbered from 0), that stores the `BudgetExceeded` and the limits it was spent under. It tells
 * any process that the job stopped: a start waiting for the job ends with it, and a start under the same limits ends at
 * once with it.
 */
export const BudgetSpent = Schema.Struct({ limits: Schema.String, error: BudgetExceeded })

export const makeBudgetSpentWorkflow = (name: string) =>
  Workflow.make(`effect-baml/BamlJob/${name}/budget-spent`, {
    payload: { name: Schema.String, stop: Schema.Number, limits: Schema.String, error: BudgetExceeded },
    idempotencyKey: (payload) => `${payload.name}#${payload.stop}`,
    success: BudgetSpent
  }).annotate(ClusterSchema.ShardGroup, inJobsGroup)

/** The limits of a budget as the spent-budget workflow keys them. */
export const budgetKey = (budget: Budget.Options): string =>
  JSON.stringify([budget.maxOutputTokens ?? null, budget.cost ?? null])

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

/** The results of the items ended so far in this run, in the order of the inputs. */
export const inInputOrder = <I, A, R>(live: Live<I, A, R>): Array<ItemResult<A>> =>
  [...live.ordered].sort((a, b) => a.index - b.index)

/** This run's results, in the order of the inputs, as the workflow stores them (none when a value cannot be encoded). */
export const encodeResults = <I, A, R>(live: Live<I, A, R>) => {
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
export const decodeResults = <A>(
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
