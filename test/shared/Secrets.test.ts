import * as Engine from "@boundaryml/baml"
import {
  Baml,
  BamlError,
  BamlRuntime,
  Cause,
  describe,
  Effect,
  Exit,
  expect,
  it,
  Layer,
  layer,
  Schema,
  ScriptedProvider,
  Stream,
  unwrapLayer
} from "#line"
import { readFileSync } from "node:fs"
import { everythingSaid, marker, shortResume } from "./fixtures.js"

/** A fake key anyone would recognise in a log; its tail alone would already be a leak. */
const KEY = "sk-test-SECRET-1234567890"
/** A key in no well-known format, so that only where it stands can give it away. */
const PLAIN_KEY = "plain-SECRET-0987654321"
const leaks = (text: string) => text.includes("1234567890") || text.includes("0987654321")

const keyed = `
client<llm> Keyed {
  provider openai-generic
  options {
    base_url env.SCRIPTED_BASE_URL
    model "keyed"
    api_key env.SCRIPTED_API_KEY
  }
}

function KeyedResume(resume: string) -> Resume {
  client Keyed
  prompt #"
    Extract the resume below.

    {{ ctx.output_format }}

    {{ _.role("user") }}
    {{ resume }}
  "#
}
`

/** The project's sources plus a client that reads its API key from the environment, as real clients do. */
const KeyedLayer = unwrapLayer(
  Effect.map(ScriptedProvider.ScriptedProvider, (provider) =>
    BamlRuntime.layerFromFiles({
      "clients.baml": readFileSync("baml_src/clients.baml", "utf8"),
      "resume.baml": readFileSync("baml_src/resume.baml", "utf8"),
      "keyed.baml": keyed
    }, { env: { SCRIPTED_BASE_URL: provider.baseUrl, SCRIPTED_API_KEY: KEY } }))
).pipe(Layer.provideMerge(ScriptedProvider.layer()))

/** Everything the library could have said: the exit, every log line, every span attribute and event. */
interface Said {
  readonly exit: Exit.Exit<unknown, BamlError.BamlError>
  readonly texts: ReadonlyArray<string>
}

/**
 * Everything the library could have said (`everythingSaid`), and the error's fields as they go over the wire.
 */
const everythingSaidWithFields = <A, R>(effect: Effect.Effect<A, BamlError.BamlError, R>) =>
  Effect.map(everythingSaid(effect), (said): Said => {
    // the logger and the tracer did see the attempt: a key is looked for in what was said, not in nothing
    expect(said.lines, "log lines").toBeGreaterThan(0)
    expect(said.spans, "spans").toBeGreaterThan(0)
    const encoded = said.error === undefined ? [] : [JSON.stringify(Schema.encodeSync(BamlError.BamlError)(said.error))]
    return { exit: said.exit, texts: [...said.texts, ...encoded] }
  })

const expectNoKey = (said: Said) => {
  expect(Exit.isFailure(said.exit), "the attempt was meant to fail").toBe(true)
  for (const text of said.texts) expect(leaks(text), text).toBe(false)
}

/**
 * A provider, or a proxy in front of it, that echoes the credentials it was sent in its error body: as the headers it
 * got and, if `bare`, in its own words too.
 */
const echoing = (key: string, bare = true): ScriptedProvider.Script => ({
  reply: "",
  fault: {
    _tag: "HttpError",
    status: 401,
    body: JSON.stringify({
      error: {
        message: bare ? `Incorrect API key provided: ${key}` : "Incorrect API key provided",
        headers: { authorization: `Bearer ${key}`, "x-api-key": key }
      }
    })
  }
})

const resume = ScriptedProvider.json(shortResume("Ada"))

const faults: ReadonlyArray<[string, (key: string, bare: boolean) => ScriptedProvider.Script]> = [
  ["a 401 that echoes the key", echoing],
  ["HTTP 500", () => ({ reply: "", fault: { _tag: "HttpError", status: 500 } })],
  ["a dropped connection", () => ({ ...resume, fault: { _tag: "DropConnection", afterChunks: 3 } })],
  ["malformed SSE", () => ({ ...resume, fault: { _tag: "MalformedSse", afterChunks: 3 } })],
  ["a reply that does not parse", () => ({ reply: "I will not answer that." })]
]

layer(KeyedLayer, { timeout: "60 seconds", excludeTestServices: true })("Secrets", (it) => {
  it.effect("an API key from env (baml_src `api_key env.X`) appears in no error, log line or span", () =>
    Effect.gen(function*() {
      const provider = yield* ScriptedProvider.ScriptedProvider
      for (const [name, script] of faults) {
        const mark = marker(`env-${name}`)
        yield* provider.script({ match: (prompt) => prompt.includes(mark), script: script(KEY, true) })
        for (
          const attempt of [
            Baml.call("KeyedResume", { resume: mark }),
            Stream.runDrain(Baml.stream("KeyedResume", { resume: mark }))
          ]
        ) {
          expectNoKey(yield* everythingSaidWithFields(attempt))
        }
        const records = (yield* provider.requests).filter((r) => r.prompt.includes(mark))
        // the key did go to the provider, as it should
        expect(records.map((r) => r.headers.authorization)).toEqual([`Bearer ${KEY}`, `Bearer ${KEY}`])
      }
    }), 30_000)

  it.effect("an API key in a per-call env appears in no error", () =>
    Effect.gen(function*() {
      const provider = yield* ScriptedProvider.ScriptedProvider
      const mark = marker("per-call-env")
      yield* provider.script({ match: (prompt) => prompt.includes(mark), script: echoing(PLAIN_KEY) })
      const options = { env: { SCRIPTED_API_KEY: PLAIN_KEY } }
      expectNoKey(yield* everythingSaidWithFields(Baml.call("KeyedResume", { resume: mark }, options)))
      expectNoKey(yield* everythingSaidWithFields(Stream.runDrain(Baml.stream("KeyedResume", { resume: mark }, options))))
      const records = (yield* provider.requests).filter((r) => r.prompt.includes(mark))
      expect(records.map((r) => r.headers.authorization)).toEqual([`Bearer ${PLAIN_KEY}`, `Bearer ${PLAIN_KEY}`])
    }), 30_000)

  it.effect("an API key in a ClientRegistry appears in no error, log line or span", () =>
    Effect.gen(function*() {
      const provider = yield* ScriptedProvider.ScriptedProvider
      // The engine cannot tell which keys a ClientRegistry holds: a key is recognised by its format (sk-...) or by
      // where it stands (a header). A key in no known format echoed bare in the provider's words is not.
      for (const [key, bare] of [[KEY, true], [PLAIN_KEY, false]] as const) {
        for (const [name, script] of faults) {
          const mark = marker(`registry-${name}`)
          yield* provider.script({ match: (prompt) => prompt.includes(mark), script: script(key, bare) })
          const clientRegistry = new Engine.ClientRegistry()
          clientRegistry.addLlmClient("Registered", "openai-generic", {
            base_url: provider.baseUrl,
            model: "registered",
            api_key: key,
            headers: { "x-api-key": key }
          })
          clientRegistry.setPrimary("Registered")
          expectNoKey(yield* everythingSaidWithFields(Baml.call("ExtractResume", { resume: mark }, { clientRegistry })))
          expectNoKey(
            yield* everythingSaidWithFields(Stream.runDrain(Baml.stream("ExtractResume", { resume: mark }, { clientRegistry })))
          )
          const records = (yield* provider.requests).filter((r) => r.prompt.includes(mark))
          expect(records.map((r) => r.headers["x-api-key"])).toEqual([key, key])
        }
      }
    }), 30_000)

  it.effect("a client's own timeout, with the key in a ClientRegistry, appears in no error", () =>
    Effect.gen(function*() {
      const provider = yield* ScriptedProvider.ScriptedProvider
      const mark = marker("timeout")
      yield* provider.script({
        match: (prompt) => prompt.includes(mark),
        script: { ...ScriptedProvider.json(shortResume("Ada")), fault: { _tag: "Stall", afterChunks: 2 } }
      })
      const clientRegistry = new Engine.ClientRegistry()
      clientRegistry.addLlmClient("Deadline", "openai-generic", {
        base_url: provider.baseUrl,
        model: "deadline",
        api_key: KEY,
        http: { request_timeout_ms: 200 }
      })
      clientRegistry.setPrimary("Deadline")
      for (
        const attempt of [
          Baml.call("ExtractResume", { resume: mark }, { clientRegistry }),
          Stream.runDrain(Baml.stream("ExtractResume", { resume: mark }, { clientRegistry }))
        ]
      ) {
        const said = yield* everythingSaidWithFields(attempt)
        expectNoKey(said)
        expect(Exit.isFailure(said.exit) && Cause.squash(said.exit.cause)).toBeInstanceOf(BamlError.BamlTimeoutError)
      }
    }), 30_000)
})

describe("BamlError.fromEngine redaction", () => {
  const report = (fields: Record<string, unknown>) => new Error(JSON.stringify(fields))

  it("removes env credentials and anything that stands where a credential does, and keeps the rest", () => {
    const env = { MY_PROVIDER_TOKEN: PLAIN_KEY, SCRIPTED_BASE_URL: "http://127.0.0.1:4321/v1" }
    const body = JSON.stringify({
      error: "denied",
      authorization: `Bearer ${PLAIN_KEY}`,
      "api-key": PLAIN_KEY,
      url: env.SCRIPTED_BASE_URL
    })
    const error = BamlError.fromEngine(
      report({
        type: "BamlClientHttpError",
        client_name: "Mine",
        message: `BamlError: BamlClientError: BamlClientHttpError: Request failed with status code: 401. ${body}`,
        status_code: 401,
        detailed_message: `token ${PLAIN_KEY} was refused`,
        raw_response: body
      }),
      { env }
    )
    expect(error._tag).toBe("BamlClientHttpError")
    const wire = JSON.stringify(Schema.encodeSync(BamlError.BamlError)(error))
    expect(leaks(wire)).toBe(false)
    expect(wire).toContain("<redacted>")
    // what helps a reader stays: the status, the client, the provider's words, the base URL
    expect(error.message).toContain("401")
    expect(error.message).toContain("denied")
    expect(error.message).toContain(env.SCRIPTED_BASE_URL)
  }, 10_000)

  it("removes a key the engine quotes from a .baml file's source", () => {
    const error = BamlError.fromEngine(
      new Error(`BamlError: error: Error validating\n  -->  keys.baml:4\n   |\n 4 |     api_key "${KEY}" "again"\n`)
    )
    expect(error._tag).toBe("BamlRuntimeError")
    expect(leaks(error.message)).toBe(false)
    expect(error).toMatchObject({ file: "keys.baml", line: 4 })
  }, 10_000)
})
