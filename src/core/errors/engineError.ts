// What the engine throws or rejects with, read into plain data: which error it is, and its fields with secrets
// removed. No Effect here: BamlError.ts turns a report into its tagged error class.
import * as Engine from "@boundaryml/baml"
import { distance } from "fastest-levenshtein"
import type { DeclaredParam, Declarations } from "../engine/declarations.js"
import { isRecord } from "../isRecord.js"
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

/** What a call knows that the engine's report does not say: which function it asked for, and which exist. */
export interface CallContext {
  readonly functionName: string
  readonly declarations: Declarations
}

/**
 * An engine report made to say what to do: an unknown function names the functions that exist, closest first; a
 * wrong argument names the parameter, the BAML type baml_src declares for it and what was given, in words.
 */
export const explain = (report: EngineErrorReport, call: CallContext): EngineErrorReport => {
  if (report._tag === "BamlRuntimeError") {
    const unknown = /function '([^']*)' not found/.exec(report.message)
    if (unknown === null) return report
    return { ...report, message: unknownFunction(unknown[1]!, call.declarations) }
  }
  if (report._tag === "BamlInvalidArgumentError" && /Error: /.test(report.message)) {
    const params = call.declarations.get(call.functionName)
    const problems = report.message.split(/\n\s*Error: |^\s*Error: /).map((p) => p.trim()).filter((p) => p !== "")
    const signature = params === undefined
      ? ""
      : ` (it takes ${params.map((p) => `${p.name}: ${p.type}`).join(", ") || "no arguments"})`
    const lines = problems.map((problem) => argumentProblem(problem, params ?? []))
    return { ...report, message: `Invalid arguments for ${call.functionName}${signature}: ${lines.join("; ")}` }
  }
  return report
}

const unknownFunction = (name: string, declarations: Declarations): string => {
  const names = [...declarations.keys()]
  if (names.length === 0) return `There is no BAML function "${name}" in baml_src.`
  const lower = name.toLowerCase()
  const closest = names
    .map((candidate) => ({ candidate, d: distance(lower, candidate.toLowerCase()) }))
    .sort((a, b) => a.d - b.d || a.candidate.localeCompare(b.candidate))
    .map(({ candidate }) => candidate)
  return `There is no BAML function "${name}" in baml_src. Its functions, closest first: ${closest.join(", ")}`
}

// The engine's own words for types, and its Rust debug form of the value it was given.
const engineTypes: Record<string, string> = {
  "type String": "string",
  "type Int": "int",
  "type Float": "float",
  "type Bool": "bool",
  array: "a list",
  map: "a map"
}

const argumentProblem = (problem: string, params: ReadonlyArray<DeclaredParam>): string => {
  const missing = /^([^:]+): Missing required parameter/.exec(problem)
  if (missing !== null) {
    const param = params.find((p) => p.name === missing[1])
    return `${missing[1]} is missing${param === undefined ? "" : ` (expected ${param.type})`}`
  }
  const field = /^(.+?): Missing required field `([^`]+)` for class (\S+)$/.exec(problem)
  if (field !== null) return `${field[1]!.replace(/: /g, ".")}.${field[2]} is missing (a field of ${field[3]})`
  const wrong = /^(.+?): Expected (.+?), got `([\s\S]*)`$/.exec(problem)
  if (wrong === null) return problem
  const [, path, expected, got] = wrong as unknown as [string, string, string, string]
  const param = params.find((p) => p.name === path)
  const type = param?.type ?? engineTypes[expected] ?? expected.replace(/^class /, "").replace(/^one of .*/s, "another type")
  return `${path.replace(/: /g, ".")}: expected ${type}, got ${inWords(got.trim())}`
}

/** The engine's debug form of a value (`Number(42)`, `String("x")`, `Array [...]`) in words. */
const inWords = (value: string): string => {
  const scalar = /^(Number|String|Bool)\(([\s\S]*)\)$/.exec(value)
  if (scalar !== null) {
    const kind = scalar[1] === "Number" ? "the number" : scalar[1] === "String" ? "the string" : "the boolean"
    const shown = scalar[2]!.length > 40 ? `${scalar[2]!.slice(0, 40)}…` : scalar[2]
    return `${kind} ${shown}`
  }
  if (value === "Null") return "null"
  if (value.startsWith("Array")) return "a list"
  if (value.startsWith("Object")) return "an object"
  if (/^Media|^Image|^Audio|^Pdf|^Video/.test(value)) return "a media value"
  return value
}
