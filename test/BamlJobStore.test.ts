import { expect, layer } from "@effect/vitest"
import { type Duration, Effect, Exit, Layer, Scope } from "effect"
import { BamlJob, BamlJobStore, BamlRuntime } from "effect-baml"
import { ScriptedProvider } from "effect-baml/testing"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as JobProcess from "./support/jobProcess.js"
import * as Postgres from "./support/postgres.js"

// A job's process is killed with SIGKILL in the middle and started again: it must finish, without asking the
// provider again for an item whose result was stored, and with each item asked at most once more than needed.
// The job runs in child processes (test/support/jobChild.ts) on the scripted provider of this process.

const items = 24
const concurrency = 4

let jobs = 0
/** A job of its own: item keys that no other test's requests contain, and the rule that answers them. */
const makeJob = (delayMs: number) => Effect.gen(function*() {
  const label = `job${++jobs}x${Math.random().toString(36).slice(2, 7)}`
  const keys = Array.from({ length: items }, (_, i) => `${label}:${i}`)
  const keyOf = (prompt: string) => new RegExp(`${label}:\\d+`).exec(prompt)?.[0]
  const provider = yield* ScriptedProvider.ScriptedProvider
  // ~10 chunks `delayMs` apart: at 30 ms an item takes about 0.3 s, the job about 2 s.
  yield* provider.script({
    match: (prompt) => keyOf(prompt) !== undefined,
    script: (request) => ({ reply: `summary of ${keyOf(request.prompt)}`, chunkSize: 2, delayMs })
  })
  const requests = Effect.map(
    provider.requests,
    (records) => records.filter((record) => keyOf(record.prompt) !== undefined)
  )
  const countByKey = (records: ReadonlyArray<ScriptedProvider.RequestRecord>) => {
    const counts = new Map<string, number>()
    for (const record of records) counts.set(keyOf(record.prompt)!, (counts.get(keyOf(record.prompt)!) ?? 0) + 1)
    return counts
  }
  return { id: label, keys, keyOf, requests, countByKey, baseUrl: provider.baseUrl }
})
const newJob = makeJob(30)

// Short cluster timings, so that a dead runner's shards move within seconds.
const tuning = Postgres.clusterTuning

/** A runner process of the cluster on `url`, started on the job. */
const clusterRunner = (url: string, job: Effect.Success<typeof newJob>) =>
  Effect.flatMap(Postgres.freePort, (port) =>
    JobProcess.start({
      store: { _tag: "cluster", url, port },
      baseUrl: job.baseUrl,
      jobId: job.id,
      items: job.keys,
      concurrency,
      tuning
    }))

/** Two runner processes of one cluster on `url`, both started on the job, both ready. */
const twoRunners = (url: string, job: Effect.Success<typeof newJob>) =>
  Effect.gen(function*() {
    const runners = yield* Effect.forEach([0, 1], () => clusterRunner(url, job))
    yield* Effect.forEach(runners, (runner) => runner.until((events) => events.some((e) => e.event === "ready")))
    return runners as [JobProcess.JobProcess, JobProcess.JobProcess]
  })

/** Waits until a request of the job is in flight at the provider. */
const inFlight = (job: Effect.Success<typeof newJob>) =>
  Effect.flatMap(ScriptedProvider.ScriptedProvider, (provider) =>
    provider.awaitRequests((records) => records.some((r) => job.keyOf(r.prompt) !== undefined && r.status === "open"))
  ).pipe(Effect.timeout("60 seconds"))

/**
 * After a stop or a cancel: the job's requests that were in flight end closed early (at least one), then none is
 * open, and 2 s later none has started since; the job did not run to its end.
 */
const stoppedWithRequestsClosed = (job: Effect.Success<typeof newJob>, within: Duration.Input) =>
  Effect.gen(function*() {
    const provider = yield* ScriptedProvider.ScriptedProvider
    const records = yield* provider.awaitRequests((records) => {
      const mine = records.filter((r) => job.keyOf(r.prompt) !== undefined)
      return mine.some((r) => r.status === "closed-early") && mine.every((r) => r.status !== "open")
    }).pipe(Effect.timeout(within))
    const mine = records.filter((r) => job.keyOf(r.prompt) !== undefined)
    expect(mine.filter((r) => r.status === "closed-early").length).toBeGreaterThanOrEqual(1)
    yield* Effect.sleep("2 seconds")
    expect((yield* job.requests).length).toBe(mine.length)
    expect(mine.length).toBeLessThan(items)
  })

/** The runner that runs the job: the one whose items are being stored, once `n` are. */
const runnerOfJob = (a: JobProcess.JobProcess, b: JobProcess.JobProcess, n: number) =>
  Effect.raceFirst(
    Effect.as(a.until((events) => JobProcess.storedKeys(events).size >= n), a),
    Effect.as(b.until((events) => JobProcess.storedKeys(events).size >= n), b)
  )

/**
 * After a kill: every item's result is there (the provider's reply for that item); the kill came in the middle (some
 * results stored, not all); no item stored before it was requested after it; none more than once more than needed.
 * Returns the requests per key after the kill (`before` is the number of the job's records before it).
 */
const expectResumed = (
  job: Effect.Success<typeof newJob>,
  results: Readonly<Record<string, string>>,
  stored: ReadonlySet<string>,
  before: number
) =>
  Effect.gen(function*() {
    const all = yield* job.requests
    const afterKill = job.countByKey(all.slice(before))
    const total = job.countByKey(all)
    expect(Object.keys(results).sort()).toEqual([...job.keys].sort())
    for (const key of job.keys) expect(results[key]).toBe(`summary of ${key}`)
    expect(stored.size).toBeGreaterThanOrEqual(items / 3)
    expect(stored.size).toBeLessThan(items)
    for (const key of stored) expect(afterKill.get(key) ?? 0, key).toBe(0)
    for (const key of job.keys) expect(total.get(key) ?? 0, key).toBeGreaterThanOrEqual(1)
    for (const key of job.keys) expect(total.get(key) ?? 0, key).toBeLessThanOrEqual(2)
    return afterKill
  })

const finished = (events: ReadonlyArray<JobProcess.ChildEvent>) => events.some((e) => e.event === "finished")

/** Runs a job, kills it after a third of its items are stored, runs it again to its end, and checks the records. */
const killAndResume = (store: JobProcess.ChildOptions["store"]) =>
  Effect.gen(function*() {
    const job = yield* newJob
    const options = { store, baseUrl: job.baseUrl, jobId: job.id, items: job.keys, concurrency }
    const provider = yield* ScriptedProvider.ScriptedProvider

    const first = yield* JobProcess.start(options)
    const beforeKill = yield* first.until((events) => JobProcess.storedKeys(events).size >= items / 3)
    yield* first.kill
    expect(finished(first.events())).toBe(false)
    const stored = JobProcess.storedKeys(first.events())
    // The requests in flight at the kill end closed early; every record of the first run is then final.
    yield* provider.awaitRequests(() => true).pipe(Effect.andThen(provider.settled))
    const firstRun = yield* job.requests

    const second = yield* JobProcess.start(options)
    const events = yield* second.until(finished)
    const results = events.find((e) => e.event === "finished")!.results!
    const afterRestart = yield* expectResumed(job, results, stored, firstRun.length)
    expect(beforeKill.length).toBeGreaterThan(0)
    // The second run did the rest of the work itself.
    expect([...afterRestart.values()].reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(items - stored.size)
  })

/**
 * Cancels a job from its process, then starts it again in a new process: the cancel is stored with the job, so the
 * first process's own `await` ends as cancelled, and the new start ends as cancelled at once, requesting nothing.
 */
const cancelAndStartAgain = (store: JobProcess.ChildOptions["store"]) =>
  Effect.gen(function*() {
    // Slow items (about 2 s each): the job is still running when the cancel arrives.
    const job = yield* makeJob(200)
    const options = { store, baseUrl: job.baseUrl, jobId: job.id, items: job.keys, concurrency }
    const first = yield* JobProcess.start(options)
    yield* first.until((events) => JobProcess.storedKeys(events).size >= 2)
    yield* inFlight(job)
    yield* first.send("cancel")
    yield* first.until((events) =>
      events.some((e) => e.event === "cancelled") && events.some((e) => e.event === "ended-cancelled")
    )
    yield* stoppedWithRequestsClosed(job, "30 seconds")
    const requested = (yield* job.requests).length

    const spawned = Date.now()
    const second = yield* JobProcess.start(options)
    const events = yield* second.until((events) => events.some((e) => e.event === "ended-cancelled"))
    // at once: the time to start a process and open the store, not a wait for a run
    if (process.env.JOBS_TAKEOVER === "1") console.log(`cancelled again after ${Date.now() - spawned} ms`)
    expect(events.some((e) => e.event === "stored" || e.event === "finished")).toBe(false)
    yield* Effect.sleep("1 second")
    expect((yield* job.requests).length).toBe(requested)
  })

const tempDirectory = Effect.acquireRelease(
  Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-baml-jobs-"))),
  (directory) => Effect.sync(() => Fs.rmSync(directory, { recursive: true, force: true }))
)

layer(ScriptedProvider.layer(), { timeout: "240 seconds", excludeTestServices: true })("BamlJobStore", (it) => {
  it.effect("embedded store: a job killed with SIGKILL resumes, and no stored item is requested again", () =>
    Effect.scoped(Effect.gen(function*() {
      const directory = yield* tempDirectory
      yield* killAndResume({ _tag: "embedded", directory: Path.join(directory, "store") })
    })), { timeout: 240_000 })

  it.effect("embedded store: a job cancelled in one process ends its await there, and started again in a new process it ends as cancelled at once, requesting nothing", () =>
    Effect.scoped(Effect.gen(function*() {
      const directory = yield* tempDirectory
      yield* cancelAndStartAgain({ _tag: "embedded", directory: Path.join(directory, "store") })
    })), { timeout: 240_000 })
})

if (Postgres.missing !== undefined) {
  Postgres.describeMissing("BamlJobStore on PostgreSQL")
} else {
  layer(Layer.merge(ScriptedProvider.layer(), Postgres.layer), { timeout: "240 seconds", excludeTestServices: true })(
    "BamlJobStore on PostgreSQL",
    (it) => {
      it.effect("PostgreSQL store: a job killed with SIGKILL resumes, and no stored item is requested again", () =>
        Effect.scoped(Effect.gen(function*() {
          const server = yield* Postgres.PostgresServer
          const url = yield* Postgres.createDatabase(server, "durability")
          yield* killAndResume({ _tag: "postgres", url })
        })), { timeout: 240_000 })

      it.effect("PostgreSQL store: a job cancelled in one process ends its await there, and started again in a new process it ends as cancelled at once, requesting nothing", () =>
        Effect.scoped(Effect.gen(function*() {
          const server = yield* Postgres.PostgresServer
          const url = yield* Postgres.createDatabase(server, "cancelled")
          yield* cancelAndStartAgain({ _tag: "postgres", url })
        })), { timeout: 240_000 })

      it.effect("PostgreSQL store: jobs run one after another in one process each finish", () =>
        Effect.scoped(Effect.gen(function*() {
          const server = yield* Postgres.PostgresServer
          const url = yield* Postgres.createDatabase(server, "sequential")
          const provider = yield* ScriptedProvider.ScriptedProvider
          const engine = yield* Layer.build(
            Layer.merge(
              BamlJobStore.layerPostgres({ url }),
              BamlRuntime.layerFromDirectory("baml_src", { env: { SCRIPTED_BASE_URL: provider.baseUrl } })
            )
          )
          for (let round = 0; round < 3; round++) {
            const job = yield* newJob
            const summary = yield* BamlJob.run(BamlJob.make({
              name: job.id,
              function: "Summarize",
              inputs: job.keys.slice(0, 4),
              key: (key) => key,
              args: (key) => ({ text: key })
            })).pipe(Effect.provideContext(engine))
            expect(summary.results.map((r) => r._tag === "Succeeded" ? r.value : r._tag)).toEqual(
              job.keys.slice(0, 4).map((key) => `summary of ${key}`)
            )
          }
          // the tables docs/jobs.md lists for one process: the messages and their replies, no runners or locks
          expect(yield* Postgres.tables(url)).toEqual(["cluster_messages", "cluster_migrations", "cluster_replies"])
        })), { timeout: 240_000 })

      it.effect("PostgreSQL store: a second layerPostgres on one database is refused, typed, as is a cluster runner beside it; both run once the first has closed", () =>
        Effect.scoped(Effect.gen(function*() {
          const server = yield* Postgres.PostgresServer
          const url = yield* Postgres.createDatabase(server, "lone")
          const port = yield* Postgres.freePort
          const first = yield* Scope.make()
          yield* Layer.buildWithScope(BamlJobStore.layerPostgres({ url }), first)
          const second = yield* Effect.flip(Effect.scoped(Layer.build(BamlJobStore.layerPostgres({ url }))))
          expect(second).toBeInstanceOf(BamlJobStore.BamlJobStoreInUse)
          expect(second).toMatchObject({ _tag: "BamlJobStoreInUse", layer: "layerPostgres" })
          expect(second.message).toContain("layerPostgresCluster")
          const cluster = (port: number) =>
            Effect.scoped(Layer.build(BamlJobStore.layerPostgresCluster({ url, host: "127.0.0.1", port })))
          const runner = yield* Effect.flip(cluster(port))
          expect(runner).toMatchObject({ _tag: "BamlJobStoreInUse", layer: "layerPostgresCluster" })
          // the lock goes with the layer: once it is closed, either kind runs, and a lone runner is refused beside
          // a cluster runner
          yield* Scope.close(first, Exit.void)
          const clusterScope = yield* Scope.make()
          yield* Layer.buildWithScope(
            BamlJobStore.layerPostgresCluster({ url, host: "127.0.0.1", port, tuning: Postgres.clusterTuning }),
            clusterScope
          )
          const beside = yield* Effect.flip(Effect.scoped(Layer.build(BamlJobStore.layerPostgres({ url }))))
          expect(beside).toMatchObject({ _tag: "BamlJobStoreInUse", layer: "layerPostgres" })
          yield* Scope.close(clusterScope, Exit.void)
          yield* Effect.scoped(Layer.build(BamlJobStore.layerPostgres({ url })))
        })), { timeout: 120_000 })

      it.effect("PostgreSQL cluster: a runner killed mid-job, the other finishes it, each item requested once more at most", () =>
        Effect.scoped(Effect.gen(function*() {
          const server = yield* Postgres.PostgresServer
          const url = yield* Postgres.createDatabase(server, "cluster")
          const job = yield* newJob
          const provider = yield* ScriptedProvider.ScriptedProvider
          const [a, b] = yield* twoRunners(url, job)
          const running = yield* runnerOfJob(a, b, items / 3)
          const survivor = running === a ? b : a
          yield* running.kill
          const killedAt = Date.now()
          const stored = JobProcess.storedKeys(running.events())
          yield* provider.settled
          const firstRun = yield* job.requests
          // takeover: the survivor runs the job (its first item ends there) within the shard lock's expiration and a
          // few polls (`tuning`: 5 s, 0.5 s), with a generous margin for a loaded machine
          yield* survivor.until((events) => JobProcess.storedKeys(events).size > 0)
          const takeoverMs = Date.now() - killedAt
          if (process.env.JOBS_TAKEOVER === "1") console.log(`takeover: ${takeoverMs} ms`)
          expect(takeoverMs).toBeLessThan(60_000)

          const events = yield* survivor.until(finished)
          const results = events.find((e) => e.event === "finished")!.results!
          yield* expectResumed(job, results, stored, firstRun.length)
          // the tables docs/jobs.md lists for a cluster
          expect(yield* Postgres.tables(url)).toEqual([
            "cluster_locks",
            "cluster_messages",
            "cluster_migrations",
            "cluster_replies",
            "cluster_runner_migrations",
            "cluster_runners"
          ])
        })), { timeout: 240_000 })

      it.effect("PostgreSQL cluster: a runner whose job's scope closes aborts its requests in flight, and stays up", () =>
        Effect.scoped(Effect.gen(function*() {
          const server = yield* Postgres.PostgresServer
          const url = yield* Postgres.createDatabase(server, "stop")
          // Slow items (about 2 s each): the job is still running when the stop arrives, however loaded the machine.
          const job = yield* makeJob(200)
          const runner = yield* clusterRunner(url, job)
          yield* runner.until((events) => JobProcess.storedKeys(events).size >= 2)
          yield* inFlight(job)
          yield* runner.send("stop")
          yield* runner.until((events) => events.some((e) => e.event === "stopped"))
          // The cluster runs each item's activity apart from the job's run; the stop reaches them all the same: the
          // requests in flight end closed early while the process is still up, and no other starts.
          yield* stoppedWithRequestsClosed(job, "10 seconds")
          expect(runner.events().some((e) => e.event === "finished" || e.event === "failed")).toBe(false)
        })), { timeout: 240_000 })

      it.effect("PostgreSQL cluster: cancelling the job from one runner aborts the requests in flight on the other", () =>
        Effect.scoped(Effect.gen(function*() {
          const server = yield* Postgres.PostgresServer
          const url = yield* Postgres.createDatabase(server, "cancel")
          // Slow items (about 2 s each): the job is still running when the cancel arrives, however loaded the machine.
          const job = yield* makeJob(200)
          const [a, b] = yield* twoRunners(url, job)
          const running = yield* runnerOfJob(a, b, 4)
          const other = running === a ? b : a
          // The cancel is sent while a request of the job is in flight (the runner starts its next items a little
          // after storing the first ones: the cluster hands each activity over through the database).
          yield* inFlight(job)
          yield* other.send("cancel")
          yield* other.until((events) => events.some((e) => e.event === "cancelled"))
          // The requests that were in flight on the running runner end closed early, and no other starts.
          yield* stoppedWithRequestsClosed(job, "60 seconds")
          expect(finished(running.events())).toBe(false)
          // the cancel is stored with the job: the `await` of both runners ends, as cancelled
          yield* Effect.forEach([a, b], (runner) =>
            runner.until((events) => events.some((e) => e.event === "ended-cancelled")))
        })), { timeout: 240_000 })
    }
  )
}
