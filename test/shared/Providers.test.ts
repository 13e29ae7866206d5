/**
 * Every provider format the scripted provider speaks, through a real BAML client of that provider (only its base_url
 * points at the scripted provider): replies, the provider's own usage, its error bodies and faults, streams cut short,
 * and a token budget over a sequence of streams.
 */
import {
  Baml, BamlError, BamlRuntime, describe, DurationInput, Effect, Exit, expect, failureOf, layer, Option,
  ScriptedProvider, Stream, Success, timeoutErrorTag, TokenBudget
} from "#line"
import { marker, providerClients, scriptFor, settledAll, shortResume, TestLayer } from "./fixtures.js"

type Kind = "call" | "stream"
const kinds: ReadonlyArray<Kind> = ["call", "stream"]

const resume = shortResume("Ada Lovelace")
const reply = (options: Omit<ScriptedProvider.Script, "reply"> = {}) =>
  ScriptedProvider.json(resume, { delayMs: 2, chunkSize: 16, ...options })

/** Runs ExtractResume on `mark` as a call or a stream with `client`, with the usage and the provider's records. */
const attempt = (kind: Kind, mark: string, client: string, timeout?: DurationInput) =>
  Effect.gen(function*() {
    const elements: Array<unknown> = []
    const push = (value: unknown) => Effect.sync(() => elements.push(value))
    const options = { client }
    const program: Effect.Effect<unknown, BamlError.BamlError, BamlRuntime.BamlRuntime> = kind === "call"
      ? Effect.tap(Baml.call("ExtractResume", { resume: mark }, options), push)
      : Stream.runDrain(Stream.tap(Baml.stream("ExtractResume", { resume: mark }, options), push))
    const [exit, usages] = yield* Baml.withUsage(
      Effect.exit(timeout === undefined ? program : Effect.timeout(program, timeout))
    )
    const records = yield* settledAll(mark)
    return { exit, elements, usage: usages[0]!, records }
  })

const errorOf = (exit: Exit.Exit<unknown, unknown>) => {
  const error = Exit.isFailure(exit) ? failureOf(exit.cause) : Option.none()
  expect(Option.isSome(error), `expected a typed failure, got ${JSON.stringify(exit)}`).toBe(true)
  return Option.getOrThrow(error) as { readonly _tag: string; readonly message: string }
}

const expectHttpError = (exit: Exit.Exit<unknown, unknown>, statusCode: number) => {
  const error = errorOf(exit)
  expect(error._tag).toBe("BamlClientHttpError")
  if (!(error instanceof BamlError.BamlClientHttpError)) throw new Error(`expected BamlClientHttpError: ${error._tag}`)
  expect(error.statusCode).toBe(statusCode)
  return error
}

/** Each fault of the Faults matrix, for one kind; `check` sees the outcome. */
const faults: ReadonlyArray<{
  readonly name: string
  readonly script: ScriptedProvider.Script
  readonly timeout?: DurationInput
  readonly check: (outcome: Success<ReturnType<typeof attempt>>, kind: Kind, format: string) => void
}> = [
  {
    name: "HTTP 429 with Retry-After: a BamlClientHttpError 429 quoting the provider's own error body, sent once",
    script: reply({ fault: { _tag: "HttpError", status: 429, retryAfterSeconds: 1 } }),
    check: (outcome) => {
      const error = expectHttpError(outcome.exit, 429)
      expect(error.rawResponse ?? error.message).toMatch(/rate_limit_error|RESOURCE_EXHAUSTED/)
      expect(outcome.records.map((r) => r.status)).toEqual(["failed"])
      // a refused request used nothing, and says so
      expect(outcome.usage).toMatchObject({ inputTokens: 0, outputTokens: 0, attempts: 1 })
    }
  },
  {
    name: "HTTP 500: a BamlClientHttpError 500",
    script: reply({ fault: { _tag: "HttpError", status: 500 } }),
    check: (outcome) => void expectHttpError(outcome.exit, 500)
  },
  {
    name: "a connection dropped mid-reply: a BamlClientHttpError, after what had arrived",
    script: reply({ delayMs: 5, chunkSize: 4, fault: { _tag: "DropConnection", afterChunks: 30 } }),
    check: (outcome, kind, format) => {
      const error = expectHttpError(outcome.exit, 2)
      expect(error.message).toMatch(/IncompleteMessage|UnexpectedEof|transport|error decoding|connection/i)
      expect(outcome.records.map((r) => [r.status, r.sent])).toEqual([["failed", 30]])
      if (kind === "stream") {
        // Gemini counts the tokens so far on every event; from the others no usage came, and the 30 chunks that did
        // are estimated, never fewer than the events with text
        expect(outcome.usage.reported.outputTokens).toBe(format === "gemini")
        expect(outcome.usage.outputTokens).toBeGreaterThanOrEqual(30)
        expect(outcome.usage.outputTokens).toBeLessThanOrEqual(31)
        expect(outcome.usage.characters).toBe(120)
      }
    }
  },
  {
    name: "a malformed event (or body): a BamlClientHttpError",
    script: reply({ fault: { _tag: "MalformedSse", afterChunks: 10 } }),
    check: (outcome) => {
      expect(errorOf(outcome.exit)._tag).toMatch(/BamlClientHttpError|BamlValidationError/)
      expect(outcome.records.map((r) => r.status)).toEqual(["failed"])
    }
  },
  {
    name: `a stall under Effect.timeout: a ${timeoutErrorTag}, and the stalled request is closed`,
    script: reply({ fault: { _tag: "Stall", afterChunks: 5 } }),
    timeout: "500 millis",
    check: (outcome) => {
      expect(errorOf(outcome.exit)._tag).toBe(timeoutErrorTag)
      expect(outcome.records.map((r) => [r.status, r.closedEarly])).toEqual([["closed-early", true]])
      expect(outcome.usage).toMatchObject({ aborted: true, outcome: "interrupted" })
    }
  },
  {
    name: "a slow first byte is only slow: the whole value",
    script: reply({ firstByteDelayMs: 300 }),
    check: (outcome, kind) => {
      expect(Exit.isSuccess(outcome.exit)).toBe(true)
      expect(outcome.elements.at(-1)).toEqual(resume)
      if (kind === "stream") expect(outcome.elements.length).toBeGreaterThan(1)
    }
  }
]

layer(TestLayer, { timeout: "60 seconds", excludeTestServices: true })("Providers", (it) => {
  for (const { client, format, provider } of providerClients) {
    describe(`${provider} (${format})`, () => {
      it.effect("a call and a stream return the value, with the provider's own usage: input, output and cached", () =>
        Effect.gen(function*() {
          for (const kind of kinds) {
            const mark = marker(`usage-${format}-${kind}`)
            yield* scriptFor(mark, reply({ cachedInputTokens: 5 }))
            const outcome = yield* attempt(kind, mark, client)
            expect(Exit.isSuccess(outcome.exit)).toBe(true)
            expect(outcome.elements.at(-1)).toEqual(resume)
            const [record] = outcome.records
            expect(record).toMatchObject({ format, stream: kind === "stream", status: "completed" })
            // the scripted provider counts a token per chunk, and one per four characters of prompt
            expect(outcome.usage).toMatchObject({
              kind,
              client,
              provider,
              attempts: 1,
              outcome: "success",
              aborted: false,
              outputTokens: record!.planned,
              inputTokens: Math.ceil(record!.prompt.length / 4),
              cachedInputTokens: 5,
              reported: { inputTokens: true, outputTokens: true, cachedInputTokens: true },
              requestModel: record!.model,
              responseModel: record!.model
            })
          }
        }), 20_000)

      it.effect("a stream cut short by Stream.take is aborted; its usage says how far it got, estimated", () =>
        Effect.gen(function*() {
          const mark = marker(`take-${format}`)
          yield* scriptFor(mark, ScriptedProvider.json(shortResume("Ada Lovelace"), { delayMs: 20, chunkSize: 4 }))
          const [taken, [usage]] = yield* Baml.stream("ExtractResume", { resume: mark }, { client }).pipe(
            Stream.take(2),
            Stream.runCollect,
            Baml.withUsage
          )
          expect(Array.from(taken)).toHaveLength(2)
          const [record] = yield* settledAll(mark)
          expect(record!.status).toBe("closed-early")
          expect(usage).toMatchObject({ kind: "stream", client, aborted: true, outcome: "interrupted" })
          // Gemini counts the tokens so far on every event; the others report only at the end
          expect(usage!.reported.outputTokens).toBe(format === "gemini")
          expect(usage!.outputTokens).toBeGreaterThan(0)
          expect(usage!.outputTokens).toBeLessThanOrEqual(record!.sent)
          expect(usage!.outputTokens).toBeLessThan(record!.planned)
          expect(usage!.characters).toBeGreaterThanOrEqual(usage!.outputTokens)
        }), 20_000)

      it.effect("a token budget stops a sequence of streams once the provider's counts reach it", () =>
        Effect.gen(function*() {
          const mark = marker(`budget-sequence-${format}`)
          // 15 chunks of four characters: 15 output tokens per stream
          yield* scriptFor(mark, { reply: "Ada Lovelace wrote the first program, for the Analytical En", delayMs: 5 })
          const exits = yield* Effect.gen(function*() {
            const exits: Array<Exit.Exit<unknown, unknown>> = []
            for (let i = 0; i < 5; i++) {
              exits.push(yield* Effect.exit(Stream.runLast(Baml.stream("Summarize", { text: mark }, { client }))))
            }
            return [exits, yield* Effect.flatMap(TokenBudget.TokenBudget, (budget) => budget.used)] as const
          }).pipe(TokenBudget.limit({ maxOutputTokens: 40 }))
          const [results, used] = exits
          expect(results.map((exit) => exit._tag)).toEqual(["Success", "Success", "Failure", "Failure", "Failure"])
          const errors = results.slice(2).map((exit) => errorOf(exit) as BamlError.BudgetExceeded)
          expect(errors.map((error) => error._tag)).toEqual(["BudgetExceeded", "BudgetExceeded", "BudgetExceeded"])
          // The third was cut off as it went. The budget counts one token per event while a stream runs (Anthropic and
          // the Responses API open with events that carry no text), and the provider's count when it ends: a stream
          // started with a token or two left is cut off before its first text; one started with none left is refused.
          expect(errors[0]!.callOutputTokens).toBeGreaterThan(0)
          const records = yield* settledAll(mark)
          expect(records.slice(0, 2).map((r) => r.status)).toEqual(["completed", "completed"])
          expect(records.slice(2).every((r) => r.status === "closed-early")).toBe(true)
          expect(used.outputTokens).toBeGreaterThanOrEqual(35)
          expect(used.outputTokens).toBeLessThanOrEqual(45)
        }), 20_000)

      describe("faults, for Baml.call and Baml.stream", () => {
        for (const fault of faults) {
          it.effect(fault.name, () =>
            Effect.forEach(kinds, (kind) =>
              Effect.gen(function*() {
                const mark = marker(`fault-${format}-${kind}`)
                yield* scriptFor(mark, fault.script)
                fault.check(yield* attempt(kind, mark, client, fault.timeout), kind, format)
              }), { concurrency: "unbounded", discard: true }), 20_000)
        }
      })
    })
  }
})
