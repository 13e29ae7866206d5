/**
 * The user's data stays out of what gets logged: no error `message`, `detailedMessage`, `Cause.pretty`, stack, log
 * line or span attribute holds the rendered prompt, the call's arguments or the model's reply, on any failure, for a
 * call and a stream; they stay available in the fields named for them (`prompt`, `rawOutput`).
 */
import { Baml, BamlError, Effect, expect, layer, ScriptedProvider, Stream } from "#line"
import { everythingSaid, marker, scriptFor, settledAll, TestLayer } from "./fixtures.js"

type Kind = "call" | "stream"
const kinds: ReadonlyArray<Kind> = ["call", "stream"]

/** The user's input and the model's reply, each recognisable anywhere. */
const userText = (mark: string) => `USERDATA private note ${mark}`
const replyText = "REPLYDATA the model's private answer"
const leaks = (text: string) => text.includes("USERDATA") || text.includes("REPLYDATA")

const run = (kind: Kind, functionName: string, args: Readonly<Record<string, unknown>>, options: Baml.Options) =>
  kind === "call"
    ? Baml.call(functionName, args, options)
    : Stream.runDrain(Baml.stream(functionName, args, options))

/** Each failure that could quote the prompt, the arguments or the reply, and the script that causes it. */
const failures: ReadonlyArray<{
  readonly name: string
  readonly tag: BamlError.BamlError["_tag"]
  readonly script?: (mark: string) => ScriptedProvider.Script
  readonly functionName?: string
  readonly args?: (mark: string) => Readonly<Record<string, unknown>>
  readonly options?: Baml.Options
}> = [
  {
    name: "a reply that does not parse",
    tag: "BamlValidationError",
    functionName: "ExtractResume",
    args: (mark) => ({ resume: userText(mark) }),
    script: () => ({ reply: replyText })
  },
  {
    name: "a reply stopped for SAFETY",
    tag: "BamlClientFinishReasonError",
    options: { client: "ScriptedGemini" },
    script: () => ({ reply: replyText, finishReason: "SAFETY" })
  },
  {
    name: "a reply cut by a denied finish reason",
    tag: "BamlClientFinishReasonError",
    options: { client: "ScriptedStrict" },
    script: () => ({ reply: replyText, finishReason: "length" })
  },
  {
    name: "a 404 with an empty body",
    tag: "BamlClientHttpError",
    script: () => ({ reply: "", fault: { _tag: "HttpError", status: 404, body: "" } })
  },
  {
    name: "a 400 whose body quotes the request",
    tag: "BamlClientHttpError",
    script: (mark) => ({
      reply: "",
      fault: {
        _tag: "HttpError",
        status: 400,
        body: JSON.stringify({ error: { message: `Invalid content: '${userText(mark)}'`, type: "invalid_request_error" } })
      }
    })
  },
  {
    name: "an error event whose message quotes the request",
    tag: "BamlClientHttpError",
    options: { client: "ScriptedAnthropic" },
    script: (mark) => ({
      reply: "Sunny and warm",
      fault: { _tag: "ErrorEvent", afterChunks: 1, status: 529, message: `Overloaded while reading '${userText(mark)}'` }
    })
  }
]

layer(TestLayer, { timeout: "60 seconds", excludeTestServices: true })("User data", (it) => {
  for (const failure of failures) {
    it.effect(`${failure.name}: a ${failure.tag} whose messages, logs and spans hold no prompt, argument or reply`, () =>
      Effect.forEach(kinds, (kind) =>
        Effect.gen(function*() {
          const mark = marker(`user-data-${kind}`)
          if (failure.script !== undefined) yield* scriptFor(mark, failure.script(mark))
          const args = failure.args?.(mark) ?? { text: userText(mark) }
          const said = yield* everythingSaid(run(kind, failure.functionName ?? "Summarize", args, failure.options ?? {}))
          const error = said.error as BamlError.BamlError | undefined
          expect(error?._tag).toBe(failure.tag)
          if (error === undefined) return
          for (const text of said.texts) expect(leaks(text), text).toBe(false)
          expect(leaks(error.message)).toBe(false)
          if ("detailedMessage" in error) expect(leaks(error.detailedMessage), error.detailedMessage).toBe(false)
          // ... and they are where they are named
          if (error._tag === "BamlValidationError" || error._tag === "BamlClientFinishReasonError") {
            expect(error.prompt).toContain(userText(mark))
            expect(error.rawOutput).toContain(replyText)
          }
          if (failure.script !== undefined) yield* settledAll(mark)
        }), { concurrency: "unbounded", discard: true }), 20_000)
  }

  it.effect("a wrong argument: the message names the parameter and the kind of value, never the value", () =>
    Effect.forEach(kinds, (kind) =>
      Effect.gen(function*() {
        const mark = marker(`wrong-arg-${kind}`)
        const said = yield* everythingSaid(run(kind, "Summarize", { text: { note: userText(mark) } }, {}))
        const error = said.error as BamlError.BamlError | undefined
        expect(error?._tag).toBe("BamlInvalidArgumentError")
        expect(error?.message).toContain("text: expected string, got an object")
        for (const text of said.texts) expect(leaks(text), text).toBe(false)
      }), { concurrency: "unbounded", discard: true }), 20_000)
})
