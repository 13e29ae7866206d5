/**
 * The errors a BAML call or stream can fail with, as serialisable tagged classes.
 *
 * @since 0.1.0
 */
import * as Engine from "@boundaryml/baml"
import { Schema } from "effect"

/**
 * The LLM replied, but the reply could not be parsed into the function's return type.
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
 * The LLM stopped for a finish reason the client does not allow (e.g. `length`).
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
 * The provider answered with an HTTP error status (after the client's retries and fallbacks), or its reply could
 * not be read (a dropped connection, malformed server-sent events).
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
  rawResponse: Schema.optional(Schema.String)
}) {}

/**
 * A timeout configured on the BAML client (`http { ... }` options) elapsed.
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
 * The arguments do not match the BAML function's parameters (wrong type, missing, extra).
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
  { message: Schema.String }
) {}

/**
 * The LLM client failed for a reason other than an HTTP status (e.g. the provider could not be reached).
 *
 * @example
 * ```ts
 * import { BamlError } from "effect-baml"
 *
 * const isClientError = (e: BamlError.BamlError) => e._tag === "BamlClientError"
 * ```
 * @since 0.1.0
 * @category errors
 */
export class BamlClientError extends Schema.TaggedError<BamlClientError>()("BamlClientError", {
  message: Schema.String
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
 * Every error a BAML call or stream can fail with. Interruption is not among them: a call aborted because its fiber
 * was interrupted ends as an interruption.
 *
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
export const BamlError: Schema.Union<[
  typeof BamlValidationError,
  typeof BamlClientFinishReasonError,
  typeof BamlClientHttpError,
  typeof BamlTimeoutError,
  typeof BamlInvalidArgumentError,
  typeof BamlClientError,
  typeof BamlRuntimeError
]> = Schema.Union(
  BamlValidationError,
  BamlClientFinishReasonError,
  BamlClientHttpError,
  BamlTimeoutError,
  BamlInvalidArgumentError,
  BamlClientError,
  BamlRuntimeError
)

// The engine appends a Rust backtrace (when RUST_BACKTRACE is set) and prefixes its class chain; neither helps a user.
const clean = (text: string): string =>
  text
    .split(/\n+\s*Stack backtrace:/)[0]!
    .replace(/^(?:Baml\w*Error: )+/, "")
    .trim()

const diagnostic = (text: string): { readonly file?: string; readonly line?: number } => {
  const match = /-->\s+(\S+?):(\d+)/.exec(text)
  return match ? { file: match[1]!, line: Number(match[2]) } : {}
}

/**
 * Maps anything the engine throws or rejects with to a {@link BamlError}.
 *
 * @example
 * ```ts
 * import { BamlError } from "effect-baml"
 *
 * const error = BamlError.fromEngine(new Error("BamlError: function 'Nope' not found"))
 * // error._tag === "BamlRuntimeError"
 * ```
 * @since 0.1.0
 * @category conversions
 */
export const fromEngine = (error: unknown): BamlError => {
  const e = Engine.toBamlError(error)
  if (e instanceof Engine.BamlTimeoutError) {
    return new BamlTimeoutError({
      message: clean(e.message),
      clientName: e.client_name,
      detailedMessage: clean(e.detailed_message)
    })
  }
  if (e instanceof Engine.BamlClientHttpError) {
    return new BamlClientHttpError({
      message: clean(e.message),
      clientName: e.client_name,
      statusCode: e.status_code,
      detailedMessage: clean(e.detailed_message),
      ...(e.raw_response === undefined ? {} : { rawResponse: e.raw_response })
    })
  }
  if (e instanceof Engine.BamlClientFinishReasonError) {
    return new BamlClientFinishReasonError({
      message: clean(e.message),
      prompt: e.prompt,
      rawOutput: e.raw_output,
      detailedMessage: clean(e.detailed_message),
      ...(e.finish_reason === undefined ? {} : { finishReason: e.finish_reason })
    })
  }
  if (e instanceof Engine.BamlValidationError) {
    return new BamlValidationError({
      message: clean(e.message),
      prompt: e.prompt,
      rawOutput: e.raw_output,
      detailedMessage: clean(e.detailed_message)
    })
  }
  const message = e instanceof Error ? e.message : String(e)
  if (e instanceof Engine.BamlInvalidArgumentError || message.includes("BamlInvalidArgumentError")) {
    return new BamlInvalidArgumentError({ message: clean(message) })
  }
  if (e instanceof Engine.BamlClientError || /^BamlError: BamlClientError/.test(message)) {
    return new BamlClientError({ message: clean(message) })
  }
  return new BamlRuntimeError({ message: clean(message), ...diagnostic(message) })
}
