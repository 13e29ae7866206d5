/**
 * A batch job on the embedded engine, offline: ExtractResume over 200 resumes, 8 at a time, answered by the scripted
 * provider from effect-baml/testing (one request in ten answers an HTTP 500, which the job retries). A progress bar is
 * drawn when stdout is a terminal; at the end, the summary and one result read back by key.
 *
 *   npx tsx examples/job.ts
 */
import { Console, Effect, Layer, Option, Schedule } from "effect"
import { WorkflowEngine } from "effect/workflow"
import { BamlJob } from "effect-baml"
import { ScriptedProvider } from "effect-baml/testing"

const resumes = Array.from({ length: 200 }, (_, i) => ({ id: `r${i}`, text: `Candidate ${i}, engineer` }))

const job = BamlJob.make({
  name: "resumes-example",
  function: "ExtractResume",
  inputs: resumes,
  key: (resume) => resume.id,
  args: (resume) => ({ resume: resume.text }),
  concurrency: 8,
  rateLimit: { requestsPerMinute: 6_000 },
  retry: Schedule.max([Schedule.spaced("50 millis"), Schedule.recurs(5)]),
  prices: { perMillionInputTokens: 0.15, perMillionOutputTokens: 0.6 }
})

const program = Effect.scoped(Effect.gen(function*() {
  const provider = yield* ScriptedProvider.ScriptedProvider
  yield* provider.script({
    script: (request) => ({
      ...ScriptedProvider.json({ name: `Candidate ${request.index}`, skills: ["engineering"], experience: [] }, {
        delayMs: 2
      }),
      // every tenth request fails with a 500: the job's retry policy sends the item again
      ...(request.index % 10 === 0 ? { fault: { _tag: "HttpError", status: 500 } as const } : {})
    })
  })
  const handle = yield* BamlJob.start(job)
  yield* Effect.forkScoped(BamlJob.progressBar(handle.progress))
  const summary = yield* handle.await
  const progress = yield* handle.current
  yield* Console.log(BamlJob.describeProgress(progress))
  yield* Console.log(`${summary.succeeded} succeeded, ${summary.failed} failed, ${progress.retries} retried`)
  const r7 = yield* handle.result("r7")
  yield* Console.log(`r7: ${JSON.stringify(Option.getOrUndefined(r7))}`)
}))

program.pipe(
  Effect.provide(Layer.merge(WorkflowEngine.layerMemory, ScriptedProvider.layerWithRuntime("baml_src"))),
  Effect.runPromise
).catch((error) => {
  console.error(error)
  process.exitCode = 1
})
