/**
 * A job run in a child process by the durability and cluster tests, so that they can kill it with SIGKILL.
 *
 * argv: JSON of `ChildOptions`. Prints one JSON line per event on stdout: `{"event":"ready"}` once the job has
 * started, `{"event":"stored","key":…}` once an item's result is in the engine's store (the item's activity has
 * returned to the workflow, which happens after its result is saved), `{"event":"finished","results":{…}}`, or `{"event":"ended-cancelled"}` when its `await` ends as cancelled.
 * A line `cancel` on stdin cancels the job, wherever in the cluster it runs (`{"event":"cancelled"}`). A line `stop`
 * closes the job's scope in this process, which stops it here (resumable) while the process stays up
 * (`{"event":"stopped"}` once the scope has closed). Every request an item makes in this process is told first
 * (`{"event":"requested","key":…}`), so that a test sees which runner ran which item.
 *
 * `host: true`: the process only hosts the job (`BamlJob.layer`) and runs what the cluster gives it, until killed
 * (`{"event":"ready"}` once hosted); with `watch: true` it also watches the hosted job and says `{"event":"running"}`
 * once it counts an item in its progress (the job's run is on this runner). The store `client` is a process that runs
 * nothing (`layerPostgresClient`). A job whose budget is spent ends with `{"event":"ended-budget","outputTokens":…}`.
 */
import { Deferred, Effect, Layer, Option, Stream } from "effect"
import type { WorkflowEngine } from "effect/workflow"
import * as Baml from "../../src/Baml.js"
import * as BamlJob from "../../src/BamlJob.js"
import * as BamlJobStore from "../../src/BamlJobStore.js"
import * as BamlRuntime from "../../src/BamlRuntime.js"

export interface ChildOptions {
  readonly store:
    | { readonly _tag: "embedded"; readonly directory: string }
    | { readonly _tag: "postgres"; readonly url: string }
    | { readonly _tag: "cluster"; readonly url: string; readonly port: number }
    | { readonly _tag: "client"; readonly url: string }
  readonly baseUrl: string
  readonly jobId: string
  readonly items: ReadonlyArray<string>
  readonly concurrency: number
  /** Only host the job (`BamlJob.layer`): run the items and runs the cluster gives this runner. */
  readonly host?: boolean
  /** Cluster timings, in milliseconds where they are durations. */
  readonly tuning?: BamlJobStore.Tuning
  /** The job's budget of output tokens. */
  readonly budget?: number
  /** The job's rate limit, in requests per minute. */
  readonly requestsPerMinute?: number
  /** With `host`: watch the hosted job, and say when this runner runs its run. */
  readonly watch?: boolean
}

const options: ChildOptions = JSON.parse(process.argv[2]!)
const say = (event: Record<string, unknown>) => Effect.sync(() => process.stdout.write(JSON.stringify(event) + "\n"))

const job = BamlJob.make({
  name: options.jobId,
  function: (item: string) =>
    Effect.andThen(say({ event: "requested", key: item }), Baml.call("Summarize", { text: item })),
  inputs: options.items,
  key: (item) => item,
  concurrency: options.concurrency,
  ...(options.budget === undefined ? {} : { budget: { maxOutputTokens: options.budget } }),
  ...(options.requestsPerMinute === undefined ? {} : { rateLimit: { requestsPerMinute: options.requestsPerMinute } })
})

const store: Layer.Layer<WorkflowEngine.WorkflowEngine, unknown> = options.store._tag === "embedded"
  ? BamlJobStore.layerEmbedded({ directory: options.store.directory, tuning: options.tuning })
  : options.store._tag === "postgres"
  ? BamlJobStore.layerPostgres({ url: options.store.url, tuning: options.tuning })
  : options.store._tag === "client"
  ? BamlJobStore.layerPostgresClient({ url: options.store.url, tuning: options.tuning })
  : BamlJobStore.layerPostgresCluster({
    url: options.store.url,
    host: "127.0.0.1",
    port: options.store.port,
    tuning: options.tuning
  })

const firstLine = Effect.callback<string>((resume) => {
  let buffered = ""
  process.stdin.setEncoding("utf8").on("data", (data: string) => {
    buffered += data
    if (buffered.includes("\n")) resume(Effect.succeed(buffered.split("\n")[0]!))
  })
})

const program = Effect.gen(function*() {
  const stop = yield* Deferred.make<void>()
  // Ended once a `cancel` command has been answered: the process waits for it before it exits.
  const cancelAnswered = yield* Deferred.make<void>()
  let cancelling = false
  yield* Effect.forkChild(Effect.gen(function*() {
    const command = yield* firstLine
    if (command === "stop") return yield* Deferred.succeed(stop, undefined)
    if (command !== "cancel") return
    cancelling = true
    yield* BamlJob.cancel(job)
    yield* say({ event: "cancelled" })
    yield* Deferred.succeed(cancelAnswered, undefined)
  }))
  const summary = yield* Effect.scoped(Effect.gen(function*() {
    const handle = yield* BamlJob.start(job)
    const reported = new Set<string>()
    const report = Effect.flatMap(handle.results, (results) =>
      Effect.forEach(results, (result) => {
        if (reported.has(result.key)) return Effect.void
        reported.add(result.key)
        return say({ event: "stored", key: result.key, fromStore: result.stored })
      }, { discard: true }))
    yield* Effect.forkScoped(Stream.runForEach(handle.progress, () => report))
    yield* say({ event: "ready" })
    const summary = yield* Effect.raceFirst(
      Effect.map(handle.await, Option.some),
      Effect.as(Deferred.await(stop), Option.none())
    ).pipe(
      Effect.catchTag("BudgetExceeded", (error) =>
        Effect.andThen(
          say({ event: "ended-budget", outputTokens: error.outputTokens }),
          Effect.andThen(Effect.sync(() => process.exit(0)), Effect.never)
        )),
      // its `await` ended as cancelled (a cancel from this process, another, or before this start)
      Effect.catchTag("BamlJobCancelled", () =>
        Effect.andThen(
          say({ event: "ended-cancelled" }),
          Effect.suspend(() => cancelling ? Deferred.await(cancelAnswered) : Effect.void).pipe(
            Effect.andThen(Effect.sync(() => process.exit(0))),
            Effect.andThen(Effect.never)
          )
        ))
    )
    yield* report
    return summary
  }))
  if (Option.isNone(summary)) {
    yield* say({ event: "stopped" })
    // up until the test is done with it
    return yield* Effect.never
  }
  const results: Record<string, unknown> = {}
  for (const result of summary.value.results) {
    results[result.key] = result._tag === "Succeeded" ? result.value : "FAILED"
  }
  yield* say({ event: "finished", results })
})

const watchHosted = Effect.gen(function*() {
  const handle = yield* BamlJob.start(job)
  yield* handle.progress.pipe(Stream.filter((p) => p.done > 0), Stream.take(1), Stream.runDrain)
  yield* say({ event: "running" })
}).pipe(Effect.scoped, Effect.ignore)

const hostOnly = Effect.andThen(say({ event: "ready" }), options.watch === true ? watchHosted : Effect.void).pipe(
  Effect.andThen(Effect.never),
  Effect.provide(BamlJob.layer(job))
)

Effect.runFork(
  Effect.scoped(options.host === true ? hostOnly : program).pipe(
    Effect.provide(
      store.pipe(
        Layer.provideMerge(BamlRuntime.layerFromDirectory("baml_src", { env: { SCRIPTED_BASE_URL: options.baseUrl } }))
      )
    ),
    Effect.tapCause((cause) => say({ event: "failed", cause: String(cause) })),
    Effect.ensuring(Effect.sync(() => process.exit(0)))
  )
)
