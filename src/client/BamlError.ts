/**
 * The error classes and their union schema, with nothing of the engine: what a client (a browser) needs to decode
 * errors, and what `BamlError` re-exports for the server.
 *
 * @since 0.2.0
 */
import { Schema } from "effect"
import * as Kit from "#kit"

/**
 * The LLM replied, but the reply could not be parsed into the function's return type. `prompt` and `rawOutput` are
 * the user's data (the rendered prompt with the call's arguments, and the model's reply): `message` and
 * `detailedMessage` never hold them, so those are safe to log.
 *
 * @example
 * ```ts
 * import { Baml, BamlError } from "effect-baml"
 * import { Effect } from "effect"
 *
 * const program = Baml.call("ExtractResume", { resume: "..." }).pipe(
 *   Effect.catchTag("BamlValidationError", (e) => Effect.succeed({ raw: e.rawOutput }))
 * )
 * ```
 * @since 0.1.0
 * @category errors
 */
export class BamlValidationError extends Schema.TaggedError<BamlValidationError>()("BamlValidationError", {
  message: Schema.String,
  prompt: Schema.String,
  rawOutput: Schema.String,
  detailedMessage: Schema.String
}) {}

/**
 * The reply stopped before its end, and what came before the stop is not a value: the provider stopped it for its
 * content (Gemini's `SAFETY`, `RECITATION`, `PROHIBITED_CONTENT`, ...; `content_filter`; Anthropic's `refusal`),
 * whatever the client's lists say, or for a finish reason the client's `finish_reason_deny_list` denies (or its
 * `finish_reason_allow_list` does not allow), e.g. `length`, `max_tokens`, `MAX_TOKENS`, or the Responses API's
 * `incomplete` (`finishReason` is then its reason, `max_output_tokens`). The same for calls and streams, on every
 * provider format. `finishReason` is the provider's own word; `prompt` and `rawOutput` (what was written before the
 * stop) are the user's data, never in `message`.
 *
 * @example
 * ```ts
 * import { BamlError } from "effect-baml"
 *
 * const isCutOff = (e: BamlError.BamlError) => e._tag === "BamlClientFinishReasonError"
 * ```
 * @since 0.1.0
 * @category errors
 */
export class BamlClientFinishReasonError extends Schema.TaggedError<BamlClientFinishReasonError>()(
  "BamlClientFinishReasonError",
  {
    message: Schema.String,
    prompt: Schema.String,
    rawOutput: Schema.String,
    finishReason: Schema.optional(Schema.String),
    detailedMessage: Schema.String
  }
) {}

/**
 * The provider answered with an HTTP error status (after the client's retries and fallbacks), ended its reply with an
 * error (an `error` event mid-stream, a failed Responses body), or its reply could not be read (a connection dropped
 * mid-reply, malformed server-sent events): then `statusCode` is the engine's code for it (2), or the status the
 * unreadable reply came with. An error the provider sent inside a reply has the status its type stands for
 * (Anthropic's `overloaded_error` is 529, as a call is answered; `rate_limit_error` 429), and its type in
 * `errorType`. `retryable` says whether asking again may succeed (429, 5xx and 529, 408, a reply that broke off, an
 * overloaded or rate-limited provider), `retryAfterSeconds` what the provider's `Retry-After` asked for. A provider
 * that could not be reached at all is a `BamlClientError`. `rawResponse` is the provider's body, which may quote the
 * request: treat it as the user's data.
 *
 * @example
 * ```ts
 * import { Baml } from "effect-baml"
 * import { Effect } from "effect"
 *
 * const program = Baml.call("ExtractResume", { resume: "..." }).pipe(
 *   Effect.catchTag("BamlClientHttpError", (e) => Effect.logWarning(`provider said ${e.statusCode}`))
 * )
 * ```
 * @since 0.1.0
 * @category errors
 */
export class BamlClientHttpError extends Schema.TaggedError<BamlClientHttpError>()("BamlClientHttpError", {
  message: Schema.String,
  clientName: Schema.String,
  statusCode: Schema.Number,
  detailedMessage: Schema.String,
  rawResponse: Schema.optional(Schema.String),
  errorType: Schema.optional(Schema.String),
  retryable: Schema.optional(Schema.Boolean),
  retryAfterSeconds: Schema.optional(Schema.Number)
}) {}

/**
 * A timeout configured on the BAML client elapsed: `http { request_timeout_ms ... }` for calls and streams,
 * `time_to_first_token_timeout_ms` and `idle_timeout_ms` for streams (the engine applies those two to streams only,
 * counting from the response headers). `Effect.timeout` fails with its own `TimeoutException` instead.
 *
 * @example
 * ```ts
 * import { BamlError } from "effect-baml"
 *
 * const isTimeout = (e: BamlError.BamlError) => e._tag === "BamlTimeoutError"
 * ```
 * @since 0.1.0
 * @category errors
 */
export class BamlTimeoutError extends Schema.TaggedError<BamlTimeoutError>()("BamlTimeoutError", {
  message: Schema.String,
  clientName: Schema.String,
  detailedMessage: Schema.String
}) {}

/**
 * One wrong argument: the path to it from the arguments object (`["profile", "kind"]`) and what is wrong with it.
 *
 * @example
 * ```ts
 * import { BamlError } from "effect-baml"
 *
 * const issue: typeof BamlError.ArgumentIssue.Type = { path: ["profile", "kind"], message: "Expected \"person\"" }
 * ```
 * @since 0.2.0
 * @category errors
 */
export const ArgumentIssue = Schema.Struct({
  path: Schema.Array(Kit.Union(Schema.String, Schema.Number)),
  message: Schema.String
})

/**
 * The arguments do not match the BAML function's parameters (wrong type, missing, extra). When a server decoded them
 * with the function's parameters schema (`BamlHttp.handler`'s `params`), `issues` names each wrong argument.
 *
 * @example
 * ```ts
 * import { Baml } from "effect-baml"
 * import { Effect } from "effect"
 *
 * const program = Baml.call("ExtractResume", { resume: 42 }).pipe(
 *   Effect.catchTag("BamlInvalidArgumentError", (e) => Effect.logError(e.message))
 * )
 * ```
 * @since 0.1.0
 * @category errors
 */
export class BamlInvalidArgumentError extends Schema.TaggedError<BamlInvalidArgumentError>()(
  "BamlInvalidArgumentError",
  {
    message: Schema.String,
    issues: Schema.optional(Schema.Array(ArgumentIssue))
  }
) {}

/**
 * The LLM client failed for a reason other than an HTTP status. When no server answered at all, `host` names the
 * host it tried, `failure` what failed (`dns`: the name could not be resolved, `refused`, `reset`, `tls`: the TLS
 * handshake, `timeout`, or `connection`), and `retryable` whether asking again may help (not after a DNS or TLS
 * failure, which are configuration).
 *
 * @example
 * ```ts
 * import { BamlError } from "effect-baml"
 *
 * const unreachable = (e: BamlError.BamlError) => e._tag === "BamlClientError" && e.failure !== undefined
 * ```
 * @since 0.1.0
 * @category errors
 */
export class BamlClientError extends Schema.TaggedError<BamlClientError>()("BamlClientError", {
  message: Schema.String,
  clientName: Schema.optional(Schema.String),
  host: Schema.optional(Schema.String),
  failure: Schema.optional(Schema.String),
  retryable: Schema.optional(Schema.Boolean)
}) {}

/**
 * The BAML sources or the runtime configuration are wrong: a .baml file that does not parse (with the `file` and
 * `line` of the engine's diagnostic), a missing baml_src directory, an unknown function or client.
 *
 * @example
 * ```ts
 * import { BamlRuntime } from "effect-baml"
 * import { Effect, Layer } from "effect"
 *
 * const program = Layer.launch(BamlRuntime.layerFromDirectory("./baml_src")).pipe(
 *   Effect.catchTag("BamlRuntimeError", (e) => Effect.logError(`${e.file}:${e.line}: ${e.message}`))
 * )
 * ```
 * @since 0.1.0
 * @category errors
 */
export class BamlRuntimeError extends Schema.TaggedError<BamlRuntimeError>()("BamlRuntimeError", {
  message: Schema.String,
  file: Schema.optional(Schema.String),
  line: Schema.optional(Schema.Number)
}) {}

/**
 * A `TokenBudget` was spent: a stream that went over it was cut off (its request aborted), or a call or stream was
 * refused before it sent anything. `outputTokens` is what the budget had counted when it said no, `callOutputTokens`
 * what this call or stream had received by then (0 when it was refused at the start).
 *
 * @example
 * ```ts
 * import { Baml, TokenBudget } from "effect-baml"
 * import { Effect, Stream } from "effect"
 *
 * const program = Baml.stream("ExtractResume", { resume: "..." }).pipe(
 *   Stream.runLast,
 *   TokenBudget.limit({ maxOutputTokens: 500 }),
 *   Effect.catchTag("BudgetExceeded", (e) => Effect.logWarning(`cut off after ${e.outputTokens} tokens`))
 * )
 * ```
 * @since 0.1.0
 * @category errors
 */
export class BudgetExceeded extends Schema.TaggedError<BudgetExceeded>()("BudgetExceeded", {
  message: Schema.String,
  functionName: Schema.String,
  outputTokens: Schema.Number,
  callOutputTokens: Schema.Number,
  maxOutputTokens: Schema.optional(Schema.Number),
  cost: Schema.optional(Schema.Number),
  maxCost: Schema.optional(Schema.Number)
}) {}

/**
 * Every error a BAML call or stream can fail with. Interruption is not among them: a call aborted because its fiber
 * was interrupted ends as an interruption.
 *
 * @example
 * ```ts
 * import { BamlError } from "effect-baml"
 *
 * const describe = (error: BamlError.BamlError): string =>
 *   error._tag === "BamlClientHttpError" ? `provider answered ${error.statusCode}` : error.message
 * ```
 * @since 0.1.0
 * @category errors
 */
export type BamlError =
  | BamlValidationError
  | BamlClientFinishReasonError
  | BamlClientHttpError
  | BamlTimeoutError
  | BamlInvalidArgumentError
  | BamlClientError
  | BamlRuntimeError
  | BudgetExceeded

/**
 * The schema of {@link BamlError}, to send errors over the wire (e.g. to a browser) and decode them there.
 *
 * @example
 * ```ts
 * import { BamlError } from "effect-baml"
 * import { Schema } from "effect"
 *
 * const decode = Schema.decodeUnknownSync(BamlError.BamlError)
 * ```
 * @since 0.1.0
 * @category schemas
 */
export const BamlError = Kit.Union(
  BamlValidationError,
  BamlClientFinishReasonError,
  BamlClientHttpError,
  BamlTimeoutError,
  BamlInvalidArgumentError,
  BamlClientError,
  BamlRuntimeError,
  BudgetExceeded
)

