/**
 * Measure 8: what durability costs per item. The same job (`BamlJob` over `ExtractResume`, a short reply, at the same
 * concurrency) on the in-memory engine, on the embedded store (`BamlJobStore.layerEmbedded`, PGlite in this process)
 * and, when Debian's PostgreSQL is installed, on a PostgreSQL server (`BamlJobStore.layerPostgres`, a throwaway
 * server started for the run). Each store's engine is built once; every round runs a new job on it. The provider runs
 * in a child process.
 *
 * - items per second: items over the wall time from start to the last result;
 * - CPU per item: `process.cpuUsage()` of this process over the items (for PGlite this includes the database, which
 *   runs in this process; a PostgreSQL server's own CPU is not counted);
 * - wall time per item beyond the in-memory engine's, which is what a user waits for the storage.
 */
import { type Context, Effect, Layer } from "effect"
import { WorkflowEngine } from "effect/workflow"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { Baml, BamlJob, BamlJobStore, BamlRuntime } from "../../src/index.js"
import * as Postgres from "../../test/support/postgres.js"
import type { Route } from "../provider-process.js"
import { remoteProvider } from "../remote.js"
import { resume } from "../replies.js"
import type { Scenario } from "../scenario.js"
import { collector, cpuMsSince } from "../scenario.js"

const concurrency = 50
const script = { reply: JSON.stringify(resume(2, 1), null, 2), chunkSize: 64, delayMs: 0 }
const routes: ReadonlyArray<Route> = [{ script }]

export const jobDurable = (items: number): Scenario => ({
  name: "jobDurable",
  steps: (rounds) => rounds.job * 4,
  run: (bench) =>
    Effect.scoped(Effect.gen(function*() {
      const { baseUrl } = yield* remoteProvider(routes)
      const runtime = yield* Layer.build(
        BamlRuntime.layerFromDirectory("baml_src", { env: { ...process.env, SCRIPTED_BASE_URL: baseUrl } })
      )
      const directory = yield* Effect.acquireRelease(
        Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-baml-bench-"))),
        (dir) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
      )
      const stores: Array<readonly [string, Layer.Layer<WorkflowEngine.WorkflowEngine, unknown>]> = [
        ["in-memory engine", WorkflowEngine.layerMemory],
        ["embedded store (PGlite)", BamlJobStore.layerEmbedded({ directory: Path.join(directory, "store") })]
      ]
      if (Postgres.missing === undefined) {
        const server = yield* Postgres.start
        stores.push(["PostgreSQL 15 (same machine)", BamlJobStore.layerPostgres({ url: server.url })])
      }
      const inputs = Array.from({ length: items }, (_, i) => `resume ${i}`)
      const rate = collector()
      const cpu = collector()
      const extra = collector()
      const ratio = collector()
      const plain = "Effect.forEach(Baml.call)"

      const engines: Array<readonly [string, Context.Context<WorkflowEngine.WorkflowEngine> | undefined]> = [
        [plain, undefined],
        ...yield* Effect.forEach(stores, ([label, layer]) =>
          Effect.map(Layer.build(layer), (context) => [label, context] as const))
      ]
      let jobs = 0
      for (let round = 0; round < bench.rounds.job; round++) {
        const wallPerItem = new Map<string, number>()
        const cpuPerItem = new Map<string, number>()
        for (const [label, engine] of round % 2 === 0 ? engines : [...engines].reverse()) {
          const job = BamlJob.make({
            name: `bench-durable-${++jobs}`,
            function: "ExtractResume",
            inputs,
            key: (resume) => resume,
            args: (resume) => ({ resume }),
            concurrency
          })
          const since = process.cpuUsage()
          const startedAt = performance.now()
          yield* (engine === undefined
            ? Effect.forEach(inputs, (resume) => Baml.call("ExtractResume", { resume }), { concurrency, discard: true })
            : Effect.asVoid(Effect.provideContext(BamlJob.run(job), engine))).pipe(Effect.provideContext(runtime))
          const wallMs = performance.now() - startedAt
          rate.add(label, items / (wallMs / 1000))
          cpu.add(label, cpuMsSince(since) / items)
          wallPerItem.set(label, wallMs / items)
          cpuPerItem.set(label, cpuMsSince(since) / items)
          bench.tick(`${items}-item job: ${label}`)
        }
        const memory = wallPerItem.get("in-memory engine")!
        for (const [label, ms] of wallPerItem) {
          if (label !== "in-memory engine" && label !== plain) extra.add(`${label} − in-memory`, ms - memory)
          if (label === plain) continue
          ratio.add(`${label}: wall`, ms / wallPerItem.get(plain)!)
          ratio.add(`${label}: CPU`, cpuPerItem.get(label)! / cpuPerItem.get(plain)!)
        }
      }
      const per = `${items} items of ExtractResume (a short reply, not streamed) at concurrency ${concurrency}`
      return [
        {
          id: "jobDurableItemsPerSecond",
          title: `Items per second by store, ${items}-item job`,
          unit: "items/s",
          rows: rate.rows(),
          method: `${per}, run to their end by \`BamlJob.run\` on each store, one after the other (order reversed ` +
            "every round). Items over the wall time. The provider runs in a child process."
        },
        {
          id: "jobDurableCpuPerItem",
          title: `CPU per item by store, ${items}-item job`,
          unit: "ms",
          rows: cpu.rows(),
          method: "The same runs: `process.cpuUsage()` of this process over the items (PGlite runs in this process, " +
            "so its CPU is counted; a PostgreSQL server's is not)."
        },
        {
          id: "jobDurableWallPerItem",
          title: "Wall time a durable store adds per item",
          unit: "ms",
          rows: extra.rows(),
          method: "Per round, the store's wall time per item minus the in-memory engine's: storing each item's " +
            "workflow execution and outcome at this concurrency."
        },
        {
          id: "jobDurableRatio",
          title: "A job's wall time and CPU per item against Effect.forEach(Baml.call)",
          unit: "×",
          rows: ratio.rows(),
          method: "Per round, the job's wall time (and this process's CPU) per item over those of " +
            "`Effect.forEach(inputs, Baml.call, { concurrency })` on the same inputs in the same round."
        }
      ]
    }))
})
