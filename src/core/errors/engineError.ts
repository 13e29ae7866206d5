// What the engine throws or rejects with, read into plain data: which error it is, and its fields with secrets
// removed. No Effect here: BamlError.ts turns a report into its tagged error class.
import * as Engine from "@boundaryml/baml"
import { distance } from "fastest-levenshtein"
import type { DeclaredParam, Declarations } from "../engine/declarations.js"
import { isRecord } from "../isRecord.js"
import { redact, scrubUserData, secretsOf, userDataOf } from "./redact.js"
import { httpStatusOf, isRetryable } from "./outcome.js"

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
    readonly errorType?: string
    readonly retryable: boolean
    readonly retryAfterSeconds?: number
  }
  | {
    readonly _tag: "BamlTimeoutError"
    readonly message: string
    readonly clientName: string
    readonly detailedMessage: string
  }
  | { readonly _tag: "BamlInvalidArgumentError"; readonly message: string }
  | {
    readonly _tag: "BamlClientError"
    readonly message: string
    readonly clientName?: string
    readonly host?: string
    readonly failure?: TransportFailure
    readonly retryable?: boolean
  }
  | { readonly _tag: "BamlRuntimeError"; readonly message: string; readonly file?: string; readonly line?: number }

/** What failed when no server answered: the name lookup, the connection, its TLS handshake, or the wait for it. */
export type TransportFailure = "dns" | "refused" | "reset" | "tls" | "timeout" | "connection"

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
 * credential does. Its `message` and `detailedMessage` hold neither the prompt, nor the model's reply, nor the string
 * values of `args` (the call's arguments): those stay in the fields that are there for them (`prompt`, `rawOutput`,
 * `rawResponse`).
 */
export const readEngineError = (
  error: unknown,
  env: Readonly<Record<string, string | undefined>> | undefined,
  args?: unknown
): EngineErrorReport => {
  const secrets = secretsOf(env)
  const safe = (text: string) => redact(text, secrets)
  const e = fromJsonReport(error) ?? Engine.toBamlError(error)
  // what the message must not hold: the call's arguments, and (below) the prompt and reply the report carries
  const userData = (...more: ReadonlyArray<string>) => userDataOf(args, more)
  const words = (text: string, data: ReadonlyArray<string>) => scrubUserData(safe(clean(text)), data)
  if (e instanceof Engine.BamlTimeoutError || (e instanceof Engine.BamlClientHttpError && isEngineTimeout(e))) {
    const data = userData()
    return {
      _tag: "BamlTimeoutError",
      message: words(e.message, data),
      clientName: e.client_name,
      detailedMessage: words(e.detailed_message, data)
    }
  }
  if (e instanceof Engine.BamlClientHttpError) {
    const data = userData()
    const failure = transportOf(e.message)
    if (failure !== undefined) {
      const host = failure.host === undefined ? "its provider" : failure.host
      return {
        _tag: "BamlClientError",
        message: `Client ${e.client_name} could not reach ${host}: ${failure.words}`,
        clientName: e.client_name,
        ...(failure.host === undefined ? {} : { host: failure.host }),
        failure: failure.failure,
        retryable: failure.failure !== "dns" && failure.failure !== "tls"
      }
    }
    const errorType = errorTypeOf(e.raw_response)
    // An error event mid-stream comes after a 200 (the engine's code 2 then): its type says which status it stands
    // for, as a call would have been answered (Anthropic's `overloaded_error` is a 529).
    const statusCode = e.status_code === 2 && errorType !== undefined ? httpStatusOf(errorType) ?? 2 : e.status_code
    return {
      _tag: "BamlClientHttpError",
      message: words(readable(e.message, e.status_code), data),
      clientName: e.client_name,
      statusCode,
      detailedMessage: words(readable(e.detailed_message, e.status_code), data),
      ...(e.raw_response === undefined || e.raw_response === null ? {} : { rawResponse: safe(e.raw_response) }),
      ...(errorType === undefined ? {} : { errorType }),
      retryable: isRetryable(statusCode, errorType)
    }
  }
  if (e instanceof Engine.BamlClientFinishReasonError) {
    const data = userData(e.prompt, e.raw_output)
    return {
      _tag: "BamlClientFinishReasonError",
      message: words(e.message, data),
      prompt: safe(e.prompt),
      rawOutput: safe(e.raw_output),
      detailedMessage: words(withoutUserSections(e.detailed_message), data),
      ...(e.finish_reason === undefined ? {} : { finishReason: e.finish_reason })
    }
  }
  if (e instanceof Engine.BamlValidationError) {
    const data = userData(e.prompt, e.raw_output)
    return {
      _tag: "BamlValidationError",
      message: words(e.message, data),
      prompt: safe(e.prompt),
      rawOutput: safe(e.raw_output),
      detailedMessage: words(withoutUserSections(e.detailed_message), data)
    }
  }
  const message = safe(e instanceof Error ? e.message : String(e))
  if (e instanceof Engine.BamlInvalidArgumentError || message.includes("BamlInvalidArgumentError")) {
    return { _tag: "BamlInvalidArgumentError", message: clean(message) }
  }
  if (e instanceof Engine.BamlClientError || /^BamlError: BamlClientError/.test(message)) {
    return { _tag: "BamlClientError", message: scrubUserData(clean(message), userData()) }
  }
  const missingDirectory = /Expected --from '([^']*)' to be a baml_src\/ directory, but it does not exist/.exec(message)
  if (missingDirectory !== null) {
    return { _tag: "BamlRuntimeError", message: `There is no baml_src directory at ${missingDirectory[1]}` }
  }
  return { _tag: "BamlRuntimeError", message: scrubUserData(clean(message), userData()), ...diagnostic(message) }
}

// The engine's detailed messages end with the prompt and the reply; the report keeps them in their own fields.
const withoutUserSections = (text: string): string => text.split(/\n\s*Prompt: /)[0]!.split(/\n\s*Raw Response: /)[0]!

/**
 * A failure before any server answered, from the engine's Rust debug form of it
 * (`reqwest::Error { kind: Request, url: "...", source: hyper_util::client::legacy::Error(Connect, ConnectError("dns
 * error", ...)) }`), which the engine reports as a 503 (or its code 2) though no server sent one.
 */
const transportOf = (
  text: string
): { readonly host: string | undefined; readonly failure: TransportFailure; readonly words: string } | undefined => {
  if (!/reqwest::Error|hyper_util::client/.test(text) || !/\bConnect\b|ConnectError|dns error/.test(text)) return undefined
  let host: string | undefined
  try {
    const url = /url: "([^"]+)"/.exec(text)?.[1]
    host = url === undefined ? undefined : new URL(url).host
  } catch {
    host = undefined
  }
  const [failure, words]: readonly [TransportFailure, string] = /dns error|lookup address|Name or service not known/i.test(text)
    ? ["dns", "its name could not be resolved (DNS lookup failed)"]
    : /ConnectionRefused|Connection refused/i.test(text)
    ? ["refused", "the connection was refused"]
    : /ConnectionReset|reset by peer/i.test(text)
    ? ["reset", "the connection was reset"]
    : /tls|ssl|certificate|handshake|InvalidMessage|InvalidContentType|CorruptMessage/i.test(text)
    ? ["tls", "the TLS handshake failed"]
    : /TimedOut|timed out/i.test(text)
    ? ["timeout", "the connection timed out"]
    : ["connection", "the connection failed"]
  return { host, failure, words }
}

/**
 * The engine's message made readable: a failure it could only show as its Rust debug form (`LLM call failed:
 * LLMErrorResponse { ..., prompt: Chat([...]), ..., message: "...", code: Other(404), ... }`, which holds the whole
 * prompt) becomes the status and the engine's own words.
 */
const readable = (text: string, statusCode: number): string => {
  if (!/LLMErrorResponse \{/.test(text)) return text
  const messages = [...text.matchAll(/, message: "((?:[^"\\]|\\.)*)"/g)]
  let inner = "the reply could not be read"
  const last = messages[messages.length - 1]?.[1]
  if (last !== undefined) {
    try {
      inner = JSON.parse(`"${last}"`) as string
    } catch {
      inner = last
    }
  }
  const head = text.slice(0, text.indexOf("LLM call failed:")).trim()
  const empty = /raw_response: Some\(""\)|raw_response: None/.test(text) ? " (the body was empty)" : ""
  return `${head ? `${head} ` : ""}Request failed with status code ${statusCode}: ${inner}${empty}`
}

/** The provider's own name for an error, from its error body: `error.type`, Gemini's `error.status`, `error.code`. */
const errorTypeOf = (body: string | null | undefined): string | undefined => {
  if (typeof body !== "string" || body.length === 0 || body.length > 100_000) return undefined
  let json: unknown
  try {
    json = JSON.parse(body)
  } catch {
    return undefined
  }
  if (!isRecord(json)) return undefined
  const error = isRecord(json.error) ? json.error : json
  for (const key of ["type", "status", "code"] as const) {
    const value = error[key]
    if (typeof value === "string" && value !== "error") return value
  }
  return undefined
}

/** What a call knows that the engine's report does not say: which function it asked for, and which exist. */
export interface CallContext {
  readonly functionName: string
  readonly declarations: Declarations
  /** The arguments it was called with: a missing one is named beside the unknown ones given. */
  readonly args?: unknown
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
    // The engine ignores arguments it does not know: beside a missing one, they are most often that one misnamed.
    if (params !== undefined && isRecord(call.args) && lines.some((line) => / is missing/.test(line))) {
      const known = new Set(params.map((p) => p.name))
      for (const name of Object.keys(call.args)) {
        if (!known.has(name)) lines.push(`${name} is not a parameter of ${call.functionName}`)
      }
    }
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

/**
 * The engine's debug form of a value (`Number(42)`, `String("x")`, `Array [...]`) in words: its kind, never the value,
 * which is the user's data.
 */
const inWords = (value: string): string => {
  const scalar = /^(Number|String|Bool)\([\s\S]*\)$/.exec(value)
  if (scalar !== null) return scalar[1] === "Number" ? "a number" : scalar[1] === "String" ? "a string" : "a boolean"
  if (value === "Null") return "null"
  if (value.startsWith("Array")) return "a list"
  if (value.startsWith("Object")) return "an object"
  if (/^(?:Some )?(?:Media|Image|Audio|Pdf|Video)\b/.test(value)) return "a media value"
  return "another value"
}
