/**
 * How a reply ends decides the outcome, the same for a call and a stream on every provider format the scripted
 * provider speaks: a stop for content (safety, recitation, a filter, a refusal) is a BamlClientFinishReasonError, a
 * stop for length is a value unless the client's deny list says otherwise, an error the provider sends inside its
 * reply is a BamlClientHttpError of the status its type stands for; the finish reason is in the usage either way.
 */
import {
  Baml, BamlError, BamlRuntime, describe, Effect, Exit, expect, failureOf, layer, Option, ScriptedProvider, Stream
} from "#line"
import { marker, providerClients, scriptFor, settledAll, TestLayer } from "./fixtures.js"

type Kind = "call" | "stream"
const kinds: ReadonlyArray<Kind> = ["call", "stream"]

/** Each format's own words for the stops below. */
const words: Readonly<Record<ScriptedProvider.WireFormat, {
  readonly normal: string
  readonly length: string
  readonly content: ReadonlyArray<string>
}>> = {
  "chat-completions": { normal: "stop", length: "length", content: ["content_filter"] },
  "anthropic-messages": { normal: "end_turn", length: "max_tokens", content: ["refusal"] },
  // the Responses API's incomplete reply gives its reason; a complete one is `completed`
  responses: { normal: "completed", length: "max_output_tokens", content: ["content_filter"] },
  gemini: { normal: "STOP", length: "MAX_TOKENS", content: ["SAFETY", "RECITATION"] }
}

const cutOff = "Sunny and wa"

/** Runs Summarize on `mark` as a call or a stream with `options`: its exit, what user code got, and its usage. */
const attempt = (kind: Kind, mark: string, options: Baml.Options) =>
  Effect.gen(function*() {
    const elements: Array<unknown> = []
    const push = (value: unknown) => Effect.sync(() => elements.push(value))
    const program: Effect.Effect<unknown, BamlError.BamlError, BamlRuntime.BamlRuntime> = kind === "call"
      ? Effect.tap(Baml.call("Summarize", { text: mark }, options), push)
      : Stream.runDrain(Stream.tap(Baml.stream("Summarize", { text: mark }, options), push))
    const [exit, usages] = yield* Baml.withUsage(Effect.exit(program))
    const records = yield* settledAll(mark)
    return { exit, elements, usage: usages[0]!, records }
  })

const errorOf = (exit: Exit.Exit<unknown, unknown>) => {
  const error = Exit.isFailure(exit) ? failureOf(exit.cause) : Option.none()
  expect(Option.isSome(error), `expected a typed failure, got ${JSON.stringify(exit)}`).toBe(true)
  return Option.getOrThrow(error) as BamlError.BamlError
}

/** A client of `provider` at the scripted provider, with `options` beside its usual ones. */
const registryWith = (baseUrl: string, provider: string, options: Record<string, unknown>) => {
  const clientRegistry = new Baml.ClientRegistry()
  clientRegistry.addLlmClient("Listed", provider, {
    base_url: baseUrl,
    model: "scripted-listed",
    api_key: "not-needed",
    ...options
  })
  return { clientRegistry, client: "Listed" }
}

layer(TestLayer, { timeout: "60 seconds", excludeTestServices: true })("Outcomes", (it) => {
  for (const { client, format, provider } of providerClients) {
    const said = words[format]
    describe(`${provider} (${format}), for Baml.call and Baml.stream`, () => {
      it.effect(`a reply that ends normally is the value, with its finish reason (${said.normal}) in the usage`, () =>
        Effect.forEach(kinds, (kind) =>
          Effect.gen(function*() {
            const mark = marker(`normal-${format}-${kind}`)
            yield* scriptFor(mark, { reply: "Sunny and warm", delayMs: 2 })
            const outcome = yield* attempt(kind, mark, { client })
            expect(Exit.isSuccess(outcome.exit)).toBe(true)
            expect(outcome.elements.at(-1)).toBe("Sunny and warm")
            expect(outcome.usage.finishReason).toBe(said.normal)
          }), { concurrency: "unbounded", discard: true }), 20_000)

      for (const reason of said.content) {
        it.effect(`a stop for ${reason} mid-reply is a BamlClientFinishReasonError, never the cut-off value`, () =>
          Effect.forEach(kinds, (kind) =>
            Effect.gen(function*() {
              const mark = marker(`content-${reason}-${format}-${kind}`)
              yield* scriptFor(mark, { reply: cutOff, delayMs: 2, finishReason: reason })
              const outcome = yield* attempt(kind, mark, { client })
              const error = errorOf(outcome.exit)
              expect(error._tag).toBe("BamlClientFinishReasonError")
              if (error._tag !== "BamlClientFinishReasonError") return
              expect(error.finishReason).toBe(reason)
              expect(error.rawOutput).toBe(cutOff)
              expect(error.prompt).toContain(mark)
              // the message names the reason; the reply and the prompt stay in their fields
              expect(error.message).toContain(reason)
              expect(error.message).not.toContain(cutOff)
              expect(error.message).not.toContain(mark)
              // a stream's partials are snapshots of the text so far; what never comes is a value that ends it
              if (kind === "call") expect(outcome.elements).toEqual([])
              expect(outcome.usage).toMatchObject({ outcome: "failure", error: "BamlClientFinishReasonError" })
              expect(outcome.usage.finishReason).toBe(reason)
            }), { concurrency: "unbounded", discard: true }), 20_000)
      }

      it.effect(`a stop for length (${said.length}) is the value without a deny list, with the reason in the usage`, () =>
        Effect.forEach(kinds, (kind) =>
          Effect.gen(function*() {
            const mark = marker(`length-${format}-${kind}`)
            yield* scriptFor(mark, { reply: cutOff, delayMs: 2, finishReason: said.length })
            const outcome = yield* attempt(kind, mark, { client })
            expect(Exit.isSuccess(outcome.exit)).toBe(true)
            expect(outcome.elements.at(-1)).toBe(cutOff)
            expect(outcome.usage.finishReason).toBe(said.length)
          }), { concurrency: "unbounded", discard: true }), 20_000)

      it.effect(`a stop for length that the client's finish_reason_deny_list denies is a BamlClientFinishReasonError`, () =>
        Effect.gen(function*() {
          const provider_ = yield* ScriptedProvider.ScriptedProvider
          // the Responses API's status (`incomplete`) counts as its reason too, as the engine compares it
          for (const denyList of [[said.length], format === "responses" ? ["incomplete"] : [said.length]]) {
            yield* Effect.forEach(kinds, (kind) =>
              Effect.gen(function*() {
                const mark = marker(`denied-${format}-${kind}`)
                yield* scriptFor(mark, { reply: cutOff, delayMs: 2, finishReason: said.length })
                const options = registryWith(provider_.baseUrl, provider, { finish_reason_deny_list: denyList })
                const outcome = yield* attempt(kind, mark, options)
                const error = errorOf(outcome.exit)
                expect(error._tag).toBe("BamlClientFinishReasonError")
                if (error._tag === "BamlClientFinishReasonError") {
                  expect(error.finishReason).toBe(said.length)
                  expect(error.rawOutput).toBe(cutOff)
                  expect(error.message).not.toContain(cutOff)
                }
              }), { concurrency: "unbounded", discard: true })
          }
        }), 20_000)

      it.effect("a finish reason the client's finish_reason_allow_list allows is the value; another is an error", () =>
        Effect.gen(function*() {
          const provider_ = yield* ScriptedProvider.ScriptedProvider
          yield* Effect.forEach(kinds, (kind) =>
            Effect.gen(function*() {
              const options = registryWith(provider_.baseUrl, provider, { finish_reason_allow_list: [said.normal] })
              const allowed = marker(`allowed-${format}-${kind}`)
              yield* scriptFor(allowed, { reply: "Sunny and warm", delayMs: 2 })
              expect(Exit.isSuccess((yield* attempt(kind, allowed, options)).exit)).toBe(true)
              const other = marker(`not-allowed-${format}-${kind}`)
              yield* scriptFor(other, { reply: cutOff, delayMs: 2, finishReason: said.length })
              expect(errorOf((yield* attempt(kind, other, options)).exit)._tag).toBe("BamlClientFinishReasonError")
            }), { concurrency: "unbounded", discard: true })
        }), 20_000)

      // Anthropic has a type for 529 (`overloaded_error`); the other formats' types stand for 500 or 503
      for (const status of format === "anthropic-messages" ? [529, 500, 429] : [500, 429]) {
        it.effect(`an error of status ${status} inside the reply is a retryable BamlClientHttpError ${status}`, () =>
          Effect.forEach(kinds, (kind) =>
            Effect.gen(function*() {
              const mark = marker(`error-event-${status}-${format}-${kind}`)
              yield* scriptFor(mark, {
                reply: "Sunny and warm, with a light breeze",
                chunkSize: 4,
                delayMs: 2,
                fault: { _tag: "ErrorEvent", afterChunks: 3, status, message: "the provider gave up" }
              })
              const outcome = yield* attempt(kind, mark, { client })
              const error = errorOf(outcome.exit)
              expect(error._tag).toBe("BamlClientHttpError")
              if (error._tag !== "BamlClientHttpError") return
              expect(error.statusCode).toBe(status)
              expect(error.retryable).toBe(true)
              expect(error.errorType).toBeDefined()
              expect(error.message).not.toMatch(/reqwest|LLMErrorResponse/)
              expect(error.message).not.toContain(mark)
              expect(outcome.records.map((r) => r.status)).toEqual(["failed"])
              expect(outcome.usage).toMatchObject({ outcome: "failure", error: "BamlClientHttpError" })
            }), { concurrency: "unbounded", discard: true }), 20_000)
      }
    })
  }

  it.effect("an overloaded Anthropic (HTTP 529) says so in fields: errorType, retryable, retryAfterSeconds", () =>
    Effect.forEach(kinds, (kind) =>
      Effect.gen(function*() {
        const mark = marker(`overloaded-${kind}`)
        yield* scriptFor(mark, {
          reply: "unused",
          fault: { _tag: "HttpError", status: 529, retryAfterSeconds: 7 }
        })
        const error = errorOf((yield* attempt(kind, mark, { client: "ScriptedAnthropic" })).exit)
        expect(error).toMatchObject({
          _tag: "BamlClientHttpError",
          statusCode: 529,
          errorType: "overloaded_error",
          retryable: true,
          retryAfterSeconds: 7
        })
      }), { concurrency: "unbounded", discard: true }), 20_000)

  it.effect("a 404 with an empty body: a short message with the status, without the prompt, for a call and a stream", () =>
    Effect.forEach(kinds, (kind) =>
      Effect.gen(function*() {
        const mark = marker(`empty-404-${kind}`)
        yield* scriptFor(mark, { reply: "unused", fault: { _tag: "HttpError", status: 404, body: "" } })
        const error = errorOf((yield* attempt(kind, mark, {})).exit)
        expect(error).toMatchObject({ _tag: "BamlClientHttpError", statusCode: 404, retryable: false })
        expect(error.message).toContain("404")
        expect(error.message).not.toContain(mark)
        expect(error.message).not.toMatch(/LLMErrorResponse|RenderedChatMessage|Summarize in one paragraph/)
        if (error._tag === "BamlClientHttpError") expect(error.detailedMessage).not.toContain(mark)
      }), { concurrency: "unbounded", discard: true }), 20_000)

  it.effect("ScriptedStrict's deny list in baml_src: a reply cut by length is a BamlClientFinishReasonError both ways", () =>
    Effect.forEach(kinds, (kind) =>
      Effect.gen(function*() {
        const mark = marker(`strict-${kind}`)
        yield* scriptFor(mark, { reply: cutOff, delayMs: 2, finishReason: "length" })
        const error = errorOf((yield* attempt(kind, mark, { client: "ScriptedStrict" })).exit)
        expect(error).toMatchObject({ _tag: "BamlClientFinishReasonError", finishReason: "length", rawOutput: cutOff })
      }), { concurrency: "unbounded", discard: true }), 20_000)
})
