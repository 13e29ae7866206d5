/**
 * The errors a BAML call or stream can fail with, as serialisable tagged classes.
 *
 * @since 0.1.0
 */
import { explain, readEngineError } from "./core/errors/engineError.js"
import type { BamlError } from "./client/BamlError.js"
import { fromReport } from "./internal/fromReport.js"

export {
  ArgumentIssue,
  BamlClientError,
  BamlClientFinishReasonError,
  BamlClientHttpError,
  BamlError,
  BamlInvalidArgumentError,
  BamlRuntimeError,
  BamlTimeoutError,
  BamlValidationError,
  BudgetExceeded
} from "./client/BamlError.js"

/**
 * What {@link fromEngine} removes from the errors it makes: the values of the credential-like variables of `env`
 * (`*_API_KEY`, `*_TOKEN`, `*_SECRET`, ...), the environment the call ran with.
 *
 * @example
 * ```ts
 * import { BamlError } from "effect-baml"
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
 * import { BamlError } from "effect-baml"
 *
 * const call: BamlError.Call = { functionName: "ExtractResume", functions: new Map([["ExtractResume", []]]) }
 * ```
 * @since 0.2.0
 * @category models
 */
export interface Call {
  readonly functionName: string
  readonly functions?: ReadonlyMap<string, ReadonlyArray<{ readonly name: string; readonly type: string }>> | undefined
  /**
   * The arguments it was called with: their string values are kept out of the error's `message` and
   * `detailedMessage`, and an unknown argument is named beside a missing one.
   */
  readonly args?: unknown
}

/**
 * Maps anything the engine throws or rejects with to a {@link BamlError}. The engine quotes the provider's answer,
 * and a provider may echo the request's headers: the error keeps none of the credentials of `redaction.env`, nor
 * anything that stands where a credential does (after `Bearer`, in an `api-key` header, an `sk-...` key). Its
 * `message` holds neither the prompt, nor the model's reply, nor the string values of `call.args`: they are the user's
 * data, in the fields named for them (`prompt`, `rawOutput`, `rawResponse`).
 *
 * @example
 * ```ts
 * import { BamlError } from "effect-baml"
 *
 * const error = BamlError.fromEngine(new Error("BamlError: function 'Nope' not found"), { env: process.env })
 * // error._tag === "BamlRuntimeError"
 * ```
 * @since 0.1.0
 * @category conversions
 */
export const fromEngine = (error: unknown, redaction: Redaction = {}, call?: Call): BamlError => {
  const read = readEngineError(error, redaction.env, call?.args)
  return fromReport(
    call === undefined
      ? read
      : explain(read, { functionName: call.functionName, declarations: call.functions ?? new Map(), args: call.args })
  )
}
