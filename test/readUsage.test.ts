/**
 * Usage read from the engine's Collector (src/core/usage/usage.ts, shared by both lines), on logs made here: every
 * provider format, the provider's counts against the engine's and against what arrived, retries and refusals.
 */
import type { FunctionLog } from "@boundaryml/baml/native"
import { describe, expect, it } from "@effect/vitest"
import { estimateTokens, readUsage } from "../src/core/usage/usage.js"

const notJson = Symbol("not JSON")
const bodyOf = (value: unknown) => ({
  json: () => {
    if (value === notJson) throw new SyntaxError("not JSON")
    return value
  }
})

interface Fake {
  readonly client?: string
  readonly provider?: string
  readonly selected?: boolean
  readonly status?: number
  readonly request?: unknown
  readonly url?: string
  readonly engine?: { inputTokens?: number | null; outputTokens?: number | null; cachedInputTokens?: number | null }
}

const common = (fake: Fake) => ({
  clientName: fake.client ?? "Scripted",
  provider: fake.provider ?? "openai-generic",
  selected: fake.selected ?? false,
  httpRequest: { url: fake.url ?? "http://127.0.0.1/v1/chat/completions", body: bodyOf(fake.request ?? {}) },
  usage: fake.engine === undefined
    ? null
    : { inputTokens: null, outputTokens: null, cachedInputTokens: null, ...fake.engine }
})

/** A streamed attempt: its events, as the engine keeps them (a string is a line that is not JSON). */
const streamed = (events: ReadonlyArray<unknown>, fake: Fake = {}) => ({
  ...common(fake),
  httpResponse: { status: fake.status ?? 200, body: bodyOf(notJson) },
  sseResponses: () => events.map((event) => bodyOf(typeof event === "string" ? notJson : event))
})

/** A call's attempt: its response body. */
const called = (body: unknown, fake: Fake = {}) => ({
  ...common(fake),
  httpResponse: { status: fake.status ?? 200, body: bodyOf(body) }
})

const logOf = (calls: ReadonlyArray<unknown>, rawLlmResponse: string | null = null) =>
  ({ calls, rawLlmResponse }) as unknown as FunctionLog

const reportedAll = { inputTokens: true, outputTokens: true, cachedInputTokens: true }
const reportedNone = { inputTokens: false, outputTokens: false, cachedInputTokens: false }

describe("usage from a stream's events", () => {
  it("OpenAI chat completions: the text of the deltas and the usage of the last event", () => {
    const events = [
      { model: "gpt-4o-mini", choices: [{ delta: { content: "Hello" } }] },
      { choices: [{ delta: { content: ", world" } }, "not a choice"] },
      { choices: [{ delta: {} }], model: "other" },
      { choices: [], usage: { prompt_tokens: 12, completion_tokens: 4, prompt_tokens_details: { cached_tokens: 5 } } },
      "[DONE]"
    ]
    const request = { model: "gpt-4o-mini", messages: [{ role: "user", content: "Hi" }] }
    expect(readUsage(logOf([streamed(events, { request, selected: true })]), undefined)).toEqual({
      client: "Scripted",
      provider: "openai-generic",
      requestModel: "gpt-4o-mini",
      responseModel: "gpt-4o-mini",
      attempts: 1,
      inputTokens: 12,
      outputTokens: 4,
      cachedInputTokens: 5,
      reported: reportedAll,
      characters: "Hello, world".length
    })
  })

  it("Anthropic messages: the input of message_start with the cache, the output of message_delta, not of message_start", () => {
    const events = [
      {
        type: "message_start",
        message: {
          model: "claude-x",
          usage: { input_tokens: 10, cache_read_input_tokens: 3, cache_creation_input_tokens: 2, output_tokens: 1 }
        }
      },
      { type: "content_block_delta", delta: { type: "text_delta", text: "abcd" } },
      { type: "content_block_delta", delta: { type: "text_delta", text: "efgh" } },
      { type: "message_delta", usage: { output_tokens: 6 } }
    ]
    expect(readUsage(logOf([streamed(events, { provider: "anthropic" })]), undefined)).toMatchObject({
      provider: "anthropic",
      responseModel: "claude-x",
      inputTokens: 15,
      outputTokens: 6,
      cachedInputTokens: 3,
      reported: reportedAll,
      characters: 8
    })
  })

  it("Anthropic's message_start alone: the output is not reported, and is estimated from the text", () => {
    const events = [
      { type: "message_start", message: { usage: { input_tokens: 10, output_tokens: 1 } } },
      { type: "content_block_delta", delta: { text: "x".repeat(40) } }
    ]
    const usage = readUsage(logOf([streamed(events)]), undefined)
    expect(usage).toMatchObject({ inputTokens: 10, outputTokens: 10, cachedInputTokens: 0 })
    expect(usage.reported).toEqual({ inputTokens: true, outputTokens: false, cachedInputTokens: false })
  })

  it("OpenAI Responses: the text deltas and the usage of the final response, cached tokens among the input", () => {
    const events = [
      { type: "response.created", response: { model: "gpt-5", status: "in_progress" } },
      { type: "response.output_text.delta", delta: "Hi " },
      { type: "response.output_text.delta", delta: "there" },
      {
        type: "response.completed",
        response: { model: "gpt-5", usage: { input_tokens: 20, output_tokens: 3, input_tokens_details: { cached_tokens: 8 } } }
      }
    ]
    expect(readUsage(logOf([streamed(events, { request: { model: "gpt-5", input: "q" } })]), undefined))
      .toMatchObject({
        requestModel: "gpt-5",
        responseModel: "gpt-5",
        inputTokens: 20,
        outputTokens: 3,
        cachedInputTokens: 8,
        reported: reportedAll,
        characters: 8
      })
  })

  it("Gemini: the parts' text, thoughts counted as output, the model from the request URL", () => {
    const events = [
      {
        modelVersion: "gemini-2.5",
        candidates: [{ content: { parts: [{ text: "ab" }, { text: "cd" }] } }, { content: "none" }, 7],
        usageMetadata: { promptTokenCount: 9, candidatesTokenCount: 1 }
      },
      {
        candidates: [{ content: { parts: [{ text: "ef" }] } }],
        usageMetadata: { promptTokenCount: 9, candidatesTokenCount: 2, thoughtsTokenCount: 5, cachedContentTokenCount: 4 }
      }
    ]
    const url = "https://example.test/v1beta/models/gemini%202.5:streamGenerateContent?alt=sse"
    expect(readUsage(logOf([streamed(events, { provider: "google-ai", url, request: { contents: [] } })]), undefined))
      .toMatchObject({
        requestModel: "gemini 2.5",
        responseModel: "gemini-2.5",
        inputTokens: 9,
        outputTokens: 7,
        cachedInputTokens: 4,
        reported: reportedAll,
        characters: 6
      })
  })

  it("Gemini with only a thoughts count reports it; with no count at all, the output is estimated", () => {
    const thoughts = [{ candidates: [], usageMetadata: { thoughtsTokenCount: 3 } }]
    expect(readUsage(logOf([streamed(thoughts)]), undefined)).toMatchObject({ outputTokens: 3 })
    const none = [{ candidates: [{ content: { parts: [{ text: "abcdefgh" }] } }], usageMetadata: {} }]
    const usage = readUsage(logOf([streamed(none)]), undefined)
    expect(usage.outputTokens).toBe(2)
    expect(usage.reported.outputTokens).toBe(false)
  })

  it("later events raise the counts, never lower them, and the first model stands", () => {
    const events = [
      { model: "first", usage: { prompt_tokens: 5, completion_tokens: 9, prompt_tokens_details: { cached_tokens: 2 } } },
      { model: "second", usage: { prompt_tokens: 4, completion_tokens: 3, prompt_tokens_details: { cached_tokens: 1 } } }
    ]
    expect(readUsage(logOf([streamed(events)]), undefined)).toMatchObject({
      responseModel: "first",
      inputTokens: 5,
      outputTokens: 9,
      cachedInputTokens: 2
    })
  })

  it("without counts: one token per event with text at least, and the text's estimate when it says more", () => {
    const manyEvents = Array.from({ length: 6 }, () => ({ choices: [{ delta: { content: "a" } }] }))
    expect(readUsage(logOf([streamed(manyEvents)]), undefined)).toMatchObject({ outputTokens: 6, reported: reportedNone })
    const longEvent = [{ choices: [{ delta: { content: "x".repeat(41) } }] }]
    expect(readUsage(logOf([streamed(longEvent)]), undefined)).toMatchObject({ outputTokens: 11 })
  })

  it("a provider count lower than the events with text is not trusted", () => {
    const events = [
      ...Array.from({ length: 5 }, () => ({ choices: [{ delta: { content: "a" } }] })),
      { usage: { prompt_tokens: 3, completion_tokens: 2 } }
    ]
    const usage = readUsage(logOf([streamed(events)]), undefined)
    expect(usage.outputTokens).toBe(5)
    expect(usage.reported).toEqual({ inputTokens: true, outputTokens: false, cachedInputTokens: false })
  })

  it("a provider count equal to the events with text stands, and the engine's stands where it is higher", () => {
    const events = [
      ...Array.from({ length: 3 }, () => ({ choices: [{ delta: { content: "a" } }] })),
      { usage: { prompt_tokens: 3, completion_tokens: 3 } }
    ]
    expect(readUsage(logOf([streamed(events)]), undefined)).toMatchObject({
      outputTokens: 3,
      reported: { inputTokens: true, outputTokens: true, cachedInputTokens: false }
    })
    expect(readUsage(logOf([streamed(events, { engine: { outputTokens: 8 } })]), undefined).outputTokens).toBe(8)
  })

  it("a stream without the provider's count: the engine's stands only where the events do not show more", () => {
    const events = Array.from({ length: 4 }, () => ({ choices: [{ delta: { content: "abcd" } }] }))
    // 4 events with text, 16 characters: at least 4 tokens
    const engineAbove = readUsage(logOf([streamed(events, { engine: { outputTokens: 4, inputTokens: 7 } })]), undefined)
    expect(engineAbove).toMatchObject({ outputTokens: 4, inputTokens: 7 })
    expect(engineAbove.reported).toEqual({ inputTokens: true, outputTokens: true, cachedInputTokens: false })
    const engineBelow = readUsage(logOf([streamed(events, { engine: { outputTokens: 3 } })]), undefined)
    expect(engineBelow.outputTokens).toBe(4)
    expect(engineBelow.reported.outputTokens).toBe(false)
    // fewer events than the text's estimate: the engine's count must reach the estimate too
    const long = [{ choices: [{ delta: { content: "x".repeat(40) } }] }]
    const belowEstimate = readUsage(logOf([streamed(long, { engine: { outputTokens: 9 } })]), undefined)
    expect(belowEstimate).toMatchObject({ outputTokens: 10, reported: { outputTokens: false } })
    const atEstimate = readUsage(logOf([streamed(long, { engine: { outputTokens: 10 } })]), undefined)
    expect(atEstimate).toMatchObject({ outputTokens: 10, reported: { outputTokens: true } })
    // an engine count above what arrived, with no text at all, is kept as the output
    const empty = readUsage(logOf([streamed([], { engine: { outputTokens: 5 } })]), undefined)
    expect(empty).toMatchObject({ outputTokens: 5, reported: { outputTokens: true } })
  })

  it("the engine's cached count stands where the events have none; its input where it is higher", () => {
    const events = [{ usage: { prompt_tokens: 3, completion_tokens: 0 } }]
    expect(readUsage(logOf([streamed(events, { engine: { cachedInputTokens: 2, inputTokens: 6 } })]), undefined))
      .toMatchObject({ cachedInputTokens: 2, inputTokens: 6, reported: reportedAll })
  })

  it("counts that are not finite numbers are not counts", () => {
    const events = [{ usage: { prompt_tokens: "12", completion_tokens: Infinity } }]
    const usage = readUsage(logOf([streamed(events, { engine: { inputTokens: null } })]), undefined)
    expect(usage.reported).toEqual(reportedNone)
  })
})

describe("what is not usage", () => {
  it("only message_start's message is read as Anthropic's usage, and only content_block_delta's delta as its text", () => {
    const events = [
      { type: "error", message: { usage: { input_tokens: 9, output_tokens: 9 } } },
      { type: "content_block_start", delta: { text: "not text" } },
      { type: "content_block_delta", delta: { text: "text" } }
    ]
    const usage = readUsage(logOf([streamed(events)]), undefined)
    expect(usage).toMatchObject({ characters: 4, inputTokens: 0, reported: reportedNone })
  })

  it("only the Responses API's output_text deltas are text: reasoning deltas are not", () => {
    const events = [
      { type: "response.reasoning_summary_text.delta", delta: "thinking about it" },
      { type: "response.output_text.delta", delta: "ok" }
    ]
    expect(readUsage(logOf([streamed(events)]), undefined).characters).toBe(2)
  })

  it("a count of only one side is read for that side alone", () => {
    const outputOnly = readUsage(logOf([streamed([{ usage: { completion_tokens: 4, output_tokens: 99 } }])]), undefined)
    expect(outputOnly).toMatchObject({ outputTokens: 4, reported: { inputTokens: false, outputTokens: true } })
    const inputOnly = readUsage(logOf([streamed([{ usage: { prompt_tokens: 5, input_tokens: 99 } }])]), undefined)
    expect(inputOnly).toMatchObject({ inputTokens: 5, reported: { inputTokens: true, outputTokens: false } })
    // Anthropic's message_delta: the output, and no input
    const delta = readUsage(logOf([streamed([{ type: "message_delta", usage: { output_tokens: 3 } }])]), undefined)
    expect(delta).toMatchObject({ outputTokens: 3, reported: { inputTokens: false, outputTokens: true } })
    // Gemini's usage without counts: nothing reported, not zeros
    const empty = readUsage(logOf([streamed([{ usageMetadata: {} }])]), undefined)
    expect(empty.reported).toEqual(reportedNone)
  })

  it("parts, choices, output items and candidates that are not objects carry no text and break nothing", () => {
    const events = [
      { choices: [null, 3, { delta: { content: "a" } }] },
      { candidates: [null, { content: { parts: [null, "x", { text: "b" }] } }] },
      { modelVersion: 2 }
    ]
    expect(readUsage(logOf([streamed(events)]), undefined)).toMatchObject({ characters: 2, responseModel: undefined })
    const anthropic = { type: "message", content: { text: "not a list" } }
    expect(readUsage(logOf([called(anthropic)]), undefined).characters).toBe(0)
    const responses = { object: "response", output: [null, { content: [null, { text: "cd" }] }] }
    expect(readUsage(logOf([called(responses)]), undefined).characters).toBe(2)
  })

  it("a request body's nulls, numbers and booleans are not text", () => {
    const request = { messages: [{ content: "abcd", name: null }], n: 1, stream: true, content: null }
    expect(readUsage(logOf([called({}, { request })]), undefined).inputTokens).toBe(1)
  })

  it("an attempt with no request or response recorded (the connection failed) counts what the engine says", () => {
    const bare = { ...called({}, { engine: { outputTokens: 2 } }), httpRequest: null, httpResponse: null }
    expect(readUsage(logOf([bare]), undefined)).toMatchObject({ outputTokens: 2, inputTokens: 0, requestModel: undefined })
    const noEvents = { ...streamed([]), sseResponses: () => null }
    expect(readUsage(logOf([noEvents]), undefined)).toMatchObject({ outputTokens: 0, characters: 0 })
  })
})

describe("usage from a call's body", () => {
  it("OpenAI chat completions: the message's text and the usage", () => {
    const body = {
      model: "gpt-4o",
      choices: [{ message: { content: "abcdefgh" } }],
      usage: { prompt_tokens: 7, completion_tokens: 2 }
    }
    expect(readUsage(logOf([called(body)]), undefined)).toMatchObject({
      responseModel: "gpt-4o",
      inputTokens: 7,
      outputTokens: 2,
      cachedInputTokens: 0,
      reported: { inputTokens: true, outputTokens: true, cachedInputTokens: false },
      characters: 8
    })
  })

  it("Anthropic, Responses and Gemini bodies: the text of their parts", () => {
    const anthropic = { type: "message", content: [{ type: "text", text: "abc" }, "x", { type: "text", text: "de" }] }
    const responses = { object: "response", output: [{ content: [{ text: "fgh" }] }, 1, { content: [{ text: "ij" }] }] }
    const gemini = { candidates: [{ content: { parts: [{ text: "klmn" }] } }] }
    expect(readUsage(logOf([called(anthropic)]), undefined).characters).toBe(5)
    expect(readUsage(logOf([called(responses)]), undefined).characters).toBe(5)
    expect(readUsage(logOf([called(gemini)]), undefined).characters).toBe(4)
    // a body whose type is not "message" has no content parts to read
    expect(readUsage(logOf([called({ ...anthropic, type: "other" })]), undefined).characters).toBe(0)
    expect(readUsage(logOf([called({ ...responses, object: "other" })]), undefined).characters).toBe(0)
  })

  it("a call's engine counts stand when the body has none", () => {
    const usage = readUsage(logOf([called(notJson, { engine: { inputTokens: 4, outputTokens: 9 } })]), undefined)
    expect(usage).toMatchObject({ inputTokens: 4, outputTokens: 9, characters: 0 })
    expect(usage.reported).toEqual({ inputTokens: true, outputTokens: true, cachedInputTokens: false })
  })

  it("without any count: the input estimated from the request's messages, the output from the reply", () => {
    const request = {
      model: "m",
      system: "abcd",
      messages: [{ role: "user", content: [{ type: "text", text: "efgh" }, { type: "image", url: "ignored-url" }] }],
      input: ["ijkl"],
      temperature: "ignored"
    }
    const usage = readUsage(logOf([called({ choices: [{ message: { content: "x".repeat(9) } }] }, { request })]), undefined)
    expect(usage).toMatchObject({ inputTokens: 3, outputTokens: 3, cachedInputTokens: 0, reported: reportedNone })
    expect(usage.requestModel).toBe("m")
    // a request whose body cannot be read is estimated as nothing
    const unreadable = readUsage(logOf([called(notJson, { request: notJson })]), undefined)
    expect(unreadable).toMatchObject({ inputTokens: 0, outputTokens: 0, requestModel: undefined })
  })

  it("estimates count with the tokenizer given", () => {
    const request = { messages: [{ content: "one two three" }] }
    const usage = readUsage(
      logOf([called({ choices: [{ message: { content: "a b" } }] }, { request })]),
      undefined,
      (text) => text.split(" ").length
    )
    expect(usage).toMatchObject({ inputTokens: 3, outputTokens: 2 })
  })

  it("the engine's whole reply counts as characters where the body could not be read", () => {
    expect(readUsage(logOf([called(notJson)], "twelve chars"), undefined).characters).toBe(12)
    expect(readUsage(logOf([called({ choices: [{ message: { content: "abc" } }] })], "ab"), undefined).characters)
      .toBe(3)
  })
})

describe("usage over attempts", () => {
  it("retries: every attempt counted, a refused one as nothing, the selected one names the client and model", () => {
    const refused = called({ choices: [{ message: { content: "x".repeat(40) } }] }, {
      client: "First",
      provider: "anthropic",
      status: 429,
      request: { model: "first-model", messages: [{ content: "y".repeat(40) }] }
    })
    const answered = called({ model: "answer-model", choices: [{ message: { content: "ok" } }], usage: { prompt_tokens: 5, completion_tokens: 1 } }, {
      client: "Second",
      selected: true,
      request: { model: "second-model" }
    })
    const after = called({ model: "late", usage: { prompt_tokens: 100, completion_tokens: 100 } }, { client: "Third" })
    expect(readUsage(logOf([refused, answered, after]), "Option")).toEqual({
      client: "Second",
      provider: "openai-generic",
      requestModel: "second-model",
      responseModel: "answer-model",
      attempts: 3,
      inputTokens: 105,
      outputTokens: 101,
      cachedInputTokens: 0,
      reported: { inputTokens: true, outputTokens: true, cachedInputTokens: false },
      characters: 2
    })
  })

  it("a refused attempt reports its zeros as counted; a 399 is not refused", () => {
    const refused = called({}, { status: 400, engine: { outputTokens: 50 } })
    expect(readUsage(logOf([refused]), undefined)).toMatchObject({ outputTokens: 0, inputTokens: 0, reported: reportedAll })
    const notRefused = called({ choices: [{ message: { content: "abcd" } }] }, { status: 399 })
    expect(readUsage(logOf([notRefused]), undefined).outputTokens).toBe(1)
  })

  it("no attempt selected: the last one names the client and model", () => {
    const first = called({ model: "a" }, { client: "A", request: { model: "ma" } })
    const last = called({ model: "b" }, { client: "B", provider: "p", request: { model: "mb" } })
    expect(readUsage(logOf([first, last]), undefined)).toMatchObject({
      client: "B",
      provider: "p",
      requestModel: "mb",
      responseModel: "b"
    })
  })

  it("no log, or no attempt: the client option, or unknown, and nothing counted nor reported", () => {
    const nothing = {
      provider: undefined,
      requestModel: undefined,
      responseModel: undefined,
      attempts: 0,
      inputTokens: 0,
      outputTokens: 0,
      cachedInputTokens: 0,
      reported: reportedNone,
      characters: 0
    }
    expect(readUsage(null, "Option")).toEqual({ client: "Option", ...nothing })
    expect(readUsage(logOf([]), undefined)).toEqual({ client: "unknown", ...nothing })
  })

  it("the estimate is one token per four characters, rounded up", () => {
    expect([0, 1, 4, 5, 8].map((n) => estimateTokens("x".repeat(n)))).toEqual([0, 1, 1, 2, 2])
  })
})
