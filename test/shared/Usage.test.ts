/** `Baml.withUsage` and `Baml.callWithUsage`: usage as a value, with the result, without a metric reader. */
import { Collector } from "@boundaryml/baml"
import {
  Baml, BamlError, BamlRuntime, describe, Effect, Exit, expect, Fiber, forkChild, layer, ScriptedProvider, Stream,
  TokenBudget
} from "#line"
import { countTokens, decode, encode } from "gpt-tokenizer/encoding/o200k_base"
import {
  longResume,
  marker,
  scriptFor,
  scriptLong,
  sentAtLeast,
  settled,
  settledAll,
  shortResume,
  TestLayer
} from "./fixtures.js"

const resume = shortResume("Ada Lovelace")

const reply = (options: Omit<ScriptedProvider.Script, "reply"> = {}) =>
  ScriptedProvider.json(resume, { delayMs: 1, chunkSize: 8, ...options })

layer(TestLayer, { timeout: "60 seconds", excludeTestServices: true })("Usage", (it) => {
  describe("Baml.callWithUsage", () => {
    it.effect("returns the parsed result with the provider's counts, the client and the attempts", () =>
      Effect.gen(function*() {
        const mark = marker("usage-call")
        yield* scriptFor(mark, reply())
        const [value, usage] = yield* Baml.callWithUsage("ExtractResume", { resume: mark })
        expect(value).toEqual(resume)
        const record = yield* settled(mark)
        expect(usage).toMatchObject({
          kind: "call",
          functionName: "ExtractResume",
          client: "Scripted",
          provider: "openai-generic",
          attempts: 1,
          outcome: "success",
          aborted: false,
          inputTokens: Math.ceil(record.prompt.length / 4),
          outputTokens: record.planned,
          cachedInputTokens: 0,
          reported: { inputTokens: true, outputTokens: true, cachedInputTokens: false },
          events: 0,
          timeToFirstPartialMs: undefined
        })
        expect(usage.characters).toBe(JSON.stringify(resume, null, 2).length)
        expect(usage.durationMs).toBeGreaterThan(0)
      }), 20_000)

    it.effect("after retries: every attempt is counted, and only the one that answered used tokens", () =>
      Effect.gen(function*() {
        const mark = marker("usage-retries")
        yield* scriptFor(mark, reply({ fault: { _tag: "HttpError", status: 429, times: 2 } }))
        const [, usage] = yield* Baml.callWithUsage("ExtractResume", { resume: mark }, { client: "ScriptedRetrying" })
        const records = yield* settledAll(mark)
        expect(records.map((r) => r.status)).toEqual(["failed", "failed", "completed"])
        expect(usage).toMatchObject({
          client: "ScriptedRetrying",
          attempts: 3,
          inputTokens: Math.ceil(records[2]!.prompt.length / 4),
          outputTokens: records[2]!.planned,
          reported: { inputTokens: true, outputTokens: true }
        })
      }), 20_000)
  })

  describe("Baml.withUsage", () => {
    it.effect("a stream cut short by an interrupt: aborted, with the tokens received estimated", () =>
      Effect.gen(function*() {
        const mark = marker("usage-interrupt")
        yield* scriptLong(mark)
        const [, usages] = yield* Baml.withUsage(Effect.gen(function*() {
          const fiber = yield* forkChild(Stream.runDrain(Baml.stream("ExtractResume", { resume: mark })))
          yield* sentAtLeast(mark, 30)
          yield* Fiber.interrupt(fiber)
        }))
        const record = yield* settled(mark)
        expect(record.status).toBe("closed-early")
        expect(usages).toHaveLength(1)
        const [usage] = usages
        expect(usage).toMatchObject({
          kind: "stream",
          outcome: "interrupted",
          aborted: true,
          reported: { inputTokens: false, outputTokens: false, cachedInputTokens: false }
        })
        // one token per chunk of four characters: the estimate is what arrived (the engine may lag behind the provider)
        expect(usage!.characters).toBeGreaterThanOrEqual(40)
        expect(usage!.characters).toBeLessThanOrEqual(record.sent * 4)
        expect(Math.abs(usage!.outputTokens - usage!.characters / 4)).toBeLessThanOrEqual(1)
        // the input tokens are estimated from the request's text
        expect(Math.abs(usage!.inputTokens - Math.ceil(record.prompt.length / 4))).toBeLessThanOrEqual(3)
      }), 20_000)

    it.effect("a stream cut off by a budget, and a failed call, are there with Effect.exit", () =>
      Effect.gen(function*() {
        const [long, failing] = [marker("usage-budget"), marker("usage-failed")]
        yield* scriptLong(long)
        yield* scriptFor(failing, reply({ fault: { _tag: "HttpError", status: 500 } }))
        const [exits, usages] = yield* Baml.withUsage(Effect.all([
          Effect.exit(Stream.runDrain(
            Baml.stream("ExtractResume", { resume: long }).pipe(TokenBudget.limitStream({ maxOutputTokens: 20 }))
          )),
          Effect.exit(Baml.call("ExtractResume", { resume: failing }))
        ]))
        expect(exits.map(Exit.isFailure)).toEqual([true, true])
        expect(usages.map((usage) => [usage.kind, usage.outcome, usage.error, usage.aborted])).toEqual([
          ["stream", "failure", "BudgetExceeded", true],
          ["call", "failure", "BamlClientHttpError", false]
        ])
        expect(usages[0]!.outputTokens).toBeGreaterThanOrEqual(20)
        expect(usages[0]!.outputTokens).toBeLessThanOrEqual(20 + 15)
        expect(usages[1]).toMatchObject({ outputTokens: 0, inputTokens: 0, attempts: 1 })
      }), 20_000)

    it.effect("with a tokenizer (BamlRuntime's countTokens), an aborted stream's estimate is the tokens it received", () =>
      Effect.gen(function*() {
        const mark = marker("usage-tokenizer")
        const provider = yield* ScriptedProvider.ScriptedProvider
        // four real tokens per event, as providers that send several at once do
        const reply = JSON.stringify(longResume("Ada Lovelace"), null, 2)
        const tokens = encode(reply)
        const chunks = Array.from({ length: Math.ceil(tokens.length / 4) }, (_, i) => decode(tokens.slice(i * 4, i * 4 + 4)))
        yield* scriptFor(mark, { reply, chunks, delayMs: 5 })
        const Runtime = BamlRuntime.layerFromDirectory("baml_src", {
          env: { SCRIPTED_BASE_URL: provider.baseUrl },
          countTokens
        })
        const [, [usage]] = yield* Baml.withUsage(Effect.gen(function*() {
          const fiber = yield* forkChild(Stream.runDrain(Baml.stream("ExtractResume", { resume: mark })))
          yield* sentAtLeast(mark, 40)
          yield* Fiber.interrupt(fiber)
        })).pipe(Effect.provide(Runtime))
        const record = yield* settled(mark)
        expect(record.status).toBe("closed-early")
        expect(usage).toMatchObject({ aborted: true, reported: { outputTokens: false } })
        // What arrived is the first `k` chunks (the engine may lag behind what the provider wrote): the tokenizer
        // counts their 4k tokens, give or take one where a chunk boundary re-tokenizes.
        let k = 0
        for (let length = 0; length < usage!.characters; k++) length += chunks[k]!.length
        expect(chunks.slice(0, k).join("").length).toBe(usage!.characters)
        expect(k).toBeGreaterThanOrEqual(10)
        expect(k).toBeLessThanOrEqual(record.sent)
        expect(Math.abs(usage!.outputTokens - 4 * k)).toBeLessThanOrEqual(2)
        // characters / 4 would have said about a fifth less for pretty-printed JSON
        expect(Math.ceil(usage!.characters / 4)).toBeLessThan(4 * k - 4)
      }), 20_000)

    it.effect("nested: the inner sees its own calls, the outer sees them all", () =>
      Effect.gen(function*() {
        const mark = marker("usage-nested")
        yield* scriptFor(mark, reply())
        const call = Baml.call("ExtractResume", { resume: mark })
        const [[, inner], outer] = yield* Baml.withUsage(
          Effect.andThen(call, Baml.withUsage(Effect.all([call, Stream.runLast(Baml.stream("ExtractResume", { resume: mark }))])))
        )
        expect(inner.map((usage) => usage.kind)).toEqual(["call", "stream"])
        expect(outer.map((usage) => usage.kind)).toEqual(["call", "call", "stream"])
        expect(outer.slice(1)).toEqual(inner)
      }), 20_000)
  })
  describe("how a call or stream is counted when it did not run its course, or its record cannot be read", () => {
    it.effect("a call with no BamlRuntime provided is there as a failure (a defect), not as aborted", () =>
      Effect.gen(function*() {
        const missing = Baml.call("Summarize", { text: "x" }) as Effect.Effect<unknown, BamlError.BamlError>
        // run on its own, outside the layer this file provides
        const [exit, usages] = yield* Effect.promise(() => Effect.runPromise(Baml.withUsage(Effect.exit(missing))))
        expect(Exit.isFailure(exit)).toBe(true)
        expect(usages.map((usage) => [usage.kind, usage.functionName, usage.outcome, usage.error, usage.aborted]))
          .toEqual([["call", "Summarize", "failure", "Defect", false]])
        expect(usages[0]).toMatchObject({ attempts: 0, events: 0, inputTokens: 0, outputTokens: 0 })
      }), 20_000)

    it.effect("a call whose usage the engine cannot report still counts, with its outcome and no tokens", () =>
      Effect.gen(function*() {
        const mark = marker("usage-unreadable")
        yield* scriptFor(mark, reply())
        // the engine's record of a call is read natively, through the Collector's `last`
        const last = Object.getOwnPropertyDescriptor(Collector.prototype, "last")!
        const [value, usage] = yield* Effect.acquireUseRelease(
          Effect.sync(() =>
            Object.defineProperty(Collector.prototype, "last", {
              ...last,
              get: () => {
                throw new Error("the engine's record cannot be read")
              }
            })
          ),
          () => Baml.callWithUsage("ExtractResume", { resume: mark }),
          () => Effect.sync(() => Object.defineProperty(Collector.prototype, "last", last))
        )
        expect(value).toEqual(resume)
        expect(usage).toMatchObject({
          kind: "call",
          outcome: "success",
          aborted: false,
          attempts: 0,
          inputTokens: 0,
          outputTokens: 0,
          reported: { inputTokens: false, outputTokens: false }
        })
      }), 20_000)

    it.effect("a stream refused before it started is there as a failure with its error, not as aborted", () =>
      Effect.gen(function*() {
        const [exit, usages] = yield* Baml.withUsage(
          Effect.exit(Stream.runDrain(Baml.stream("ExtractResume", { resume: 42 })))
        )
        expect(Exit.isFailure(exit)).toBe(true)
        expect(usages.map((usage) => [usage.kind, usage.outcome, usage.error, usage.aborted, usage.events]))
          .toEqual([["stream", "failure", "BamlInvalidArgumentError", false, 0]])
      }), 20_000)

    it.effect("a stream its consumer left after one partial (Stream.take) is there as interrupted and aborted", () =>
      Effect.gen(function*() {
        const mark = marker("usage-take")
        yield* scriptLong(mark)
        // the consumer succeeds: it had what it wanted; the request was still running
        const [taken, [usage]] = yield* Baml.withUsage(
          Stream.runCollect(Stream.take(Baml.stream("ExtractResume", { resume: mark }), 1))
        )
        expect(Array.from(taken)).toHaveLength(1)
        const record = yield* settled(mark)
        expect(record.status).toBe("closed-early")
        expect(usage).toMatchObject({ kind: "stream", outcome: "interrupted", error: undefined, aborted: true })
        expect(usage!.timeToFirstPartialMs).toBeGreaterThan(0)
      }), 20_000)
  })
})
