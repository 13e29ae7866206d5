// What the engine throws or rejects with, read into plain data: which error it is, and its fields with secrets
// removed. No Effect here: BamlError.ts turns a report into its tagged error class.
import * as Engine from "@boundaryml/baml"
import { isRecord } from "./isRecord.js"
import { redact, secretsOf } from "./redact.js"

/** One engine error as plain data, by the tag of the `BamlError` class it becomes. */
export type EngineErrorReport =
  | {
    readonly _tag: "BamlValidationError"
    readonly message: string
    readonly prompt: string
    readonly rawOutput: string
    readonly detailedMessage: string
  }
  | {
    readonly _tag: "BamlClientFinishReasonError"
    readonly message: string
    readonly prompt: string
    readonly rawOutput: string
    readonly finishReason?: string
    readonly detailedMessage: string
  }
  | {
    readonly _tag: "BamlClientHttpError"
    readonly message: string
    readonly clientName: string
    readonly statusCode: number
    readonly detailedMessage: string
    readonly rawResponse?: string
  }
  | {
    readonly _tag: "BamlTimeoutError"
    readonly message: string
    readonly clientName: string
    readonly detailedMessage: string
  }
  | { readonly _tag: "BamlInvalidArgumentError"; readonly message: string }
  | { readonly _tag: "BamlClientError"; readonly message: string }
  | { readonly _tag: "BamlRuntimeError"; readonly message: string; readonly file?: string; readonly line?: number }

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
 * Reads the JSON report most engine errors carry as their message, by its `type`. `Engine.toBamlError` searches the
 * whole text instead, which also holds the prompt and the model's reply: a reply that says "Operation was aborted"
 * would make a validation error look like an abort.
 */
const fromJsonReport = (error: unknown): Error | undefined => {
  if (!(error instanceof Error)) return undefined
  let report: unknown
  try {
    report = JSON.parse(error.message)
  } catch {
    return undefined
  }
  if (!isRecord(report)) return undefined
  const text = (key: string) => typeof report[key] === "string" ? report[key] : ""
  const optional = (key: string) => typeof report[key] === "string" ? report[key] : undefined
  const message = text("message") || error.message
  switch (report.type) {
    case "BamlValidationError":
      return new Engine.BamlValidationError(text("prompt"), text("raw_output"), message, text("detailed_message"))
    case "BamlClientFinishReasonError":
      return new Engine.BamlClientFinishReasonError(
        text("prompt"),
        text("raw_output"),
        message,
        optional("finish_reason"),
        text("detailed_message")
      )
    case "BamlTimeoutError":
      return Object.assign(new Engine.BamlTimeoutError(text("client_name"), message), {
        detailed_message: text("detailed_message")
      })
    case "BamlClientHttpError": {
      const status = typeof report.status_code === "number" ? report.status_code : -100
      const detailed = text("detailed_message")
      return new Engine.BamlClientHttpError(text("client_name"), message, status, detailed, optional("raw_response"))
    }
    case "BamlAbortError":
      return new Engine.BamlAbortError(message, report.reason, text("detailed_message"))
  }
  return undefined
}

// The engine's own http timeouts (`request_timeout_ms`, `idle_timeout_ms`, ...) reach streams as HTTP errors with
// status 408; a 408 the provider itself answered says "Request failed with status code" and stays an HTTP error.
const isEngineTimeout = (e: Engine.BamlClientHttpError): boolean =>
  e.status_code === 408 && !/^Request failed with status code/.test(clean(e.message))

/**
 * Reads anything the engine throws or rejects with. The engine quotes the provider's answer, and a provider may echo
 * the request's headers: the report keeps none of the credentials of `env`, nor anything that stands where a
 * credential does.
 */
export const readEngineError = (
  error: unknown,
  env: Readonly<Record<string, string | undefined>> | undefined
): EngineErrorReport => {
  const secrets = secretsOf(env)
  const safe = (text: string) => redact(text, secrets)
  const e = fromJsonReport(error) ?? Engine.toBamlError(error)
  if (e instanceof Engine.BamlTimeoutError || (e instanceof Engine.BamlClientHttpError && isEngineTimeout(e))) {
    return {
      _tag: "BamlTimeoutError",
      message: safe(clean(e.message)),
      clientName: e.client_name,
      detailedMessage: safe(clean(e.detailed_message))
    }
  }
  if (e instanceof Engine.BamlClientHttpError) {
    return {
      _tag: "BamlClientHttpError",
      message: safe(clean(e.message)),
      clientName: e.client_name,
      statusCode: e.status_code,
      detailedMessage: safe(clean(e.detailed_message)),
      ...(e.raw_response === undefined ? {} : { rawResponse: safe(e.raw_response) })
    }
  }
  if (e instanceof Engine.BamlClientFinishReasonError) {
    return {
      _tag: "BamlClientFinishReasonError",
      message: safe(clean(e.message)),
      prompt: safe(e.prompt),
      rawOutput: safe(e.raw_output),
      detailedMessage: safe(clean(e.detailed_message)),
      ...(e.finish_reason === undefined ? {} : { finishReason: e.finish_reason })
    }
  }
  if (e instanceof Engine.BamlValidationError) {
    return {
      _tag: "BamlValidationError",
      message: safe(clean(e.message)),
      prompt: safe(e.prompt),
      rawOutput: safe(e.raw_output),
      detailedMessage: safe(clean(e.detailed_message))
    }
  }
  const message = safe(e instanceof Error ? e.message : String(e))
  if (e instanceof Engine.BamlInvalidArgumentError || message.includes("BamlInvalidArgumentError")) {
    return { _tag: "BamlInvalidArgumentError", message: clean(message) }
  }
  if (e instanceof Engine.BamlClientError || /^BamlError: BamlClientError/.test(message)) {
    return { _tag: "BamlClientError", message: clean(message) }
  }
  return { _tag: "BamlRuntimeError", message: clean(message), ...diagnostic(message) }
}
