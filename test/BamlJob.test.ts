import { describe, expect, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { WorkflowEngine } from "effect/workflow"
import { BamlJob } from "effect-baml"
import { ScriptedProvider } from "effect-baml/testing"
import { marker, shortResume, TestLayer } from "./fixtures.js"

const Provider = ScriptedProvider.ScriptedProvider

const JobLayer = Layer.merge(TestLayer, WorkflowEngine.layerMemory)

/** Requests whose prompt contains `mark`. */
const requestsFor = (mark: string) =>
  Effect.map(Effect.flatMap(Provider, (p) => p.requests), (records) => records.filter((r) => r.prompt.includes(mark)))

layer(JobLayer, { timeout: "60 seconds", excludeTestServices: true })("BamlJob", (it) => {
  describe("results", () => {
    it.effect("every item ends with its key, in the order of the inputs, each requested once", () =>
      Effect.gen(function*() {
        const mark = marker("job-order")
        const provider = yield* Provider
        yield* provider.script({
          match: (p) => p.includes(mark),
          script: (request) => ScriptedProvider.json(shortResume(`Person ${request.index}`), { delayMs: 1 })
        })
        const names = ["ada", "grace", "alan", "barbara", "edsger"]
        const job = BamlJob.make({
          name: mark,
          function: "ExtractResume",
          inputs: names,
          key: (name) => name,
          args: (name) => ({ resume: `${mark} ${name}` }),
          concurrency: 3
        })
        const summary = yield* BamlJob.run(job)
        expect(summary.succeeded).toBe(5)
        expect(summary.failed).toBe(0)
        expect(summary.results.map((r) => r.key)).toEqual(names)
        expect(summary.results.map((r) => r.index)).toEqual([0, 1, 2, 3, 4])
        expect(summary.results.every((r) => r._tag === "Succeeded" && !r.stored)).toBe(true)
        const records = yield* requestsFor(mark)
        expect(records.length).toBe(5)
        for (const name of names) expect(records.filter((r) => r.prompt.includes(`${mark} ${name}`)).length).toBe(1)
      }), 30_000)
  })
})
