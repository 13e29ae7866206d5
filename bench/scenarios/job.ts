/**
 * Measure 7: a batch job of many items (`BamlJob` on the in-memory workflow engine) against a plain `Effect.forEach`
 * of `Baml.call` at the same concurrency, on a provider in a child process (so that only the client side is in this
 * process's CPU time and heap). Per round, each way runs the same items to their end, alternately first:
 *
 * - items per second: items over the wall time from start to the last result;
 * - CPU per item: `process.cpuUsage()` of this process (client and engine) over the items; the difference between the
 *   two is what the workflow path (an activity per item, its stored result, the progress and the results view) costs
 *   per item;
 * - heap during the run: `heapUsed` sampled every 100 ms (no forced GC, so it shows what the process holds as it
 *   goes), first and last quarter of the samples; and what each way still holds after full GCs once it has ended,
 *   per item (the results, and for the in-memory engine its stored activity results).
 */
import { Effect, Layer } from "effect"
import { WorkflowEngine } from "effect/workflow"
import { Baml, BamlJob, BamlRuntime } from "../../src/index.js"
import type { Route } from "../provider-process.js"
import { remoteProvider } from "../remote.js"
import { resume } from "../replies.js"
import type { Scenario } from "../scenario.js"
import { collector, cpuMsSince, heapAfterGc } from "../scenario.js"

const concurrency = 50
const script = { reply: JSON.stringify(resume(2, 1), null, 2), chunkSize: 64, delayMs: 0 }
const routes: ReadonlyArray<Route> = [{ script }]

/** `heapUsed` every 100 ms while `effect` runs. */
const sampled = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const samples: Array<number> = []
    const timer = setInterval(() => samples.push(process.memoryUsage().heapUsed / 1024 / 1024), 100)
    const value = yield* Effect.ensuring(effect, Effect.sync(() => clearInterval(timer)))
    return { value, samples }
  })

const quarters = (samples: ReadonlyArray<number>) => {
  const q = Math.max(1, Math.floor(samples.length / 4))
  return { first: samples.slice(0, q), last: samples.slice(-q) }
}

const labels = { forEach: "Effect.forEach(Baml.call)", job: "BamlJob (in-memory engine)" } as const

export const job = (items: number): Scenario => ({
  name: "job",
  steps: (rounds) => rounds.job * 2,
  run: (bench) =>
    Effect.scoped(Effect.gen(function*() {
      const { baseUrl } = yield* remoteProvider(routes)
      const runtime = yield* Layer.build(
        BamlRuntime.layerFromDirectory("baml_src", { env: { ...process.env, SCRIPTED_BASE_URL: baseUrl } })
      )
      const inputs = Array.from({ length: items }, (_, i) => `resume ${i}`)
      const rate = collector()
      const cpu = collector()
      const overhead = collector()
      const heap = collector()
      const retained = collector()

      const forEach = Effect.forEach(inputs, (resume) => Baml.call("ExtractResume", { resume }), { concurrency })
      const viaJob = (round: number) =>
        BamlJob.run(BamlJob.make({
          name: `bench-${round}`,
          function: "ExtractResume",
          inputs,
          key: (resume) => resume,
          args: (resume) => ({ resume }),
          concurrency
        })).pipe(Effect.provide(WorkflowEngine.layerMemory))

      /** Runs one way to its end; keeps its result (and, for the job, its engine) until the heap is measured. */
      const measure = (label: string, effect: Effect.Effect<unknown, unknown, BamlRuntime.BamlRuntime>) =>
        Effect.gen(function*() {
          const before = yield* heapAfterGc
          const since = process.cpuUsage()
          const startedAt = performance.now()
          const { samples, value } = yield* sampled(Effect.provideContext(effect, runtime))
          const wallMs = performance.now() - startedAt
          const cpuMs = cpuMsSince(since)
          rate.add(label, items / (wallMs / 1000))
          cpu.add(label, cpuMs / items)
          const { first, last } = quarters(samples)
          heap.add(`${label}: first quarter of the run`, ...first)
          heap.add(`${label}: last quarter of the run`, ...last)
          retained.add(label, ((yield* heapAfterGc) - before) / items / 1024)
          bench.tick(`${items}-item job: ${label}`)
          // the value is dropped only now, after the heap was measured with it
          return [cpuMs / items, value] as const
        })

      for (let round = 0; round < bench.rounds.job; round++) {
        const jobFirst = round % 2 === 1
        let jobCpu = 0
        let forEachCpu = 0
        if (jobFirst) jobCpu = (yield* measure(labels.job, viaJob(round)))[0]
        forEachCpu = (yield* measure(labels.forEach, forEach))[0]
        if (!jobFirst) jobCpu = (yield* measure(labels.job, viaJob(round)))[0]
        overhead.add("BamlJob − Effect.forEach", (jobCpu - forEachCpu) * 1000)
      }
      const per = `${items} items of ExtractResume (a short reply, not streamed) at concurrency ${concurrency}`
      return [
        {
          id: "jobItemsPerSecond",
          title: `Items per second, ${items}-item job`,
          unit: "items/s",
          rows: rate.rows(),
          method: `${per}, run to their end: by \`BamlJob.run\` on \`WorkflowEngine.layerMemory\` (each item an ` +
            "activity of the job's workflow) and by `Effect.forEach(inputs, Baml.call, { concurrency })`, one after " +
            "the other, alternately first. Items over the wall time. The provider runs in a child process."
        },
        {
          id: "jobCpuPerItem",
          title: `CPU per item, ${items}-item job`,
          unit: "ms",
          rows: cpu.rows(),
          method: `The same runs: \`process.cpuUsage()\` of this process (client and engine) over the items.`
        },
        {
          id: "jobOverheadPerItem",
          title: "CPU the workflow path adds per item (in-memory engine)",
          unit: "µs",
          rows: overhead.rows(),
          method: "Per round, the job's CPU per item minus `Effect.forEach`'s: the activity, its stored result, " +
            "the progress and the results view of each item, with no durable storage."
        },
        {
          id: "jobHeapDuring",
          title: `Heap during a ${items}-item job`,
          unit: "MB",
          rows: heap.rows(),
          method: "`heapUsed` sampled every 100 ms while the items run, without forced GCs; the first and the last " +
            "quarter of the samples of each run. Flat means the two quarters are alike."
        },
        {
          id: "jobHeapRetained",
          title: "Heap held per item once the run has ended",
          unit: "KB",
          rows: retained.rows(),
          method: "`heapUsed` after full GCs once the run has ended, with its results still referenced (and, for " +
            "the job, its in-memory engine, which stores every item's result), minus the same before it, per item."
        }
      ]
    }))
})
