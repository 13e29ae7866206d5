/**
 * A job run in a child process by the durability and cluster tests, so that they can kill it with SIGKILL.
 *
 * argv: JSON of `ChildOptions`. Prints one JSON line per event on stdout:
 * `{"event":"ready"}`, `{"event":"stored","key":…}` once an item's result is in the store (the activity
 * has returned to the workflow, which happens after its reply is saved), `{"event":"finished","results":{…}}`.
 */
import { Effect, Layer, Schema } from "effect"
import { Activity, Workflow, type WorkflowEngine } from "effect/workflow"
import * as Baml from "../../src/Baml.js"
import * as BamlJobStore from "../../src/BamlJobStore.js"
import * as BamlRuntime from "../../src/BamlRuntime.js"

export interface ChildOptions {
  readonly store:
    | { readonly _tag: "embedded"; readonly directory: string }
    | { readonly _tag: "postgres"; readonly url: string }
    | { readonly _tag: "cluster"; readonly url: string; readonly port: number }
  readonly baseUrl: string
  readonly jobId: string
  readonly items: ReadonlyArray<string>
  readonly concurrency: number
  /** Cluster timings, in milliseconds where they are durations. */
  readonly tuning?: BamlJobStore.Tuning
  /** Only serve as a runner: do not start the job (another process does). */
  readonly serveOnly?: boolean
}

const options: ChildOptions = JSON.parse(process.argv[2]!)
const say = (event: Record<string, unknown>) => Effect.sync(() => process.stdout.write(JSON.stringify(event) + "\n"))

const Job = Workflow.make("DurabilityTestJob", {
  payload: { id: Schema.String, items: Schema.Array(Schema.String) },
  success: Schema.Record(Schema.String, Schema.String),
  idempotencyKey: ({ id }) => id
})

const JobLayer = Job.toLayer(({ items }) =>
  Effect.forEach(
    items,
    (key) =>
      Activity.make({
        name: `item:${key}`,
        success: Schema.String,
        execute: Baml.call("Summarize", { text: key }).pipe(Effect.map(String), Effect.orDie)
      }).pipe(
        Effect.tap(() => say({ event: "stored", key })),
        Effect.map((result) => [key, result] as const)
      ),
    { concurrency: options.concurrency }
  ).pipe(Effect.map(Object.fromEntries))
)

const store: Layer.Layer<WorkflowEngine.WorkflowEngine, unknown> = options.store._tag === "embedded"
  ? BamlJobStore.layerEmbedded({ directory: options.store.directory, tuning: options.tuning })
  : options.store._tag === "postgres"
  ? BamlJobStore.layerPostgres({ url: options.store.url, tuning: options.tuning })
  : BamlJobStore.layerPostgresCluster({
    url: options.store.url,
    host: "127.0.0.1",
    port: options.store.port,
    tuning: options.tuning
  })

// `cancel` on stdin interrupts the job, wherever in the cluster it runs.
const commands = Effect.callback<string>((resume) => {
  let buffered = ""
  process.stdin.setEncoding("utf8").on("data", (data: string) => {
    buffered += data
    if (buffered.includes("\n")) resume(Effect.succeed(buffered.split("\n")[0]!))
  })
})

const cancelOnCommand = Effect.gen(function*() {
  const command = yield* commands
  if (command !== "cancel") return
  yield* Job.interrupt(yield* Job.executionId({ id: options.jobId, items: options.items }))
  yield* say({ event: "cancelled" })
})

const program = Effect.gen(function*() {
  yield* Effect.forkChild(cancelOnCommand)
  yield* say({ event: "ready" })
  if (options.serveOnly === true) return yield* Effect.never
  const results = yield* Job.execute({ id: options.jobId, items: options.items })
  yield* say({ event: "finished", results })
})

const MainLayer = JobLayer.pipe(
  Layer.provideMerge(store),
  Layer.provideMerge(BamlRuntime.layerFromDirectory("baml_src", { env: { SCRIPTED_BASE_URL: options.baseUrl } }))
)

Effect.runFork(
  program.pipe(
    Effect.provide(MainLayer),
    Effect.tapCause((cause) => say({ event: "failed", cause: String(cause) })),
    Effect.ensuring(Effect.sync(() => process.exit(0)))
  )
)
