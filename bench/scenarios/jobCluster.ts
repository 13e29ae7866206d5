/**
 * Measure 9: a job spread over a cluster. A 1,000-item job on one PostgreSQL with 1, 2 and 3 runner processes
 * (`BamlJob.layer` on `BamlJobStore.layerPostgresCluster`, each its own process), started and awaited by this process
 * (`layerPostgresClient`: it runs nothing). The provider runs in a child process and answers at once, so that what is
 * measured is the job's own path: dispatch by the job's run, one child workflow per item, its outcome stored.
 *
 * - items per second: items over the wall time from `BamlJob.run` to its summary, each runner count on a new database
 *   (the runners started and registered before).
 */
import { Effect, Layer } from "effect"
import { BamlJob, BamlJobStore, BamlRuntime } from "../../src/index.js"
import * as JobProcess from "../../test/support/jobProcess.js"
import * as Postgres from "../../test/support/postgres.js"
import type { Route } from "../provider-process.js"
import { remoteProvider } from "../remote.js"
import type { Scenario } from "../scenario.js"
import { collector } from "../scenario.js"

const concurrency = 24
const routes: ReadonlyArray<Route> = [{ script: { reply: "a short summary", chunkSize: 64, delayMs: 0 } }]

export const jobCluster = (items: number): Scenario => ({
  name: "jobCluster",
  steps: () => 3,
  run: (bench) =>
    Effect.scoped(Effect.gen(function*() {
      if (Postgres.missing !== undefined) return []
      const { baseUrl } = yield* remoteProvider(routes)
      const server = yield* Postgres.start
      const rate = collector()
      for (const runners of [1, 2, 3]) {
        const url = yield* Postgres.createDatabase(server, `bench${runners}`)
        const id = `bench-cluster-${runners}-${Date.now().toString(36)}`
        const keys = Array.from({ length: items }, (_, i) => `${id}:${i}`)
        const measured = yield* Effect.scoped(Effect.gen(function*() {
          const processes = yield* Effect.forEach(Array.from({ length: runners }), () =>
            Effect.gen(function*() {
              const port = yield* Postgres.freePort
              const process = yield* JobProcess.start({
                store: { _tag: "cluster", url, port },
                baseUrl,
                jobId: id,
                items: keys,
                concurrency,
                tuning: Postgres.clusterTuning,
                host: true
              })
              yield* process.until((events) => events.some((e) => e.event === "ready"))
              return process
            }))
          // the same definition as the runners' (name, inputs, keys); this process runs none of it
          const job = BamlJob.make({
            name: id,
            function: "Summarize",
            inputs: keys,
            key: (key) => key,
            args: (text) => ({ text }),
            concurrency
          })
          const startedAt = performance.now()
          const summary = yield* BamlJob.run(job).pipe(
            Effect.provide(Layer.merge(
              BamlJobStore.layerPostgresClient({ url, tuning: Postgres.clusterTuning }),
              BamlRuntime.layerFromDirectory("baml_src", { env: { ...process.env, SCRIPTED_BASE_URL: baseUrl } })
            ))
          )
          const wallMs = performance.now() - startedAt
          if (summary.succeeded !== items) return yield* Effect.fail(new Error(`${summary.succeeded} of ${items} succeeded`))
          return { rate: items / (wallMs / 1000), spread: processes.map((p) => JobProcess.requestedKeys(p.events()).size) }
        }))
        rate.add(`${runners} runner${runners > 1 ? "s" : ""} (requests each: ${measured.spread.join(", ")})`, measured.rate)
        bench.tick(`${items}-item job on ${runners} runner(s)`)
      }
      return [{
        id: "jobClusterItemsPerSecond",
        title: `Items per second by runners, ${items}-item job on one PostgreSQL`,
        unit: "items/s",
        rows: rate.rows(),
        method: `${items} items of Summarize (a short reply, at once) at concurrency ${concurrency} per job, the job's ` +
          "run dispatching each item as a child workflow to whichever runner owns its shard; each runner a process of " +
          "its own hosting the job (`BamlJob.layer`, `layerPostgresCluster`, the tests' short cluster timings), the " +
          "job started and awaited by the bench process (`layerPostgresClient`), a new database per runner count, " +
          "PostgreSQL 15 on the same machine, the provider in a child process. One run per runner count."
      }]
    }))
})
