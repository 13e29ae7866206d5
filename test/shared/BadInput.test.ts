import { Baml, BamlError, BamlRuntime, describe, Effect, expect, layer, Layer, ScriptedProvider, Stream } from "#line"
import * as Engine from "@boundaryml/baml"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import { everythingSaid, marker, TestLayer } from "./fixtures.js"

const Provider = ScriptedProvider.ScriptedProvider

/** Runs Summarize both ways, as a call and as a stream, and returns both errors. */
const bothErrors = (args: unknown, options?: Baml.Options) => {
  const input = args as Readonly<Record<string, unknown>>
  return Effect.all([
    Effect.flip(Baml.call("Summarize", input, options)),
    Effect.flip(Stream.runDrain(Baml.stream("Summarize", input, options)))
  ])
}

/** Runs `effect` and checks that it sent nothing to the provider. */
const sendsNothing = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const provider = yield* Provider
    const before = (yield* provider.requests).length
    const result = yield* effect
    expect((yield* provider.requests).length).toBe(before)
    return result
  })

const expectActionable = (error: BamlError.BamlError, tag: BamlError.BamlError["_tag"], ...mentions: Array<string>) => {
  expect(error._tag).toBe(tag)
  for (const mention of mentions) expect(error.message).toContain(mention)
  expect(error.message).not.toContain("Stack backtrace")
  expect(error.message).not.toMatch(/anyhow::|_napi_|_ZN\d/) // no frames of the engine's native stack
}

// No request is ever sent to it: these clients fail before any is.
const unreachable = "http://127.0.0.1:9/v1"

const registry = (build: (registry: Engine.ClientRegistry) => void) => {
  const clientRegistry = new Engine.ClientRegistry()
  build(clientRegistry)
  return clientRegistry
}

layer(TestLayer, { timeout: "60 seconds", excludeTestServices: true })("Bad input", (it) => {
  describe("arguments", () => {
    it.effect("a wrong argument type is a BamlInvalidArgumentError naming the parameter and the kind of value given (never the value)", () =>
      sendsNothing(Effect.gen(function*() {
        const wrong: ReadonlyArray<[unknown, string]> = [
          [null, "got null"],
          [true, "got a boolean"],
          [42, "got a number"],
          [["a", "list"], "got a list"],
          [{ nested: "object" }, "got an object"]
        ]
        for (const [value, shown] of wrong) {
          for (const error of yield* bothErrors({ text: value })) {
            // the parameter, the BAML type baml_src declares for it, and what was given, in words
            expectActionable(error, "BamlInvalidArgumentError", "Summarize (it takes text: string)", "text: expected string", shown)
            expect(error.message).not.toMatch(/Number\(|Bool\(|Null|Array \[|Object \{/)
          }
        }
      })), 20_000)

    it.effect("a missing argument fails a stream as it fails a call", () =>
      sendsNothing(Effect.gen(function*() {
        for (const error of yield* bothErrors({})) {
          expectActionable(error, "BamlInvalidArgumentError", "text is missing (expected string)")
        }
      })), 20_000)

    it.effect("extra arguments are ignored, as the engine ignores them: they never reach the prompt", () =>
      Effect.gen(function*() {
        const provider = yield* Provider
        const mark = marker("extra")
        yield* provider.script({ match: (prompt) => prompt.includes(mark), script: { reply: "a summary" } })
        const args = { text: mark, unexpected: "EXTRA-ARGUMENT-VALUE" }
        expect(yield* Baml.call("Summarize", args)).toBe("a summary")
        expect(yield* Stream.runLast(Baml.stream("Summarize", args))).toEqual(
          expect.objectContaining({ value: "a summary" })
        )
        const records = (yield* provider.requests).filter((r) => r.prompt.includes(mark))
        expect(records.length).toBe(2)
        for (const record of records) expect(JSON.stringify(record.body)).not.toContain("EXTRA-ARGUMENT-VALUE")
      }), 20_000)

    it.effect("values BAML cannot take (a function, a cycle, deep nesting) are a BamlInvalidArgumentError, not a crash", () =>
      sendsNothing(Effect.gen(function*() {
        const circular: Record<string, unknown> = { name: "loop" }
        circular.self = circular
        let deep: unknown = "bottom"
        // measured: the engine's native conversion overflows its stack (and kills the process) near 2,000 levels
        for (let i = 0; i < 10_000; i++) deep = [deep]
        const cases: ReadonlyArray<[unknown, ReadonlyArray<string>]> = [
          [() => "a function", ["text", "function"]],
          [Symbol("s"), ["text", "symbol"]],
          [10n, ["text", "bigint"]],
          [{ inner: circular }, ["text.inner.self", "circular"]],
          [deep, ["text[0]", "nested more than"]]
        ]
        for (const [value, mentions] of cases) {
          for (const error of yield* bothErrors({ text: value })) {
            expectActionable(error, "BamlInvalidArgumentError", ...mentions)
          }
        }
      })), 20_000)

    it.effect("arguments that are not an object are a BamlInvalidArgumentError that says what is expected", () =>
      sendsNothing(Effect.gen(function*() {
        for (const [args, got] of [[null, "null"], [["text"], "an array"], ["text", "string"]] as const) {
          for (const error of yield* bothErrors(args)) {
            expectActionable(error, "BamlInvalidArgumentError", "arguments must be an object", `got ${got}`)
          }
        }
      })), 20_000)

    it.effect("a 5 MB input reaches the provider whole; refused, it is a BamlClientHttpError with a short message", () =>
      Effect.gen(function*() {
        const provider = yield* Provider
        const mark = marker("5mb")
        const text = `${mark} ${"All work and no play. ".repeat(5 * 1024 * 1024 / 22 + 1)}`
        yield* provider.script({ match: (prompt) => prompt.includes(mark), script: { reply: "a short summary" } })
        expect(yield* Baml.call("Summarize", { text })).toBe("a short summary")
        expect(yield* Stream.runLast(Baml.stream("Summarize", { text }))).toEqual(
          expect.objectContaining({ value: "a short summary" })
        )
        const records = (yield* provider.requests).filter((r) => r.prompt.includes(mark))
        expect(records.map((r) => r.prompt.length >= 5 * 1024 * 1024)).toEqual([true, true])

        const refused = marker("5mb-refused")
        const huge = `${refused} ${text}`
        yield* provider.script({
          match: (prompt) => prompt.includes(refused),
          script: { reply: "", fault: { _tag: "HttpError", status: 413 } }
        })
        for (const error of yield* bothErrors({ text: huge })) {
          expect(error._tag).toBe("BamlClientHttpError")
          if (error._tag === "BamlClientHttpError") expect(error.statusCode).toBe(413)
          expect(error.message.length).toBeLessThan(10_000)
        }
      }), 30_000)
  })

  describe("clients", () => {
    it.effect("a ClientRegistry client with invalid options is a BamlRuntimeError naming the client and the option", () =>
      Effect.gen(function*() {
        const clientRegistry = registry((r) => {
          r.addLlmClient("Misconfigured", "openai-generic", { base_url: unreachable, model: "m", headers: 5 })
          r.setPrimary("Misconfigured")
        })
        for (const error of yield* bothErrors({ text: "x" }, { clientRegistry })) {
          expectActionable(error, "BamlRuntimeError", "Misconfigured", "headers must be a map")
        }
      }), 20_000)

    it.effect("a ClientRegistry fallback naming an unknown client is a BamlRuntimeError that lists the known ones", () =>
      Effect.gen(function*() {
        const clientRegistry = registry((r) => {
          r.addLlmClient("Chain", "fallback", { strategy: ["Scripted", "NoSuchClient"] })
          r.setPrimary("Chain")
        })
        for (const error of yield* bothErrors({ text: "x" }, { clientRegistry })) {
          expectActionable(error, "BamlRuntimeError", "NoSuchClient", "Did you mean one of", "Scripted")
        }
      }), 20_000)

    it.effect("a ClientRegistry client with an unknown retry policy is a BamlRuntimeError naming the policy", () =>
      Effect.gen(function*() {
        const clientRegistry = registry((r) => {
          r.addLlmClient("Retrying", "openai-generic", { base_url: unreachable, model: "m" }, "NoSuchPolicy")
          r.setPrimary("Retrying")
        })
        for (const error of yield* bothErrors({ text: "x" }, { clientRegistry })) {
          expectActionable(error, "BamlRuntimeError", "Could not find retry policy with name: NoSuchPolicy")
        }
      }), 20_000)

    it.effect("an unknown provider: the engine throws at once, and BamlError.fromEngine types it", () =>
      Effect.gen(function*() {
        const error = yield* Effect.try({
          try: () => new Engine.ClientRegistry().addLlmClient("K", "no-such-provider", {}),
          catch: (cause) => BamlError.fromEngine(cause)
        }).pipe(Effect.flip)
        expectActionable(error, "BamlInvalidArgumentError", "Invalid client provider: no-such-provider")
      }), 20_000)

    it.effect("something that is not a ClientRegistry is a BamlRuntimeError, not a defect", () =>
      Effect.gen(function*() {
        const clientRegistry = { setPrimary: () => undefined } as unknown as Engine.ClientRegistry
        for (const error of yield* bothErrors({ text: "x" }, { clientRegistry })) {
          expectActionable(error, "BamlRuntimeError", "ClientRegistry")
        }
      }), 20_000)
  })

  describe("baml_src", () => {
    const clients = Fs.readFile("baml_src/clients.baml", "utf8")

    it.effect("a client whose environment variable is not set is a BamlRuntimeError naming the variable, and a warning at build", () =>
      Effect.gen(function*() {
        const source = `client<llm> Keyed {
  provider openai
  options {
    model "gpt-4o-mini"
    api_key env.UNSET_PROVIDER_KEY
  }
}

function Hello(name: string) -> string {
  client Keyed
  prompt #"Say hello to {{ name }}"#
}
`
        const runtime = BamlRuntime.layerFromFiles({ "keyed.baml": source }, { env: {} })
        const errors = yield* bothErrorsOf("Hello", { name: "Ada" }).pipe(Effect.provide(runtime))
        for (const error of errors) expectActionable(error, "BamlRuntimeError", "Keyed", "UNSET_PROVIDER_KEY")
        // said first when the runtime is built, as a warning (the client may never be used); set, nothing is said
        const built = yield* everythingSaid(Layer.build(runtime).pipe(Effect.scoped))
        const warnings = built.texts.filter((text) => text.includes("Keyed"))
        expect(warnings).toHaveLength(1)
        expect(warnings[0]).toContain("env.UNSET_PROVIDER_KEY")
        const set = BamlRuntime.layerFromFiles({ "keyed.baml": source }, { env: { UNSET_PROVIDER_KEY: "k" } })
        const quiet = yield* everythingSaid(Layer.build(set).pipe(Effect.scoped))
        expect(quiet.texts.filter((text) => text.includes("Keyed"))).toEqual([])
      }), 20_000)

    it.effect("a directory holding a .baml file with a syntax error fails the layer, naming the file and line", () =>
      Effect.gen(function*() {
        const dir = yield* Effect.acquireRelease(
          Effect.promise(() => Fs.mkdtemp(Path.join(Os.tmpdir(), "effect-baml-bad-"))),
          (dir) => Effect.promise(() => Fs.rm(dir, { recursive: true, force: true }))
        )
        const src = Path.join(dir, "baml_src")
        yield* Effect.promise(async () => {
          await Fs.mkdir(src)
          await Fs.writeFile(Path.join(src, "clients.baml"), await clients)
          const broken = "class Broken {\n  name string\n}\n\nfunction Oops( -> Broken {\n"
          await Fs.writeFile(Path.join(src, "broken.baml"), broken)
        })
        const error = yield* Layer.build(BamlRuntime.layerFromDirectory(src)).pipe(Effect.scoped, Effect.flip)
        expectActionable(error, "BamlRuntimeError", "broken.baml")
        expect(error.file).toBe(Path.join(src, "broken.baml"))
        expect(error.line).toBe(5)

        // the engine insists on the directory's name
        const renamed = Path.join(dir, "my_baml")
        yield* Effect.promise(() => Fs.rename(src, renamed))
        const misnamed = yield* Layer.build(BamlRuntime.layerFromDirectory(renamed)).pipe(Effect.scoped, Effect.flip)
        expectActionable(misnamed, "BamlRuntimeError", "my_baml", "baml_src")
      }).pipe(Effect.scoped), 20_000)
  })
})

/** Runs `functionName` both ways and returns both errors. */
const bothErrorsOf = (functionName: string, args: Readonly<Record<string, unknown>>) =>
  Effect.all([
    Effect.flip(Baml.call(functionName, args)),
    Effect.flip(Stream.runDrain(Baml.stream(functionName, args)))
  ])
