/**
 * The wire format of a streamed BAML response, shared by the server (`BamlHttp`) and the client (`BamlClient`) of
 * both Effect lines: the message names, what each carries, and the two encodings' content types.
 *
 * A response is a sequence of messages: a `partial` for every element of the stream as soon as it arrives, then
 * either a `final` with the last element again, or an `error` with the encoded `BamlError` (or an
 * `InternalServerError`, or, for a resumable response whose generation was stopped, a `GenerationStopped`). Nothing
 * follows a `final` or an `error`. A response that ends without either was cut off.
 * In a resumable response every message has an id, its position in its generation: a client that reconnects sends the
 * last one it read, and is sent the rest.
 */
import { isRecord } from "../isRecord.js"

/** The name of a message: `event:` of a server-sent event, `event` of an NDJSON line. */
export type MessageName = "partial" | "final" | "error"

/**
 * A message as it crosses the wire: its data is JSON, not yet decoded, and, in a resumable response, its id (see
 * {@link messageId}).
 */
export interface Message {
  readonly event: MessageName
  readonly data: unknown
  readonly id?: string | undefined
}

/** The content types of the two encodings, as the server sends them and as a client asks for them. */
export const contentTypes = {
  sse: "text/event-stream",
  ndjson: "application/x-ndjson"
} as const

/** An encoding of a response: Server-Sent Events or newline-delimited JSON. */
export type Format = keyof typeof contentTypes

/** Which encoding a `content-type` header names, if any. */
export const formatOf = (contentType: string | undefined): Format | undefined => {
  const type = contentType?.split(";")[0]?.trim().toLowerCase()
  return type === contentTypes.sse ? "sse" : type === contentTypes.ndjson ? "ndjson" : undefined
}

/**
 * Which encoding a request's `accept` header prefers: NDJSON only when it names NDJSON and not SSE, since
 * `EventSource` and most clients ask for SSE.
 */
export const preferredFormat = (accept: string | undefined): Format => {
  const types = (accept ?? "").split(",").map((part) => part.split(";")[0]!.trim().toLowerCase())
  return types.includes(contentTypes.ndjson) && !types.includes(contentTypes.sse) ? "ndjson" : "sse"
}

/** The tag and message of the error sent when the server's stream died of a defect (its details stay in the log). */
export const internalServerError = {
  _tag: "InternalServerError",
  message: "The server failed while streaming the response."
} as const

/**
 * The tag and message of the error that ends the responses of a generation that was stopped (a stop route,
 * `Generations.stop`): it did not fail, and there is nothing to reconnect to.
 */
export const generationStopped = {
  _tag: "GenerationStopped",
  message: "The generation was stopped before its final result."
} as const

/** Whether an error message's data says its generation was stopped (see {@link generationStopped}). */
export const isGenerationStopped = (data: unknown): data is typeof generationStopped =>
  isRecord(data) && data._tag === generationStopped._tag

/** `undefined` (a void function's result) has no JSON form; `null` is the closest a client can read. */
export const orNull = (data: unknown): unknown => data === undefined ? null : data

const isMessageName = (name: unknown): name is MessageName =>
  name === "partial" || name === "final" || name === "error"

/** An NDJSON line, already parsed as JSON, as a message; `undefined` when it is not one. */
export const messageOfLine = (line: unknown): Message | undefined =>
  isRecord(line) && isMessageName(line.event) && "data" in line
    ? { event: line.event, data: line.data, ...(typeof line.id === "string" ? { id: line.id } : {}) }
    : undefined

/**
 * A server-sent event as a message; `undefined` when its name is not a message's. Its data is one line of JSON: one
 * that does not parse is reported as `SyntaxError`'s message.
 */
export const messageOfEvent = (
  event: string,
  data: string,
  id?: string | undefined
): Message | { readonly malformed: string } | undefined => {
  if (!isMessageName(event)) return undefined
  try {
    return { event, data: JSON.parse(data) as unknown, ...(id === undefined || id === "" ? {} : { id }) }
  } catch (error) {
    return { malformed: `the data of a "${event}" event is not JSON: ${String(error)}` }
  }
}

/** Whether an error message's data is the server's report of a defect rather than an encoded `BamlError`. */
export const isInternalServerError = (data: unknown): data is typeof internalServerError =>
  isRecord(data) && data._tag === internalServerError._tag

/** One wrong argument of a refused request: the path to it from the arguments object, and what is wrong with it. */
export interface ArgumentIssue {
  readonly path: ReadonlyArray<string | number>
  readonly message: string
}

/** An issue of a schema's decoding, as the wire carries it: each path segment a key or an index. */
export const argumentIssue = (path: ReadonlyArray<unknown>, message: string): ArgumentIssue => ({
  path: path.map((segment) => {
    // A Standard Schema path segment may be an object holding its key.
    const key = typeof segment === "object" && segment !== null && "key" in segment ? segment.key : segment
    return typeof key === "number" ? key : String(key)
  }),
  message
})

/** The message of a request refused for its arguments: each issue's path (dotted) and problem. */
export const invalidArgumentsMessage = (functionName: string, issues: ReadonlyArray<ArgumentIssue>): string =>
  `invalid arguments for ${functionName}: ${
    issues.map((issue) => `${issue.path.length === 0 ? "(arguments)" : issue.path.join(".")}: ${issue.message}`)
      .join("; ")
  }`

/**
 * A fetch handler and how to release what it holds: `(request: Request) => Promise<Response>`, as Next.js route
 * handlers, Hono, `Bun.serve` and `Deno.serve` take it, and `dispose`, which releases the layer it was built with.
 */
export interface FetchHandler {
  readonly handler: (request: Request) => Promise<Response>
  readonly dispose: () => Promise<void>
}

// Resumable responses

/**
 * The headers of a resumable response: `generation` names the generation a response reads (sent with every response
 * of a resumable route), `lastEventId` is what a client that reconnects sends, the id of the last message it read
 * (what an `EventSource` sends by itself).
 */
export const headers = {
  generation: "x-baml-generation",
  lastEventId: "last-event-id"
} as const

/**
 * Where a message stands in its response: the generation it belongs to and its sequence number, from 1. Position 0 is
 * the start, before the first message: a client that reconnects from it is sent every message.
 */
export interface Position {
  readonly generation: string
  readonly sequence: number
}

/** The id of the message at `position`, as SSE's `id:` and an NDJSON line's `id` carry it: `<generation>.<sequence>`. */
export const messageId = (position: Position): string => `${position.generation}.${position.sequence}`

/**
 * The position an id names (a `Last-Event-ID` header, a message's id); `undefined` when it names none: no generation
 * before the last `.`, or no sequence of digits after it.
 */
export const positionOf = (id: string | undefined): Position | undefined => {
  const at = id?.lastIndexOf(".") ?? -1
  if (id === undefined || at <= 0) return undefined
  const digits = id.slice(at + 1)
  const sequence = Number(digits)
  return /^\d+$/.test(digits) && Number.isSafeInteger(sequence) ? { generation: id.slice(0, at), sequence } : undefined
}

/** The message of a request refused for a `Last-Event-ID` that names no message (see {@link positionOf}). */
export const invalidLastEventIdMessage = (id: string): string =>
  `invalid Last-Event-ID ${JSON.stringify(id.length > 100 ? `${id.slice(0, 100)}…` : id)}: expected ` +
  "<generation>.<sequence>, the id of a message of this route's responses; no new generation was started"

/**
 * What a resumable route answers to a client that reconnects: `done` (204) when the generation has ended and the
 * client has read every message, which stops an `EventSource` from reconnecting; `gone` (410) when the server knows no
 * such generation (it ended longer ago than its grace period, or never was).
 */
export const resumeStatus = { done: 204, gone: 410 } as const
