// Whether a reply the engine settled as a value stands, from how the provider says it ended: an error event, a failed
// Responses body, a stop for content (safety, recitation, a filter), or a finish reason the client's lists deny. The
// engine applies `finish_reason_deny_list` to some formats only, and takes a reply stopped for safety as a value; this
// rule is one for every format, for calls and streams alike. No Effect here: `Baml.ts` asks it before it hands a value
// over. Also what makes an error retryable.
import type { FunctionLog } from "@boundaryml/baml/native"
import type { DeclaredClient } from "../engine/declarations.js"
import { promptOf, replyEnd, type ReplyEnd, replyText } from "../usage/usage.js"
import type { EngineErrorReport } from "./engineError.js"
import { redact, scrubUserData, secretsOf, userDataOf } from "./redact.js"

/**
 * Finish reasons that stop a reply for its content rather than its length: what came before the stop is not the
 * model's answer, so it is never a value, whatever the client's lists say. Gemini's blocking reasons, chat
 * completions' `content_filter`, Anthropic's `refusal`.
 */
export const contentStops: ReadonlySet<string> = new Set([
  "SAFETY",
  "RECITATION",
  "PROHIBITED_CONTENT",
  "BLOCKLIST",
  "SPII",
  "IMAGE_SAFETY",
  "content_filter",
  "refusal"
])

/** The HTTP status a provider's error type stands for, as a call would have been answered with it. */
const statuses: Readonly<Record<string, number>> = {
  // Anthropic and OpenAI
  invalid_request_error: 400,
  authentication_error: 401,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  server_error: 500,
  overloaded_error: 529,
  // Gemini (google.rpc.Code names)
  INVALID_ARGUMENT: 400,
  FAILED_PRECONDITION: 400,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  NOT_FOUND: 404,
  RESOURCE_EXHAUSTED: 429,
  INTERNAL: 500,
  UNAVAILABLE: 503,
  DEADLINE_EXCEEDED: 504
}

/** The status `errorType` stands for, if it is one of the providers' known types. */
export const httpStatusOf = (errorType: string): number | undefined => statuses[errorType]

/** Overloaded, rate-limited and failing servers: worth asking again later. */
const retryableTypes = new Set(["overloaded_error", "rate_limit_error", "RESOURCE_EXHAUSTED", "UNAVAILABLE", "server_error", "api_error"])

/**
 * Whether asking again may succeed: a rate limit (429), an overloaded or failing server (5xx, Anthropic's 529), a
 * timeout (408), a conflict (409), a reply that broke off (the engine's code 2), or one of the providers' error types
 * that say so.
 */
export const isRetryable = (statusCode: number, errorType: string | undefined): boolean =>
  statusCode === 2 || statusCode === 408 || statusCode === 409 || statusCode === 429 || statusCode >= 500 ||
  (errorType !== undefined && retryableTypes.has(errorType))

/** `Retry-After` of the last answer of a call or stream, in seconds (its number form; an HTTP date is read too). */
export const retryAfterOf = (log: FunctionLog | null): number | undefined => {
  const calls = log?.calls ?? []
  const headers = calls[calls.length - 1]?.httpResponse?.headers as Record<string, unknown> | undefined
  const value = headers?.["retry-after"]
  if (typeof value !== "string") return undefined
  const seconds = Number(value)
  if (Number.isFinite(seconds) && seconds >= 0) return seconds
  const date = Date.parse(value)
  return Number.isNaN(date) ? undefined : Math.max(0, Math.round((date - Date.now()) / 1000))
}

/** Whether the client's lists deny a reply that ended so (the Responses API's status counts as its reason too). */
const denied = (end: ReplyEnd, client: DeclaredClient | undefined): boolean => {
  const reasons = [end.finishReason, end.status].filter((r): r is string => r !== undefined)
  if (reasons.length === 0 || client === undefined) return false
  if (client.allowList !== undefined) return !reasons.some((r) => client.allowList!.includes(r))
  return client.denyList !== undefined && reasons.some((r) => client.denyList!.includes(r))
}

/** What an error made here knows of the reply: its client, and (read only when needed) its prompt and text. */
export interface Reply {
  readonly clientName: string
  readonly prompt: () => string
  readonly rawOutput: () => string
}

/**
 * The error a reply the engine settled as a value ends in, or `undefined` when the value stands. A finish reason is
 * a value unless it stops for content or the client's lists deny it (BAML's own rule, applied to every format); an
 * error event or a failed Responses body is an HTTP error of the status its type stands for. Its messages name the
 * reason, never the reply.
 */
export const outcomeOf = (
  end: ReplyEnd,
  client: DeclaredClient | undefined,
  reply: Reply
): EngineErrorReport | undefined => {
  if (end.error !== undefined) {
    const errorType = end.error.type
    const statusCode = (errorType === undefined ? undefined : httpStatusOf(errorType)) ?? 2
    const what = errorType === undefined ? "an error" : `an error (${errorType})`
    const message = `The provider of client ${reply.clientName} ended the reply with ${what}` +
      (end.error.message === undefined ? "" : `: ${end.error.message}`)
    return {
      _tag: "BamlClientHttpError",
      message,
      clientName: reply.clientName,
      statusCode,
      detailedMessage: message,
      ...(errorType === undefined ? {} : { errorType }),
      retryable: isRetryable(statusCode, errorType)
    }
  }
  const reason = end.finishReason
  if (reason === undefined) return undefined
  const content = contentStops.has(reason)
  if (!content && !denied(end, client)) return undefined
  const message = content
    ? `The provider stopped the reply for ${reason}: what it wrote before the stop is not an answer`
    : `The reply stopped for ${reason}, a finish reason client ${reply.clientName} does not allow`
  return {
    _tag: "BamlClientFinishReasonError",
    message,
    prompt: reply.prompt(),
    rawOutput: reply.rawOutput(),
    finishReason: reason,
    detailedMessage: `${message} (finish reason: ${reason})`
  }
}

/**
 * The error the call or stream of `log`, which the engine settled without an error, ends in instead of its value;
 * `undefined` when the value stands. `client` says what the answering client declares; `env` and `args` are kept out
 * of the messages (the secrets of `env` out of every field).
 */
export const settledOutcome = (
  log: FunctionLog | null,
  client: (name: string) => DeclaredClient | undefined,
  env: Readonly<Record<string, string | undefined>>,
  args: unknown
): EngineErrorReport | undefined => {
  let read: ReturnType<typeof replyEnd>
  try {
    read = replyEnd(log)
  } catch {
    // the engine's records are read natively; if that fails, the engine's own outcome stands
    return undefined
  }
  // an attempt the provider refused is the engine's HTTP error, never a value
  if (read === undefined || (read.call.httpResponse?.status ?? 200) >= 400) return undefined
  const { call, end } = read
  const secrets = secretsOf(env)
  const safe = (text: string) => redact(text, secrets)
  const prompt = () => safe(promptOf(call))
  const rawOutput = () => safe(log?.rawLlmResponse ?? replyText(call))
  const report = outcomeOf(end, client(call.clientName), { clientName: call.clientName, prompt, rawOutput })
  if (report === undefined || !("detailedMessage" in report)) return report
  const data = userDataOf(args, "prompt" in report ? [report.prompt, report.rawOutput] : [rawOutput()])
  const words = (text: string) => scrubUserData(safe(text), data)
  return { ...report, message: words(report.message), detailedMessage: words(report.detailedMessage) }
}
