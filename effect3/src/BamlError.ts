/**
 * The errors a BAML call or stream can fail with, as serialisable tagged classes.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { explain, readEngineError } from "../../src/core/engineError.js"

/**
 * The LLM replied, but the reply could not be parsed into the function's return type.
 *
 * @example
 * ```ts
 * import { Baml, BamlError } from "effect-baml/effect3"
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
 * import { BamlError } from "effect-baml/effect3"
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
 * not be read (a dropped connection, malformed server-sent events): then `statusCode` is the engine's code for it
 * (2), or the status the unreadable reply came with; 503 when the provider could not be reached at all.
 *
 * @example
 * ```ts
 * import { Baml } from "effect-baml/effect3"
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
 * A timeout configured on the BAML client elapsed: `http { request_timeout_ms ... }` for calls and streams,
 * `time_to_first_token_timeout_ms` and `idle_timeout_ms` for streams (the engine applies those two to streams only,
 * counting from the response headers). `Effect.timeout` fails with its own `TimeoutException` instead.
 *
 * @example
 * ```ts
 * import { BamlError } from "effect-baml/effect3"
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
 * import { Baml } from "effect-baml/effect3"
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
 * import { BamlError } from "effect-baml/effect3"
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
 * import { BamlRuntime } from "effect-baml/effect3"
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
 * import { Baml, TokenBudget } from "effect-baml/effect3"
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
 * import { BamlError } from "effect-baml/effect3"
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
 * import { BamlError } from "effect-baml/effect3"
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
  typeof BamlRuntimeError,
  typeof BudgetExceeded
]> = Schema.Union(
  BamlValidationError,
  BamlClientFinishReasonError,
  BamlClientHttpError,
  BamlTimeoutError,
  BamlInvalidArgumentError,
  BamlClientError,
  BamlRuntimeError,
  BudgetExceeded
)

/**
 * What {@link fromEngine} removes from the errors it makes: the values of the credential-like variables of `env`
 * (`*_API_KEY`, `*_TOKEN`, `*_SECRET`, ...), the environment the call ran with.
 *
 * @example
 * ```ts
 * import { BamlError } from "effect-baml/effect3"
 *
 * const redaction: BamlError.Redaction = { env: { OPENAI_API_KEY: "sk-..." } }
 * ```
 * @since 0.1.0
 * @category models
 */
export interface Redaction {
  readonly env?: Readonly<Record<string, string | undefined>> | undefined
}

/**
 * The call an engine error came from, for {@link fromEngine} to say what to do: an unknown function's error lists
 * the `functions` that exist, closest first; a wrong argument's names the parameter's declared BAML type.
 *
 * @example
 * ```ts
 * import { BamlError } from "effect-baml/effect3"
 *
 * const call: BamlError.Call = { functionName: "ExtractResume", functions: new Map([["ExtractResume", []]]) }
 * ```
 * @since 0.2.0
 * @category models
 */
export interface Call {
  readonly functionName: string
  readonly functions?: ReadonlyMap<string, ReadonlyArray<{ readonly name: string; readonly type: string }>> | undefined
}

/**
 * Maps anything the engine throws or rejects with to a {@link BamlError}. The engine quotes the provider's answer,
 * and a provider may echo the request's headers: the error keeps none of the credentials of `redaction.env`, nor
 * anything that stands where a credential does (after `Bearer`, in an `api-key` header, an `sk-...` key).
 *
 * @example
 * ```ts
 * import { BamlError } from "effect-baml/effect3"
 *
 * const error = BamlError.fromEngine(new Error("BamlError: function 'Nope' not found"), { env: process.env })
 * // error._tag === "BamlRuntimeError"
 * ```
 * @since 0.1.0
 * @category conversions
 */
export const fromEngine = (error: unknown, redaction: Redaction = {}, call?: Call): BamlError => {
  const read = readEngineError(error, redaction.env)
  const report = call === undefined ? read : explain(read, { functionName: call.functionName, declarations: call.functions ?? new Map() })
  switch (report._tag) {
    case "BamlValidationError":
      return new BamlValidationError(fieldsOf(report))
    case "BamlClientFinishReasonError":
      return new BamlClientFinishReasonError(fieldsOf(report))
    case "BamlClientHttpError":
      return new BamlClientHttpError(fieldsOf(report))
    case "BamlTimeoutError":
      return new BamlTimeoutError(fieldsOf(report))
    case "BamlInvalidArgumentError":
      return new BamlInvalidArgumentError(fieldsOf(report))
    case "BamlClientError":
      return new BamlClientError(fieldsOf(report))
    case "BamlRuntimeError":
      return new BamlRuntimeError(fieldsOf(report))
  }
}

const fieldsOf = <R extends { readonly _tag: string }>({ _tag, ...fields }: R): Omit<R, "_tag"> => fields
