/**
 * Errors in words, with the right fields: a provider that cannot be reached is named with what failed (no status
 * code no server sent), a wrong argument's message names the unknown one given beside the missing one, a missing
 * baml_src names the directory given (a client whose variable is not set: BadInput.test.ts).
 */
import {
  Baml, BamlError, BamlRuntime, describe, Effect, expect, layer, Layer, Stream
} from "#line"
import { TestLayer } from "./fixtures.js"

type Kind = "call" | "stream"
const kinds: ReadonlyArray<Kind> = ["call", "stream"]

const run = (kind: Kind, functionName: string, args: Readonly<Record<string, unknown>>, options: Baml.Options = {}) =>
  Effect.flip(
    kind === "call"
      ? Baml.call(functionName, args, options)
      : Stream.runDrain(Baml.stream(functionName, args, options))
  )

/** A client at `baseUrl`, where nothing answers. */
const unreachable = (baseUrl: string) => {
  const clientRegistry = new Baml.ClientRegistry()
  clientRegistry.addLlmClient("Far", "openai-generic", { base_url: baseUrl, model: "m", api_key: "not-needed" })
  return { clientRegistry, client: "Far" }
}

layer(TestLayer, { timeout: "60 seconds", excludeTestServices: true })("Messages", (it) => {
  describe("a provider that cannot be reached", () => {
    const cases = [
      { url: "http://no-such-host.invalid/v1", host: "no-such-host.invalid", failure: "dns", retryable: false },
      { url: "http://127.0.0.1:9/v1", host: "127.0.0.1:9", failure: "refused", retryable: true }
    ] as const
    for (const { failure, host, retryable, url } of cases) {
      it.effect(`${failure}: a BamlClientError naming the host and what failed, in words, with no status code`, () =>
        Effect.forEach(kinds, (kind) =>
          Effect.gen(function*() {
            const error = yield* run(kind, "Summarize", { text: "x" }, unreachable(url))
            expect(error).toBeInstanceOf(BamlError.BamlClientError)
            expect(error).toMatchObject({ _tag: "BamlClientError", clientName: "Far", host, failure, retryable })
            expect(error.message).toMatch(new RegExp(`^Client Far could not reach ${host.replace(/\./g, "\\.")}: `))
            expect(error.message).not.toMatch(/reqwest|hyper|ConnectError|503|\{/)
            expect(error).not.toHaveProperty("statusCode")
          }), { concurrency: "unbounded", discard: true }), 20_000)
    }
  })

  it.effect("an unknown argument beside a missing one: both are named", () =>
    Effect.forEach(kinds, (kind) =>
      Effect.gen(function*() {
        const error = yield* run(kind, "ExtractResume", { text: "Ada Lovelace" })
        expect(error._tag).toBe("BamlInvalidArgumentError")
        expect(error.message).toContain("resume is missing (expected string)")
        expect(error.message).toContain("text is not a parameter of ExtractResume")
        expect(error.message).not.toContain("Ada Lovelace")
      }), { concurrency: "unbounded", discard: true }), 20_000)

  it.effect("a missing baml_src directory names the directory given, not a command-line flag", () =>
    Effect.gen(function*() {
      const error = yield* Layer.build(BamlRuntime.layerFromDirectory("./baml_srcc")).pipe(Effect.scoped, Effect.flip)
      expect(error._tag).toBe("BamlRuntimeError")
      expect(error.message).toBe("There is no baml_src directory at ./baml_srcc")
    }), 20_000)
})
