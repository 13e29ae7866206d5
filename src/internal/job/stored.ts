/**
 * What the workflow of a job stores: an item's result, the finished job's summary, the job's workflow and its cancel.
 */
import { Effect, Schema } from "effect"
import * as Workflow from "effect/workflow/Workflow"
import { BamlError as BamlErrorSchema } from "../../client/BamlError.js"
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

export const makeWorkflow = (name: string) =>
  Workflow.make(`effect-baml/BamlJob/${name}`, {
    payload: { name: Schema.String },
    idempotencyKey: (payload) => payload.name,
    success: StoredSummary
  })

/**
 * A job's cancel, stored with the engine: a workflow of its own per job name that does nothing, executed by a cancel.
 * Its stored outcome is what tells any process, later or elsewhere, that the job was cancelled.
 */
export const makeCancelWorkflow = (name: string) =>
  Workflow.make(`effect-baml/BamlJob/${name}/cancelled`, {
    payload: { name: Schema.String },
    idempotencyKey: (payload) => payload.name,
    success: Schema.Void
  })

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
