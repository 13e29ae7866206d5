import {
  Baml, BamlRuntime, Client, describe, Effect, expect, layer, Option, ScriptedProvider, Stream, timeoutFail
} from "#line"
import * as Engine from "@boundaryml/baml"
import { TypeBuilder } from "@boundaryml/baml/type_builder"
import { marker, settled, TestLayer } from "./fixtures.js"

const Provider = ScriptedProvider.ScriptedProvider

/** Scripts `reply` for the requests whose prompt contains `mark`. */
const scriptReply = (mark: string, script: ScriptedProvider.Script) =>
  Effect.flatMap(Provider, (p) => p.script({ match: (prompt) => prompt.includes(mark), script }))

/** The finished records of the requests whose prompt contains `mark`, once there are `n` of them. */
const recordsOf = (mark: string, n: number) =>
  Effect.flatMap(Provider, (p) =>
    p.awaitRequests((rs) => rs.filter((r) => r.prompt.includes(mark) && r.status !== "open").length >= n)
  ).pipe(
    Effect.map((rs) => rs.filter((r) => r.prompt.includes(mark))),
    timeoutFail("10 seconds", () => new Error(`${n} requests ${mark} never settled`))
  )

/** Runs a function once as a call and once as a stream (to its end), and returns both results. */
const callAndStream = (functionName: string, args: Record<string, unknown>, options: Baml.Options) =>
  Effect.all([
    Baml.call(functionName, args, options),
    Stream.runLast(Baml.stream(functionName, args, options)).pipe(Effect.map(Option.getOrThrow))
  ])

const pet = { name: "Rex", species: "dog", legs: 4 }

layer(TestLayer, { timeout: "60 seconds", excludeTestServices: true })("Baml per-call options", (it) => {
  describe("each option reaches the HTTP request", () => {
    it.effect("clientRegistry: a run-time client's headers are sent, by calls and streams", () =>
      Effect.gen(function*() {
        const mark = marker("registry")
        const provider = yield* Provider
        yield* scriptReply(mark, { reply: "A summary." })
        const clientRegistry = new Engine.ClientRegistry()
        clientRegistry.addLlmClient("Headed", "openai-generic", {
          base_url: provider.baseUrl,
          model: "scripted-headed",
          api_key: "not-needed",
          headers: { "x-effect-baml-test": mark }
        })
        clientRegistry.setPrimary("Headed")
        const results = yield* callAndStream("Summarize", { text: mark }, { clientRegistry })
        expect(results).toEqual(["A summary.", "A summary."])
        const records = yield* recordsOf(mark, 2)
        expect(records.map((r) => [r.stream, r.model, r.headers["x-effect-baml-test"]])).toEqual([
          [false, "scripted-headed", mark],
          [true, "scripted-headed", mark]
        ])
      }), 20_000)

    it.effect("client: a baml_src client chosen by name answers instead of the function's own", () =>
      Effect.gen(function*() {
        const mark = marker("client")
        yield* scriptReply(mark, { reply: "A summary." })
        yield* callAndStream("Summarize", { text: mark }, { client: "ScriptedPrimary" })
        const records = yield* recordsOf(mark, 2)
        expect(records.map((r) => r.model)).toEqual(["scripted-primary", "scripted-primary"])
      }), 20_000)

    it.effect("typeBuilder: dynamic fields are asked for in the prompt and parsed into the result", () =>
      Effect.gen(function*() {
        const mark = marker("dynamic")
        yield* scriptReply(mark, ScriptedProvider.json(pet))
        const { engine } = yield* BamlRuntime.BamlRuntime
        const typeBuilder = new TypeBuilder({ classes: new Set(["Pet"]), enums: new Set(), runtime: engine })
        const petClass = typeBuilder.classBuilder("Pet", ["name"])
        petClass.addProperty("species", typeBuilder.string())
        petClass.addProperty("legs", typeBuilder.int())

        const called = yield* Client.DescribePet(mark, { typeBuilder })
        const streamed = yield* Baml.final(Client.stream.DescribePet(mark, { typeBuilder }))
        expect(called).toEqual(pet)
        expect(streamed).toEqual(pet)
        const withoutBuilder = yield* Client.DescribePet(mark)
        expect(withoutBuilder).toEqual({ name: "Rex" })

        const records = yield* recordsOf(mark, 3)
        expect(records.map((r) => r.prompt.includes("species") && r.prompt.includes("legs"))).toEqual([
          true,
          true,
          false
        ])
      }), 20_000)

    it.effect("collectors and tags: the user's Collector records each call and its tags", () =>
      Effect.gen(function*() {
        const mark = marker("collector")
        yield* scriptReply(mark, { reply: "A short summary, four tokens a chunk." })
        const collector = new Engine.Collector("mine")
        yield* callAndStream("Summarize", { text: mark }, { collectors: [collector], tags: { request: mark } })
        const records = yield* recordsOf(mark, 2)
        expect(collector.logs.map((log) => [log.functionName, log.logType])).toEqual([
          ["Summarize", "call"],
          ["Summarize", "stream"]
        ])
        for (const log of collector.logs) expect(log.tags).toMatchObject({ request: mark })
        expect(collector.usage.outputTokens).toBe(records[0]!.planned + records[1]!.planned)
      }), 20_000)

    it.effect("env: a per-call env.X sends the request where it says", () =>
      Effect.gen(function*() {
        const mark = marker("env")
        const provider = yield* Provider
        yield* scriptReply(mark, { reply: "from the shared provider" })
        const other = yield* ScriptedProvider.make({ rules: [{ script: { reply: "from the other provider" } }] })
        const result = yield* callAndStream("Summarize", { text: mark }, { env: { SCRIPTED_BASE_URL: other.baseUrl } })
        expect(result).toEqual(["from the other provider", "from the other provider"])
        const elsewhere = yield* other.awaitRequests((rs) => rs.filter((r) => r.status === "completed").length === 2)
        expect(elsewhere.every((r) => r.prompt.includes(mark))).toBe(true)
        expect((yield* provider.requests).filter((r) => r.prompt.includes(mark))).toHaveLength(0)
      }).pipe(Effect.scoped), 20_000)
  })

  it.effect("the library's own Collector does not change what the user's sees", () =>
    Effect.gen(function*() {
      const mark = marker("collector-own")
      yield* scriptReply(mark, { reply: "Fine." })
      const collector = new Engine.Collector("mine")
      yield* Baml.call("Summarize", { text: mark }, { collectors: [collector] })
      yield* settled(mark)
      expect(collector.logs).toHaveLength(1)
      expect(collector.last?.calls.map((call) => call.clientName)).toEqual(["Scripted"])
    }), 20_000)
})
