import {
  Baml, type BamlError, type BamlRuntime, Client, describe, Effect, expect, layer, Option, ScriptedProvider, Stream,
  timeoutFail, withMaxOpsBeforeYield
} from "#line"
import * as Engine from "@boundaryml/baml"
import { marker, TestLayer } from "./fixtures.js"

const Provider = ScriptedProvider.ScriptedProvider

/** The registry's clients: each asks the scripted provider for a model of its own, which answers with its name. */
const clients = ["alpha", "beta", "gamma", "delta", "epsilon"] as const
const modelOf = (name: string) => `model-${name}`

/** A registry with every client of {@link clients}, pointed at the scripted provider. */
const registry = <R extends Engine.ClientRegistry>(make: () => R) =>
  Effect.map(Provider, (provider) => {
    const clientRegistry = make()
    for (const name of clients) {
      clientRegistry.addLlmClient(name, "openai-generic", {
        base_url: provider.baseUrl,
        model: modelOf(name),
        api_key: "not-needed"
      })
    }
    return clientRegistry
  })

/** Every client's model answers with the client's name, so that a result says which client answered. */
const scriptClients = Effect.flatMap(Provider, (provider) =>
  provider.script(...clients.map((name) => ({ model: modelOf(name), script: { reply: name } }))))

/** The finished records of the requests whose prompt contains `mark`, once there are `n` of them. */
const recordsOf = (mark: string, n: number) =>
  Effect.flatMap(Provider, (p) =>
    p.awaitRequests((rs) => rs.filter((r) => r.prompt.includes(mark) && r.status !== "open").length >= n)
  ).pipe(
    Effect.map((rs) => rs.filter((r) => r.prompt.includes(mark))),
    timeoutFail("30 seconds", () => new Error(`${n} requests ${mark} never settled`))
  )

type Run = (text: string, options: Baml.Options) => Effect.Effect<unknown, BamlError.BamlError, BamlRuntime.BamlRuntime>

const lastOf = <A, E, R>(stream: Stream.Stream<A, E, R>) => Effect.map(Stream.runLast(stream), Option.getOrThrow)

/** The four ways to run a BAML function: the core's call and stream, and the generated client's. */
const ways: Record<string, Run> = {
  "Baml.call": (text, options) => Baml.call("Summarize", { text }, options),
  "Baml.stream": (text, options) => lastOf(Baml.stream("Summarize", { text }, options)),
  "generated call": (text, options) => Client.Summarize(text, options),
  "generated stream": (text, options) => Baml.final(Client.stream.Summarize(text, options))
}
const wayNames = Object.keys(ways)

/** A small deterministic PRNG, so that a failing run can be replayed. */
const random = (seed: number) => () => {
  seed = (seed * 1103515245 + 12345) % 2147483648
  return seed / 2147483648
}

layer(TestLayer, { timeout: "120 seconds", excludeTestServices: true })("ClientRegistry under concurrency", (it) => {
  it.effect("400 concurrent calls and streams sharing one registry: each is answered by the client it named", () =>
    Effect.gen(function*() {
      yield* scriptClients
      const clientRegistry = yield* registry(() => new Baml.ClientRegistry())
      const mark = marker("shared")
      const next = random(19)
      const plans = Array.from({ length: 400 }, (_, i) => ({
        i,
        client: clients[Math.floor(next() * clients.length)]!,
        way: wayNames[i % wayNames.length]!,
        // A fiber gives way to others after a budget of steps (2,048 by default, of which a busy fiber may have used
        // any part): small budgets, different for each call, interleave the steps of different calls. With the default
        // budget a call runs from its options to the engine without giving way, and a registry shared the wrong way
        // goes unnoticed. (With a budget of one or two steps on Effect 4, below about ten on Effect 3, a fiber spends
        // each budget on the yield itself and never gets further.)
        yieldEvery: 10 + Math.floor(next() * 40)
      }))
      const answers = yield* Effect.forEach(
        plans,
        ({ client, i, way, yieldEvery }) =>
          ways[way]!(`${mark} call ${i} asks for <${client}>`, { clientRegistry, client }).pipe(
            withMaxOpsBeforeYield(yieldEvery)
          ),
        { concurrency: "unbounded" }
      )
      // Every call's result names the client that answered it.
      const wrong = plans.map((plan, i) => ({ ...plan, answeredBy: answers[i] }))
        .filter((plan) => plan.answeredBy !== plan.client)
      expect(wrong).toEqual([])
      // And so does every request the provider received: the model asked for is that of the client the call named.
      const records = yield* recordsOf(mark, plans.length)
      expect(records.length).toBe(plans.length)
      const misrouted = records.filter((r) => r.model !== modelOf(/<(\w+)>/.exec(r.prompt)![1]!))
      expect(misrouted.map((r) => [r.model, r.prompt.slice(r.prompt.indexOf(mark))])).toEqual([])
      expect(records.filter((r) => r.stream).length).toBe(plans.filter((p) => p.way.endsWith("stream")).length)
    }), 120_000)

  it.effect("a call naming a client leaves the registry's own primary as it was, for calls that name none", () =>
    Effect.gen(function*() {
      yield* scriptClients
      const clientRegistry = yield* registry(() => new Baml.ClientRegistry())
      clientRegistry.setPrimary("alpha")
      const mark = marker("primary")
      for (const [way, run] of Object.entries(ways)) {
        expect(yield* run(`${mark} ${way} names beta`, { clientRegistry, client: "beta" }), way).toBe("beta")
        expect(yield* run(`${mark} ${way} names none`, { clientRegistry }), way).toBe("alpha")
      }
    }), 60_000)

  it.effect("a call uses the clients as they were added: a later change to the options object is not sent", () =>
    Effect.gen(function*() {
      yield* scriptClients
      const provider = yield* Provider
      const clientRegistry = new Baml.ClientRegistry()
      const options = { base_url: provider.baseUrl, model: modelOf("alpha"), api_key: "not-needed" }
      clientRegistry.addLlmClient("alpha", "openai-generic", options)
      // The engine took a copy when the client was added; so does the registry's record.
      options.model = modelOf("beta")
      const mark = marker("options-copy")
      for (const [way, run] of Object.entries(ways)) {
        expect(yield* run(`${mark} ${way}`, { clientRegistry, client: "alpha" }), way).toBe("alpha")
      }
      // Clients added after the registry has been used reach later calls.
      clientRegistry.addLlmClient("gamma", "openai-generic", { ...options, model: modelOf("gamma") })
      const later = yield* Baml.call("Summarize", { text: `${mark} later` }, { clientRegistry, client: "gamma" })
      expect(later).toBe("gamma")
    }), 60_000)

  describe("a ClientRegistry from @boundaryml/baml, which cannot be copied", () => {
    it.effect("with `client` is refused with a BamlInvalidArgumentError, and the registry is not changed", () =>
      Effect.gen(function*() {
        yield* scriptClients
        const clientRegistry = yield* registry(() => new Engine.ClientRegistry())
        clientRegistry.setPrimary("alpha")
        const mark = marker("engine-registry")
        for (const [way, run] of Object.entries(ways)) {
          const error = yield* Effect.flip(run(`${mark} ${way} names beta`, { clientRegistry, client: "beta" }))
          expect(error._tag, way).toBe("BamlInvalidArgumentError")
          expect(error.message).toMatch(/client: "beta".*Baml\.ClientRegistry/s)
          // Without `client`, the registry is used as it is: its own primary answers.
          expect(yield* run(`${mark} ${way} names none`, { clientRegistry }), way).toBe("alpha")
        }
        // Nothing reached the provider for the refused calls.
        const records = yield* recordsOf(mark, wayNames.length)
        expect(records.map((r) => r.model)).toEqual(wayNames.map(() => modelOf("alpha")))
      }), 60_000)
  })
})
