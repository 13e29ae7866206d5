import { describe, expect, layer, vi } from "@effect/vitest"
import { Writable } from "node:stream"
import { Effect, Exit, Fiber, Layer, Logger, Option, Schedule, Stream } from "effect"
import { TestClock } from "effect/testing"
import { WorkflowEngine } from "effect/workflow"
import { Baml, BamlError, BamlJob, TokenBudget } from "effect-baml"
import { ScriptedProvider } from "effect-baml/testing"
import * as Client from "../baml_client/index.js"
import { marker, settledAll, shortResume, TestLayer } from "./shared/fixtures.js"

const Provider = ScriptedProvider.ScriptedProvider

const JobLayer = Layer.merge(TestLayer, WorkflowEngine.layerMemory)

/** The provider's records of the requests whose prompt contains `mark`. */
const requestsFor = (mark: string) =>
  Effect.map(Effect.flatMap(Provider, (p) => p.requests), (records) => records.filter((r) => r.prompt.includes(mark)))

/** Waits until the provider's records of `mark` satisfy `predicate` (bounded, so that a test fails, not hangs). */
const awaitFor = (mark: string, predicate: (records: ReadonlyArray<ScriptedProvider.RequestRecord>) => boolean) =>
  Effect.flatMap(Provider, (p) =>
    p.awaitRequests((records) => predicate(records.filter((r) => r.prompt.includes(mark))))).pipe(
      Effect.map((records) => records.filter((r) => r.prompt.includes(mark))),
      Effect.timeoutOrElse({
        duration: "15 seconds",
        orElse: () => Effect.fail(new Error(`the requests of ${mark} never got there`))
      })
    )

const open = (records: ReadonlyArray<ScriptedProvider.RequestRecord>) => records.filter((r) => r.status === "open")

/** Scripts replies for the requests that contain `mark`: each a short resume, with `script` overriding per prompt. */
/** The item `flaky` of `mark`'s job: a 500 at first, then its reply. */
const scriptFlaky = (mark: string) =>
  Effect.flatMap(Provider, (provider) =>
    provider.script({
      match: (p) => p.includes(`${mark} flaky`),
      script: {
        ...ScriptedProvider.json(shortResume("Flaky"), { delayMs: 1 }),
        fault: { _tag: "HttpError", status: 500, times: 1 }
      }
    }))

const scriptJob = (
  mark: string,
  script: (prompt: string, index: number) => Partial<ScriptedProvider.Script> = () => ({})
) =>
  Effect.flatMap(Provider, (provider) =>
    provider.script({
      match: (p) => p.includes(mark),
      script: (request) => ({
        ...ScriptedProvider.json(shortResume(`Person ${request.index}`), { delayMs: 1 }),
        ...script(request.prompt, request.index)
      })
    }))

/** A job over `names` that calls ExtractResume with the resume `${mark} ${name}`, keyed by name. */
const resumeJob = (mark: string, names: ReadonlyArray<string>, options: Partial<BamlJob.CommonOptions<string>> = {}) =>
  BamlJob.make({
    name: mark,
    function: "ExtractResume",
    inputs: names,
    key: (name) => name,
    args: (name) => ({ resume: `${mark} ${name}` }),
    ...options
  })

/** Waits until `n` requests of `mark` have ended; then no other may start while the test clock stands still. */
const heldAt = (mark: string, n: number) =>
  Effect.gen(function*() {
    yield* awaitFor(mark, (records) => records.length >= n && open(records).length === 0)
    yield* TestClock.withLive(Effect.sleep("300 millis"))
    expect((yield* requestsFor(mark)).length).toBe(n)
  })

const names = (n: number) => Array.from({ length: n }, (_, i) => `item${i}`)

layer(JobLayer, { timeout: "60 seconds", excludeTestServices: true })("BamlJob", (it) => {
  describe("results", () => {
    it.effect("every item ends with its key, in the order of the inputs, each requested once", () =>
      Effect.gen(function*() {
        const mark = marker("job-order")
        yield* scriptJob(mark)
        const inputs = ["ada", "grace", "alan", "barbara", "edsger"]
        const summary = yield* BamlJob.run(resumeJob(mark, inputs, { concurrency: 3 }))
        expect(summary.succeeded).toBe(5)
        expect(summary.failed).toBe(0)
        expect(summary.results.map((r) => r.key)).toEqual(inputs)
        expect(summary.results.map((r) => r.index)).toEqual([0, 1, 2, 3, 4])
        expect(summary.results.every((r) => r._tag === "Succeeded" && !r.stored)).toBe(true)
        const records = yield* requestsFor(mark)
        expect(records.length).toBe(5)
        for (const name of inputs) expect(records.filter((r) => r.prompt.includes(`${mark} ${name}`)).length).toBe(1)
      }), 30_000)

    it.effect("a generated client's function over a stream of inputs: typed values, keyed", () =>
      Effect.gen(function*() {
        const mark = marker("job-client")
        yield* scriptJob(mark)
        const job = BamlJob.make({
          name: mark,
          function: (name: string) => Client.ExtractResume(`${mark} ${name}`),
          inputs: Stream.make("ada", "grace", "alan"),
          key: (name) => name
        })
        const summary = yield* BamlJob.run(job)
        expect(summary.results.map((r) => r.key)).toEqual(["ada", "grace", "alan"])
        for (const result of summary.results) {
          if (result._tag !== "Succeeded") throw new Error(`${result.key} failed`)
          // typed as the generated Resume
          expect(result.value.name).toMatch(/^Person \d$/)
        }
      }), 30_000)

    it.effect("a result is readable by key while the job runs; the others are not there yet", () =>
      Effect.gen(function*() {
        const mark = marker("job-lookup")
        yield* scriptJob(mark, (prompt) => prompt.includes(`${mark} slow`) ? { firstByteDelayMs: 20_000 } : {})
        const handle = yield* BamlJob.start(resumeJob(mark, ["fast0", "slow", "fast1", "fast2"], { concurrency: 4 }))
        yield* handle.progress.pipe(Stream.takeUntil((p) => p.done === 3), Stream.runDrain)
        const fast = yield* handle.result("fast1")
        expect(Option.isSome(fast) && fast.value._tag === "Succeeded").toBe(true)
        expect(Option.isNone(yield* handle.result("slow"))).toBe(true)
        expect(Option.isNone(yield* handle.result("nope"))).toBe(true)
        expect((yield* handle.results).map((r) => r.key)).toEqual(["fast0", "fast1", "fast2"])
        const now = yield* handle.current
        expect(now).toMatchObject({ done: 3, inFlight: 1, state: "running" })
      }).pipe(Effect.scoped), 30_000)

    it.effect("an input whose key an earlier input has is a failed item, and is not requested", () =>
      Effect.gen(function*() {
        const mark = marker("job-dup")
        yield* scriptJob(mark)
        const job = BamlJob.make({
          name: mark,
          function: "ExtractResume",
          inputs: ["ada", "grace", "ada again"],
          key: (name) => name.split(" ")[0]!,
          args: (name) => ({ resume: `${mark} ${name}` }),
          concurrency: 1
        })
        const summary = yield* BamlJob.run(job)
        expect(summary).toMatchObject({ succeeded: 2, failed: 1 })
        const dup = summary.results[2]!
        expect(dup._tag).toBe("Failed")
        if (dup._tag === "Failed") {
          expect(dup.error).toBeInstanceOf(BamlError.BamlInvalidArgumentError)
          expect(dup.error.message).toContain(`"ada"`)
        }
        expect((yield* requestsFor(mark)).length).toBe(2)
      }), 30_000)

    it.effect("a finished job run again returns every item's result, stored, in the order of the inputs", () =>
      Effect.gen(function*() {
        const mark = marker("job-finished-again")
        yield* scriptJob(mark, (prompt) =>
          prompt.includes(`${mark} grace`) ? { reply: "", fault: { _tag: "HttpError", status: 400 } } : {})
        const job = resumeJob(mark, ["ada", "grace", "alan"])
        const first = yield* BamlJob.run(job)
        expect(first).toMatchObject({ succeeded: 2, failed: 1 })
        const again = yield* BamlJob.run(job)
        expect(again).toMatchObject({ succeeded: 2, failed: 1 })
        expect(again.results.map((r) => [r.key, r.index, r._tag, r.stored])).toEqual([
          ["ada", 0, "Succeeded", true],
          ["grace", 1, "Failed", true],
          ["alan", 2, "Succeeded", true]
        ])
        const ada = again.results[0]!
        const firstAda = first.results[0]!
        if (ada._tag !== "Succeeded" || firstAda._tag !== "Succeeded") throw new Error("ada failed")
        expect(ada.value).toEqual(firstAda.value)
        const grace = again.results[1]!
        if (grace._tag !== "Failed") throw new Error("grace succeeded")
        expect(grace.error).toBeInstanceOf(BamlError.BamlClientHttpError)
        // started, its results are readable by key and its progress counts them, stored, before it says completed
        const handle = yield* BamlJob.start(job)
        const progress = yield* handle.progress.pipe(Stream.runLast, Effect.timeout("5 seconds"))
        expect(Option.getOrUndefined(progress)).toMatchObject({ done: 3, succeeded: 2, failed: 1, stored: 3 })
        expect(Option.getOrUndefined(progress)?.state).toBe("completed")
        expect(Option.map(yield* handle.result("grace"), (r) => r._tag)).toEqual(Option.some("Failed"))
        expect((yield* requestsFor(mark)).length).toBe(3)
      }).pipe(Effect.scoped), 30_000)
})

  describe("a finished job", () => {
    it.effect("started again with new inputs: refused with BamlJobFinished naming the new keys, nothing requested", () =>
      Effect.gen(function*() {
        const mark = marker("job-finished-new")
        yield* scriptJob(mark)
        expect(yield* BamlJob.run(resumeJob(mark, ["ada", "grace"]))).toMatchObject({ succeeded: 2 })
        const error = yield* Effect.flip(BamlJob.run(resumeJob(mark, ["ada", "turing", "grace", "hopper"])))
        expect(error).toBeInstanceOf(BamlJob.BamlJobFinished)
        if (!(error instanceof BamlJob.BamlJobFinished)) throw error
        expect(error.newKeys).toEqual(["turing", "hopper"])
        expect(error.message).toContain("turing, hopper")
        expect((yield* requestsFor(mark)).length).toBe(2)
        // fewer inputs than it ran: the stored outcome, as before
        expect(yield* BamlJob.run(resumeJob(mark, ["ada"]))).toMatchObject({ succeeded: 2, failed: 0 })
      }), 30_000)

    it.effect("cancelled afterwards, it keeps its outcome: run again, it returns its stored summary", () =>
      Effect.gen(function*() {
        const mark = marker("job-finished-cancel")
        yield* scriptJob(mark)
        const job = resumeJob(mark, ["ada", "grace"])
        expect(yield* BamlJob.run(job)).toMatchObject({ succeeded: 2 })
        yield* BamlJob.cancel(job)
        const handle = yield* BamlJob.start(job)
        yield* handle.cancel
        expect(yield* handle.await.pipe(Effect.timeout("10 seconds"))).toMatchObject({ succeeded: 2, failed: 0 })
        expect(yield* BamlJob.run(job).pipe(Effect.timeout("10 seconds"))).toMatchObject({ succeeded: 2, failed: 0 })
        expect((yield* requestsFor(mark)).length).toBe(2)
      }).pipe(Effect.scoped), 30_000)
  })

  describe("limits", () => {
    it.effect("no more requests are in flight at the provider than the concurrency, and it is reached", () =>
      Effect.gen(function*() {
        const mark = marker("job-concurrency")
        // each reply takes a while, so that items overlap
        yield* scriptJob(mark, () => ({ delayMs: 4 }))
        let maxOpen = 0
        const watch = yield* awaitFor(mark, (records) => {
          maxOpen = Math.max(maxOpen, open(records).length)
          return records.length === 12 && open(records).length === 0
        }).pipe(Effect.forkChild)
        const summary = yield* BamlJob.run(resumeJob(mark, names(12), { concurrency: 3 }))
        yield* Fiber.join(watch)
        expect(summary.succeeded).toBe(12)
        expect(maxOpen).toBe(3)
      }), 30_000)

    it.effect("requests per minute: no burst, one request every 60/limit seconds from the first, so no sliding minute has more than the limit", () =>
      Effect.gen(function*() {
        const mark = marker("job-rpm")
        yield* scriptJob(mark)
        const fiber = yield* BamlJob.run(
          resumeJob(mark, names(6), { concurrency: 6, rateLimit: { requestsPerMinute: 4 } })
        ).pipe(Effect.forkChild)
        // one at once, though six could go and the limit is four: the limit holds while the clock stands still
        yield* heldAt(mark, 1)
        // then one every 15 seconds: at 0, 15, 30, 45 s (four in the first minute), 60 s, 75 s
        for (let n = 2; n <= 5; n++) {
          yield* TestClock.adjust("14999 millis")
          yield* heldAt(mark, n - 1)
          yield* TestClock.adjust("1 millis")
          yield* heldAt(mark, n)
        }
        yield* TestClock.adjust("15 seconds")
        const summary = yield* Fiber.join(fiber)
        expect(summary.succeeded).toBe(6)
        expect((yield* requestsFor(mark)).length).toBe(6)
      }).pipe(Effect.provide(TestClock.layer())), 30_000)

    it.effect("requests per minute: an item's retries count against the limit when it ends, so the next item waits for them", () =>
      Effect.gen(function*() {
        const mark = marker("job-rpm-retry")
        yield* scriptJob(mark)
        yield* scriptFlaky(mark)
        const fiber = yield* BamlJob.run(
          resumeJob(mark, ["flaky", "next"], {
            // one at a time: a dispatch already waiting when the item ends keeps the slot it was given
            concurrency: 1,
            rateLimit: { requestsPerMinute: 4 },
            retry: Schedule.recurs(1)
          })
        ).pipe(Effect.forkChild)
        // `flaky` and its retry at once (a retry is made where the item runs, after the policy's delay)
        yield* heldAt(mark, 2)
        // one request every 15 s: `next` had the slot at 15 s, the retry took it, so it goes at 30 s
        yield* TestClock.adjust("15 seconds")
        yield* heldAt(mark, 2)
        yield* TestClock.adjust("15 seconds")
        yield* heldAt(mark, 3)
        const summary = yield* Fiber.join(fiber)
        expect(summary.succeeded).toBe(2)
      }).pipe(Effect.provide(TestClock.layer())), 30_000)

    it.effect("tokens per minute: no burst either; the tokens a request spent are paid back at the limit's pace", () =>
      Effect.gen(function*() {
        const mark = marker("job-tpm-pace")
        yield* scriptJob(mark)
        const handle = yield* BamlJob.start(
          resumeJob(mark, names(3), { concurrency: 1, rateLimit: { tokensPerMinute: 6000 } })
        )
        // one request, though the three together spend far less than the limit (a bucket as big as the limit would
        // let them all go at once)
        yield* heldAt(mark, 1)
        const first = yield* handle.current
        const spent = first.inputTokens + first.outputTokens
        expect(spent).toBeGreaterThan(0)
        expect(spent * 3).toBeLessThan(6000)
        // 10 ms a token at 6000 a minute: the next request waits for the first's tokens to be paid back
        yield* TestClock.adjust(`${spent * 10 - 20} millis`)
        yield* heldAt(mark, 1)
        yield* TestClock.adjust("5 minutes")
        yield* heldAt(mark, 2)
        yield* TestClock.adjust("5 minutes")
        const summary = yield* handle.await
        expect(summary.succeeded).toBe(3)
      }).pipe(Effect.scoped, Effect.provide(TestClock.layer())), 30_000)

    it.effect("tokens per minute: once a request has spent the minute's tokens, the next waits for the clock", () =>
      Effect.gen(function*() {
        const mark = marker("job-tpm")
        yield* scriptJob(mark)
        const fiber = yield* BamlJob.run(
          resumeJob(mark, names(2), { concurrency: 1, rateLimit: { tokensPerMinute: 50 } })
        ).pipe(Effect.forkChild)
        yield* heldAt(mark, 1)
        yield* TestClock.adjust("5 minutes")
        const summary = yield* Fiber.join(fiber)
        expect(summary.succeeded).toBe(2)
        expect((yield* requestsFor(mark)).length).toBe(2)
      }).pipe(Effect.provide(TestClock.layer())), 30_000)

    it.effect("a spent budget stops the dispatch, the items in flight finish, and the job resumes where it stopped", () =>
      Effect.gen(function*() {
        const mark = marker("job-budget")
        // `slow` answers late, so that it is in flight when the budget runs out
        yield* scriptJob(mark, (prompt) => prompt.includes(`${mark} slow`) ? { firstByteDelayMs: 1_500 } : {})
        const inputs = ["fast", "slow", "third", "fourth"]
        const job = resumeJob(mark, inputs, { concurrency: 2, budget: { maxOutputTokens: 1 } })
        const handle = yield* BamlJob.start(job)
        const error = yield* Effect.flip(handle.await)
        expect(error).toBeInstanceOf(BamlError.BudgetExceeded)
        // the progress says so, and its stream has ended: `slow`, in flight, finished and was stored
        expect(yield* handle.current).toMatchObject({ state: "stopped", done: 2, succeeded: 2 })
        const last = yield* handle.progress.pipe(Stream.runLast, Effect.timeout("5 seconds"))
        expect(Option.map(last, (p) => p.state)).toEqual(Option.some("stopped"))
        const first = yield* settledAll(mark)
        expect(first.map((r) => r.status)).toEqual(["completed", "completed"])
        // `third` and `fourth` were not dispatched
        expect(first.some((r) => r.prompt.includes(`${mark} third`) || r.prompt.includes(`${mark} fourth`))).toBe(false)
        // started again under the same budget: it ends at once with the stored error, without a request
        const again = yield* Effect.flip(BamlJob.run(job))
        expect(again).toBeInstanceOf(BamlError.BudgetExceeded)
        expect((yield* requestsFor(mark)).length).toBe(2)

        // started again with room in the budget: `fast` and `slow` come from storage, the others are requested
        const summary = yield* BamlJob.run(resumeJob(mark, inputs, { concurrency: 2, budget: { maxOutputTokens: 1e6 } }))
        expect(summary.succeeded).toBe(4)
        expect(summary.results.map((r) => [r.key, r.stored])).toEqual([
          ["fast", true],
          ["slow", true],
          ["third", false],
          ["fourth", false]
        ])
        const all = yield* settledAll(mark)
        expect(all.length).toBe(4)
      }).pipe(Effect.scoped), 40_000)

    it.effect("a 500 is retried by the policy and then succeeds; a 400 is not retried", () =>
      Effect.gen(function*() {
        const mark = marker("job-retry")
        const provider = yield* Provider
        yield* scriptJob(mark)
        yield* scriptFlaky(mark)
        yield* provider.script({
          match: (p) => p.includes(`${mark} bad`),
          script: { reply: "", fault: { _tag: "HttpError", status: 400 } }
        })
        const handle = yield* BamlJob.start(
          resumeJob(mark, ["flaky", "bad", "fine"], {
            retry: Schedule.max([Schedule.spaced("10 millis"), Schedule.recurs(3)])
          })
        )
        const summary = yield* handle.await
        expect(summary.results.map((r) => [r.key, r._tag])).toEqual([
          ["flaky", "Succeeded"],
          ["bad", "Failed"],
          ["fine", "Succeeded"]
        ])
        const bad = summary.results[1]!
        if (bad._tag === "Failed") expect(bad.error).toMatchObject({ _tag: "BamlClientHttpError", statusCode: 400 })
        const records = yield* requestsFor(mark)
        expect(records.filter((r) => r.prompt.includes(`${mark} flaky`)).map((r) => r.status)).toEqual([
          "failed",
          "completed"
        ])
        expect(records.filter((r) => r.prompt.includes(`${mark} bad`)).length).toBe(1)
        expect((yield* handle.current).retries).toBe(1)
      }).pipe(Effect.scoped), 30_000)
  })

  describe("around the job", () => {
    it.effect("a job inside Baml.withUsage and a TokenBudget: every call is reported and charged there", () =>
      Effect.gen(function*() {
        const mark = marker("job-outer")
        yield* scriptJob(mark)
        const [[summary, used], usages] = yield* Effect.all([BamlJob.run(resumeJob(mark, names(3))), TokenBudget.used])
          .pipe(TokenBudget.limit({}), Baml.withUsage)
        expect(summary.succeeded).toBe(3)
        expect(usages.length).toBe(3)
        expect(used.outputTokens).toBe(usages.reduce((n, u) => n + u.outputTokens, 0))
        expect(used.outputTokens).toBeGreaterThan(0)
      }), 30_000)

    it.effect("the TokenBudget around a job without a budget of its own stops it when spent", () =>
      Effect.gen(function*() {
        const mark = marker("job-outer-budget")
        yield* scriptJob(mark)
        const error = yield* BamlJob.run(resumeJob(mark, names(4), { concurrency: 1 })).pipe(
          TokenBudget.limit({ maxOutputTokens: 1 }),
          Effect.flip
        )
        expect(error).toBeInstanceOf(BamlError.BudgetExceeded)
        expect((yield* requestsFor(mark)).length).toBe(1)
      }), 30_000)
  })

  describe("the default retry policy", () => {
    it.effect("retries an item three times, 0.5, 1 and 2 seconds apart, and then it fails", () =>
      Effect.gen(function*() {
        const mark = marker("job-default-retry")
        yield* scriptJob(mark, () => ({ fault: { _tag: "HttpError", status: 503 } }))
        const summary = yield* BamlJob.run(resumeJob(mark, ["down"]))
        expect(summary.results[0]).toMatchObject({ _tag: "Failed", error: { _tag: "BamlClientHttpError" } })
        const records = yield* requestsFor(mark)
        expect(records.length).toBe(4)
        const gaps = records.slice(1).map((r, i) => r.startedAt - records[i]!.startedAt)
        // at least the policy's delays (generous above: the machine may be busy)
        expect(gaps[0]).toBeGreaterThanOrEqual(450)
        expect(gaps[1]).toBeGreaterThanOrEqual(950)
        expect(gaps[2]).toBeGreaterThanOrEqual(1950)
      }), 30_000)
  })

  describe("progress", () => {
    it.effect("the time left counts the items that run at once: its first estimate is not concurrency times too high", () =>
      Effect.gen(function*() {
        // 8 items of 10 s each, 4 at once: the job takes 20 s; when the first item ends (at 10 s), 10 s are left
        let sleeping = 0
        const handle = yield* BamlJob.start(BamlJob.make({
          name: marker("job-eta"),
          function: (n: number) => Effect.andThen(Effect.sync(() => sleeping++), Effect.as(Effect.sleep("10 seconds"), n)),
          inputs: [1, 2, 3, 4, 5, 6, 7, 8],
          key: String,
          concurrency: 4
        }))
        const seen = yield* handle.progress.pipe(Stream.runCollect, Effect.forkChild)
        // the clock moves once the items it should end are waiting on it
        const when = (predicate: (p: BamlJob.Progress) => boolean) =>
          Effect.flatMap(handle.current, (p) => predicate(p) ? Effect.void : Effect.fail("not yet")).pipe(
            Effect.retry({ schedule: Schedule.spaced("10 millis"), times: 1000 }),
            TestClock.withLive,
            Effect.orDie
          )
        // in flight is counted when an item is dispatched; its workflow reaches its sleep a moment later
        const asleep = (n: number) =>
          Effect.andThen(
            when(() => sleeping === n),
            TestClock.withLive(Effect.sleep("50 millis"))
          )
        yield* when((p) => p.inFlight === 4)
        yield* asleep(4)
        yield* TestClock.adjust("10 seconds")
        yield* when((p) => p.done === 4 && p.inFlight === 4)
        yield* asleep(8)
        yield* TestClock.adjust("10 seconds")
        expect(yield* handle.await.pipe(Effect.timeout("10 seconds"))).toMatchObject({ succeeded: 8 })
        const progress = yield* Fiber.join(seen).pipe(Effect.timeout("5 seconds"))
        const first = progress.find((p) => p.etaMs !== undefined)!
        expect(first.done).toBe(1)
        // 7 left, 10 s each, 4 at once: 17.5 s (the pace of ended items over the time elapsed said 70 s)
        expect(first.etaMs).toBe(17_500)
      }).pipe(Effect.scoped, Effect.provide(TestClock.layer())), 30_000)

    it.effect("the progress stream counts items, in flight, tokens and cost, and ends when the job does", () =>
      Effect.gen(function*() {
        const mark = marker("job-progress")
        yield* scriptJob(mark, () => ({ delayMs: 2 }))
        const handle = yield* BamlJob.start(
          resumeJob(mark, names(6), {
            concurrency: 2,
            prices: { perMillionInputTokens: 1_000_000, perMillionOutputTokens: 2_000_000 }
          })
        )
        const seen = yield* handle.progress.pipe(Stream.runCollect, Effect.forkChild)
        const summary = yield* handle.await
        const progress = yield* Fiber.join(seen).pipe(
          Effect.timeoutOrElse({ duration: "10 seconds", orElse: () => Effect.fail(new Error("progress never ended")) })
        )
        const last = progress[progress.length - 1]!
        expect(summary.succeeded).toBe(6)
        expect(last).toMatchObject({ total: 6, done: 6, succeeded: 6, failed: 0, inFlight: 0, state: "completed" })
        expect(last.etaMs).toBe(0)
        expect(progress.some((p) => p.etaMs !== undefined && p.etaMs > 0)).toBe(true)
        expect(Math.max(...progress.map((p) => p.inFlight))).toBe(2)
        for (let i = 1; i < progress.length; i++) {
          expect(progress[i]!.done).toBeGreaterThanOrEqual(progress[i - 1]!.done)
        }
        // tokens as the provider counted them, and the cost at these prices (1 and 2 per token)
        expect((yield* requestsFor(mark)).length).toBe(6)
        expect(last.outputTokens).toBeGreaterThan(0)
        expect(last.inputTokens).toBeGreaterThan(0)
        expect(last.cost).toBeCloseTo(last.inputTokens + 2 * last.outputTokens, 6)
        // two changes per item at most (it starts; it ends, with its tokens), besides the first and the last element
        expect(progress.length).toBeLessThanOrEqual(2 * 6 + 2)
      }).pipe(Effect.scoped), 30_000)
  })

  describe("progress bar", () => {
    /** A writable stream that keeps what is written, as a terminal or as a pipe. */
    const sink = (isTTY: boolean) => {
      const chunks: Array<string> = []
      const output = new Writable({
        write(chunk, _encoding, callback) {
          chunks.push(String(chunk))
          callback()
        }
      })
      return { output: Object.assign(output, { isTTY }), text: () => chunks.join("") }
    }

    it.effect("on a terminal, the bar is drawn until the job ends, with the counts", () =>
      Effect.gen(function*() {
        const mark = marker("job-bar")
        yield* scriptJob(mark)
        const { output, text } = sink(true)
        const handle = yield* BamlJob.start(resumeJob(mark, names(3)))
        const bar = yield* BamlJob.progressBar(handle.progress, { output }).pipe(Effect.forkChild)
        yield* handle.await
        yield* Fiber.join(bar).pipe(Effect.timeout("10 seconds"))
        expect(text()).toContain("3/3 done | 0 in flight")
        expect(text()).toContain("completed")
        expect(text()).toContain("100%")
      }).pipe(Effect.scoped), 30_000)

    it.effect("without cli-progress installed: a warning once, and a line each time an item ends", () =>
      Effect.gen(function*() {
        const mark = marker("job-bar-missing")
        yield* scriptJob(mark)
        const warnings: Array<string> = []
        const logger = Logger.make<unknown, void>(({ logLevel, message }) => {
          if (logLevel === "Warn") warnings.push(String(message))
        })
        yield* Effect.sync(() =>
          vi.doMock("cli-progress", () => {
            throw new Error("Cannot find package 'cli-progress'")
          })
        )
        for (const round of [1, 2]) {
          const { output, text } = sink(true)
          const handle = yield* BamlJob.start(resumeJob(`${mark}-${round}`, names(3)))
          const bar = yield* BamlJob.progressBar(handle.progress, { output }).pipe(
            Effect.provide(Logger.layer([logger])),
            Effect.forkChild
          )
          yield* handle.await
          const exit = yield* Fiber.await(bar).pipe(Effect.timeout("10 seconds"))
          expect(Exit.isSuccess(exit)).toBe(true)
          const lines = text().trim().split("\n")
          expect(lines[0]).toMatch(/^0\/3 done/)
          expect(lines.filter((line) => /^3\/3 done/.test(line)).length).toBeGreaterThanOrEqual(1)
          expect(lines[lines.length - 1]).toMatch(/^3\/3 done .*completed$/)
          expect(lines.length).toBeLessThanOrEqual(5)
        }
        expect(warnings.length).toBe(1)
        expect(warnings[0]).toContain("npm i cli-progress")
      }).pipe(
        Effect.ensuring(Effect.sync(() => vi.doUnmock("cli-progress"))),
        Effect.scoped
      ), 30_000)

    it.effect("when the output is not a terminal, nothing is drawn", () =>
      Effect.gen(function*() {
        const mark = marker("job-bar-pipe")
        yield* scriptJob(mark)
        const { output, text } = sink(false)
        const handle = yield* BamlJob.start(resumeJob(mark, names(2)))
        const bar = yield* BamlJob.progressBar(handle.progress, { output }).pipe(Effect.forkChild)
        yield* handle.await
        yield* Fiber.join(bar).pipe(Effect.timeout("10 seconds"))
        expect(text()).toBe("")
      }).pipe(Effect.scoped), 30_000)

    it("describeSummary says why items failed: the count of each error's tag, and the first failure", () => {
      const failed = (key: string, index: number, error: BamlError.BamlError): BamlJob.ItemResult<unknown> => ({
        _tag: "Failed",
        key,
        index,
        error,
        stored: false
      })
      const unreachable = new BamlError.BamlClientError({ message: "no SCRIPTED_BASE_URL\nand more" })
      const line = BamlJob.describeSummary({
        succeeded: 1,
        failed: 3,
        results: [
          { _tag: "Succeeded", key: "a", index: 0, value: 1, stored: false },
          failed("b", 1, unreachable),
          failed("c", 2, new BamlError.BamlInvalidArgumentError({ message: "duplicate key" })),
          failed("d", 3, unreachable)
        ]
      })
      expect(line).toBe(
        "1 succeeded, 3 failed (BamlClientError: 2, BamlInvalidArgumentError: 1; first: b: no SCRIPTED_BASE_URL)"
      )
      expect(BamlJob.describeSummary({ succeeded: 2, failed: 0, results: [] })).toBe("2 succeeded, 0 failed")
    }, 5_000)

    it("describeProgress says where a job stands in words", () => {
      const line = BamlJob.describeProgress({
        total: 10,
        done: 4,
        succeeded: 3,
        failed: 1,
        inFlight: 2,
        stored: 1,
        retries: 0,
        inputTokens: 120,
        outputTokens: 80,
        cachedInputTokens: 0,
        cost: 0.5,
        elapsedMs: 1000,
        etaMs: 1500,
        state: "running"
      })
      expect(line).toBe("4/10 done | 2 in flight | 1 failed | 1 stored | 120 in / 80 out tokens | ~0.5000 | 2s left")
    }, 5_000)
  })

  describe("cancellation", () => {
    it.effect("interrupting the job aborts every request in flight: each is closed early", () =>
      Effect.gen(function*() {
        const mark = marker("job-interrupt")
        yield* scriptJob(mark, () => ({ firstByteDelayMs: 20_000 }))
        const fiber = yield* BamlJob.run(resumeJob(mark, names(6), { concurrency: 3 })).pipe(Effect.forkChild)
        yield* awaitFor(mark, (records) => open(records).length === 3)
        yield* Fiber.interrupt(fiber)
        const records = yield* settledAll(mark)
        expect(records.map((r) => r.status)).toEqual(["closed-early", "closed-early", "closed-early"])
      }), 30_000)

    it.effect("an interrupted job started again requests only the items without a stored result", () =>
      Effect.gen(function*() {
        const mark = marker("job-resume")
        // item0 and item1 end at once; item2 and item3 hang the first time, so that they are in flight
        yield* scriptJob(mark, (prompt, index) =>
          (prompt.includes(`${mark} item2`) || prompt.includes(`${mark} item3`)) && index < 4
            ? { firstByteDelayMs: 20_000 }
            : {})
        const job = resumeJob(mark, names(4), { concurrency: 2 })
        const fiber = yield* BamlJob.run(job).pipe(Effect.forkChild)
        yield* awaitFor(mark, (records) => records.length === 4 && open(records).length === 2)
        yield* Fiber.interrupt(fiber)
        expect((yield* settledAll(mark)).map((r) => r.status)).toEqual([
          "completed",
          "completed",
          "closed-early",
          "closed-early"
        ])
        const summary = yield* BamlJob.run(job)
        expect(summary.results.map((r) => [r.key, r._tag, r.stored])).toEqual([
          ["item0", "Succeeded", true],
          ["item1", "Succeeded", true],
          ["item2", "Succeeded", false],
          ["item3", "Succeeded", false]
        ])
        const records = yield* settledAll(mark)
        expect(records.length).toBe(6)
        for (const item of ["item0", "item1"]) {
          expect(records.filter((r) => r.prompt.includes(`${mark} ${item}`)).length).toBe(1)
        }
      }), 30_000)

    it.effect("cancel aborts every request in flight and ends the job with BamlJobCancelled", () =>
      Effect.gen(function*() {
        const mark = marker("job-cancel")
        // item0 ends at once; the others hang until they are aborted
        yield* scriptJob(mark, (prompt) => prompt.includes(`${mark} item0`) ? {} : { firstByteDelayMs: 20_000 })
        const handle = yield* BamlJob.start(resumeJob(mark, names(5), { concurrency: 2 }))
        yield* awaitFor(mark, (records) => open(records).length === 2 && records.length === 3)
        yield* handle.cancel
        const error = yield* Effect.flip(handle.await)
        expect(error).toBeInstanceOf(BamlJob.BamlJobCancelled)
        const records = yield* settledAll(mark)
        // item0 and item1 start together, in either order
        expect(records.map((r) => r.status).sort()).toEqual(["closed-early", "closed-early", "completed"])
        expect(records.find((r) => r.prompt.includes(`${mark} item0`))?.status).toBe("completed")
        // the engine replays the run to settle the cancel; item0 counts once
        expect(yield* handle.current).toMatchObject({ state: "stopped", done: 1, succeeded: 1, inFlight: 0 })
        expect((yield* handle.results).map((r) => r.key)).toEqual(["item0"])
        // cancelled for good: started again, it requests nothing and says so
        const again = yield* Effect.flip(BamlJob.run(resumeJob(mark, names(5), { concurrency: 2 })))
        expect(again).toBeInstanceOf(BamlJob.BamlJobCancelled)
        expect((yield* requestsFor(mark)).length).toBe(3)
      }).pipe(Effect.scoped), 30_000)

    /** The failure of a run of `job`, which must end within 5 seconds. */
    const runAgain = <I, A>(job: BamlJob.BamlJob<I, A>) =>
      BamlJob.run(job).pipe(
        Effect.timeoutOrElse({ duration: "5 seconds", orElse: () => Effect.die(new Error("it hangs")) }),
        Effect.flip
      )

    it.effect("a cancelled job started again at once ends as cancelled at once, and requests nothing", () =>
      Effect.gen(function*() {
        const mark = marker("job-cancel-again")
        yield* scriptJob(mark, () => ({ firstByteDelayMs: 20_000 }))
        const job = resumeJob(mark, names(4), { concurrency: 2 })
        yield* Effect.scoped(Effect.gen(function*() {
          const handle = yield* BamlJob.start(job)
          yield* awaitFor(mark, (records) => open(records).length === 2)
          yield* handle.cancel
          expect(yield* Effect.flip(handle.await)).toBeInstanceOf(BamlJob.BamlJobCancelled)
          // at once, while the start's scope is open
          expect(yield* runAgain(job)).toBeInstanceOf(BamlJob.BamlJobCancelled)
        }))
        // and after the start's scope closed
        expect(yield* runAgain(job)).toBeInstanceOf(BamlJob.BamlJobCancelled)
        expect((yield* requestsFor(mark)).length).toBe(2)
      }), 30_000)

    it.effect("BamlJob.cancel from elsewhere ends a running job as cancelled and aborts its requests; started again, it ends as cancelled at once", () =>
      Effect.gen(function*() {
        const mark = marker("job-cancel-outside")
        yield* scriptJob(mark, () => ({ firstByteDelayMs: 20_000 }))
        const job = resumeJob(mark, names(4), { concurrency: 2 })
        const fiber = yield* BamlJob.run(job).pipe(Effect.flip, Effect.forkChild)
        yield* awaitFor(mark, (records) => open(records).length === 2)
        yield* BamlJob.cancel(job)
        // started again at once, before the first run has ended
        expect(yield* runAgain(job)).toBeInstanceOf(BamlJob.BamlJobCancelled)
        expect(yield* Fiber.join(fiber)).toBeInstanceOf(BamlJob.BamlJobCancelled)
        const records = yield* settledAll(mark)
        expect(records.map((r) => r.status)).toEqual(["closed-early", "closed-early"])
        // and again after a pause
        yield* Effect.sleep("1 second")
        expect(yield* runAgain(job)).toBeInstanceOf(BamlJob.BamlJobCancelled)
        expect((yield* requestsFor(mark)).length).toBe(2)
      }), 30_000)
  })

  describe("retry policy", () => {
    const http = (statusCode: number) =>
      new BamlError.BamlClientHttpError({ message: "", clientName: "Scripted", detailedMessage: "", statusCode })
    const table: ReadonlyArray<[string, BamlError.BamlError, boolean]> = [
      ["429", http(429), true],
      ["500", http(500), true],
      ["503 (unreachable)", http(503), true],
      ["408", http(408), true],
      ["the engine's code for an unreadable reply", http(2), true],
      ["400", http(400), false],
      ["401", http(401), false],
      ["a timeout", new BamlError.BamlTimeoutError({ message: "", clientName: "Scripted", detailedMessage: "" }), true],
      ["a client that could not connect", new BamlError.BamlClientError({ message: "" }), true],
      [
        "a validation error",
        new BamlError.BamlValidationError({ message: "", prompt: "", rawOutput: "", detailedMessage: "" }),
        false
      ],
      ["an invalid argument", new BamlError.BamlInvalidArgumentError({ message: "" }), false]
    ]
    for (const [what, error, retryable] of table) {
      it(`${what} is ${retryable ? "" : "not "}retried`, () => {
        expect(BamlJob.isRetryable(error)).toBe(retryable)
      }, 5_000)
    }
  })

  describe("bad input", () => {
    it.effect("an unknown function fails the job at once with a typed error that names the functions there are", () =>
      Effect.gen(function*() {
        const mark = marker("job-unknown")
        const job = BamlJob.make({ name: mark, function: "ExtractResumes", inputs: [{ resume: mark }], key: () => "a" })
        const error = yield* Effect.flip(BamlJob.run(job))
        expect(error).toBeInstanceOf(BamlError.BamlRuntimeError)
        expect(error.message).toContain(`"ExtractResumes"`)
        expect(error.message).toContain("closest first: ExtractResume")
        expect((yield* requestsFor(mark)).length).toBe(0)
      }), 30_000)

    it.effect("a key or args function that throws fails that item alone, typed; the others run; the progress ends", () =>
      Effect.gen(function*() {
        const mark = marker("job-throws")
        yield* scriptJob(mark)
        const job = BamlJob.make({
          name: mark,
          function: "ExtractResume",
          inputs: ["ada", "bad-key", "grace", "bad-args", "alan"],
          key: (name) => {
            if (name === "bad-key") throw new Error("no key for this one")
            return name
          },
          args: (name) => {
            if (name === "bad-args") throw new Error("no args for this one")
            return { resume: `${mark} ${name}` }
          },
          concurrency: 2
        })
        const handle = yield* BamlJob.start(job)
        const seen = yield* handle.progress.pipe(Stream.runCollect, Effect.forkChild)
        const summary = yield* handle.await.pipe(Effect.timeout("15 seconds"))
        const progress = yield* Fiber.join(seen).pipe(Effect.timeout("5 seconds"))
        expect(summary).toMatchObject({ succeeded: 3, failed: 2 })
        expect(summary.results.map((r) => [r.key, r._tag])).toEqual([
          ["ada", "Succeeded"],
          ["#1", "Failed"],
          ["grace", "Succeeded"],
          ["bad-args", "Failed"],
          ["alan", "Succeeded"]
        ])
        const messages = summary.results.flatMap((r) => r._tag === "Failed" ? [r.error] : [])
        for (const error of messages) expect(error).toBeInstanceOf(BamlError.BamlInvalidArgumentError)
        expect(messages[0]!.message).toContain("no key for this one")
        expect(messages[1]!.message).toContain("no args for this one")
        expect(progress[progress.length - 1]).toMatchObject({ done: 5, inFlight: 0, state: "completed" })
        // not retried: one request per item that had arguments
        expect((yield* requestsFor(mark)).length).toBe(3)
      }).pipe(Effect.scoped), 30_000)

    it.effect("a function that dies fails that item alone; the job and its progress end", () =>
      Effect.gen(function*() {
        const mark = marker("job-dies")
        const job = BamlJob.make({
          name: mark,
          function: (n: number) => n === 2 ? Effect.die(new Error("boom")) : Effect.succeed(n * 10),
          inputs: [1, 2, 3],
          key: String
        })
        const handle = yield* BamlJob.start(job)
        const summary = yield* handle.await.pipe(Effect.timeout("15 seconds"))
        expect(summary).toMatchObject({ succeeded: 2, failed: 1 })
        const failed = summary.results[1]!
        expect(failed._tag === "Failed" && failed.error.message).toContain("boom")
        const last = yield* handle.progress.pipe(Stream.runLast, Effect.timeout("5 seconds"))
        expect(Option.getOrUndefined(last)?.state).toBe("completed")
      }).pipe(Effect.scoped), 30_000)

    it.effect("an inputs stream that dies ends the job with its defect, and the progress ends, stopped", () =>
      Effect.gen(function*() {
        const mark = marker("job-inputs-die")
        const job = BamlJob.make({
          name: mark,
          function: (n: number) => Effect.succeed(n),
          inputs: Stream.concat(Stream.make(1, 2), Stream.die(new Error("inputs broke"))),
          key: String
        })
        const handle = yield* BamlJob.start(job)
        const exit = yield* handle.await.pipe(Effect.timeout("15 seconds"), Effect.exit)
        expect(Exit.isFailure(exit) && String(exit.cause)).toContain("inputs broke")
        const last = yield* handle.progress.pipe(Stream.runLast, Effect.timeout("5 seconds"))
        expect(Option.getOrUndefined(last)?.state).toBe("stopped")
      }).pipe(Effect.scoped), 30_000)
  })
})
