// What one call or stream used, read from the engine's Collector: the provider's own usage report where there is one,
// otherwise an estimate from the server-sent events the engine received (also for aborted requests, which have no
// report). No Effect here.
import type { FunctionLog, LlmCall, LlmStreamCall } from "@boundaryml/baml/native"
import { isRecord } from "./isRecord.js"

/** What one call or stream used, over all its attempts. */
export interface Usage {
  /** The client that answered, or the last one tried; the `client` option or `unknown` when none was. */
  readonly client: string
  readonly provider: string | undefined
  readonly attempts: number
  readonly inputTokens: number | undefined
  readonly cachedInputTokens: number | undefined
  /** The provider's count, or the estimate when it reported none. */
  readonly outputTokens: number
  /** Whether `outputTokens` is the provider's count. */
  readonly exact: boolean
  /** Characters of reply text received. */
  readonly characters: number
}

const isStreamCall = (call: LlmCall | LlmStreamCall): call is LlmStreamCall => "sseResponses" in call

const str = (u: unknown): string => typeof u === "string" ? u : ""

/** The reply text in one server-sent event, for the providers' streaming formats the engine speaks. */
const textOfEvent = (event: unknown): string => {
  if (!isRecord(event)) return ""
  let text = ""
  if (Array.isArray(event.choices)) {
    // OpenAI chat completions (and every openai-generic server)
    for (const choice of event.choices) {
      if (isRecord(choice) && isRecord(choice.delta)) text += str(choice.delta.content)
    }
  }
  // Anthropic messages
  if (event.type === "content_block_delta" && isRecord(event.delta)) text += str(event.delta.text)
  // OpenAI responses
  if (event.type === "response.output_text.delta") text += str(event.delta)
  if (Array.isArray(event.candidates)) {
    // Google AI and Vertex
    for (const candidate of event.candidates) {
      if (isRecord(candidate) && isRecord(candidate.content) && Array.isArray(candidate.content.parts)) {
        for (const part of candidate.content.parts) if (isRecord(part)) text += str(part.text)
      }
    }
  }
  return text
}

/** Events with reply text, and its characters, over every attempt of a stream. */
const received = (calls: ReadonlyArray<LlmCall | LlmStreamCall>) => {
  let contentEvents = 0
  let characters = 0
  for (const call of calls) {
    if (!isStreamCall(call)) continue
    for (const event of call.sseResponses() ?? []) {
      let text = ""
      try {
        text = textOfEvent(event.json())
      } catch {
        // a line that is not JSON (`[DONE]`, a malformed event) carries no reply text
      }
      if (text.length > 0) contentEvents++
      characters += text.length
    }
  }
  return { contentEvents, characters }
}

/**
 * Output tokens from what arrived, when the provider did not count them: one per event with text (OpenAI streams one
 * token per event), or one per four characters (English text averages about four characters a token) when that is
 * more, as with providers that send several tokens per event.
 */
const estimate = (contentEvents: number, characters: number): number =>
  Math.max(contentEvents, Math.ceil(characters / 4))

const nullable = (n: number | null | undefined): number | undefined => n === null || n === undefined ? undefined : n

/** Reads the usage of one call or stream from its log (`null` when the engine has none, or it could not be read). */
export const readUsage = (log: FunctionLog | null, clientOption: string | undefined): Usage => {
  const calls = log?.calls ?? []
  const chosen = calls.find((call) => call.selected) ?? calls[calls.length - 1]
  const usage = log?.usage
  const reported = nullable(usage?.outputTokens)
  const raw = log?.rawLlmResponse ?? undefined
  // Reading the events back is linear in their number, so it is done once, and only when needed.
  const got = reported !== undefined && raw !== undefined
    ? { contentEvents: 0, characters: raw.length }
    : received(calls)
  const characters = raw?.length ?? got.characters
  return {
    client: chosen?.clientName ?? clientOption ?? "unknown",
    provider: chosen?.provider,
    attempts: calls.length,
    inputTokens: nullable(usage?.inputTokens),
    cachedInputTokens: nullable(usage?.cachedInputTokens),
    outputTokens: reported ?? estimate(got.contentEvents, characters),
    exact: reported !== undefined,
    characters
  }
}
