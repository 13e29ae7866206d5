// What one call or stream used, read from the engine's Collector. The engine's own usage figure is not trusted alone:
// the usage the provider sent is read back from the raw events (or the response body) in each provider's format, and
// no count is ever lower than what the events show arrived. No Effect here.
import type { FunctionLog, LlmCall, LlmStreamCall } from "@boundaryml/baml/native"
import type { Ending } from "../engine/ending.js"
import { isRecord } from "../isRecord.js"

/** Which of the counts of a {@link Counted} the provider reported; the others are estimates. */
export interface Reported {
  readonly inputTokens: boolean
  readonly outputTokens: boolean
  readonly cachedInputTokens: boolean
}

/** What one call or stream used, over all its attempts, as its Collector tells. */
export interface Counted {
  /** The client that answered, or the last one tried; the `client` option or `unknown` when none was. */
  readonly client: string
  /** The provider of that client (`openai-generic`, `anthropic`, `google-ai`, …). */
  readonly provider: string | undefined
  /** The model the request asked for. */
  readonly requestModel: string | undefined
  /** The model the provider says answered. */
  readonly responseModel: string | undefined
  /** HTTP requests made: 1, plus the retries and fallbacks. */
  readonly attempts: number
  /** Input tokens, cached ones included; estimated from the request's text where the provider sent no count. */
  readonly inputTokens: number
  /** Output tokens; estimated from the text received where the provider sent no count or one lower than that. */
  readonly outputTokens: number
  /** Input tokens read from the provider's cache (a part of `inputTokens`); 0 when not reported. */
  readonly cachedInputTokens: number
  readonly reported: Reported
  /** Characters of reply text received. */
  readonly characters: number
  /**
   * Why the answering client's reply ended, in the provider's own words: `stop`, `length`, `content_filter` (chat
   * completions), `end_turn`, `max_tokens` (Anthropic), `STOP`, `MAX_TOKENS`, `SAFETY`, `RECITATION` (Gemini); the
   * Responses API's `completed`, its `incomplete_details.reason` (`max_output_tokens`) or `failed`. Undefined when
   * the reply never said (an aborted stream, a refused request).
   */
  readonly finishReason: string | undefined
}

/** What one call or stream used and how it ended: what `Baml.withUsage` hands over, and metrics and spans report. */
export interface Usage extends Counted, Ending {
  readonly kind: "call" | "stream"
  readonly functionName: string
  /** Whether its request was aborted: its consumer left first, or a budget cut it off. */
  readonly aborted: boolean
  /** Whether its consumer stopped it on a partial it was waiting for (`Baml.stopWhen`): aborted on purpose. */
  readonly stoppedEarly: boolean
  /** Server-sent events received before the end or the abort (0 for a call). */
  readonly events: number
  /** Milliseconds from the start of a stream to its first partial in user code. */
  readonly timeToFirstPartialMs: number | undefined
  /** Milliseconds from the start of the call or stream to its end. */
  readonly durationMs: number
}

const isStreamCall = (call: LlmCall | LlmStreamCall): call is LlmStreamCall => "sseResponses" in call

const str = (u: unknown): string => typeof u === "string" ? u : ""
const num = (u: unknown): number | undefined => typeof u === "number" && Number.isFinite(u) ? u : undefined
const sum = (...values: ReadonlyArray<number | undefined>): number | undefined =>
  values.every((value) => value === undefined) ? undefined : values.reduce<number>((a, b) => a + (b ?? 0), 0)
const max = (a: number | undefined, b: number | undefined): number | undefined =>
  a === undefined ? b : b === undefined ? a : Math.max(a, b)

/** The reply text of one event or body, for the formats the engine speaks. */
const textOf = (json: unknown): string => {
  if (!isRecord(json)) return ""
  let text = ""
  const parts = (list: unknown) => {
    if (Array.isArray(list)) for (const part of list) if (isRecord(part)) text += str(part.text)
  }
  if (Array.isArray(json.choices)) {
    // OpenAI chat completions (and every openai-generic server): deltas when streaming, a message when not
    for (const choice of json.choices) {
      if (!isRecord(choice)) continue
      if (isRecord(choice.delta)) text += str(choice.delta.content)
      if (isRecord(choice.message)) text += str(choice.message.content)
    }
  }
  // Anthropic messages
  if (json.type === "content_block_delta" && isRecord(json.delta)) text += str(json.delta.text)
  if (json.type === "message") parts(json.content)
  // OpenAI responses
  if (json.type === "response.output_text.delta") text += str(json.delta)
  if (json.object === "response" && Array.isArray(json.output)) {
    for (const item of json.output) if (isRecord(item)) parts(item.content)
  }
  if (Array.isArray(json.candidates)) {
    // Google AI and Vertex
    for (const candidate of json.candidates) {
      if (isRecord(candidate) && isRecord(candidate.content)) parts(candidate.content.parts)
    }
  }
  return text
}

/** A provider's usage report, read from one event or body. */
interface Counts {
  input?: number | undefined
  output?: number | undefined
  cached?: number | undefined
  model?: string | undefined
}

/**
 * The counts in one event or body. Output counts are those that count everything generated so far: chat completions'
 * `usage`, Anthropic's `message_delta` (its `message_start` says one output token before any is generated),
 * the Responses API's final `response`, Gemini's `usageMetadata` (on every event).
 */
const countsOf = (json: unknown): Counts | undefined => {
  if (!isRecord(json)) return undefined
  const model = typeof json.model === "string"
    ? json.model
    : typeof json.modelVersion === "string"
    ? json.modelVersion
    : undefined
  // Anthropic's first event: the input is counted, the output not yet
  if (json.type === "message_start" && isRecord(json.message)) {
    const counts = countsOf(json.message)
    return counts === undefined ? undefined : { ...counts, output: undefined }
  }
  // The Responses API's events carry the response
  if (isRecord(json.response)) return countsOf(json.response)
  if (isRecord(json.usageMetadata)) {
    const usage = json.usageMetadata
    return {
      input: num(usage.promptTokenCount),
      output: sum(num(usage.candidatesTokenCount), num(usage.thoughtsTokenCount)),
      cached: num(usage.cachedContentTokenCount),
      model
    }
  }
  if (!isRecord(json.usage)) return model === undefined ? undefined : { model }
  const usage = json.usage
  if (usage.prompt_tokens !== undefined || usage.completion_tokens !== undefined) {
    // OpenAI chat completions
    const details = usage.prompt_tokens_details
    return {
      input: num(usage.prompt_tokens),
      output: num(usage.completion_tokens),
      cached: isRecord(details) ? num(details.cached_tokens) : undefined,
      model
    }
  }
  // The Responses API counts cached tokens among the input tokens; Anthropic counts cache reads and writes apart.
  const details = usage.input_tokens_details
  return {
    input: sum(num(usage.input_tokens), num(usage.cache_read_input_tokens), num(usage.cache_creation_input_tokens)),
    output: num(usage.output_tokens),
    cached: isRecord(details) ? num(details.cached_tokens) : num(usage.cache_read_input_tokens),
    model
  }
}

/** An error the provider sent inside a reply (an `error` event mid-stream, a failed Responses body). */
export interface ProviderError {
  /** The provider's own name for it: `overloaded_error`, `server_error`, `RESOURCE_EXHAUSTED`, … */
  readonly type: string | undefined
  readonly message: string | undefined
}

/** How one reply ended, as its events or body say. */
export interface ReplyEnd {
  finishReason?: string | undefined
  /** The Responses API's status, beside its finish reason: `completed`, `incomplete`, `failed`. */
  status?: string | undefined
  error?: ProviderError | undefined
}

const errorOf = (error: unknown, type?: unknown): ProviderError => {
  const record = isRecord(error) ? error : {}
  const kind = type ?? record.type ?? record.status ?? record.code
  return {
    type: typeof kind === "string" ? kind : typeof kind === "number" ? String(kind) : undefined,
    message: typeof record.message === "string" ? record.message : undefined
  }
}

const terminal = new Set(["completed", "incomplete", "failed", "cancelled"])

/**
 * Reads how a reply ended from one event or body into `end`: chat completions' `finish_reason`, Anthropic's
 * `stop_reason` and `error` event, the Responses API's final `response` (its status, `incomplete_details.reason`,
 * `error`) and `error` event, Gemini's `finishReason` and `promptFeedback.blockReason`, and an `error` object any of
 * them may send instead of a chunk. Returns whether the event said anything of it.
 */
const readEnd = (json: unknown, end: ReplyEnd): boolean => {
  if (!isRecord(json)) return false
  let found = false
  if (Array.isArray(json.choices)) {
    for (const choice of json.choices) {
      if (isRecord(choice) && typeof choice.finish_reason === "string") {
        end.finishReason = choice.finish_reason
        found = true
      }
    }
  }
  if (Array.isArray(json.candidates)) {
    for (const candidate of json.candidates) {
      if (isRecord(candidate) && typeof candidate.finishReason === "string") {
        end.finishReason = candidate.finishReason
        found = true
      }
    }
  }
  if (isRecord(json.promptFeedback) && typeof json.promptFeedback.blockReason === "string") {
    end.finishReason = json.promptFeedback.blockReason
    found = true
  }
  // Anthropic: the stop reason in the last `message_delta`, or in the body
  if (json.type === "message_delta" && isRecord(json.delta) && typeof json.delta.stop_reason === "string") {
    end.finishReason = json.delta.stop_reason
    found = true
  }
  if (json.type === "message" && typeof json.stop_reason === "string") {
    end.finishReason = json.stop_reason
    found = true
  }
  // The Responses API: the final `response` (a body, or the event that carries it)
  const response = json.object === "response" ? json : isRecord(json.response) ? json.response : undefined
  if (response !== undefined && typeof response.status === "string" && terminal.has(response.status)) {
    end.status = response.status
    const details = response.incomplete_details
    end.finishReason = isRecord(details) && typeof details.reason === "string" ? details.reason : response.status
    if (response.status === "failed") end.error = errorOf(response.error)
    found = true
  }
  if (json.type === "error") {
    // Anthropic's `{ type: "error", error: {...} }`; the Responses API's `{ type: "error", code, message }`
    end.error = isRecord(json.error) ? errorOf(json.error) : errorOf(json, json.code)
    found = true
  } else if (isRecord(json.error)) {
    // an error object sent in place of a chunk (chat completions servers, Gemini)
    end.error = errorOf(json.error)
    found = true
  }
  return found
}

/** What one attempt received and what the provider reported of it. */
interface Attempt {
  readonly counts: Counts
  readonly contentEvents: number
  readonly text: string
  readonly end: ReplyEnd
}

const readEvents = (call: LlmStreamCall): Attempt => {
  const counts: Counts = {}
  const end: ReplyEnd = {}
  let contentEvents = 0
  let text = ""
  for (const event of call.sseResponses() ?? []) {
    let json: unknown
    try {
      json = event.json()
    } catch {
      // a line that is not JSON (`[DONE]`, a malformed event) carries neither text nor usage
      continue
    }
    const got = textOf(json)
    if (got.length > 0) contentEvents++
    text += got
    readEnd(json, end)
    const reported = countsOf(json)
    if (reported === undefined) continue
    // later events repeat or raise the counts: keep the largest
    counts.input = max(counts.input, reported.input)
    counts.output = max(counts.output, reported.output)
    counts.cached = max(counts.cached, reported.cached)
    counts.model ??= reported.model
  }
  return { counts, contentEvents, text, end }
}

const readBody = (call: LlmCall): Attempt => {
  let json: unknown
  try {
    json = call.httpResponse?.body.json()
  } catch {
    json = undefined
  }
  const end: ReplyEnd = {}
  readEnd(json, end)
  return { counts: countsOf(json) ?? {}, contentEvents: 0, text: textOf(json), end }
}

/** The events read from the end of a stream to find how it ended: the last event with an end says it. */
const lastEvents = 8

/**
 * How the answering attempt of a call or stream that the engine settled ended: what decides whether its value stands
 * (`core/errors/outcome.ts`). A stream's end is in its last events, so only those are read.
 */
export const replyEnd = (log: FunctionLog | null): { readonly call: LlmCall | LlmStreamCall; readonly end: ReplyEnd } | undefined => {
  const calls = log?.calls ?? []
  const call = calls.find((c) => c.selected) ?? calls[calls.length - 1]
  if (call === undefined) return undefined
  if (!isStreamCall(call)) return { call, end: readBody(call).end }
  const end: ReplyEnd = {}
  const events = call.sseResponses() ?? []
  for (let i = events.length - 1; i >= Math.max(0, events.length - lastEvents); i--) {
    let json: unknown
    try {
      json = events[i]!.json()
    } catch {
      continue
    }
    if (readEnd(json, end)) break
  }
  return { call, end }
}

/** The text of the request's messages, for an estimate of its input tokens. */
const requestText = (call: LlmCall | LlmStreamCall): string => {
  let json: unknown
  try {
    json = call.httpRequest?.body.json()
  } catch {
    return ""
  }
  let text = ""
  const visit = (u: unknown, key: string | undefined): void => {
    if (typeof u === "string") {
      if (key === "text" || key === "content" || key === "input" || key === "system") text += u
    } else if (Array.isArray(u)) u.forEach((item) => visit(item, key))
    else if (isRecord(u)) for (const [k, v] of Object.entries(u)) visit(v, k)
  }
  visit(json, undefined)
  return text
}

/** The reply text an attempt received (read whole: for an error's `rawOutput`, not on the way of every call). */
export const replyText = (call: LlmCall | LlmStreamCall): string =>
  (isStreamCall(call) ? readEvents(call) : readBody(call)).text

/** The prompt an attempt sent, one `role: text` line per message, as the engine's own errors show it. */
export const promptOf = (call: LlmCall | LlmStreamCall): string => {
  let json: unknown
  try {
    json = call.httpRequest?.body.json()
  } catch {
    return ""
  }
  if (!isRecord(json)) return ""
  const lines: Array<string> = []
  const system = json.system ?? json.instructions ?? (isRecord(json.systemInstruction) ? json.systemInstruction.parts : undefined)
  const textIn = (content: unknown): string =>
    typeof content === "string"
      ? content
      : Array.isArray(content)
      ? content.map((part) => isRecord(part) ? str(part.text) : "").join("")
      : ""
  if (system !== undefined) lines.push(`system: ${textIn(system)}`)
  const messages = json.messages ?? json.contents ?? json.input
  if (typeof messages === "string") lines.push(`user: ${messages}`)
  else if (Array.isArray(messages)) {
    for (const message of messages) {
      if (isRecord(message)) lines.push(`${str(message.role)}: ${textIn(message.content ?? message.parts)}`)
    }
  }
  return lines.join("\n")
}

const requestModel = (call: LlmCall | LlmStreamCall): string | undefined => {
  try {
    const json: unknown = call.httpRequest?.body.json()
    if (isRecord(json) && typeof json.model === "string") return json.model
    const match = /\/models\/([^/:]+):/.exec(call.httpRequest?.url ?? "")
    return match === null ? undefined : decodeURIComponent(match[1]!)
  } catch {
    return undefined
  }
}

/**
 * Tokens in `text` when no provider counted them: one per four characters (English text and JSON average about four
 * characters a token).
 */
export const estimateTokens = (text: string): number => Math.ceil(text.length / 4)

/** One attempt's usage: the provider's counts where they hold, estimates where they are missing or too low. */
const usageOf = (call: LlmCall | LlmStreamCall, countTokens: (text: string) => number) => {
  // An attempt the provider refused (a 429, a 500) used nothing.
  if ((call.httpResponse?.status ?? 200) >= 400) {
    const reported = { inputTokens: true, outputTokens: true, cachedInputTokens: true }
    return { input: 0, output: 0, cached: 0, reported, model: undefined, characters: 0, finishReason: undefined }
  }
  const attempt = isStreamCall(call) ? readEvents(call) : readBody(call)
  const engine = call.usage
  const { counts } = attempt
  // One event with text is at least one token; the text's estimate says more when events carry several tokens.
  const floor = attempt.contentEvents
  const estimated = Math.max(floor, countTokens(attempt.text))
  // The provider's count from the events (or body) stands when nothing received contradicts it. Without one, the
  // engine's stands for a call (its body is whole), and for a stream only where the events do not show more.
  const fromProvider = counts.output ?? (isStreamCall(call) ? undefined : num(engine?.outputTokens))
  const engineOutput = num(engine?.outputTokens)
  const reportedOutput = fromProvider !== undefined && fromProvider >= floor
    ? max(fromProvider, engineOutput)
    : engineOutput !== undefined && engineOutput >= floor && engineOutput >= estimated
    ? engineOutput
    : undefined
  const reportedInput = max(counts.input, num(engine?.inputTokens))
  const reportedCached = counts.cached ?? num(engine?.cachedInputTokens)
  return {
    input: reportedInput ?? countTokens(requestText(call)),
    output: reportedOutput ?? Math.max(estimated, engineOutput ?? 0),
    cached: reportedCached ?? 0,
    reported: {
      inputTokens: reportedInput !== undefined,
      outputTokens: reportedOutput !== undefined,
      cachedInputTokens: reportedCached !== undefined
    },
    model: counts.model,
    characters: attempt.text.length,
    finishReason: attempt.end.finishReason ?? (attempt.end.error === undefined ? undefined : "error")
  }
}

/**
 * Reads the usage of one call or stream from its log (`null` when the engine has none, or it could not be read).
 * Estimates count tokens with `countTokens` (a tokenizer of the model's family, when the runtime was given one).
 */
export const readUsage = (
  log: FunctionLog | null,
  clientOption: string | undefined,
  countTokens: (text: string) => number = estimateTokens
): Counted => {
  const calls = log?.calls ?? []
  const chosen = calls.find((call) => call.selected) ?? calls[calls.length - 1]
  const attempts = calls.map((call) => usageOf(call, countTokens))
  const all = (key: keyof Reported) => attempts.length > 0 && attempts.every((attempt) => attempt.reported[key])
  const total = (key: "input" | "output" | "cached" | "characters") =>
    attempts.reduce((n, attempt) => n + attempt[key], 0)
  const last = chosen === undefined ? undefined : attempts[calls.indexOf(chosen)]
  // A call's reply text: the engine keeps it whole even where the body could not be read.
  const raw = log?.rawLlmResponse ?? undefined
  return {
    client: chosen?.clientName ?? clientOption ?? "unknown",
    provider: chosen?.provider,
    requestModel: chosen === undefined ? undefined : requestModel(chosen),
    responseModel: last?.model,
    attempts: calls.length,
    inputTokens: total("input"),
    outputTokens: total("output"),
    cachedInputTokens: total("cached"),
    reported: { inputTokens: all("inputTokens"), outputTokens: all("outputTokens"), cachedInputTokens: all("cachedInputTokens") },
    characters: Math.max(total("characters"), raw?.length ?? 0),
    finishReason: last?.finishReason
  }
}
