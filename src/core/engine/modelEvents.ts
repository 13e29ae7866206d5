// What the engine does not parse: the model's reasoning text and the finish reason, read from the raw events a stream's
// Collector keeps, in each provider format that carries them. Only `Baml.streamWithReasoning` makes a reader; other
// streams read and parse nothing of this. No Effect here.
import type * as Engine from "@boundaryml/baml"
import type { LlmStreamCall } from "@boundaryml/baml/native"
import { isRecord } from "../isRecord.js"

/** Marks the model's events, so that they are told from a BAML value and from a `Partial` or `Final` event. */
export const TypeId: unique symbol = Symbol.for("effect-baml/ModelEvent") as never

/**
 * Reasoning text the model wrote since the last event: Anthropic's thinking, an OpenAI reasoning summary, Gemini's
 * thoughts, or an OpenAI-compatible server's `reasoning_content`.
 */
export interface ReasoningDelta {
  readonly [TypeId]: typeof TypeId
  readonly _tag: "ReasoningDelta"
  readonly delta: string
}

/**
 * The reason the model stopped, in the provider's own words (`stop`, `length`, `end_turn`, `max_tokens`, `STOP`,
 * `completed`, `max_output_tokens`, …), as OpenTelemetry's `gen_ai.response.finish_reasons` records it.
 */
export interface Finish {
  readonly [TypeId]: typeof TypeId
  readonly _tag: "Finish"
  readonly reason: string
}

/** An event of the model that is not a value of the function. */
export type ModelEvent = ReasoningDelta | Finish

export const reasoningDelta = (delta: string): ReasoningDelta => ({ [TypeId]: TypeId, _tag: "ReasoningDelta", delta })

export const finish = (reason: string): Finish => ({ [TypeId]: TypeId, _tag: "Finish", reason })

export const isModelEvent = (u: unknown): u is ModelEvent => typeof u === "object" && u !== null && TypeId in u

const str = (u: unknown): string => typeof u === "string" ? u : ""

/** What one raw event says of the reasoning and the finish. */
export interface Read {
  readonly reasoning: string
  readonly finishReason: string | undefined
}

/** The reasoning text and the finish reason in one event of any format the engine speaks (both may be empty). */
export const readEvent = (json: unknown): Read => {
  let reasoning = ""
  let finishReason: string | undefined
  if (!isRecord(json)) return { reasoning, finishReason }
  if (Array.isArray(json.choices)) {
    // OpenAI chat completions and OpenAI-compatible servers (DeepSeek's `reasoning_content`, OpenRouter's `reasoning`)
    for (const choice of json.choices) {
      if (!isRecord(choice)) continue
      if (isRecord(choice.delta)) reasoning += str(choice.delta.reasoning_content) + str(choice.delta.reasoning)
      if (typeof choice.finish_reason === "string") finishReason = choice.finish_reason
    }
  }
  // Anthropic messages: thinking blocks, and the stop reason in `message_delta`
  if (json.type === "content_block_delta" && isRecord(json.delta) && json.delta.type === "thinking_delta") {
    reasoning += str(json.delta.thinking)
  }
  if (json.type === "message_delta" && isRecord(json.delta) && typeof json.delta.stop_reason === "string") {
    finishReason = json.delta.stop_reason
  }
  // OpenAI responses: reasoning summaries (and open models' reasoning text); a reply ends completed or incomplete
  if (json.type === "response.reasoning_summary_text.delta" || json.type === "response.reasoning_text.delta") {
    reasoning += str(json.delta)
  }
  if ((json.type === "response.completed" || json.type === "response.incomplete") && isRecord(json.response)) {
    const details = json.response.incomplete_details
    finishReason = isRecord(details) && typeof details.reason === "string" ? details.reason : str(json.response.status)
  }
  if (Array.isArray(json.candidates)) {
    // Google AI and Vertex: parts marked `thought`
    for (const candidate of json.candidates) {
      if (!isRecord(candidate)) continue
      if (isRecord(candidate.content) && Array.isArray(candidate.content.parts)) {
        for (const part of candidate.content.parts) if (isRecord(part) && part.thought === true) reasoning += str(part.text)
      }
      if (typeof candidate.finishReason === "string") finishReason = candidate.finishReason
    }
  }
  return { reasoning, finishReason }
}

/**
 * The engine hands out a stream call's raw events only as a copy of all of them so far (`sseResponses()`), so reading
 * at every event costs the square of their number (measured: 1,700 events, 2 s of CPU). Read at most this often while
 * the stream runs (the engine emits partials at most every 50 ms too), and once more when it ends.
 */
export const readEveryMs = 50

/** Reads a stream's new raw events from its Collector, told of each tick and of the end. */
export interface Reader {
  /** The engine received an event: reads now if the last read is old enough, or else soon (one timer at most). */
  readonly tick: () => void
  /** The stream settled: the reasoning not yet handed over, and the finish reason of the attempt that answered. */
  readonly settle: () => Read
  /** Stops a pending read (the stream has ended, either way). */
  readonly close: () => void
}

/**
 * A reader of `collector`'s last function log (the stream's own Collector holds only that stream), which hands each
 * piece of reasoning text to `onReasoning` as it reads it.
 */
export const makeReader = (collector: Engine.Collector, onReasoning: (delta: string) => void): Reader => {
  let lastRead = -Infinity
  let timer: ReturnType<typeof setTimeout> | undefined
  let closed = false
  // the attempt being read (a retry or a fallback starts another), and how many of its events were read
  let attempt = 0
  let seen = 0
  let finishReason: string | undefined
  const read = (): string => {
    lastRead = performance.now()
    let reasoning = ""
    const calls = collector.last?.calls ?? []
    if (calls.length === 0) return reasoning
    if (calls.length !== attempt) {
      attempt = calls.length
      seen = 0
      finishReason = undefined
    }
    const call = calls[calls.length - 1] as LlmStreamCall
    const events = typeof call.sseResponses === "function" ? call.sseResponses() ?? [] : []
    for (; seen < events.length; seen++) {
      let json: unknown
      try {
        json = events[seen]!.json()
      } catch {
        continue
      }
      const got = readEvent(json)
      reasoning += got.reasoning
      finishReason = got.finishReason ?? finishReason
    }
    return reasoning
  }
  const readAndHand = () => {
    timer = undefined
    if (closed) return
    const reasoning = read()
    if (reasoning.length > 0) onReasoning(reasoning)
  }
  const close = () => {
    closed = true
    if (timer !== undefined) clearTimeout(timer)
    timer = undefined
  }
  return {
    tick: () => {
      if (closed || timer !== undefined) return
      const wait = lastRead + readEveryMs - performance.now()
      // An event that is not read now is read when the interval is up, even if no other event follows it.
      if (wait <= 0) readAndHand()
      else timer = setTimeout(readAndHand, wait)
    },
    settle: () => {
      const reasoning = closed ? "" : read()
      close()
      return { reasoning, finishReason }
    },
    close
  }
}
