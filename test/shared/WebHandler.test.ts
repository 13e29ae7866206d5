/**
 * `BamlHttp.toWebHandler`: BAML functions served as a fetch handler, `(request: Request) => Promise<Response>`, the
 * shape Next.js route handlers, Hono, `Bun.serve` and `Deno.serve` take. Driven here as Hono drives it (`app.fetch`
 * with the handler mounted on a route) and as Next.js calls a route handler (`POST(request, { params })`), with the
 * provider's records as proof of what reached the LLM.
 */
import { Hono } from "hono"
import {
  BamlHttp,
  BamlRuntime,
  describe,
  Effect,
  expect,
  handlerRoutes,
  it,
  Layer,
  layer,
  layerScopedDiscard,
  ScriptedProvider
} from "#line"
import { longResume, marker, scriptFor, settled, shortResume, TestLayer } from "./fixtures.js"

/** A web handler over the test's runtime, counting how often its layer is built and released. */
const makeWeb = Effect.gen(function*() {
  const runtime = yield* BamlRuntime.BamlRuntime
  const lifecycle = { builds: 0, releases: 0 }
  const Counted = layerScopedDiscard(
    Effect.acquireRelease(Effect.sync(() => lifecycle.builds++), () => Effect.sync(() => lifecycle.releases++))
  )
  const web = BamlHttp.toWebHandler(
    handlerRoutes(["ExtractResume"]),
    Layer.merge(Layer.succeed(BamlRuntime.BamlRuntime, runtime), Counted),
    { disableLogger: true }
  )
  return { web, lifecycle }
})

/** A web handler released with the test's scope. */
const scopedWeb = Effect.acquireRelease(makeWeb, ({ web }) => Effect.promise(() => web.dispose()))

/** The request `BamlClient` sends for ExtractResume, asking for NDJSON. */
const extract = (resume: string, signal?: AbortSignal) =>
  new Request("http://localhost/api/baml/ExtractResume", {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/x-ndjson" },
    body: JSON.stringify({ resume }),
    ...(signal === undefined ? {} : { signal })
  })

type Handler = (request: Request) => Promise<Response>

/** The two ways a fetch handler is called: mounted on a Hono route, and as Next.js calls an exported `POST`. */
const callers: ReadonlyArray<readonly [string, (handler: Handler) => Handler]> = [
  ["Hono", (handler) => {
    const app = new Hono()
    app.post("/api/baml/*", (c) => handler(c.req.raw))
    return (request) => Promise.resolve(app.fetch(request))
  }],
  // Next.js passes a second argument, its route context, which a handler must not mistake for anything else
  ["a Next.js route handler", (handler) => (request) =>
    (handler as (request: Request, context: { params: Promise<Record<string, string>> }) => Promise<Response>)(
      request,
      { params: Promise.resolve({ fn: "ExtractResume" }) }
    )]
]

interface Message {
  readonly event: string
  readonly data: { readonly name?: string | null; readonly _tag?: string }
}

/** Reads NDJSON messages until `enough` says so or the body ends. */
const readMessages = (
  reader: ReadableStreamDefaultReader<Uint8Array>,
  enough: (messages: ReadonlyArray<Message>) => boolean = () => false
) =>
  Effect.promise(async () => {
    const decoder = new TextDecoder()
    let text = ""
    const messages = () => text.split("\n").slice(0, -1).map((line) => JSON.parse(line) as Message)
    while (!enough(messages())) {
      const { done, value } = await reader.read()
      if (done) break
      text += decoder.decode(value, { stream: true })
    }
    return messages()
  })

const partials = (n: number) => (messages: ReadonlyArray<Message>) =>
  messages.filter((m) => m.event === "partial").length >= n

/** The ways a fetch client leaves early: the request's signal aborts, or the reader cancels the response body. */
const earlyExits: ReadonlyArray<
  readonly [string, (controller: AbortController, reader: ReadableStreamDefaultReader<Uint8Array>) => Promise<void>]
> = [
  ["the request's signal aborts", async (controller) => controller.abort()],
  ["the reader cancels the response body", (_, reader) => reader.cancel()]
]

layer(TestLayer, { timeout: "30 seconds" })("BamlHttp.toWebHandler", (it) => {
  for (const [caller, mount] of callers) {
    it.effect(`called by ${caller}: partials, then the final value, and the request completes`, () =>
      Effect.gen(function*() {
        const { web } = yield* scopedWeb
        const mark = marker("web-full")
        yield* scriptFor(mark, ScriptedProvider.json(shortResume("Grace Hopper"), { delayMs: 2 }))
        const response = yield* Effect.promise(() => mount(web.handler)(extract(`Grace Hopper ${mark}`)))
        expect(response.status).toBe(200)
        expect(response.headers.get("content-type")).toContain("application/x-ndjson")
        const messages = yield* readMessages(response.body!.getReader())
        expect(messages.filter((m) => m.event === "partial").length).toBeGreaterThan(0)
        expect(messages.at(-1)).toMatchObject({ event: "final", data: { name: "Grace Hopper" } })
        expect((yield* settled(mark)).status).toBe("completed")
      }).pipe(Effect.scoped), 20_000)

    for (const [exit, leave] of earlyExits) {
      it.effect(`called by ${caller}: ${exit}, and the LLM request is aborted`, () =>
        Effect.gen(function*() {
          const { web } = yield* scopedWeb
          const mark = marker("web-exit")
          yield* scriptFor(mark, ScriptedProvider.json(longResume("Ada Lovelace"), { delayMs: 5 }))
          const controller = new AbortController()
          const response = yield* Effect.promise(() =>
            mount(web.handler)(extract(`Ada Lovelace ${mark}`, controller.signal))
          )
          const reader = response.body!.getReader()
          const seen = yield* readMessages(reader, partials(2))
          expect(seen[0]!.event).toBe("partial")
          yield* Effect.promise(() => leave(controller, reader))
          const record = yield* settled(mark)
          expect(record.status).toBe("closed-early")
          expect(record.sent).toBeLessThan(record.planned)
        }).pipe(Effect.scoped), 20_000)
    }
  }

  it.effect("a provider error is the BamlError's encoded class in an error message", () =>
    Effect.gen(function*() {
      const { web } = yield* scopedWeb
      const mark = marker("web-error")
      yield* scriptFor(mark, { reply: "unused", fault: { _tag: "HttpError", status: 500 } })
      const response = yield* Effect.promise(() => web.handler(extract(`Grace Hopper ${mark}`)))
      const messages = yield* readMessages(response.body!.getReader())
      expect(messages.at(-1)).toMatchObject({ event: "error", data: { _tag: "BamlClientHttpError" } })
    }).pipe(Effect.scoped), 20_000)

  it.effect("the layer is built once for every request, and released when the handler is disposed", () =>
    Effect.gen(function*() {
      const { web, lifecycle } = yield* makeWeb
      for (const name of ["Grace Hopper", "Ada Lovelace", "Alan Turing"]) {
        const mark = marker("web-once")
        yield* scriptFor(mark, ScriptedProvider.json(shortResume(name), { delayMs: 1 }))
        const response = yield* Effect.promise(() => web.handler(extract(`${name} ${mark}`)))
        const messages = yield* readMessages(response.body!.getReader())
        expect(messages.at(-1)).toMatchObject({ event: "final", data: { name } })
      }
      expect(lifecycle).toEqual({ builds: 1, releases: 0 })
      yield* Effect.promise(() => web.dispose())
      expect(lifecycle).toEqual({ builds: 1, releases: 1 })
    }), 20_000)
})

describe("BamlHttp.toWebHandler's types", () => {
  it("refuses a layer that lacks a service the routes need", () => {
    const refused = () =>
      // @ts-expect-error: the routes need a BamlRuntime, and the layer does not provide one
      BamlHttp.toWebHandler(handlerRoutes(["ExtractResume"]), Layer.empty)
    // never called: the type checker is the test
    expect(typeof refused).toBe("function")
  })
})
