/**
 * The errors a BAML call or stream can fail with, as serialisable tagged classes.
 *
 * @since 0.1.0
 */
import { readEngineError } from "./core/engineError.js"
import {
  BamlClientError,
  BamlClientFinishReasonError,
  BamlClientHttpError,
  type BamlError,
  BamlInvalidArgumentError,
  BamlRuntimeError,
  BamlTimeoutError,
  BamlValidationError
} from "./internal/errors.js"

export {
  BamlClientError,
  BamlClientFinishReasonError,
  BamlClientHttpError,
  BamlError,
  BamlInvalidArgumentError,
  BamlRuntimeError,
  BamlTimeoutError,
  BamlValidationError,
  BudgetExceeded
} from "./internal/errors.js"

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
 * Maps anything the engine throws or rejects with to a {@link BamlError}. The engine quotes the provider's answer,
 * and a provider may echo the request's headers: the error keeps none of the credentials of `redaction.env`, nor
 * anything that stands where a credential does (after `Bearer`, in an `api-key` header, an `sk-...` key).
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
export const fromEngine = (error: unknown, redaction: Redaction = {}): BamlError => {
  const report = readEngineError(error, redaction.env)
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
