import {
  Baml,
  BamlClient,
  BamlHttp,
  callback,
  ClientHttp as Generated,
  Effect,
  Exit,
  expect,
  FetchHttpClient,
  Fiber,
  forkChild,
  type HttpServer,
  HttpClient,
  HttpClientRequest,
  HttpServerRequest,
  HttpServerResponse,
  failureOf,
  layer,
  Layer,
  Option,
  requestErrorTag,
  route,
  Schema,
  serve,
  ScriptedProvider,
  Stream,
  timeoutFail
} from "#line"
import { existsSync } from "node:fs"
import * as Http from "node:http"
import { chromium } from "playwright-core"
import { performance } from "node:perf_hooks"
import * as Wire from "../../src/core/wire/wire.js"
import { cuttingProxy, marker, onFreePort, portOf, scriptLong, serverPort, settledAll, TestLayer } from "./fixtures.js"

const Args = Schema.Struct({ resume: Schema.String })

/** Every generation's end, as the routes' `onEnd` hook is told it. */
const ends: Array<BamlHttp.End> = []

const resumableAt = (grace: BamlHttp.ResumableOptions["grace"]) =>
  Effect.flatMap(
    HttpServerRequest.schemaSearchParams(Args),
    ({ resume }) =>
      BamlHttp.resumable(Baml.stream("ExtractResume", { resume }), {
        grace,
        onEnd: (end) => Effect.sync(() => void ends.push(end))
      })
  )

/** Who asks, for the routes bound to an owner: the `x-user` header. */
const owner = (request: HttpServerRequest.HttpServerRequest) => Effect.succeed(request.headers["x-user"] ?? "")

const ServerLayer = onFreePort(serve(
  route("GET", "/short", resumableAt("1 second")),
  route("GET", "/long", resumableAt("30 seconds")),
  route("DELETE", "/stop", BamlHttp.stop),
  route(
    "GET",
    "/owned",
    Effect.flatMap(
      HttpServerRequest.schemaSearchParams(Args),
      ({ resume }) => BamlHttp.resumable(Baml.stream("ExtractResume", { resume }), { grace: "30 seconds", owner })
    )
  ),
  route("DELETE", "/owned", BamlHttp.stopWith({ owner })),
  route("POST", "/baml/ExtractResume", BamlHttp.handler("ExtractResume", {
    resumable: { grace: "30 seconds", onEnd: (end) => Effect.sync(() => void ends.push(end)) }
  })),
  route("DELETE", "/baml/ExtractResume", BamlHttp.stop),
  route("GET", "/", HttpServerResponse.html("<!doctype html><title>resume</title>")),
  route("POST", "/baml/Plain", BamlHttp.handler("ExtractResume", { onEnd: (end) => Effect.sync(() => void ends.push(end)) }))
)).pipe(Layer.provideMerge(Layer.mergeAll(TestLayer, BamlHttp.layerGenerations)))

interface Message {
  readonly event: string
  readonly data: unknown
  readonly id: string | undefined
}

interface Response {
  readonly status: number
  readonly generation: string | undefined
  readonly messages: ReadonlyArray<Message>
}

// Only what the server sends: `id:`, `event:` and `data:` lines, comments skipped; a block with no event (the opening's
// id) is no message.
const parseSse = (block: string): ReadonlyArray<Message> => {
  const lines = block.split("\n").filter((line) => line !== "" && !line.startsWith(":"))
  const field = (name: string) => lines.find((line) => line.startsWith(`${name}: `))?.slice(name.length + 2)
  const event = field("event")
  return event === undefined ? [] : [{ event, data: JSON.parse(field("data") ?? "null"), id: field("id") }]
}

const parseNdjson = (line: string): ReadonlyArray<Message> => line === "" ? [] : [JSON.parse(line) as Message]

type Format = "sse" | "ndjson"

/**
 * A plain node:http client: reads messages until `leaveAfter` of them have arrived, then destroys its socket (a
 * dropped connection), or until the server ends the response. `lastEventId` is sent as `Last-Event-ID`.
 */
const read = (
  path: string,
  options: {
    readonly format: Format
    readonly lastEventId?: string
    readonly leaveAfter?: number
    readonly user?: string
  }
): Effect.Effect<Response, Error, HttpServer.HttpServer> =>
  Effect.flatMap(serverPort, (port) =>
    callback<Response, Error>((resume) => {
      const messages: Array<Message> = []
      const headers: Record<string, string> = { accept: Wire.contentTypes[options.format] }
      if (options.user !== undefined) headers["x-user"] = options.user
      if (options.lastEventId !== undefined) headers["last-event-id"] = options.lastEventId
      const request = Http.get({ host: "127.0.0.1", port, path, agent: false, headers }, (response) => {
        const separator = options.format === "ndjson" ? "\n" : "\n\n"
        const generation = response.headers[Wire.headers.generation]
        const done = () =>
          resume(Effect.succeed({
            status: response.statusCode ?? 0,
            generation: typeof generation === "string" ? generation : undefined,
            messages
          }))
        let buffer = ""
        response.setEncoding("utf8")
        response.on("data", (text: string) => {
          const frames = (buffer + text).split(separator)
          buffer = frames.pop()!
          for (const frame of frames) {
            messages.push(...(options.format === "ndjson" ? parseNdjson(frame) : parseSse(frame)))
            if (options.leaveAfter !== undefined && messages.length >= options.leaveAfter) {
              request.destroy()
              return done()
            }
          }
        })
        response.on("end", done)
      })
      request.on("error", (error) => resume(Effect.fail(error)))
      return Effect.sync(() => request.destroy())
    })
  ).pipe(timeoutFail("20 seconds", () => new Error(`reading ${path} took too long`)))

const stopRequest = (generation: string, options: { readonly path?: string; readonly user?: string } = {}) =>
  Effect.flatMap(serverPort, (port) =>
    callback<number, Error>((resume) => {
      const request = Http.request(
        {
          host: "127.0.0.1",
          port,
          method: "DELETE",
          path: `${options.path ?? "/stop"}?generation=${generation}`,
          headers: options.user === undefined ? {} : { "x-user": options.user },
          agent: false
        },
        (response) => {
          response.resume()
          resume(Effect.succeed(response.statusCode ?? 0))
        }
      )
      request.on("error", (error) => resume(Effect.fail(error)))
      request.end()
    }))

/** A plain request: its status and body, read whole. */
const rawRequest = (
  method: string,
  path: string,
  options: { readonly headers?: Readonly<Record<string, string>>; readonly body?: string } = {}
) =>
  Effect.flatMap(serverPort, (port) =>
    callback<{ readonly status: number; readonly body: string }, Error>((resume) => {
      const request = Http.request(
        { host: "127.0.0.1", port, method, path, headers: options.headers ?? {}, agent: false },
        (response) => {
          let body = ""
          response.setEncoding("utf8")
          response.on("data", (text: string) => void (body += text))
          response.on("end", () => resume(Effect.succeed({ status: response.statusCode ?? 0, body })))
        }
      )
      request.on("error", (error) => resume(Effect.fail(error)))
      request.end(options.body)
      return Effect.sync(() => request.destroy())
    })).pipe(timeoutFail("10 seconds", () => new Error(`${method} ${path} took too long`)))

/** The provider's requests for `mark` so far, settled or not. */
const requestsFor = (mark: string) =>
  Effect.map(
    Effect.flatMap(ScriptedProvider.ScriptedProvider, (provider) => provider.requests),
    (records) => records.filter((record) => record.prompt.includes(mark))
  )

const query = (mark: string) => `resume=${encodeURIComponent(`Ada Lovelace, mathematician ${mark}`)}`

/** The sequence numbers of `messages`' ids, which must all name `generation`. */
const sequences = (messages: ReadonlyArray<Message>, generation: string) =>
  messages.map((message) => {
    const position = Wire.positionOf(message.id)
    expect(position?.generation).toBe(generation)
    return position!.sequence
  })

const endOf = (generation: string) =>
  Effect.gen(function*() {
    // the hook runs as the generation ends, a moment after its last message was read
    for (let i = 0; i < 100 && !ends.some((end) => end.generation === generation); i++) yield* Effect.sleep("50 millis")
    return ends.filter((end) => end.generation === generation)
  })

const formats = ["sse", "ndjson"] as const

layer(ServerLayer, { timeout: "60 seconds", excludeTestServices: true })("BamlHttp.resumable", (it) => {
  it.effect.each(formats)(
    "a client that drops after 3 messages and reconnects within the grace period gets every message once, in order; one LLM request, completed (%s)",
    (format) =>
      Effect.gen(function*() {
        const mark = marker(`resume-${format}`)
        yield* scriptLong(mark)
        const first = yield* read(`/short?${query(mark)}`, { format, leaveAfter: 3 })
        expect(first.status).toBe(200)
        const generation = first.generation!
        yield* Effect.sleep("200 millis")
        const rest = yield* read(`/short?${query(mark)}`, { format, lastEventId: first.messages.at(-1)!.id! })
        expect(rest.status).toBe(200)
        const all = [...first.messages, ...rest.messages]
        expect(sequences(all, generation)).toEqual(all.map((_, i) => i + 1))
        expect(all.at(-1)!.event).toBe("final")
        expect(all.slice(0, -1).every((message) => message.event === "partial")).toBe(true)
        const records = yield* settledAll(mark)
        expect(records.map((record) => record.status)).toEqual(["completed"])
        const [end, ...more] = yield* endOf(generation)
        expect(more).toEqual([])
        expect(end!.outcome).toBe("completed")
        expect(end!.messages).toBe(all.length)
        expect(end!.last).toEqual(expect.objectContaining({ value: all.at(-1)!.data }))
        expect(end!.usage.map((usage) => usage.aborted)).toEqual([false])
      }),
    30_000
  )

  it.effect("a client that does not come back: the LLM request is aborted about one grace period later", () =>
    Effect.gen(function*() {
      const mark = marker("resume-abandoned")
      yield* scriptLong(mark)
      const first = yield* read(`/short?${query(mark)}`, { format: "sse", leaveAfter: 3 })
      const left = performance.now()
      const [record] = yield* settledAll(mark)
      expect(record!.status).toBe("closed-early")
      const after = record!.closedAt! - left
      // grace: 1 second
      expect(after).toBeGreaterThan(800)
      expect(after).toBeLessThan(4_000)
      const [end] = yield* endOf(first.generation!)
      expect(end!.outcome).toBe("abandoned")
      expect(end!.usage.map((usage) => usage.aborted)).toEqual([true])
      // told it is gone rather than starting again: an ended generation is answered 204
      const again = yield* read(`/short?${query(mark)}`, { format: "sse", lastEventId: first.messages.at(-1)!.id! })
      expect([204, 200]).toContain(again.status)
      expect((yield* settledAll(mark)).length).toBe(1)
    }), 30_000)

  it.effect.each(formats)(
    "a stop aborts the LLM request at once, and ends the response of whoever is reading with a GenerationStopped error (%s)",
    (format) =>
      Effect.gen(function*() {
        const mark = marker(`resume-stop-${format}`)
        yield* scriptLong(mark)
        const first = yield* read(`/long?${query(mark)}`, { format, leaveAfter: 2 })
        const generation = first.generation!
        const reader = yield* forkChild(read(`/long?${query(mark)}`, { format, lastEventId: first.messages.at(-1)!.id! }))
        yield* Effect.sleep("300 millis")
        const stoppedAt = performance.now()
        expect(yield* stopRequest(generation)).toBe(204)
        const [record] = yield* settledAll(mark)
        expect(record!.status).toBe("closed-early")
        expect(record!.closedAt! - stoppedAt).toBeLessThan(1_000)
        const second = yield* Fiber.join(reader)
        expect(second.status).toBe(200)
        expect(second.messages.some((message) => message.event === "final")).toBe(false)
        // the last message says it was stopped, with the next id of the generation
        const last = second.messages.at(-1)!
        expect(last.event).toBe("error")
        expect(last.data).toEqual(Wire.generationStopped)
        const all = [...first.messages, ...second.messages]
        expect(sequences(all, generation)).toEqual(all.map((_, i) => i + 1))
        const [end] = yield* endOf(generation)
        expect(end!.outcome).toBe("stopped")
        expect(end!.messages).toBe(all.length)
        // a reconnect after it is done; one from before it is sent the rest, the stop last
        expect((yield* read(`/long?${query(mark)}`, { format, lastEventId: last.id! })).status).toBe(204)
        const late = yield* read(`/long?${query(mark)}`, { format, lastEventId: first.messages.at(-1)!.id! })
        expect(late.status).toBe(200)
        expect(late.messages).toEqual(second.messages)
        expect(yield* stopRequest(generation)).toBe(404)
        expect((yield* settledAll(mark)).length).toBe(1)
      }),
    30_000
  )

  it.effect("reconnecting after the final (an EventSource left open) is answered 204, with no second LLM request", () =>
    Effect.gen(function*() {
      const mark = marker("resume-final")
      yield* scriptLong(mark)
      const whole = yield* read(`/short?${query(mark)}`, { format: "sse" })
      expect(whole.messages.at(-1)!.event).toBe("final")
      const again = yield* read(`/short?${query(mark)}`, { format: "sse", lastEventId: whole.messages.at(-1)!.id! })
      expect(again.status).toBe(204)
      // from the start of the generation (the opening's id): every message again, from memory
      const replay = yield* read(`/short?${query(mark)}`, {
        format: "sse",
        lastEventId: Wire.messageId({ generation: whole.generation!, sequence: 0 })
      })
      expect(replay.messages).toEqual(whole.messages)
      expect((yield* settledAll(mark)).map((record) => record.status)).toEqual(["completed"])
    }), 30_000)

  it.effect("bound to its owner: another owner's resume is answered 410 and stop 404, as for an unknown id; the owner's own resume and stop work", () =>
    Effect.gen(function*() {
      const mark = marker("resume-owned")
      yield* scriptLong(mark)
      const first = yield* read(`/owned?${query(mark)}`, { format: "sse", leaveAfter: 2, user: "ada" })
      const at = first.messages.at(-1)!.id!
      expect((yield* read(`/owned?${query(mark)}`, { format: "sse", lastEventId: at, user: "eve" })).status).toBe(410)
      expect((yield* read(`/owned?${query(mark)}`, { format: "sse", lastEventId: at })).status).toBe(410)
      // the stop that knows no owner does not stop an owned generation either
      expect(yield* stopRequest(first.generation!, { path: "/owned", user: "eve" })).toBe(404)
      expect(yield* stopRequest(first.generation!)).toBe(404)
      const mine = yield* read(`/owned?${query(mark)}`, { format: "sse", lastEventId: at, user: "ada", leaveAfter: 1 })
      expect(mine.status).toBe(200)
      expect(sequences(mine.messages, first.generation!)).toEqual([3])
      expect(yield* stopRequest(first.generation!, { path: "/owned", user: "ada" })).toBe(204)
      expect((yield* settledAll(mark)).map((record) => record.status)).toEqual(["closed-early"])
    }), 30_000)

  it.effect("BamlHttp.Generations: the server's own code counts the generations and stops one by its id", () =>
    Effect.gen(function*() {
      const mark = marker("resume-service")
      yield* scriptLong(mark)
      const first = yield* read(`/owned?${query(mark)}`, { format: "sse", leaveAfter: 2, user: "ada" })
      const generations = yield* BamlHttp.Generations
      expect(yield* generations.size).toBeGreaterThan(0)
      expect(yield* generations.stop(first.generation!)).toBe(true)
      expect(yield* generations.stop("nope")).toBe(false)
      expect((yield* settledAll(mark)).map((record) => record.status)).toEqual(["closed-early"])
    }), 30_000)

  it.effect.each(["garbage", "5b1f3c1e-8d5e-4a8e-9d7b-1c2f3e4d5a6b", ".-1", "gen.", "gen.1e3", "gen.-1", "gen. 3"])(
    "a malformed Last-Event-ID (%s) is answered 400 with a BamlInvalidArgumentError, and starts no LLM request",
    (lastEventId) =>
      Effect.gen(function*() {
        const mark = marker("resume-malformed")
        yield* scriptLong(mark)
        const headers = { accept: Wire.contentTypes.sse, "last-event-id": lastEventId }
        // a route of BamlHttp.resumable, and BamlHttp.handler's resumable route with a body that would start one
        const viaRoute = yield* rawRequest("GET", `/short?${query(mark)}`, { headers })
        const viaHandler = yield* rawRequest("POST", "/baml/ExtractResume", {
          headers: { ...headers, "content-type": "application/json" },
          body: JSON.stringify({ resume: `Ada Lovelace ${mark}` })
        })
        for (const response of [viaRoute, viaHandler]) {
          expect(response.status).toBe(400)
          const body = JSON.parse(response.body) as { readonly _tag: string; readonly message: string }
          expect(body._tag).toBe("BamlInvalidArgumentError")
          expect(body.message).toContain("invalid Last-Event-ID")
        }
        // a generation started by mistake would have asked the provider by now
        yield* Effect.sleep("200 millis")
        expect(yield* requestsFor(mark)).toEqual([])
      }),
    10_000
  )

  it.effect("BamlClient reads the 400 of a malformed Last-Event-ID as a BamlInvalidArgumentError", () =>
    Effect.gen(function*() {
      const exit = yield* Stream.runCollect(
        BamlClient.events<unknown, unknown>(
          HttpClientRequest.get(`http://127.0.0.1:${yield* serverPort}/short?${query(marker("resume-malformed-client"))}`)
            .pipe(HttpClientRequest.setHeader("last-event-id", "garbage"))
        )
      ).pipe(Effect.provide(FetchHttpClient.layer), Effect.exit)
      const error = Exit.isFailure(exit) ? Option.getOrUndefined(failureOf(exit.cause)) : undefined
      expect((error as { readonly _tag?: string } | undefined)?._tag).toBe("BamlInvalidArgumentError")
    }), 10_000)

  it.effect("a generation the server does not know is answered 410", () =>
    Effect.gen(function*() {
      const gone = yield* read(`/short?${query(marker("resume-gone"))}`, { format: "sse", lastEventId: "nope.3" })
      expect(gone.status).toBe(410)
    }), 10_000)
})

/** An `HttpClient` (fetch) whose requests go to `port` under /baml/. */
const clientAt = (port: number) =>
  Layer.effect(
    HttpClient.HttpClient,
    Effect.map(HttpClient.HttpClient, HttpClient.mapRequest(HttpClientRequest.prependUrl(`http://127.0.0.1:${port}/baml/`)))
  ).pipe(Layer.provide(FetchHttpClient.layer))

layer(ServerLayer, { timeout: "60 seconds", excludeTestServices: true })("BamlClient, resumed", (it) => {
  it.effect.each(formats)(
    "a connection cut after 3 messages is resumed by itself: every message once, in order; one LLM request, completed (%s)",
    (format) =>
      Effect.gen(function*() {
        const mark = marker(`client-resume-${format}`)
        yield* scriptLong(mark)
        const proxy = yield* cuttingProxy(({ n }) => n === 1 ? 3 : undefined)
        const before = ends.length
        const messages = Array.from(
          yield* Stream.runCollect(
            BamlClient.stream<unknown, unknown>("ExtractResume", { resume: `Ada Lovelace ${mark}` }, {
              format,
              resume: { within: "5 seconds" }
            })
          ).pipe(Effect.provide(clientAt(portOf(proxy))))
        )
        expect(proxy.cuts).toBe(1)
        expect(messages.at(-1)!.event).toBe("final")
        expect(messages.slice(0, -1).every((message) => message.event === "partial")).toBe(true)
        const records = yield* settledAll(mark)
        expect(records.map((record) => record.status)).toEqual(["completed"])
        // the hook runs as the generation ends, a moment after its last message was read
        for (let i = 0; i < 100 && ends.length === before; i++) yield* Effect.sleep("50 millis")
        const mine = ends.slice(before)
        expect(mine.map((end) => end.outcome)).toEqual(["completed"])
        // as many messages as the server sent: none lost, none twice
        expect(mine.map((end) => end.messages)).toEqual([messages.length])
        expect(messages.length).toBeGreaterThan(4)
      }).pipe(Effect.scoped),
    30_000
  )

  it.effect("the generated http.ts resumes the same way: typed, decoded, one LLM request", () =>
    Effect.gen(function*() {
      const mark = marker("generated-resume")
      yield* scriptLong(mark)
      const proxy = yield* cuttingProxy(({ n }) => n === 1 ? 3 : undefined)
      const messages = Array.from(
        yield* Stream.runCollect(Generated.ExtractResume(`Ada Lovelace ${mark}`, { resume: { within: "5 seconds" } }))
          .pipe(Effect.provide(clientAt(portOf(proxy))))
      )
      expect(proxy.cuts).toBe(1)
      const last = messages.at(-1)!
      // the final is typed as the function's result
      const skills: ReadonlyArray<string> | undefined = last.event === "final" ? last.data.skills : undefined
      expect(skills?.length).toBeGreaterThan(100)
      expect((yield* settledAll(mark)).map((record) => record.status)).toEqual(["completed"])
    }).pipe(Effect.scoped), 30_000)

  it.effect("interrupting a resumable stream stops the generation at once", () =>
    Effect.gen(function*() {
      const mark = marker("client-resume-stop")
      yield* scriptLong(mark)
      const taken = yield* Stream.runCollect(
        BamlClient.stream<unknown, unknown>("ExtractResume", { resume: `Ada Lovelace ${mark}` }, {
          resume: { within: "5 seconds" }
        }).pipe(Stream.take(3))
      ).pipe(Effect.provide(clientAt(yield* serverPort)))
      const leftAt = performance.now()
      expect(Array.from(taken).length).toBe(3)
      const [record] = yield* settledAll(mark)
      expect(record!.status).toBe("closed-early")
      // the route's grace period is 30 seconds: only the stop explains an abort this soon
      expect(record!.closedAt! - leftAt).toBeLessThan(2_000)
    }), 30_000)

  it.effect("interrupted before the first response arrived (React's StrictMode), the generation is stopped all the same", () =>
    Effect.gen(function*() {
      const mark = marker("client-resume-early")
      yield* scriptLong(mark)
      const before = ends.length
      const exit = yield* Stream.runCollect(
        BamlClient.stream<unknown, unknown>("ExtractResume", { resume: `Ada Lovelace ${mark}` }, {
          resume: { within: "5 seconds" }
        })
      ).pipe(Effect.provide(clientAt(yield* serverPort)), Effect.timeout("1 millis"), Effect.exit)
      expect(Exit.isFailure(exit)).toBe(true)
      // the route's grace period is 30 seconds and the reply takes seconds: only the stop explains an end this soon
      for (let i = 0; i < 60 && ends.length === before; i++) yield* Effect.sleep("50 millis")
      expect(ends.slice(before).map((end) => end.outcome)).toEqual(["stopped"])
    }), 30_000)

  it.effect("a generation stopped by someone else fails the stream at once with GenerationStopped: no reconnect, no stop of its own", () =>
    Effect.gen(function*() {
      const mark = marker("client-stopped-elsewhere")
      yield* scriptLong(mark)
      const sent: Array<string> = []
      let generation: string | undefined
      const watched = Layer.effect(
        HttpClient.HttpClient,
        Effect.map(HttpClient.HttpClient, (client) =>
          client.pipe(
            HttpClient.tapRequest((request) => Effect.sync(() => void sent.push(request.method))),
            HttpClient.tap((response) =>
              Effect.sync(() => {
                generation ??= response.headers[Wire.headers.generation]
              })
            )
          ))
      ).pipe(Layer.provide(clientAt(yield* serverPort)))
      const fiber = yield* forkChild(
        Stream.runCollect(
          BamlClient.stream<unknown, unknown>("ExtractResume", { resume: `Ada Lovelace ${mark}` }, {
            resume: { within: "5 seconds" }
          })
        ).pipe(Effect.provide(watched), Effect.exit)
      )
      for (let i = 0; i < 100 && generation === undefined; i++) yield* Effect.sleep("50 millis")
      yield* Effect.sleep("300 millis")
      const stoppedAt = performance.now()
      // another tab's stream, interrupted, sends this
      expect(yield* stopRequest(generation!, { path: "/baml/ExtractResume" })).toBe(204)
      const exit = yield* Fiber.join(fiber)
      expect(performance.now() - stoppedAt).toBeLessThan(2_000)
      const error = Exit.isFailure(exit) ? Option.getOrUndefined(failureOf(exit.cause)) : undefined
      expect(error).toBeInstanceOf(BamlClient.GenerationStopped)
      // the first request only: no reconnect (a GET or POST again), no DELETE
      yield* Effect.sleep("300 millis")
      expect(sent).toEqual(["POST"])
      expect((yield* settledAll(mark)).map((record) => record.status)).toEqual(["closed-early"])
    }), 30_000)

  it.effect("a connection that does not come back fails with ResumeFailed after `within`", () =>
    Effect.gen(function*() {
      const mark = marker("client-resume-gone")
      yield* scriptLong(mark)
      const proxy = yield* cuttingProxy(({ n }) => n === 1 ? 3 : 0)
      const startedAt = performance.now()
      const exit = yield* Stream.runCollect(
        BamlClient.stream<unknown, unknown>("ExtractResume", { resume: `Ada Lovelace ${mark}` }, {
          resume: { within: "1 second" }
        })
      ).pipe(Effect.provide(clientAt(portOf(proxy))), Effect.exit)
      expect(Exit.isFailure(exit) && JSON.stringify(exit.cause).includes("ResumeFailed")).toBe(true)
      // it says what kept failing
      expect(JSON.stringify(exit)).toContain("no connection for longer than 1000 ms (the last failure: ")
      expect(performance.now() - startedAt).toBeLessThan(10_000)
    }).pipe(Effect.scoped), 30_000)

  it.effect("a first request that cannot be made (nothing listens) fails at once with its own error: nothing to resume", () =>
    Effect.gen(function*() {
      // a port that was free a moment ago: nothing listens there now
      const closed = yield* Effect.promise(() =>
        new Promise<number>((resolve) => {
          const server = Http.createServer().listen(0, "127.0.0.1", () => {
            const port = (server.address() as { readonly port: number }).port
            server.close(() => resolve(port))
          })
        })
      )
      const startedAt = performance.now()
      const exit = yield* Stream.runCollect(
        BamlClient.stream<unknown, unknown>("ExtractResume", { resume: "Ada Lovelace" }, {
          resume: { within: "30 seconds" }
        })
      ).pipe(Effect.provide(clientAt(closed)), Effect.exit)
      expect(performance.now() - startedAt).toBeLessThan(5_000)
      const error = Exit.isFailure(exit) ? Option.getOrUndefined(failureOf(exit.cause)) : undefined
      expect((error as { readonly _tag?: string } | undefined)?._tag).toBe(requestErrorTag)
    }), 30_000)
})

layer(ServerLayer, { timeout: "60 seconds", excludeTestServices: true })("BamlHttp.handler's onEnd", (it) => {
  const endAfter = (before: number) =>
    Effect.gen(function*() {
      for (let i = 0; i < 100 && ends.length === before; i++) yield* Effect.sleep("50 millis")
      return ends.slice(before)
    })

  it.effect("a response read to its end: completed, its last value, its usage, once", () =>
    Effect.gen(function*() {
      const mark = marker("end-completed")
      yield* scriptLong(mark)
      const before = ends.length
      const messages = Array.from(
        yield* Stream.runCollect(BamlClient.stream<unknown, unknown>("ExtractResume", { resume: `Ada ${mark}` }, { url: "Plain" }))
          .pipe(Effect.provide(clientAt(yield* serverPort)))
      )
      const [end, ...more] = yield* endAfter(before)
      expect(more).toEqual([])
      expect(end!.generation).toBeUndefined()
      expect(end!.outcome).toBe("completed")
      expect(end!.messages).toBe(messages.length)
      expect(end!.last).toEqual(expect.objectContaining({ value: messages.at(-1)!.data }))
      expect(end!.usage.map((usage) => usage.aborted)).toEqual([false])
    }), 30_000)

  it.effect("a client that leaves: abandoned, with the usage of the aborted request", () =>
    Effect.gen(function*() {
      const mark = marker("end-abandoned")
      yield* scriptLong(mark)
      const before = ends.length
      yield* Stream.runCollect(
        BamlClient.stream<unknown, unknown>("ExtractResume", { resume: `Ada ${mark}` }, { url: "Plain" }).pipe(Stream.take(3))
      ).pipe(Effect.provide(clientAt(yield* serverPort)))
      const [end] = yield* endAfter(before)
      expect(end!.outcome).toBe("abandoned")
      expect(end!.usage.map((usage) => usage.aborted)).toEqual([true])
      expect((yield* settledAll(mark)).map((record) => record.status)).toEqual(["closed-early"])
    }), 30_000)
})

const executablePath = "/usr/bin/chromium"

layer(ServerLayer, { timeout: "90 seconds", excludeTestServices: true })("an EventSource in Chromium", (it) => {
  it.effect.skipIf(!existsSync(executablePath))(
    "left open after the final, it is answered 204 on its reconnect and stops: one LLM request",
    () =>
      Effect.gen(function*() {
        const mark = marker("event-source")
        yield* scriptLong(mark)
        const browser = yield* Effect.acquireRelease(
          Effect.promise(() =>
            chromium.launch({ executablePath, headless: true, args: ["--no-sandbox", "--disable-gpu"], timeout: 30_000 })
          ),
          (browser) => Effect.promise(() => browser.close().catch(() => undefined))
        )
        const page = yield* Effect.promise(() => browser.newPage())
        const port = yield* serverPort
        yield* Effect.promise(() => page.goto(`http://127.0.0.1:${port}/`))
        const seen = yield* Effect.promise(() =>
          page.evaluate((path) =>
            new Promise<{ readonly ids: ReadonlyArray<string>; readonly finals: number; readonly state: number }>(
              (resolve) => {
                const ids: Array<string> = []
                let finals = 0
                const source = new EventSource(path)
                const done = () => resolve({ ids, finals, state: source.readyState })
                source.addEventListener("partial", (event) => void ids.push(event.lastEventId))
                source.addEventListener("final", (event) => {
                  ids.push(event.lastEventId)
                  finals++
                })
                // after the final the response ends and the EventSource reconnects: a 204 closes it for good
                source.onerror = () => {
                  if (source.readyState === EventSource.CLOSED) done()
                }
                setTimeout(done, 20_000)
              }
            ), `/short?${query(mark)}`)
        )
        expect(seen.state).toBe(2) // CLOSED, not reconnecting
        expect(seen.finals).toBe(1)
        expect(seen.ids.map((id) => Wire.positionOf(id)!.sequence)).toEqual(seen.ids.map((_, i) => i + 1))
        expect((yield* settledAll(mark)).map((record) => record.status)).toEqual(["completed"])
      }).pipe(Effect.scoped),
    60_000
  )
})
