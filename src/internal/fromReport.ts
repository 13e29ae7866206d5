// An engine error report (plain data, `core/errors/`) made into its tagged class.
import {
  BamlClientError,
  BamlClientFinishReasonError,
  BamlClientHttpError,
  type BamlError,
  BamlInvalidArgumentError,
  BamlRuntimeError,
  BamlTimeoutError,
  BamlValidationError
} from "../client/BamlError.js"
import type { EngineErrorReport } from "../core/errors/engineError.js"

/** The tagged class of `report`'s tag, with its fields. */
export const fromReport = (report: EngineErrorReport): BamlError => {
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

/** `error` with the `Retry-After` the provider answered with, when it is an HTTP error and one was sent. */
export const withRetryAfter = (error: BamlError, retryAfter: () => number | undefined): BamlError => {
  if (error._tag !== "BamlClientHttpError") return error
  const retryAfterSeconds = retryAfter()
  if (retryAfterSeconds === undefined) return error
  const fields = error
  return new BamlClientHttpError({
    message: fields.message,
    clientName: fields.clientName,
    statusCode: fields.statusCode,
    detailedMessage: fields.detailedMessage,
    ...(fields.rawResponse === undefined ? {} : { rawResponse: fields.rawResponse }),
    ...(fields.errorType === undefined ? {} : { errorType: fields.errorType }),
    ...(fields.retryable === undefined ? {} : { retryable: fields.retryable }),
    retryAfterSeconds
  })
}
