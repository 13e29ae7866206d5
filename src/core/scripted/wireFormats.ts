/**
 * The wire formats the scripted provider speaks, one per provider API the engine calls: how a request is read, how a
 * reply is written whole or as server-sent events (with that provider's own usage events), and how an error body
 * looks. No Effect here; `scriptedServer.ts` plays a script through one of them.
 *
 * @since 0.2.0
 */
import { isRecord } from "../isRecord.js"

/**
 * The provider APIs the scripted provider answers, by the path the engine posts to (with any `base_url` prefix):
 * `…/chat/completions` (`openai`, `openai-generic`, and every OpenAI-compatible client), `…/responses`
 * (`openai-responses`), `…/messages` (`anthropic`), `…/models/<model>:generateContent` and
 * `…:streamGenerateContent` (`google-ai`; Vertex AI writes the same bodies).
 *
 * @example
 * ```ts
 * const format: WireFormat = "anthropic-messages"
 * ```
 * @since 0.2.0
 * @category models
 */
export type WireFormat = "chat-completions" | "responses" | "anthropic-messages" | "gemini"

/** What a format reads from a request. */
export interface Parsed {
  readonly model: string
  readonly prompt: string
  readonly stream: boolean
  /** Whether a streaming client asked for the usage event (only chat completions makes it optional). */
  readonly includeUsage: boolean
}

/** The counts a reply reports, as the scripted provider computes them. */
export interface Counts {
  readonly inputTokens: number
  /** Every token generated: the content's and the reasoning's. */
  readonly outputTokens: number
  readonly cachedInputTokens: number
  /** Tokens of reasoning (a part of `outputTokens`; Gemini reports them apart). */
  readonly reasoningTokens: number
}

/** One reply being written: the ids and times every event of it repeats. */
export interface Reply {
  readonly id: string
  readonly model: string
  /** Unix seconds. */
  readonly created: number
  /** The reasoning text written before the content, if the script has one. */
  readonly reasoning: string | undefined
  /** The next number of a format that numbers its events (the Responses API), from 0. */
  readonly sequence: () => number
}

/** How one provider API reads a request and writes a reply. */
export interface Format {
  /** The request read from its body (and, for Gemini, its path), or the reason it cannot be read. */
  readonly parse: (body: unknown, path: string) => Parsed | string
  /** The finish reason of a script that sets none. */
  readonly finishReason: string
  /** An error body with that provider's shape. */
  readonly error: (status: number, message: string) => string
  /** The events before the first content chunk. */
  readonly open: (reply: Reply, counts: Counts) => string
  /** The event of reasoning chunk `index` (0-based), written after `open` and before the first content chunk. */
  readonly reasoning: (reply: Reply, text: string, index: number, counts: Counts) => string
  /** The event of content chunk `index` (0-based), after `sent` chunks including it. */
  readonly chunk: (reply: Reply, text: string, index: number, counts: Counts) => string
  /** The events after the last chunk: finish reason, usage (when asked for), end. */
  readonly close: (reply: Reply, text: string, finishReason: string, counts: Counts, includeUsage: boolean) => string
  /** The reply as one JSON body. */
  readonly whole: (reply: Reply, text: string, finishReason: string, counts: Counts) => string
  /**
   * The event a provider sends instead of the next chunk when it fails mid-reply (Anthropic's `error` event with
   * `overloaded_error`, the Responses API's `error` event, an `error` object in place of a chunk), for an error of
   * `status`; event `index` is the next one's number.
   */
  readonly errorEvent: (status: number, message: string, index: number) => string
  /** The same failure without streaming: the status and body it is answered with. */
  readonly errorWhole: (reply: Reply, status: number, message: string) => { readonly status: number; readonly body: string }
  /** An event cut off inside its JSON. */
  readonly malformed: string
  /** A JSON body cut off. */
  readonly malformedWhole: string
}

const sse = (data: unknown, event?: string) =>
  `${event === undefined ? "" : `event: ${event}\n`}data: ${JSON.stringify(data)}\n\n`

/** The text of a content field: a string, or a list of parts with `text` (every format's user content). */
const textOf = (content: unknown): ReadonlyArray<string> =>
  typeof content === "string"
    ? [content]
    : Array.isArray(content)
    ? content.flatMap((part) => isRecord(part) && typeof part.text === "string" ? [part.text] : [])
    : []

const messagesText = (messages: ReadonlyArray<unknown>, key: "content" | "parts") =>
  messages.flatMap((message) => isRecord(message) ? textOf(message[key]) : [])

const openAiErrorType = (status: number) =>
  status === 429 ? "rate_limit_error" : status < 500 ? "invalid_request_error" : "server_error"

const openAiError = (status: number, message: string) =>
  JSON.stringify({ error: { message, type: openAiErrorType(status), param: null, code: null } })

const chatCompletions: Format = {
  parse: (body) => {
    if (!isRecord(body) || typeof body.model !== "string" || !Array.isArray(body.messages)) {
      return "expected a body with model and messages"
    }
    const options = body.stream_options
    return {
      model: body.model,
      prompt: messagesText(body.messages, "content").join("\n"),
      stream: body.stream === true,
      includeUsage: isRecord(options) && options.include_usage === true
    }
  },
  finishReason: "stop",
  error: openAiError,
  open: () => "",
  // As DeepSeek and other OpenAI-compatible servers write it (OpenAI's own API does not stream reasoning).
  reasoning: (reply, text, index) => chatChunk(reply, index === 0 ? { role: "assistant", reasoning_content: text } : { reasoning_content: text }),
  chunk: (reply, text, index) =>
    chatChunk(reply, index === 0 && reply.reasoning === undefined ? { role: "assistant", content: text } : { content: text }),
  close: (reply, _text, finish_reason, counts, includeUsage) => {
    const frame = (choices: ReadonlyArray<unknown>, extra: object = {}) =>
      sse({ id: reply.id, object: "chat.completion.chunk", created: reply.created, model: reply.model, choices, ...extra })
    return frame([{ index: 0, delta: {}, finish_reason }]) +
      (includeUsage ? frame([], { usage: chatUsage(counts) }) : "") +
      "data: [DONE]\n\n"
  },
  whole: (reply, content, finish_reason, counts) =>
    JSON.stringify({
      id: reply.id,
      object: "chat.completion",
      created: reply.created,
      model: reply.model,
      choices: [{
        index: 0,
        message: { role: "assistant", content, ...(reply.reasoning === undefined ? {} : { reasoning_content: reply.reasoning }) },
        finish_reason
      }],
      usage: chatUsage(counts)
    }),
  errorEvent: (status, message) => `data: ${openAiError(status, message)}\n\n`,
  errorWhole: (_reply, status, message) => ({ status, body: openAiError(status, message) }),
  malformed: `data: {"choices":[{"delta":{"content":\n\n`,
  malformedWhole: `{"id":"chatcmpl-scripted","choices":[{"message":{"content":`
}

const chatChunk = (reply: Reply, delta: object) =>
  sse({
    id: reply.id,
    object: "chat.completion.chunk",
    created: reply.created,
    model: reply.model,
    choices: [{ index: 0, delta, finish_reason: null }]
  })

const chatUsage = (counts: Counts) => ({
  prompt_tokens: counts.inputTokens,
  completion_tokens: counts.outputTokens,
  total_tokens: counts.inputTokens + counts.outputTokens,
  ...(counts.cachedInputTokens > 0 ? { prompt_tokens_details: { cached_tokens: counts.cachedInputTokens } } : {}),
  ...(counts.reasoningTokens > 0 ? { completion_tokens_details: { reasoning_tokens: counts.reasoningTokens } } : {})
})

const responsesUsage = (counts: Counts) => ({
  input_tokens: counts.inputTokens,
  input_tokens_details: { cached_tokens: counts.cachedInputTokens },
  output_tokens: counts.outputTokens,
  output_tokens_details: { reasoning_tokens: counts.reasoningTokens },
  total_tokens: counts.inputTokens + counts.outputTokens
})

// The Responses API has no finish reason: a reply is `completed`, or `incomplete` with a reason (`max_output_tokens`).
// A reasoning model's reply holds a reasoning item (its summary) before the message.
const responseObject = (reply: Reply, text: string | undefined, finishReason: string, counts: Counts | undefined) => {
  const done = text !== undefined
  const incomplete = done && finishReason !== "completed"
  const message = {
    id: `msg_${reply.id}`,
    type: "message",
    status: incomplete ? "incomplete" : "completed",
    role: "assistant",
    content: [{ type: "output_text", text, annotations: [] }]
  }
  return {
    id: reply.id,
    object: "response",
    created_at: reply.created,
    status: done ? (incomplete ? "incomplete" : "completed") : "in_progress",
    incomplete_details: incomplete ? { reason: finishReason } : null,
    error: null,
    model: reply.model,
    output: done ? (reply.reasoning === undefined ? [message] : [reasoningItem(reply, reply.reasoning), message]) : [],
    usage: counts === undefined ? null : responsesUsage(counts)
  }
}

const reasoningItem = (reply: Reply, text: string | undefined) => ({
  id: `rs_${reply.id}`,
  type: "reasoning",
  summary: text === undefined ? [] : [{ type: "summary_text", text }]
})

/** The output index of the message: after the reasoning item, if there is one. */
const messageIndex = (reply: Reply) => reply.reasoning === undefined ? 0 : 1

const responsesEvent = (reply: Reply, type: string, fields: object) =>
  sse({ type, sequence_number: reply.sequence(), ...fields }, type)

/** The events that open the message item and its text part. */
const openMessage = (reply: Reply) => {
  const item = { id: `msg_${reply.id}`, type: "message", status: "in_progress", role: "assistant", content: [] }
  const output_index = messageIndex(reply)
  return responsesEvent(reply, "response.output_item.added", { output_index, item }) +
    responsesEvent(reply, "response.content_part.added", {
      item_id: item.id,
      output_index,
      content_index: 0,
      part: { type: "output_text", text: "", annotations: [] }
    })
}

const summary = (reply: Reply) => ({ item_id: `rs_${reply.id}`, output_index: 0, summary_index: 0 })

// A failed response: no output, the error in its body (a stream ends with the `error` event instead).
const failedResponse = (reply: Reply, status: number, message: string) => ({
  ...responseObject(reply, undefined, "", undefined),
  status: "failed",
  error: { code: openAiErrorType(status), message }
})

const responses: Format = {
  parse: (body) => {
    if (!isRecord(body) || typeof body.model !== "string" || body.input === undefined) {
      return "expected a body with model and input"
    }
    const input = body.input
    const prompt = typeof input === "string"
      ? input
      : Array.isArray(input)
      ? messagesText(input, "content").join("\n")
      : ""
    const instructions = typeof body.instructions === "string" ? [body.instructions] : []
    return {
      model: body.model,
      prompt: [...instructions, prompt].join("\n"),
      stream: body.stream === true,
      includeUsage: true
    }
  },
  finishReason: "completed",
  error: openAiError,
  open: (reply) =>
    responsesEvent(reply, "response.created", { response: responseObject(reply, undefined, "", undefined) }) +
    (reply.reasoning === undefined
      ? openMessage(reply)
      : responsesEvent(reply, "response.output_item.added", { output_index: 0, item: reasoningItem(reply, undefined) }) +
        responsesEvent(reply, "response.reasoning_summary_part.added", {
          ...summary(reply),
          part: { type: "summary_text", text: "" }
        })),
  reasoning: (reply, delta) => responsesEvent(reply, "response.reasoning_summary_text.delta", { ...summary(reply), delta }),
  chunk: (reply, delta, index) => {
    // The reasoning item is done before the message starts.
    const before = index === 0 && reply.reasoning !== undefined
      ? responsesEvent(reply, "response.reasoning_summary_text.done", { ...summary(reply), text: reply.reasoning }) +
        responsesEvent(reply, "response.reasoning_summary_part.done", {
          ...summary(reply),
          part: { type: "summary_text", text: reply.reasoning }
        }) +
        responsesEvent(reply, "response.output_item.done", { output_index: 0, item: reasoningItem(reply, reply.reasoning) }) +
        openMessage(reply)
      : ""
    return before + responsesEvent(reply, "response.output_text.delta", {
      item_id: `msg_${reply.id}`,
      output_index: messageIndex(reply),
      content_index: 0,
      delta
    })
  },
  close: (reply, text, finishReason, counts) => {
    const response = responseObject(reply, text, finishReason, counts)
    const type = response.status === "completed" ? "response.completed" : "response.incomplete"
    const output_index = messageIndex(reply)
    return responsesEvent(reply, "response.output_text.done", {
      item_id: `msg_${reply.id}`,
      output_index,
      content_index: 0,
      text
    }) +
      responsesEvent(reply, "response.output_item.done", { output_index, item: response.output[output_index] }) +
      responsesEvent(reply, type, { response })
  },
  whole: (reply, text, finishReason, counts) => JSON.stringify(responseObject(reply, text, finishReason, counts)),
  errorEvent: (status, message, index) =>
    sse(
      { type: "error", code: openAiErrorType(status), message, param: null, sequence_number: 3 + index },
      "error"
    ),
  // The Responses API answers a failure during generation with a 200 and a failed response
  errorWhole: (reply, status, message) => ({ status: 200, body: JSON.stringify(failedResponse(reply, status, message)) }),
  malformed: `event: response.output_text.delta\ndata: {"type":"response.output_text.delta","delta":\n\n`,
  malformedWhole: `{"id":"resp_scripted","object":"response","output":[{"content":[`
}

const anthropicUsage = (counts: Counts, outputTokens: number) => ({
  // Anthropic counts cache reads apart from the other input tokens.
  input_tokens: counts.inputTokens - counts.cachedInputTokens,
  cache_creation_input_tokens: 0,
  cache_read_input_tokens: counts.cachedInputTokens,
  output_tokens: outputTokens
})

const anthropicError = (status: number, message: string) =>
  JSON.stringify({
    type: "error",
    error: {
      type: status === 429
        ? "rate_limit_error"
        : status === 529
        ? "overloaded_error"
        : status < 500
        ? "invalid_request_error"
        : "api_error",
      message
    }
  })

const anthropicMessages: Format = {
  parse: (body) => {
    if (!isRecord(body) || typeof body.model !== "string" || !Array.isArray(body.messages)) {
      return "messages: Field required"
    }
    const system = textOf(body.system)
    return {
      model: body.model,
      prompt: [...system, ...messagesText(body.messages, "content")].join("\n"),
      stream: body.stream === true,
      includeUsage: true
    }
  },
  finishReason: "end_turn",
  error: (status, message) => anthropicError(status, message),
  // As Anthropic does: `message_start` reports one output token; the count arrives in the last `message_delta`. With
  // extended thinking, a thinking block (index 0, closed by its signature) comes before the text block.
  open: (reply, counts) =>
    sse({
      type: "message_start",
      message: {
        id: reply.id,
        type: "message",
        role: "assistant",
        content: [],
        model: reply.model,
        stop_reason: null,
        stop_sequence: null,
        usage: anthropicUsage(counts, 1)
      }
    }, "message_start") +
    sse({
      type: "content_block_start",
      index: 0,
      content_block: reply.reasoning === undefined ? { type: "text", text: "" } : { type: "thinking", thinking: "" }
    }, "content_block_start") +
    sse({ type: "ping" }, "ping"),
  reasoning: (_reply, thinking) =>
    sse({ type: "content_block_delta", index: 0, delta: { type: "thinking_delta", thinking } }, "content_block_delta"),
  chunk: (reply, text, i) => {
    const index = reply.reasoning === undefined ? 0 : 1
    const before = i === 0 && index === 1
      ? sse({ type: "content_block_delta", index: 0, delta: { type: "signature_delta", signature: "c2NyaXB0ZWQ=" } }, "content_block_delta") +
        sse({ type: "content_block_stop", index: 0 }, "content_block_stop") +
        sse({ type: "content_block_start", index: 1, content_block: { type: "text", text: "" } }, "content_block_start")
      : ""
    return before + sse({ type: "content_block_delta", index, delta: { type: "text_delta", text } }, "content_block_delta")
  },
  close: (reply, _text, stop_reason, counts) =>
    sse({ type: "content_block_stop", index: reply.reasoning === undefined ? 0 : 1 }, "content_block_stop") +
    sse(
      { type: "message_delta", delta: { stop_reason, stop_sequence: null }, usage: { output_tokens: counts.outputTokens } },
      "message_delta"
    ) +
    sse({ type: "message_stop" }, "message_stop"),
  whole: (reply, text, stop_reason, counts) =>
    JSON.stringify({
      id: reply.id,
      type: "message",
      role: "assistant",
      model: reply.model,
      content: [
        ...(reply.reasoning === undefined ? [] : [{ type: "thinking", thinking: reply.reasoning, signature: "c2NyaXB0ZWQ=" }]),
        { type: "text", text }
      ],
      stop_reason,
      stop_sequence: null,
      usage: anthropicUsage(counts, counts.outputTokens)
    }),
  errorEvent: (status, message) => `event: error\ndata: ${anthropicError(status, message)}\n\n`,
  errorWhole: (_reply, status, message) => ({ status, body: anthropicError(status, message) }),
  malformed: `event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":\n\n`,
  malformedWhole: `{"id":"msg_scripted","type":"message","content":[{"type":"text","text":`
}

// Gemini counts thoughts apart from the candidates' tokens: `candidatesTokenCount` is the content's alone.
const geminiUsage = (counts: Counts, contentTokens: number, thoughtsTokens: number) => ({
  promptTokenCount: counts.inputTokens,
  candidatesTokenCount: contentTokens,
  totalTokenCount: counts.inputTokens + contentTokens + thoughtsTokens,
  ...(counts.cachedInputTokens > 0 ? { cachedContentTokenCount: counts.cachedInputTokens } : {}),
  ...(thoughtsTokens > 0 ? { thoughtsTokenCount: thoughtsTokens } : {})
})

const geminiEvent = (reply: Reply, parts: ReadonlyArray<object>, usage: object, finishReason?: string) =>
  `data: ${
    JSON.stringify({
      candidates: [{ content: { parts, role: "model" }, ...(finishReason === undefined ? {} : { finishReason }), index: 0 }],
      usageMetadata: usage,
      modelVersion: reply.model,
      responseId: reply.id
    })
  }\r\n\r\n`

const geminiStatus = (status: number) =>
  status === 429
    ? "RESOURCE_EXHAUSTED"
    : status === 400
    ? "INVALID_ARGUMENT"
    : status === 404
    ? "NOT_FOUND"
    : status === 503
    ? "UNAVAILABLE"
    : status >= 500
    ? "INTERNAL"
    : "FAILED_PRECONDITION"

const geminiError = (code: number, message: string) =>
  JSON.stringify({ error: { code, message, status: geminiStatus(code) } })

const gemini: Format = {
  parse: (body, path) => {
    const match = /\/models\/([^/:]+):(generateContent|streamGenerateContent)$/.exec(path)
    if (match === null) return "expected …/models/<model>:generateContent or :streamGenerateContent"
    if (!isRecord(body) || !Array.isArray(body.contents)) return "contents is not specified"
    const system = isRecord(body.systemInstruction) ? textOf(body.systemInstruction.parts) : []
    return {
      model: decodeURIComponent(match[1]!),
      prompt: [...system, ...messagesText(body.contents, "parts")].join("\n"),
      stream: match[2] === "streamGenerateContent",
      includeUsage: true
    }
  },
  finishReason: "STOP",
  error: (code, message) => geminiError(code, message),
  open: () => "",
  // As Gemini does, every event carries the usage so far; thoughts are parts marked `thought`.
  reasoning: (reply, text, index, counts) => geminiEvent(reply, [{ text, thought: true }], geminiUsage(counts, 0, index + 1)),
  chunk: (reply, text, index, counts) =>
    geminiEvent(reply, [{ text }], geminiUsage(counts, index + 1, counts.reasoningTokens)),
  close: (reply, _text, finishReason, counts) =>
    geminiEvent(
      reply,
      [{ text: "" }],
      geminiUsage(counts, counts.outputTokens - counts.reasoningTokens, counts.reasoningTokens),
      finishReason
    ),
  whole: (reply, text, finishReason, counts) =>
    JSON.stringify({
      candidates: [{
        content: {
          parts: [...(reply.reasoning === undefined ? [] : [{ text: reply.reasoning, thought: true }]), { text }],
          role: "model"
        },
        finishReason,
        index: 0
      }],
      usageMetadata: geminiUsage(counts, counts.outputTokens - counts.reasoningTokens, counts.reasoningTokens),
      modelVersion: reply.model,
      responseId: reply.id
    }),
  errorEvent: (status, message) => `data: ${geminiError(status, message)}\r\n\r\n`,
  errorWhole: (_reply, status, message) => ({ status, body: geminiError(status, message) }),
  malformed: `data: {"candidates":[{"content":{"parts":[{"text":\r\n\r\n`,
  malformedWhole: `{"candidates":[{"content":{"parts":[{"text":`
}

/**
 * The format that answers a POST to `path` (its query dropped), or `undefined` when none does.
 *
 * @example
 * ```ts
 * const format = formatOf("/v1/messages") // "anthropic-messages"
 * ```
 * @since 0.2.0
 * @category utils
 */
export const formatOf = (path: string): WireFormat | undefined =>
  path.endsWith("/chat/completions")
    ? "chat-completions"
    : path.endsWith("/responses")
    ? "responses"
    : path.endsWith("/messages")
    ? "anthropic-messages"
    : /\/models\/[^/]+:(generateContent|streamGenerateContent)$/.test(path)
    ? "gemini"
    : undefined

/** Each format's reader and writers. */
export const formats: Readonly<Record<WireFormat, Format>> = {
  "chat-completions": chatCompletions,
  responses,
  "anthropic-messages": anthropicMessages,
  gemini
}
