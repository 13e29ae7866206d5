import { expect, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { ScriptedProvider } from "effect-baml/testing"
import * as JobProcess from "./support/jobProcess.js"
import * as Postgres from "./support/postgres.js"

// Jobs that spread over a cluster: runner processes that only host the job (`BamlJob.layer`), a process that runs
// nothing (`BamlJobStore.layerPostgresClient`) that starts it, waits for it or cancels it; the scripted provider in
// this process, every runner killed with SIGKILL when the test wants it.

const tuning = Postgres.clusterTuning

let jobs = 0
/** A job of its own: item keys no other test's requests contain, and the rule that answers them. */
const makeJob = (items: number, delayMs: number, chunkSize = 64) =>
  Effect.gen(function*() {
    const label = `cl${++jobs}x${Math.random().toString(36).slice(2, 7)}`
    const keys = Array.from({ length: items }, (_, i) => `${label}:${i}`)
    const keyOf = (prompt: string) => new RegExp(`${label}:\\d+`).exec(prompt)?.[0]
    const provider = yield* ScriptedProvider.ScriptedProvider
    yield* provider.script({
      match: (prompt) => keyOf(prompt) !== undefined,
      script: (request) => ({ reply: `summary of ${keyOf(request.prompt)}`, chunkSize, delayMs })
    })
    const requests = Effect.map(
      provider.requests,
      (records) => records.filter((record) => keyOf(record.prompt) !== undefined)
    )
    return { id: label, keys, keyOf, requests, baseUrl: provider.baseUrl }
  })
type Job = Effect.Success<ReturnType<typeof makeJob>>

/** A runner process of the cluster on `url` that hosts the job, ready. */
const runner = (url: string, job: Job, concurrency: number) =>
  Effect.gen(function*() {
    const port = yield* Postgres.freePort
    const process = yield* JobProcess.start({
      store: { _tag: "cluster", url, port },
      baseUrl: job.baseUrl,
      jobId: job.id,
      items: job.keys,
      concurrency,
      tuning,
      host: true
    })
    yield* process.until((events) => events.some((e) => e.event === "ready"))
    return process
  })

/** A process that runs nothing, started on the job: it waits for it, or cancels it when told. */
const client = (url: string, job: Job, concurrency: number) =>
  JobProcess.start({
    store: { _tag: "client", url },
    baseUrl: job.baseUrl,
    jobId: job.id,
    items: job.keys,
    concurrency,
    tuning
  })

const requestedTotal = (runners: ReadonlyArray<JobProcess.JobProcess>) =>
  runners.reduce((n, r) => n + r.events().filter((e) => e.event === "requested").length, 0)

if (Postgres.missing !== undefined) {
  Postgres.describeMissing("BamlJob on a cluster")
} else {
  layer(Layer.merge(ScriptedProvider.layer(), Postgres.layer), { timeout: "300 seconds", excludeTestServices: true })(
    "BamlJob on a cluster",
    (it) => {
      it.effect("1,000 items over three runners, one killed mid-job and a fourth started late: every key one result, each requested twice at most, started and awaited by a process that runs nothing", () =>
        Effect.scoped(Effect.gen(function*() {
          const server = yield* Postgres.PostgresServer
          const url = yield* Postgres.createDatabase(server, "spread")
          const items = 1000
          const job = yield* makeJob(items, 5)
          const concurrency = 24
          const runners = [
            yield* runner(url, job, concurrency),
            yield* runner(url, job, concurrency),
            yield* runner(url, job, concurrency)
          ]
          const starter = yield* client(url, job, concurrency)

          // a third of the items requested: more than one runner did
          yield* Effect.flatMap(ScriptedProvider.ScriptedProvider, (provider) =>
            provider.awaitRequests((records) =>
              records.filter((r) => job.keyOf(r.prompt) !== undefined).length >= items / 3
            )).pipe(Effect.timeout("180 seconds"))
          const busy = runners.filter((r) => JobProcess.requestedKeys(r.events()).size > 0)
          expect(busy.length).toBeGreaterThanOrEqual(2)

          // kill the busiest runner, and start a fourth
          const victim = busy.reduce((a, b) =>
            JobProcess.requestedKeys(a.events()).size >= JobProcess.requestedKeys(b.events()).size ? a : b
          )
          yield* victim.kill
          const late = yield* runner(url, job, concurrency)

          const events = yield* starter.until((events) => events.some((e) => e.event === "finished"))
          const results = events.find((e) => e.event === "finished")!.results!
          // every key exactly one result, the provider's reply for it
          expect(Object.keys(results).length).toBe(items)
          for (const key of job.keys) expect(results[key], key).toBe(`summary of ${key}`)
          // every item requested at least once and at most twice (in flight at the kill)
          const counts = new Map<string, number>()
          for (const record of yield* job.requests) {
            const key = job.keyOf(record.prompt)!
            counts.set(key, (counts.get(key) ?? 0) + 1)
          }
          for (const key of job.keys) {
            expect(counts.get(key) ?? 0, key).toBeGreaterThanOrEqual(1)
            expect(counts.get(key) ?? 0, key).toBeLessThanOrEqual(2)
          }
          const twice = [...counts.values()].filter((n) => n === 2).length
          expect(twice).toBeLessThanOrEqual(concurrency * 2)
          // the process that runs nothing requested nothing; the late runner took part
          expect(JobProcess.requestedKeys(starter.events()).size).toBe(0)
          const perRunner = [...runners, late].map((r) => JobProcess.requestedKeys(r.events()).size)
          if (process.env.JOBS_SPREAD === "1") console.log(`requests per runner: ${perRunner.join(", ")}; twice: ${twice}`)
          expect(JobProcess.requestedKeys(late.events()).size).toBeGreaterThan(0)
          expect(requestedTotal([...runners, late])).toBeGreaterThanOrEqual(items)
        })), { timeout: 300_000 })

      it.effect("a cancel from a process that runs nothing ends the job on every runner and the await of its starter; started again, it ends as cancelled at once", () =>
        Effect.scoped(Effect.gen(function*() {
          const server = yield* Postgres.PostgresServer
          const url = yield* Postgres.createDatabase(server, "cancel")
          // slow items (about 2 s each): the job is still running when the cancel arrives
          const job = yield* makeJob(60, 150, 2)
          const runners = [yield* runner(url, job, 8), yield* runner(url, job, 8)]
          const starter = yield* client(url, job, 8)
          const provider = yield* ScriptedProvider.ScriptedProvider
          yield* provider.awaitRequests((records) =>
            records.filter((r) => job.keyOf(r.prompt) !== undefined && r.status === "open").length >= 4
          ).pipe(Effect.timeout("120 seconds"))
          const canceller = yield* client(url, job, 8)
          yield* canceller.until((events) => events.some((e) => e.event === "ready"))
          yield* canceller.send("cancel")
          yield* canceller.until((events) => events.some((e) => e.event === "cancelled"))
          // the starter's await ends, as cancelled
          yield* starter.until((events) => events.some((e) => e.event === "ended-cancelled"))
          // the requests in flight end closed early, then none is open, and none starts after
          const records = yield* provider.awaitRequests((records) => {
            const mine = records.filter((r) => job.keyOf(r.prompt) !== undefined)
            return mine.some((r) => r.status === "closed-early") && mine.every((r) => r.status !== "open")
          }).pipe(Effect.timeout("60 seconds"))
          const requested = records.filter((r) => job.keyOf(r.prompt) !== undefined).length
          expect(requested).toBeLessThan(60)
          yield* Effect.sleep("2 seconds")
          expect((yield* job.requests).length).toBe(requested)
          // started again from a new process that runs nothing: cancelled at once
          const again = yield* client(url, job, 8)
          const events = yield* again.until((events) => events.some((e) => e.event === "ended-cancelled"))
          expect(events.some((e) => e.event === "finished")).toBe(false)
          expect(runners.every((r) => !r.events().some((e) => e.event === "failed"))).toBe(true)
        })), { timeout: 300_000 })
    }
  )
}
