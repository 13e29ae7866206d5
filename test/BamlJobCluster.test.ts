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

/** What the job's definition has besides its items, in every process of a test. */
type Limits = Pick<JobProcess.ChildOptions, "budget" | "requestsPerMinute">

/** A runner process of the cluster on `url` that hosts the job, ready. */
const runner = (url: string, job: Job, concurrency: number, limits: Limits = {}, watch = false) =>
  Effect.gen(function*() {
    const port = yield* Postgres.freePort
    const process = yield* JobProcess.start({
      store: { _tag: "cluster", url, port },
      baseUrl: job.baseUrl,
      jobId: job.id,
      items: job.keys,
      concurrency,
      tuning,
      host: true,
      watch,
      ...limits
    })
    yield* process.until((events) => events.some((e) => e.event === "ready"))
    return process
  })

/** A process that runs nothing, started on the job: it waits for it, or cancels it when told. */
const client = (url: string, job: Job, concurrency: number, limits: Limits = {}) =>
  JobProcess.start({
    store: { _tag: "client", url },
    baseUrl: job.baseUrl,
    jobId: job.id,
    items: job.keys,
    concurrency,
    tuning,
    ...limits
  })

/** A database of its own on the test file's server. */
const database = (prefix: string) =>
  Effect.flatMap(Postgres.PostgresServer, (server) => Postgres.createDatabase(server, prefix))

/** How many times the provider was asked for each key of the job. */
const requestCounts = (job: Job) =>
  Effect.map(job.requests, (records) => {
    const counts = new Map<string, number>()
    for (const record of records) {
      const key = job.keyOf(record.prompt)!
      counts.set(key, (counts.get(key) ?? 0) + 1)
    }
    return counts
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
          const url = yield* database("spread")
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
          const counts = yield* requestCounts(job)
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
          const url = yield* database("cancel")
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

      it.effect("one budget across two runners, a kill of the run's runner and a restart: the provider's tokens stay within the budget and the items in flight; started again with a larger budget, the job finishes", () =>
        Effect.scoped(Effect.gen(function*() {
          const url = yield* database("budget")
          // each reply about 7 output tokens (one per chunk of 4 characters), ~150 ms
          const job = yield* makeJob(200, 20, 4)
          const concurrency = 6
          const budget = { budget: 400 }
          const runners = [yield* runner(url, job, concurrency, budget, true), yield* runner(url, job, concurrency, budget, true)]
          const starter = yield* client(url, job, concurrency, budget)
          // the runner that runs the job's run is killed once items have been requested
          const running = yield* Effect.raceFirst(
            Effect.as(runners[0]!.until((events) => events.some((e) => e.event === "running")), runners[0]!),
            Effect.as(runners[1]!.until((events) => events.some((e) => e.event === "running")), runners[1]!)
          ).pipe(Effect.timeout("120 seconds"))
          const provider = yield* ScriptedProvider.ScriptedProvider
          yield* provider.awaitRequests((records) => records.filter((r) => job.keyOf(r.prompt) !== undefined).length >= 15)
            .pipe(Effect.timeout("60 seconds"))
          yield* running.kill
          const survivor = runners.find((r) => r !== running)!
          const late = yield* runner(url, job, concurrency, budget)
          const ended = yield* starter.until((events) => events.some((e) => e.event === "ended-budget"))
          expect(ended.some((e) => e.event === "finished")).toBe(false)
          // An item the killed run had dispatched (its message stored) runs when its shard's new owner reads it, even
          // when the run that took over stopped short of it: in flight at the kill. Settled: nothing new for 3 s.
          let mine: ReadonlyArray<ScriptedProvider.RequestRecord> = []
          for (let quiet = 0; quiet < 3;) {
            yield* Effect.sleep("1 second")
            const now = yield* job.requests
            quiet = now.length === mine.length && now.every((r) => r.status !== "open") ? quiet + 1 : 0
            mine = now
          }
          const perItem = Math.max(...mine.map((r) => r.planned))
          const spent = mine.reduce((n, r) => n + r.sent, 0)
          if (process.env.JOBS_SPREAD === "1") {
            console.log(`budget 400: ${spent} output tokens sent by the provider, ${mine.length} requests, ${perItem} a reply`)
          }
          // within the budget and what the items in flight spent: those at the stop, and those at the kill (requested
          // again: their first tokens are the provider's, never stored with an outcome)
          expect(spent).toBeLessThanOrEqual(400 + 2 * 2 * concurrency * perItem)
          // and it did not stop early: the budget was spent
          expect(spent).toBeGreaterThanOrEqual(400)
          expect(mine.length).toBeLessThan(200)

          // started again under the same budget: it ends at once, without a request
          const again = yield* client(url, job, concurrency, budget)
          yield* again.until((events) => events.some((e) => e.event === "ended-budget"))
          yield* Effect.sleep("1 second")
          expect((yield* job.requests).length).toBe(mine.length)

          // started under a larger budget while the runners keep theirs: the run goes on under the runners' budget,
          // which is spent, and stops again at once; this start ends with that stop, without a request
          const elsewhere = yield* client(url, job, concurrency, { budget: 1_000_000 })
          yield* elsewhere.until((events) => events.some((e) => e.event === "ended-budget"))
          expect((yield* job.requests).length).toBe(mine.length)

          // the runners given a larger budget, started again: it finishes, the stored items not requested again
          yield* Effect.forEach([survivor, late], (r) => r.kill, { discard: true })
          const larger = { budget: 1_000_000 }
          yield* runner(url, job, concurrency, larger)
          yield* runner(url, job, concurrency, larger)
          const resumed = yield* client(url, job, concurrency, larger)
          const events = yield* resumed.until((events) => events.some((e) => e.event === "finished"))
          const results = events.find((e) => e.event === "finished")!.results!
          for (const key of job.keys) expect(results[key], key).toBe(`summary of ${key}`)
          const counts = yield* requestCounts(job)
          for (const key of job.keys) expect(counts.get(key) ?? 0, key).toBeLessThanOrEqual(2)
        })), { timeout: 240_000 })

      it.effect("one rate limit across two runners: no window sees more requests than the job's requestsPerMinute allows", () =>
        Effect.scoped(Effect.gen(function*() {
          const url = yield* database("ratelimit")
          const items = 60
          const job = yield* makeJob(items, 1)
          // 1,200 a minute: one every 50 ms, 20 in any second
          const limits = { requestsPerMinute: 1_200 }
          const runners = [yield* runner(url, job, 8, limits), yield* runner(url, job, 8, limits)]
          const starter = yield* client(url, job, 8, limits)
          yield* starter.until((events) => events.some((e) => e.event === "finished"))
          const times = (yield* job.requests).map((r) => r.startedAt).sort((a, b) => a - b)
          expect(times.length).toBe(items)
          // the items spread over both runners, yet together they kept to the one limit
          expect(runners.every((r) => JobProcess.requestedKeys(r.events()).size > 0)).toBe(true)
          let most = 0
          for (let i = 0; i < times.length; i++) {
            let j = i
            while (j < times.length && times[j]! - times[i]! < 1_000) j++
            most = Math.max(most, j - i)
          }
          if (process.env.JOBS_SPREAD === "1") console.log(`most requests in any second: ${most}`)
          // 20 a second, with room for the time between a dispatch and its request (a runner apart)
          expect(most).toBeLessThanOrEqual(23)
          expect(times[times.length - 1]! - times[0]!).toBeGreaterThanOrEqual((items - 1) * 50 * 0.8)
        })), { timeout: 120_000 })
    }
  )
}
