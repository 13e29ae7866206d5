/**
 * How a reply ended, read from the raw events and bodies (src/core/usage/usage.ts), and the outcome it decides
 * (src/core/errors/outcome.ts), on logs made here: every provider format, its stops and its errors.
 */
import type { FunctionLog } from "@boundaryml/baml/native"
import { describe, expect, it } from "@effect/vitest"
import { isRetryable, outcomeOf, retryAfterOf } from "../src/core/errors/outcome.js"
import { replyEnd } from "../src/core/usage/usage.js"

let parsed = 0
const bodyOf = (value: unknown) => ({
  json: () => {
    parsed++
    return value
  }
})
const streamed = (events: ReadonlyArray<unknown>) => ({
  clientName: "C",
  selected: true,
  httpResponse: null,
  sseResponses: () => events.map(bodyOf)
})
const called = (body: unknown, headers: Record<string, string> = {}) => ({
  clientName: "C",
  selected: true,
  httpResponse: { status: 200, headers, body: bodyOf(body) }
})
const logOf = (call: unknown) => ({ calls: [call], rawLlmResponse: null }) as unknown as FunctionLog

const text = (delta: string) => ({ choices: [{ delta: { content: delta }, finish_reason: null }] })

describe("how a reply ended", () => {
  const cases: ReadonlyArray<readonly [string, unknown, Record<string, unknown>]> = [
    ["chat completions, streamed", streamed([text("a"), { choices: [{ delta: {}, finish_reason: "length" }] }, { choices: [], usage: {} }, "[DONE]"]), { finishReason: "length" }],
    ["chat completions, a body", called({ choices: [{ message: { content: "a" }, finish_reason: "content_filter" }] }), { finishReason: "content_filter" }],
    ["chat completions, an error object in place of a chunk", streamed([text("a"), { error: { type: "server_error", message: "m" } }]), { error: { type: "server_error", message: "m" } }],
    ["Anthropic, streamed", streamed([{ type: "message_delta", delta: { stop_reason: "max_tokens" } }, { type: "message_stop" }]), { finishReason: "max_tokens" }],
    ["Anthropic, a body", called({ type: "message", content: [], stop_reason: "refusal" }), { finishReason: "refusal" }],
    ["Anthropic, an error event", streamed([{ type: "error", error: { type: "overloaded_error", message: "Overloaded" } }]), { error: { type: "overloaded_error", message: "Overloaded" } }],
    ["Responses, incomplete", streamed([{ type: "response.incomplete", response: { status: "incomplete", incomplete_details: { reason: "max_output_tokens" } } }]), { finishReason: "max_output_tokens", status: "incomplete" }],
    ["Responses, a failed body", called({ object: "response", status: "failed", error: { code: "server_error", message: "m" } }), { status: "failed", error: { type: "server_error", message: "m" } }],
    ["Responses, an error event", streamed([{ type: "error", code: "server_error", message: "m" }]), { error: { type: "server_error", message: "m" } }],
    ["Gemini, streamed", streamed([{ candidates: [{ content: { parts: [{ text: "a" }] }, finishReason: "SAFETY" }] }]), { finishReason: "SAFETY" }],
    ["Gemini, a blocked prompt", called({ promptFeedback: { blockReason: "PROHIBITED_CONTENT" } }), { finishReason: "PROHIBITED_CONTENT" }],
    ["Gemini, an error object", streamed([{ error: { code: 503, status: "UNAVAILABLE", message: "m" } }]), { error: { type: "UNAVAILABLE", message: "m" } }]
  ]
  for (const [name, call, end] of cases) {
    it(name, () => expect(replyEnd(logOf(call))?.end).toMatchObject(end))
  }

  it("a stream's end is read from its last events only: the cost does not grow with the reply", () => {
    const events = [...Array.from({ length: 1_000 }, () => text("a")), { choices: [{ delta: {}, finish_reason: "stop" }] }]
    parsed = 0
    expect(replyEnd(logOf(streamed(events)))?.end.finishReason).toBe("stop")
    expect(parsed).toBe(1)
    parsed = 0
    expect(replyEnd(logOf(streamed(Array.from({ length: 1_000 }, () => text("a")))))?.end).toEqual({})
    expect(parsed).toBe(8)
  })
})

describe("the outcome a reply's end decides", () => {
  const reply = { clientName: "C", prompt: () => "the prompt", rawOutput: () => "the reply" }
  it("a normal stop and an undenied length stop are values; content stops never are", () => {
    expect(outcomeOf({ finishReason: "stop" }, undefined, reply)).toBeUndefined()
    expect(outcomeOf({ finishReason: "length" }, { env: [] }, reply)).toBeUndefined()
    for (const reason of ["SAFETY", "RECITATION", "content_filter", "refusal"]) {
      expect(outcomeOf({ finishReason: reason }, { env: [], allowList: [reason] }, reply)).toMatchObject({
        _tag: "BamlClientFinishReasonError",
        finishReason: reason,
        prompt: "the prompt",
        rawOutput: "the reply"
      })
    }
  })

  it("the deny list and the allow list, by the reason or by the Responses API's status", () => {
    expect(outcomeOf({ finishReason: "length" }, { env: [], denyList: ["length"] }, reply)?._tag)
      .toBe("BamlClientFinishReasonError")
    expect(outcomeOf({ finishReason: "max_output_tokens", status: "incomplete" }, { env: [], denyList: ["incomplete"] }, reply))
      .toMatchObject({ finishReason: "max_output_tokens" })
    expect(outcomeOf({ finishReason: "stop" }, { env: [], allowList: ["stop"] }, reply)).toBeUndefined()
    expect(outcomeOf({ finishReason: "length" }, { env: [], allowList: ["stop"] }, reply)?._tag)
      .toBe("BamlClientFinishReasonError")
  })

  it("an error inside the reply: the status its type stands for, its type, retryable; the message names no reply", () => {
    expect(outcomeOf({ error: { type: "overloaded_error", message: "Overloaded" } }, undefined, reply)).toMatchObject({
      _tag: "BamlClientHttpError",
      statusCode: 529,
      errorType: "overloaded_error",
      retryable: true
    })
    expect(outcomeOf({ error: { type: "something_new", message: undefined } }, undefined, reply))
      .toMatchObject({ statusCode: 2, retryable: true })
    expect(outcomeOf({ error: { type: "invalid_request_error", message: "bad" } }, undefined, reply))
      .toMatchObject({ statusCode: 400, retryable: false })
  })

  it("retryable statuses, and Retry-After in seconds or as a date", () => {
    expect([408, 429, 500, 503, 529, 2].every((status) => isRetryable(status, undefined))).toBe(true)
    expect([400, 401, 404].some((status) => isRetryable(status, undefined))).toBe(false)
    expect(isRetryable(400, "rate_limit_error")).toBe(true)
    expect(retryAfterOf(logOf(called({}, { "retry-after": "7" })))).toBe(7)
    const later = new Date(Date.now() + 30_000).toUTCString()
    expect(retryAfterOf(logOf(called({}, { "retry-after": later })))).toBeGreaterThanOrEqual(28)
    expect(retryAfterOf(logOf(called({}, {})))).toBeUndefined()
  })
})
