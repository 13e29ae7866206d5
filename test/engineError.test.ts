/**
 * Engine errors read into plain data (src/core/errors/engineError.ts, shared by both lines), and made into the tagged
 * classes (BamlError.fromEngine), from errors made here in the engine's own shapes.
 */
import * as Engine from "@boundaryml/baml"
import { describe, expect, it } from "@effect/vitest"
import { BamlError } from "effect-baml"
import { declarations } from "../src/core/engine/declarations.js"
import { explain, readEngineError } from "../src/core/errors/engineError.js"

const KEY = "key-of-the-test-1234"
const env = { SCRIPTED_API_KEY: KEY, SCRIPTED_BASE_URL: "http://127.0.0.1:1" }
/** An engine error carrying a JSON report, as the engine throws most of them. */
const report = (fields: Record<string, unknown>) => new Error(JSON.stringify(fields))
const backtrace = "\n\nStack backtrace:\n   0: baml_runtime::something\n"

describe("reading an engine error", () => {
  it("a validation report keeps its prompt and output, even when the model's reply speaks of an abort", () => {
    const error = report({
      type: "BamlValidationError",
      message: `BamlError: BamlValidationError: Failed to parse${backtrace}`,
      prompt: `prompt with ${KEY}`,
      raw_output: "Operation was aborted",
      detailed_message: `BamlValidationError: details ${KEY}${backtrace}`
    })
    expect(readEngineError(error, env)).toEqual({
      _tag: "BamlValidationError",
      message: "Failed to parse",
      prompt: "prompt with <redacted>",
      rawOutput: "Operation was aborted",
      detailedMessage: "details <redacted>"
    })
  })

  it("a report's fields that are not strings read as empty, and an empty message as the error's own", () => {
    const fields = { type: "BamlValidationError", message: "", prompt: 1, raw_output: null }
    expect(readEngineError(report(fields), undefined)).toEqual({
      _tag: "BamlValidationError",
      message: JSON.stringify(fields),
      prompt: "",
      rawOutput: "",
      detailedMessage: ""
    })
  })

  it("a finish-reason report, with its reason and without one", () => {
    const fields = {
      type: "BamlClientFinishReasonError",
      message: "BamlClientFinishReasonError: stopped",
      prompt: "p",
      raw_output: `cut ${KEY}`,
      finish_reason: "length",
      detailed_message: "why"
    }
    expect(readEngineError(report(fields), env)).toEqual({
      _tag: "BamlClientFinishReasonError",
      message: "stopped",
      prompt: "p",
      rawOutput: "cut <redacted>",
      finishReason: "length",
      detailedMessage: "why"
    })
    expect(readEngineError(report({ ...fields, finish_reason: 3 }), env)).not.toHaveProperty("finishReason")
  })

  it("a timeout report is a timeout of its client", () => {
    const fields = {
      type: "BamlTimeoutError",
      client_name: "Slow",
      message: `BamlTimeoutError: timed out ${KEY}`,
      detailed_message: `BamlError: waited${backtrace}`
    }
    expect(readEngineError(report(fields), env)).toEqual({
      _tag: "BamlTimeoutError",
      message: "timed out <redacted>",
      clientName: "Slow",
      detailedMessage: "waited"
    })
  })

  it("an HTTP report keeps its status, client and raw response, redacted", () => {
    const fields = {
      type: "BamlClientHttpError",
      client_name: "Mine",
      message: "BamlError: BamlClientError: BamlClientHttpError: Request failed with status code: 401",
      status_code: 401,
      detailed_message: "denied",
      raw_response: `{"authorization": "Bearer ${KEY}"}`
    }
    expect(readEngineError(report(fields), env)).toEqual({
      _tag: "BamlClientHttpError",
      message: "Request failed with status code: 401",
      clientName: "Mine",
      statusCode: 401,
      detailedMessage: "denied",
      rawResponse: `{"authorization": "Bearer <redacted>"}`,
      retryable: false
    })
    const bare = readEngineError(report({ type: "BamlClientHttpError", message: "no status" }), env)
    expect(bare).toEqual({
      _tag: "BamlClientHttpError",
      message: "no status",
      clientName: "",
      statusCode: -100,
      detailedMessage: "",
      retryable: false
    })
    expect(readEngineError(report({ ...fields, status_code: "401" }), env)).toMatchObject({ statusCode: -100 })
  })

  it("a 408 is the engine's own timeout, unless the provider answered it", () => {
    const engineTimeout = report({ type: "BamlClientHttpError", client_name: "C", message: "idle timeout", status_code: 408 })
    expect(readEngineError(engineTimeout, undefined)).toEqual({
      _tag: "BamlTimeoutError",
      message: "idle timeout",
      clientName: "C",
      detailedMessage: ""
    })
    const answered = report({
      type: "BamlClientHttpError",
      client_name: "C",
      message: "BamlClientHttpError: Request failed with status code: 408",
      status_code: 408
    })
    expect(readEngineError(answered, undefined)).toMatchObject({ _tag: "BamlClientHttpError", statusCode: 408 })
    const other = report({ type: "BamlClientHttpError", message: "idle timeout", status_code: 409 })
    expect(readEngineError(other, undefined)).toMatchObject({ _tag: "BamlClientHttpError", statusCode: 409 })
  })

  it("an abort report reads its own message, not the whole report", () => {
    const fields = { type: "BamlAbortError", message: "Operation was aborted", reason: "consumer left" }
    expect(readEngineError(report(fields), undefined)).toEqual({ _tag: "BamlRuntimeError", message: "Operation was aborted" })
  })

  it("errors the engine throws as its classes are read as such", () => {
    const timeout = new Engine.BamlTimeoutError("T", "BamlTimeoutError: late")
    expect(readEngineError(timeout, undefined)).toMatchObject({ _tag: "BamlTimeoutError", clientName: "T", message: "late" })
    const http = new Engine.BamlClientHttpError("H", "boom", 500, "detail")
    expect(readEngineError(http, undefined)).toEqual({
      _tag: "BamlClientHttpError",
      message: "boom",
      clientName: "H",
      statusCode: 500,
      detailedMessage: "detail",
      retryable: true
    })
    const invalid = new Engine.BamlInvalidArgumentError(`bad ${KEY}`)
    expect(readEngineError(invalid, env)).toEqual({ _tag: "BamlInvalidArgumentError", message: "bad <redacted>" })
    const client = new Engine.BamlClientError("client trouble")
    expect(readEngineError(client, undefined)).toEqual({ _tag: "BamlClientError", message: "client trouble" })
  })

  it("plain errors are read by their text: invalid arguments, client errors, and runtime errors with their place", () => {
    expect(readEngineError(new Error("BamlError: BamlInvalidArgumentError: Error: n: Missing"), undefined))
      .toEqual({ _tag: "BamlInvalidArgumentError", message: "Error: n: Missing" })
    expect(readEngineError(new Error("BamlError: BamlClientError: no client"), undefined))
      .toEqual({ _tag: "BamlClientError", message: "no client" })
    // a client error is one the engine names first, not one whose text merely mentions it
    expect(readEngineError(new Error("see BamlError: BamlClientError: no client"), undefined))
      .toMatchObject({ _tag: "BamlRuntimeError" })
    expect(readEngineError(new Error(`BamlError: error: bad\n  -->  main.baml:12\n ${KEY}${backtrace}`), env)).toEqual({
      _tag: "BamlRuntimeError",
      message: "error: bad\n  -->  main.baml:12\n <redacted>",
      file: "main.baml",
      line: 12
    })
    expect(readEngineError("just a string", undefined)).toEqual({ _tag: "BamlRuntimeError", message: "just a string" })
  })

  it("JSON that is not a report, or a report of another type, is read by its text", () => {
    expect(readEngineError(new Error("42"), undefined)).toEqual({ _tag: "BamlRuntimeError", message: "42" })
    expect(readEngineError(new Error("null"), undefined)).toEqual({ _tag: "BamlRuntimeError", message: "null" })
    const other = JSON.stringify({ type: "Something", message: "m" })
    expect(readEngineError(new Error(other), undefined)).toEqual({ _tag: "BamlRuntimeError", message: other })
  })
})

describe("reading an engine error's text", () => {
  it("cuts the backtrace however it is indented, the class chain only where it leads, and the spaces around", () => {
    const indented = new Error("BamlError: BamlClientError: no client  \n    Stack backtrace:\n  0: x")
    expect(readEngineError(indented, undefined)).toEqual({ _tag: "BamlClientError", message: "no client" })
    const quoted = new Error("failed: BamlError: x \n")
    expect(readEngineError(quoted, undefined)).toEqual({ _tag: "BamlRuntimeError", message: "failed: BamlError: x" })
  })

  it("only an Error carries the engine's JSON report; anything else is read by its text", () => {
    const text = JSON.stringify({ type: "BamlAbortError", message: "m" })
    expect(readEngineError({ message: text }, undefined)).toEqual({ _tag: "BamlRuntimeError", message: text })
  })

  it("a 408 is the provider's only when its message starts with the provider's words", () => {
    const quoting = report({ type: "BamlClientHttpError", message: "idle: Request failed with status code", status_code: 408 })
    expect(readEngineError(quoting, undefined)).toMatchObject({ _tag: "BamlTimeoutError" })
  })
})

describe("explaining an engine error", () => {
  const functions = declarations({
    "f.baml": [
      "function Count(n: int, exact: bool) -> int {",
      "}",
      "function Describe(profile: Profile, tags: string[]) -> string {",
      "}",
      "function Cost() -> float {",
      "}",
      "function Zeta() -> int {",
      "}",
      "function Beta() -> int {",
      "}"
    ].join("\n")
  })
  const call = (functionName: string) => ({ functionName, declarations: functions })

  it("an unknown function: the functions that exist, closest first, ties in alphabetical order", () => {
    const explained = explain({ _tag: "BamlRuntimeError", message: "function 'Cuont' not found" }, call("Cuont"))
    // Cost and Count tie at 2 edits, Beta and Zeta at 4; Describe is farthest
    expect(explained.message).toBe(
      "There is no BAML function \"Cuont\" in baml_src. Its functions, closest first: Cost, Count, Beta, Zeta, Describe"
    )
    const none = explain({ _tag: "BamlRuntimeError", message: "function 'X' not found" }, {
      functionName: "X",
      declarations: new Map()
    })
    expect(none.message).toBe("There is no BAML function \"X\" in baml_src.")
  })

  it("other runtime errors, and other errors that say the same words, pass through unchanged", () => {
    const runtime = { _tag: "BamlRuntimeError", message: "something broke" } as const
    expect(explain(runtime, call("Count"))).toBe(runtime)
    const client = { _tag: "BamlClientError", message: "function 'Cuont' not found" } as const
    expect(explain(client, call("Cuont"))).toBe(client)
    const invalid = { _tag: "BamlInvalidArgumentError", message: "no engine problem list here" } as const
    expect(explain(invalid, call("Count"))).toBe(invalid)
    const otherWithList = { _tag: "BamlClientError", message: "Error: n: Missing required parameter" } as const
    expect(explain(otherWithList, call("Count"))).toBe(otherWithList)
  })

  it("reads the engine's wording exactly: what it does not recognise whole is passed on as the engine said it", () => {
    const problems = [
      // a missing parameter is a top-level name; a nested path is not a parameter
      "a: b: Missing required parameter",
      "profile: Missing required field `name` for class Profile, and more",
      "n: Expected type Int, got `Number(1)` and more",
      "jobs: Expected list of class Job, got `Null`",
      "kind: Expected string or one of \"a\", got `Null`",
      "n: Expected type Int, got ` Null `",
      "n: Expected type Int, got `Wrapped Number(1)`",
      "n: Expected type Int, got `Number(1) x`",
      "s: Expected type String, got `String(\"five apples\")`",
      // the engine's own words inside a value do not start a new problem
      "s: Expected type String, got `String(\"Error: x\")`",
      `s: Expected type String, got \`String(${"y".repeat(40)})\``,
      ...["Media", "Image", "Audio", "Pdf", "Video"].map((kind) => `m: Expected type String, got \`Some ${kind}\``),
      "profile: age: Expected type Int, got `Bool(false)`",
      "tags: Expected array, got `Object {}`"
    ]
    const message = problems.map((problem) => `Error: ${problem}`).join("\n")
    const explained = explain({ _tag: "BamlInvalidArgumentError", message }, call("Describe"))
    expect(explained.message.split("; ")).toEqual([
      "Invalid arguments for Describe (it takes profile: Profile, tags: string[]): a: b: Missing required parameter",
      "profile: Missing required field `name` for class Profile, and more",
      "n: Expected type Int, got `Number(1)` and more",
      "jobs: expected list of class Job, got null",
      "kind: expected string or one of \"a\", got null",
      "n: expected int, got null",
      // what the engine shows in a form not known here is not shown either: it may be the user's value
      "n: expected int, got another value",
      "n: expected int, got another value",
      "s: expected string, got a string",
      "s: expected string, got a string",
      "s: expected string, got a string",
      ...["Media", "Image", "Audio", "Pdf", "Video"].map(() => "m: expected string, got a media value"),
      "profile.age: expected int, got a boolean",
      // the declared type, not the engine's word for it
      "tags: expected string[], got an object"
    ])
  })

  it("wrong arguments: each problem with the parameter, its declared type and the kind of value given, never the value", () => {
    const message = [
      "Error: n: Expected type Int, got `String(\"five\")`",
      "  Error: exact: Missing required parameter",
      "  Error: profile: Missing required field `name` for class Profile",
      "  Error: profile: address: Missing required field `city` for class Address",
      "  Error: tags: Expected array, got `Object {}`",
      "  Error: other: Expected type Float, got `Null`",
      "  Error: bool: Expected type Bool, got `Bool(true)`",
      "  Error: list: Expected map, got `Array [Number(1)]`",
      "  Error: kind: Expected one of \"a\" | \"b\", got `Number(1)`",
      "  Error: obj: Expected class Profile, got `Image { url: \"x\" }`",
      "  Error: text: Expected type String, got `String(\"" + "x".repeat(45) + "\")`",
      "  Error: odd: Expected type String, got `Something(else)`",
      "  Error: something the engine says otherwise",
      ""
    ].join("\n")
    const explained = explain({ _tag: "BamlInvalidArgumentError", message }, call("Count"))
    expect(explained.message.split("; ")).toEqual([
      "Invalid arguments for Count (it takes n: int, exact: bool): n: expected int, got a string",
      "exact is missing (expected bool)",
      "profile.name is missing (a field of Profile)",
      "profile.address.city is missing (a field of Address)",
      "tags: expected a list, got an object",
      "other: expected float, got null",
      "bool: expected bool, got a boolean",
      "list: expected a map, got a list",
      "kind: expected another type, got a number",
      "obj: expected Profile, got a media value",
      "text: expected string, got a string",
      "odd: expected string, got another value",
      "something the engine says otherwise"
    ])
  })

  it("wrong arguments of a function without parameters, and of one baml_src does not declare", () => {
    const message = "Error: extra: Missing required parameter"
    expect(explain({ _tag: "BamlInvalidArgumentError", message }, call("Cost")).message)
      .toBe("Invalid arguments for Cost (it takes no arguments): extra is missing")
    expect(explain({ _tag: "BamlInvalidArgumentError", message }, call("Unknown")).message)
      .toBe("Invalid arguments for Unknown: extra is missing")
    const wrong = "Error: n: Expected type Int, got `Number(1.5)`"
    expect(explain({ _tag: "BamlInvalidArgumentError", message: wrong }, call("Unknown")).message)
      .toBe("Invalid arguments for Unknown: n: expected int, got a number")
  })
})

describe("BamlError.fromEngine", () => {
  const cases: ReadonlyArray<readonly [unknown, string]> = [
    [report({ type: "BamlValidationError", message: "v" }), "BamlValidationError"],
    [report({ type: "BamlClientFinishReasonError", message: "f" }), "BamlClientFinishReasonError"],
    [report({ type: "BamlClientHttpError", message: "h", status_code: 500 }), "BamlClientHttpError"],
    [report({ type: "BamlTimeoutError", message: "t" }), "BamlTimeoutError"],
    [new Error("BamlInvalidArgumentError: i"), "BamlInvalidArgumentError"],
    [new Error("BamlError: BamlClientError: c"), "BamlClientError"],
    [new Error("r"), "BamlRuntimeError"]
  ]

  it("each engine report becomes the tagged class of its tag, with its fields", () => {
    for (const [error, tag] of cases) {
      const made = BamlError.fromEngine(error)
      expect(made._tag).toBe(tag)
      expect(made).toBeInstanceOf(BamlError[tag as keyof typeof BamlError] as unknown as typeof Error)
      expect(made.message).toBe(readEngineError(error, undefined).message)
    }
    expect(BamlError.fromEngine(report({ type: "BamlClientHttpError", message: "h", status_code: 503 })))
      .toMatchObject({ statusCode: 503, clientName: "" })
  })

  it("redacts with the environment given", () => {
    expect(BamlError.fromEngine(new Error(`failed ${KEY}`), { env }).message).toBe("failed <redacted>")
    expect(BamlError.fromEngine(new Error(`failed ${KEY}`)).message).toBe(`failed ${KEY}`)
  })

  it("with the call, says what to do: the functions that exist, closest first", () => {
    const functions = new Map([["ExtractResume", []], ["Other", []]])
    const error = BamlError.fromEngine(new Error("BamlError: function 'ExtractResme' not found"), {}, {
      functionName: "ExtractResme",
      functions
    })
    expect(error.message).toBe(
      "There is no BAML function \"ExtractResme\" in baml_src. Its functions, closest first: ExtractResume, Other"
    )
    const without = BamlError.fromEngine(new Error("BamlError: function 'X' not found"), {}, { functionName: "X" })
    expect(without.message).toBe("There is no BAML function \"X\" in baml_src.")
  })
})
