/**
 * Defaults for every call (`Baml.withOptions`, `Baml.layerOptions`) and one point to wrap every call and stream
 * (`BamlMiddleware`): what reaches the provider, merged with per-call options, for the generated client too.
 */
import { Collector } from "@boundaryml/baml"
import { Baml, BamlMiddleware, Client, describe, Effect, expect, Layer, layer, ScriptedProvider, Stream } from "#line"
import { marker, scriptFor, settledAll, shortResume, TestLayer } from "./fixtures.js"

const resume = shortResume("Ada Lovelace")
const reply = ScriptedProvider.json(resume, { chunkSize: 16, delayMs: 1 })

/** The provider formats the requests for `mark` came in on, in order. */
const formatsOf = (mark: string) => Effect.map(settledAll(mark), (records) => records.map((record) => record.format))

layer(TestLayer, { timeout: "60 seconds", excludeTestServices: true })("Defaults and middleware", (it) => {
  describe("Baml.withOptions", () => {
    it.effect("sets the client of every call and stream inside it; a call's own client wins", () =>
      Effect.gen(function*() {
        const mark = marker("defaults-client")
        yield* scriptFor(mark, reply)
        yield* Effect.gen(function*() {
          yield* Baml.call("ExtractResume", { resume: mark })
          yield* Stream.runDrain(Baml.stream("ExtractResume", { resume: mark }))
          yield* Client.ExtractResume(mark)
          yield* Baml.call("ExtractResume", { resume: mark }, { client: "Scripted" })
        }).pipe(Baml.withOptions({ client: "ScriptedAnthropic" }))
        expect(yield* formatsOf(mark)).toEqual([
          "anthropic-messages",
          "anthropic-messages",
          "anthropic-messages",
          "chat-completions"
        ])
      }), 20_000)

    it.effect("merges field by field: tags key by key (the call's win), and every collector records the call", () =>
      Effect.gen(function*() {
        const mark = marker("defaults-merge")
        yield* scriptFor(mark, reply)
        const outer = new Collector("outer")
        const inner = new Collector("inner")
        const own = new Collector("own")
        yield* Baml.call("ExtractResume", { resume: mark }, { tags: { step: "call" }, collectors: [own] }).pipe(
          Baml.withOptions({ tags: { team: "hr", step: "inner" }, collectors: [inner] }),
          Baml.withOptions({ tags: { service: "cv", team: "outer" }, collectors: [outer], client: "ScriptedGemini" })
        )
        for (const collector of [outer, inner, own]) expect(collector.logs).toHaveLength(1)
        expect(own.last!.tags).toMatchObject({ service: "cv", team: "hr", step: "call" })
        expect(yield* formatsOf(mark)).toEqual(["gemini"])
      }), 20_000)

    it.effect("Baml.layerOptions sets them for a whole program; a registry it names is never changed", () =>
      Effect.gen(function*() {
        const mark = marker("defaults-layer")
        yield* scriptFor(mark, reply)
        const provider = yield* ScriptedProvider.ScriptedProvider
        const clientRegistry = new Baml.ClientRegistry()
        clientRegistry.addLlmClient("Dynamic", "anthropic", {
          base_url: provider.baseUrl,
          model: "dynamic",
          api_key: "not-needed"
        })
        clientRegistry.setPrimary("Dynamic")
        const program = Effect.gen(function*() {
          yield* Baml.call("ExtractResume", { resume: mark })
          // a call that names another client uses its own copy of the registry
          yield* Baml.call("ExtractResume", { resume: mark }, { client: "ScriptedResponses" })
          yield* Baml.call("ExtractResume", { resume: mark })
        })
        yield* Effect.provide(program, Baml.layerOptions({ clientRegistry }))
        const records = yield* settledAll(mark)
        expect(records.map((record) => [record.format, record.model])).toEqual([
          ["anthropic-messages", "dynamic"],
          ["responses", "scripted-responses"],
          ["anthropic-messages", "dynamic"]
        ])
      }), 20_000)
  })

  describe("BamlMiddleware", () => {
    it.effect("wraps every call, outermost first, each seeing the request with the defaults merged in", () =>
      Effect.gen(function*() {
        const mark = marker("middleware-order")
        yield* scriptFor(mark, reply)
        const seen: Array<string> = []
        const logging = (name: string): BamlMiddleware.Middleware => ({
          call: (request, next) => {
            seen.push(`${name}: ${request.functionName} on ${request.options?.client}`)
            return Effect.tap(next(request), () => Effect.sync(() => seen.push(`${name}: done`)))
          }
        })
        const value = yield* Client.ExtractResume(mark).pipe(
          BamlMiddleware.withMiddleware(logging("inner")),
          Baml.withOptions({ client: "ScriptedAnthropic" }),
          BamlMiddleware.withMiddleware(logging("outer"))
        )
        expect(value).toEqual(resume)
        expect(seen).toEqual([
          "outer: ExtractResume on ScriptedAnthropic",
          "inner: ExtractResume on ScriptedAnthropic",
          "inner: done",
          "outer: done"
        ])
        expect(yield* formatsOf(mark)).toEqual(["anthropic-messages"])
      }), 20_000)

    it.effect("a middleware can change the request, or answer without the provider", () =>
      Effect.gen(function*() {
        const mark = marker("middleware-change")
        yield* scriptFor(mark, reply)
        const cache = new Map<string, unknown>([["cached", { name: "from the cache" }]])
        const middleware: BamlMiddleware.Middleware = {
          call: (request, next) => {
            const key = String(request.args.resume)
            return cache.has(key)
              ? Effect.succeed(cache.get(key))
              : next(BamlMiddleware.withRequestOptions(request, { client: "ScriptedResponses" }))
          }
        }
        const [cached, fresh] = yield* Effect.all([
          Baml.call("ExtractResume", { resume: "cached" }),
          Baml.call("ExtractResume", { resume: mark })
        ]).pipe(BamlMiddleware.withMiddleware(middleware))
        expect(cached).toEqual({ name: "from the cache" })
        expect(fresh).toEqual(resume)
        // one request only, and on the client the middleware chose
        expect(yield* formatsOf(mark)).toEqual(["responses"])
      }), 20_000)

    it.effect("wraps every stream, the generated client's included, through BamlMiddleware.layer", () =>
      Effect.gen(function*() {
        const mark = marker("middleware-stream")
        // 20 ms a chunk: the engine emits a partial at most every 50 ms, so a faster reply may have none before its end
        yield* scriptFor(mark, ScriptedProvider.json(resume, { chunkSize: 16, delayMs: 20 }))
        let elements = 0
        const counting = BamlMiddleware.layer({
          stream: (request, next) => Stream.tap(next(request), () => Effect.sync(() => elements++))
        })
        const final = yield* Client.stream.ExtractResume(mark).pipe(
          Baml.final,
          Effect.provide(Layer.merge(counting, Baml.layerOptions({ client: "ScriptedGemini" })))
        )
        expect(final).toEqual(resume)
        expect(elements).toBeGreaterThan(1)
        expect(yield* formatsOf(mark)).toEqual(["gemini"])
        // calls pass through a middleware that wraps only streams
        const value = yield* Baml.call("ExtractResume", { resume: mark }).pipe(Effect.provide(counting))
        expect(value).toEqual(resume)
      }), 20_000)
  })
})
