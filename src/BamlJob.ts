/**
 * Batch jobs: one BAML function over many inputs, each with a key, on Effect's workflow engine. A job is one `Workflow`
 * whose execution id is derived from the job's name, and every item a workflow execution of its own (dispatched by the
 * job's run, its id derived from its key), so that on a durable engine a job started again resumes where it stopped
 * and an item whose result was stored is never requested again, and on a cluster the items spread over the runners
 * that host the job (`layer`). The engine is
 * the caller's choice: the job needs only a `WorkflowEngine` (`WorkflowEngine.layerMemory` when durability is not
 * asked for, a SQL-backed one when it is).
 *
 * A job runs its items with bounded concurrency, under one rate limit per job (requests and tokens per minute, on
 * Effect's `RateLimiter`), one budget for the whole job (both held by its run, across runners and resumes), and a
 * retry policy per item for the errors worth retrying. Its progress is a `Stream`; its results are readable by key
 * while it runs. Stopping it (an interrupt, `cancel`) aborts every LLM request in flight; a spent budget stops the
 * dispatch and lets the items in flight finish.
 *
 * @since 0.2.0
 */
export type {
  BamlJob,
  ByNameOptions,
  CommonOptions,
  FunctionOptions,
  Handle,
  ItemResult,
  Prices,
  Progress,
  RateLimit,
  Summary
} from "./internal/job/models.js"
export { BamlJobCancelled, BamlJobFinished } from "./internal/job/models.js"
export type { ProgressBarOptions, ProgressOutput } from "./internal/job/progressBar.js"
export { describeProgress, describeSummary, progressBar } from "./internal/job/progressBar.js"
export { cancel, defaultRetry, isRetryable, layer, make, run, start } from "./internal/job/run.js"
export type { JobWorkflow } from "./internal/job/stored.js"
