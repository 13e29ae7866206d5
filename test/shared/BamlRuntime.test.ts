import { Baml, BamlRuntime, describe, Effect, expect, it, Layer, ScriptedProvider, Stream } from "#line"
import { readFileSync } from "node:fs"

const sources = {
  "clients.baml": readFileSync("baml_src/clients.baml", "utf8"),
  "resume.baml": readFileSync("baml_src/resume.baml", "utf8")
}

describe("BamlRuntime", () => {
  it.effect("a .baml file with a syntax error fails the layer with a BamlRuntimeError naming the file and line", () =>
    Effect.gen(function*() {
      const broken = { ...sources, "broken.baml": "class Broken {\n  name string\n}\n\nfunction Oops( -> Broken {\n" }
      const error = yield* Layer.build(BamlRuntime.layerFromFiles(broken)).pipe(Effect.scoped, Effect.flip)
      expect(error._tag).toBe("BamlRuntimeError")
      expect(error.file).toBe("broken.baml")
      expect(error.line).toBeGreaterThan(0)
      expect(error.message).toContain("broken.baml")
      expect(error.message).not.toContain("Stack backtrace")
    }), 20_000)

  it.effect("a directory that does not exist fails the layer with a BamlRuntimeError", () =>
    Effect.gen(function*() {
      const error = yield* Layer.build(BamlRuntime.layerFromDirectory("./no/such/baml_src")).pipe(
        Effect.scoped,
        Effect.flip
      )
      expect(error._tag).toBe("BamlRuntimeError")
      expect(error.message).toContain("no/such/baml_src")
    }), 20_000)

  it.live("sources given as text work without a baml_src directory, and `env` reaches `env.X`", () =>
    Effect.gen(function*() {
      const provider = yield* ScriptedProvider.ScriptedProvider
      yield* provider.script({ script: { reply: "from text sources" } })
      const runtime = BamlRuntime.layerFromFiles(sources, { env: { SCRIPTED_BASE_URL: provider.baseUrl } })
      const result = yield* Baml.call("Summarize", { text: "anything" }).pipe(Effect.provide(runtime))
      expect(result).toBe("from text sources")
    }).pipe(Effect.provide(ScriptedProvider.layer())), 20_000)

  it.live("a per-call `env` overrides the runtime's for that call only", () =>
    Effect.gen(function*() {
      const provider = yield* ScriptedProvider.ScriptedProvider
      yield* provider.script({ script: { reply: "per-call env" } })
      // The runtime points at a port where nothing listens; only the per-call env reaches the provider.
      const runtime = BamlRuntime.layerFromFiles(sources, { env: { SCRIPTED_BASE_URL: "http://127.0.0.1:9/v1" } })
      const program = Effect.all([
        Baml.call("Summarize", { text: "x" }, { env: { SCRIPTED_BASE_URL: provider.baseUrl } }),
        Stream.runLast(Baml.stream("Summarize", { text: "x" }, { env: { SCRIPTED_BASE_URL: provider.baseUrl } })),
        Effect.flip(Baml.call("Summarize", { text: "x" }))
      ])
      const [called, streamed, failed] = yield* program.pipe(Effect.provide(runtime))
      expect(called).toBe("per-call env")
      expect(streamed._tag === "Some" && streamed.value).toBe("per-call env")
      expect(failed._tag).not.toBe("BamlRuntimeError")
      expect((yield* provider.requests).length).toBe(2)
    }).pipe(Effect.provide(ScriptedProvider.layer())), 20_000)
})
