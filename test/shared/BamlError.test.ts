import { Baml, BamlError, Cause, describe, Effect, Exit, expect, layer, Schema, ScriptedProvider, Stream } from "#line"
import { marker, scriptFor, shortResume, TestLayer } from "./fixtures.js"

/** Runs ExtractResume both ways, as a call and as a stream, and returns both errors. */
const bothErrors = (resume: unknown, options?: Baml.Options) =>
  Effect.all([
    Effect.flip(Baml.call("ExtractResume", { resume }, options)),
    Effect.flip(Stream.runDrain(Baml.stream("ExtractResume", { resume }, options)))
  ])

layer(TestLayer, { timeout: "60 seconds", excludeTestServices: true })("BamlError", (it) => {
  it.effect("HTTP 500 from the provider is a BamlClientHttpError with status 500", () =>
    Effect.gen(function*() {
      const mark = marker("http500")
      yield* scriptFor(mark, { reply: "unused", fault: { _tag: "HttpError", status: 500 } })
      for (const error of yield* bothErrors(mark)) {
        expect(error._tag).toBe("BamlClientHttpError")
        if (error._tag !== "BamlClientHttpError") continue
        expect(error.statusCode).toBe(500)
        expect(error.clientName).toBe("Scripted")
        expect(error.message).toContain("500")
        expect(error.message).not.toContain("Stack backtrace")
      }
    }), 20_000)

  it.effect("a reply that is not the declared type is a BamlValidationError with the raw output and prompt", () =>
    Effect.gen(function*() {
      const mark = marker("invalid")
      yield* scriptFor(mark, { reply: "Sorry, I cannot help with resumes today." })
      for (const error of yield* bothErrors(mark)) {
        expect(error._tag).toBe("BamlValidationError")
        if (error._tag !== "BamlValidationError") continue
        expect(error.rawOutput).toBe("Sorry, I cannot help with resumes today.")
        expect(error.prompt).toContain(mark)
        expect(error.detailedMessage.length).toBeGreaterThan(0)
      }
    }), 20_000)

  it.effect("a reply cut off by the token limit is a BamlClientFinishReasonError, for calls and streams alike", () =>
    Effect.gen(function*() {
      const mark = marker("length")
      yield* scriptFor(mark, { ...ScriptedProvider.json(shortResume("Cut Off")), finishReason: "length" })
      for (const error of yield* bothErrors(mark, { client: "ScriptedStrict" })) {
        expect(error._tag).toBe("BamlClientFinishReasonError")
        if (error._tag !== "BamlClientFinishReasonError") continue
        expect(error.finishReason).toBe("length")
        expect(error.rawOutput).toContain("Cut Off")
      }
    }), 20_000)

  it.effect("an unknown function is a BamlRuntimeError that names it", () =>
    Effect.gen(function*() {
      const errors = yield* Effect.all([
        Effect.flip(Baml.call("NoSuchFunction", {})),
        Effect.flip(Stream.runDrain(Baml.stream("NoSuchFunction", {})))
      ])
      for (const error of errors) {
        expect(error._tag).toBe("BamlRuntimeError")
        expect(error.message).toContain("NoSuchFunction")
      }
      // and names the functions that exist, closest first
      const typo = yield* Effect.flip(Baml.call("Sumarize", { text: "x" }))
      expect(typo.message).toBe(
        "There is no BAML function \"Sumarize\" in baml_src. Its functions, closest first: Summarize, Tagline, " +
          "DescribePet, ExtractResume"
      )
    }), 20_000)

  it.effect("a call with no BamlRuntime provided dies saying which layer to provide", () =>
    Effect.gen(function*() {
      const missing = Baml.call("Summarize", { text: "x" }) as Effect.Effect<unknown, BamlError.BamlError>
      // run on its own, outside the layer this file provides
      const exit = yield* Effect.promise(() => Effect.runPromiseExit(missing))
      expect(Exit.isFailure(exit)).toBe(true)
      const text = Exit.isFailure(exit) ? Cause.pretty(exit.cause) : ""
      expect(text).toContain("need a BamlRuntime")
      expect(text).toContain("BamlRuntime.layerFromDirectory(\"./baml_src\")")
      expect(text).toContain("Client.layer")
    }), 20_000)

  it.effect("wrong and missing arguments are BamlInvalidArgumentErrors that name the parameter", () =>
    Effect.gen(function*() {
      const [call, stream] = yield* bothErrors(42)
      for (const error of [call, stream]) {
        expect(error._tag).toBe("BamlInvalidArgumentError")
        expect(error.message).toContain("resume")
      }
      const missing = yield* Effect.flip(Baml.call("ExtractResume", {}))
      expect(missing._tag).toBe("BamlInvalidArgumentError")
      expect(missing.message).toContain("resume is missing (expected string)")
    }), 20_000)

  it.effect("an unknown client name in the options is a BamlRuntimeError that lists the known ones", () =>
    Effect.gen(function*() {
      for (const error of yield* bothErrors("anything", { client: "NoSuchClient" })) {
        expect(error._tag).toBe("BamlRuntimeError")
        expect(error.message).toContain("NoSuchClient")
        expect(error.message).toContain("Scripted")
      }
    }), 20_000)
})

describe("BamlError schema", () => {
  layer(TestLayer, { excludeTestServices: true })((it) => {
    it.effect("errors survive a JSON round trip through the BamlError schema", () =>
      Effect.gen(function*() {
        const mark = marker("roundtrip")
        yield* scriptFor(mark, { reply: "unused", fault: { _tag: "HttpError", status: 503 } })
        const error = yield* Effect.flip(Baml.call("ExtractResume", { resume: mark }))
        const wire = JSON.stringify(Schema.encodeSync(BamlError.BamlError)(error))
        const decoded = Schema.decodeUnknownSync(BamlError.BamlError)(JSON.parse(wire))
        expect(decoded).toBeInstanceOf(BamlError.BamlClientHttpError)
        expect(decoded).toEqual(error)
      }), 20_000)
  })
})
