import {
  Baml,
  BamlError,
  BamlHttp,
  callback,
  captureLogs,
  Cause,
  describe,
  Effect,
  expect,
  type HttpServer,
  HttpServerRequest,
  type HttpServerResponse,
  isInterrupted,
  it,
  Layer,
  layer,
  route,
  Schema,
  ScriptedProvider,
  serve,
  Stream,
  timeoutFail
} from "#line"
import * as Http from "node:http"
import * as Events from "../../src/core/engine/streamEvent.js"
import { marker, onFreePort, scriptFor, scriptLong, serverPort, settled, shortResume, TestLayer } from "./fixtures.js"

const Provider = ScriptedProvider.ScriptedProvider
const Args = Schema.Struct({ resume: Schema.String })

const ServerLayer = onFreePort(serve(
  route(
    "GET",
    "/sse",
    Effect.flatMap(
      HttpServerRequest.schemaSearchParams(Args),
      ({ resume }) => BamlHttp.sse(Baml.stream("ExtractResume", { resume }))
    )
  ),
  route(
    "GET",
    "/ndjson",
    Effect.flatMap(
      HttpServerRequest.schemaSearchParams(Args),
      ({ resume }) =>
        Baml.stream("ExtractResume", { resume }).pipe(BamlHttp.ndjson({ headers: { "x-kind": "ndjson" } }))
    )
  ),
  route(
    "GET",
    "/defect",
    BamlHttp.sse(Stream.concat(Stream.make(1), Stream.die(new Error("secret detail"))))
  )
)).pipe(Layer.provideMerge(TestLayer))

interface Message {
  readonly event: string
  readonly data: unknown
}

/** The fields of an error event's data. */
const errorData = (message: Message) => message.data as { readonly _tag: string; readonly message: unknown }

interface Response {
  readonly status: number
  readonly headers: Http.IncomingHttpHeaders
  readonly messages: ReadonlyArray<Message>
  /** Whether the server ended the response (rather than the client leaving). */
  readonly ended: boolean
}

// Only what this suite sends: one `event:` and one `data:` line per event, comments skipped.
const parseSse = (block: string): ReadonlyArray<Message> => {
  const lines = block.split("\n").filter((line) => line !== "" && !line.startsWith(":"))
  if (lines.length === 0) return []
  const field = (name: string) => lines.find((line) => line.startsWith(`${name}: `))?.slice(name.length + 2)
  return [{ event: field("event") ?? "message", data: JSON.parse(field("data") ?? "null") }]
}

const parseNdjson = (line: string): ReadonlyArray<Message> => line === "" ? [] : [JSON.parse(line) as Message]

/**
 * A plain node:http client: reads messages until `leaveWhen` holds, then destroys its socket (a client going away),
 * or until the server ends the response.
 */
const read = (
  path: string,
  options: { readonly leaveWhen?: (messages: ReadonlyArray<Message>) => boolean } = {}
): Effect.Effect<Response, Error, HttpServer.HttpServer> =>
  Effect.flatMap(serverPort, (port) =>
    callback<Response, Error>((resume) => {
      const messages: Array<Message> = []
      const request = Http.get({ host: "127.0.0.1", port, path, agent: false }, (response) => {
        const ndjson = path.startsWith("/ndjson")
        const separator = ndjson ? "\n" : "\n\n"
        let buffer = ""
        const done = (ended: boolean) =>
          resume(Effect.succeed({ status: response.statusCode ?? 0, headers: response.headers, messages, ended }))
        const check = () => {
          if (options.leaveWhen?.(messages) === true) {
            request.destroy()
            done(false)
            return true
          }
          return false
        }
        if (check()) return
        response.setEncoding("utf8")
        response.on("data", (text: string) => {
          buffer += text
          let at: number
          while ((at = buffer.indexOf(separator)) >= 0) {
            const frame = buffer.slice(0, at)
            buffer = buffer.slice(at + separator.length)
            messages.push(...(ndjson ? parseNdjson(frame) : parseSse(frame)))
            if (check()) return
          }
        })
        response.on("end", () => done(true))
      })
      request.on("error", (error) => resume(Effect.fail(error)))
      return Effect.sync(() => request.destroy())
    })
  ).pipe(timeoutFail("15 seconds", () => new Error(`reading ${path} took too long`)))

/** Opens a request and waits for the response's headers, without reading the body; the scope closing leaves. */
const connect = (path: string) =>
  Effect.flatMap(serverPort, (port) =>
    Effect.acquireRelease(
      callback<{ readonly status: number; readonly leave: () => void }, Error>((resume) => {
        const request = Http.get({ host: "127.0.0.1", port, path, agent: false }, (response) =>
          resume(Effect.succeed({ status: response.statusCode ?? 0, leave: () => request.destroy() })))
        request.on("error", (error) => resume(Effect.fail(error)))
        return Effect.sync(() => request.destroy())
      }),
      (request) => Effect.sync(request.leave)
    )
  ).pipe(timeoutFail("10 seconds", () => new Error(`no response from ${path}`)))

const query = (mark: string) => `resume=${encodeURIComponent(`Ada Lovelace, mathematician ${mark}`)}`

describe("BamlHttp.events", () => {
  it.effect("sends every element as a partial and the last one again as the final", () =>
    Effect.gen(function*() {
      const events = Array.from(yield* Stream.runCollect(BamlHttp.events(Stream.make(1, 2, 3))))
      expect(events).toEqual([
        { event: "partial", data: 1 },
        { event: "partial", data: 2 },
        { event: "partial", data: 3 },
        { event: "final", data: 3 }
      ])
    }), 10_000)

  it.effect("a stream of events (Baml.streamEvents, a generated client's stream) sends its values, the final once", () =>
    Effect.gen(function*() {
      const stream = Stream.make(Events.partial({ name: null }), Events.partial({ name: "Ad" }), Events.final({ name: "Ada" }))
      const events = Array.from(yield* Stream.runCollect(BamlHttp.events(stream)))
      expect(events).toEqual([
        { event: "partial", data: { name: null } },
        { event: "partial", data: { name: "Ad" } },
        { event: "final", data: { name: "Ada" } }
      ])
    }), 10_000)

  it.effect("a stream of events cut short before its Final sends no final", () =>
    Effect.gen(function*() {
      const stream = Stream.make(Events.partial({ name: null }), Events.partial({ name: "Ad" }))
      const events = Array.from(yield* Stream.runCollect(BamlHttp.events(stream)))
      expect(events.map((event) => event.event)).toEqual(["partial", "partial"])
    }), 10_000)

  it.effect("a Final event is the final: no value before it is sent again as one", () =>
    Effect.gen(function*() {
      const stream = Stream.concat(Stream.make({ name: "Ad" }), Stream.make(Events.final({ name: "Ada" })))
      const events = Array.from(yield* Stream.runCollect(BamlHttp.events(stream)))
      expect(events).toEqual([
        { event: "partial", data: { name: "Ad" } },
        { event: "final", data: { name: "Ada" } }
      ])
    }), 10_000)

  it.effect("SSE: the body opens with a comment line before any event; no cache or proxy holds it back", () =>
    Effect.gen(function*() {
      const response = yield* BamlHttp.sse(Stream.make(1))
      expect(response.headers["cache-control"]).toBe("no-cache")
      expect(response.headers["x-accel-buffering"]).toBe("no")
      if (response.body._tag !== "Stream") return expect.fail(`a ${response.body._tag} body`)
      const text = Array.from(yield* Stream.runCollect(Stream.decodeText(response.body.stream))).join("")
      expect(text.startsWith(": stream\n\n")).toBe(true)
      expect(text).toContain("event: final")
    }), 10_000)

  it.effect("an element with no JSON form (a void function's undefined) is sent as null, in SSE and in NDJSON", () =>
    Effect.gen(function*() {
      const body = (response: HttpServerResponse.HttpServerResponse) =>
        response.body._tag === "Stream"
          ? Effect.map(Stream.runCollect(Stream.decodeText(response.body.stream)), (text) => Array.from(text).join(""))
          : Effect.die(new Error(`a ${response.body._tag} body`))
      const sse = yield* body(yield* BamlHttp.sse(Stream.make(undefined)))
      expect(sse.split("\n\n").filter((block) => block.startsWith("event:"))).toEqual([
        "event: partial\ndata: null",
        "event: final\ndata: null"
      ])
      const ndjson = yield* body(yield* BamlHttp.ndjson(Stream.make(undefined)))
      expect(ndjson.split("\n").filter((line) => line !== "").map((line) => JSON.parse(line))).toEqual([
        { event: "partial", data: null },
        { event: "final", data: null }
      ])
    }), 10_000)

  it.effect("a defect ends the events with an InternalServerError, and is logged as an error that says where", () =>
    Effect.gen(function*() {
      const lines: Array<readonly [unknown, unknown]> = []
      const logs = captureLogs(({ level, message }) => void lines.push([level, message]))
      const events = Array.from(
        yield* Stream.runCollect(BamlHttp.events(Stream.concat(Stream.make(1), Stream.die(new Error("boom"))))).pipe(
          Effect.provide(logs)
        )
      )
      expect(events.map((event) => event.event)).toEqual(["partial", "error"])
      expect(lines.map(([level]) => level)).toEqual(["Error"])
      expect(JSON.stringify(lines[0]![1])).toContain("BamlHttp: the stream died while serving a response")
    }), 10_000)

  it.effect("an empty stream sends nothing, not a final", () =>
    Effect.gen(function*() {
      const events = Array.from(yield* Stream.runCollect(BamlHttp.events(Stream.empty)))
      expect(events).toEqual([])
    }), 10_000)

  it.effect("a failure ends with an error event carrying the encoded error, and no final", () =>
    Effect.gen(function*() {
      const error = new BamlError.BamlClientHttpError({
        message: "rate limited",
        clientName: "Scripted",
        statusCode: 429,
        detailedMessage: "429 Too Many Requests"
      })
      const events = Array.from(
        yield* Stream.runCollect(BamlHttp.events(Stream.concat(Stream.make("a"), Stream.fail(error))))
      )
      expect(events).toEqual([
        { event: "partial", data: "a" },
        {
          event: "error",
          data: {
            _tag: "BamlClientHttpError",
            message: "rate limited",
            clientName: "Scripted",
            statusCode: 429,
            detailedMessage: "429 Too Many Requests"
          }
        }
      ])
    }), 10_000)

  it.effect("an interruption is not turned into an event", () =>
    Effect.gen(function*() {
      const collected: Array<unknown> = []
      const exit = yield* BamlHttp.events(Stream.concat(Stream.make(1), Stream.fromEffect(Effect.interrupt))).pipe(
        Stream.runForEach((event) => Effect.sync(() => collected.push(event))),
        Effect.exit
      )
      expect(isInterrupted(exit)).toBe(true)
      expect(collected).toEqual([{ event: "partial", data: 1 }])
    }), 10_000)
})

describe("BamlHttp.respond", () => {
  it.effect("NDJSON when the request's accept names application/x-ndjson and not text/event-stream, SSE otherwise", () =>
    Effect.gen(function*() {
      const served = (accept: string | undefined) =>
        BamlHttp.respond(Stream.make(1)).pipe(
          Effect.provideService(
            HttpServerRequest.HttpServerRequest,
            HttpServerRequest.fromWeb(new Request("http://127.0.0.1/", accept === undefined ? {} : { headers: { accept } }))
          ),
          Effect.map(({ body }) => body._tag === "Stream" ? body.contentType : `a ${body._tag} body`)
        )
      expect(yield* served("application/x-ndjson")).toBe("application/x-ndjson")
      expect(yield* served("text/event-stream")).toBe("text/event-stream")
      expect(yield* served("application/x-ndjson, text/event-stream")).toBe("text/event-stream")
      expect(yield* served(undefined)).toBe("text/event-stream")
    }), 10_000)
})

layer(ServerLayer, { timeout: "60 seconds", excludeTestServices: true })("BamlHttp over a real socket", (it) => {
  describe("a client that goes away aborts the LLM request", () => {
    for (const [transport, path] of [["SSE", "sse"], ["NDJSON", "ndjson"]] as const) {
      it.effect(`${transport}: the client reads a few messages and destroys its socket`, () =>
        Effect.gen(function*() {
          const mark = marker(`${path}-leave`)
          yield* scriptLong(mark)
          const response = yield* read(`/${path}?${query(mark)}`, {
            leaveWhen: (messages) => messages.length >= 3
          })
          expect(response.ended).toBe(false)
          expect(response.messages.map((m) => m.event)).toEqual(["partial", "partial", "partial"])
          const record = yield* settled(mark)
          expect(record.status).toBe("closed-early")
          expect(record.sent).toBeLessThan(record.planned)
        }), 30_000)
    }

    it.effect("SSE: a client that leaves before the first token also aborts the request", () =>
      Effect.scoped(Effect.gen(function*() {
        const mark = marker("sse-leave-early")
        yield* scriptFor(mark, ScriptedProvider.json(shortResume("Ada Lovelace"), { firstByteDelayMs: 3_000 }))
        const provider = yield* Provider
        // The response opens at once, so the client sees it while the provider is still silent, and leaves then.
        const request = yield* connect(`/sse?${query(mark)}`)
        expect(request.status).toBe(200)
        yield* provider.awaitRequests((records) => records.some((r) => r.prompt.includes(mark)))
        request.leave()
        const record = yield* settled(mark)
        expect(record.status).toBe("closed-early")
        expect(record.sent).toBe(0)
      })), 30_000)
  })

  describe("a stream that runs to its end", () => {
    it.effect("SSE: partials, then the last one again as the final; the request completes", () =>
      Effect.gen(function*() {
        const mark = marker("sse-full")
        yield* scriptFor(mark, ScriptedProvider.json(shortResume("Grace Hopper"), { delayMs: 5 }))
        const response = yield* read(`/sse?${query(mark)}`)
        expect(response.status).toBe(200)
        expect(response.headers["content-type"]).toBe("text/event-stream")
        expect(response.headers["cache-control"]).toBe("no-cache")
        expect(response.ended).toBe(true)
        const events = response.messages.map((m) => m.event)
        expect(events.length).toBeGreaterThan(2)
        expect(events.slice(0, -1).every((event) => event === "partial")).toBe(true)
        expect(events[events.length - 1]).toBe("final")
        const final = response.messages[response.messages.length - 1]!
        expect(final.data).toEqual(shortResume("Grace Hopper"))
        expect(response.messages[response.messages.length - 2]!.data).toEqual(final.data)
        const record = yield* settled(mark)
        expect(record.status).toBe("completed")
      }), 30_000)

    it.effect("NDJSON: the same messages, one JSON line each", () =>
      Effect.gen(function*() {
        const mark = marker("ndjson-full")
        yield* scriptFor(mark, ScriptedProvider.json(shortResume("Grace Hopper"), { delayMs: 5 }))
        const response = yield* read(`/ndjson?${query(mark)}`)
        expect(response.headers["content-type"]).toBe("application/x-ndjson")
        expect(response.headers["x-kind"]).toBe("ndjson")
        expect(response.ended).toBe(true)
        const events = response.messages.map((m) => m.event)
        expect(events.length).toBeGreaterThan(2)
        expect(events.slice(0, -1).every((event) => event === "partial")).toBe(true)
        expect(response.messages[response.messages.length - 1]).toEqual({
          event: "final",
          data: shortResume("Grace Hopper")
        })
        const record = yield* settled(mark)
        expect(record.status).toBe("completed")
      }), 30_000)
  })

  describe("failures", () => {
    it.effect("a BamlError ends the response with an error event that decodes to the same error class", () =>
      Effect.gen(function*() {
        const mark = marker("sse-error")
        yield* scriptFor(mark, { reply: "unused", fault: { _tag: "HttpError", status: 500 } })
        const response = yield* read(`/sse?${query(mark)}`)
        expect(response.ended).toBe(true)
        const last = response.messages[response.messages.length - 1]!
        expect(last.event).toBe("error")
        expect(response.messages.some((m) => m.event === "final")).toBe(false)
        expect(errorData(last)._tag).toBe("BamlClientHttpError")
        expect(typeof errorData(last).message).toBe("string")
        const error = Schema.decodeUnknownSync(BamlError.BamlError)(last.data)
        expect(error).toBeInstanceOf(BamlError.BamlClientHttpError)
        expect(error._tag === "BamlClientHttpError" && error.statusCode).toBe(500)
      }), 30_000)

    it.effect("a defect ends the response with an InternalServerError event that does not leak the defect", () =>
      Effect.gen(function*() {
        const response = yield* read("/defect")
        expect(response.ended).toBe(true)
        expect(response.messages.map((m) => m.event)).toEqual(["partial", "error"])
        expect(errorData(response.messages[1]!)._tag).toBe("InternalServerError")
        expect(JSON.stringify(response.messages)).not.toContain("secret detail")
      }), 30_000)

    it.effect("a defect is logged with its cause at error level, and the events then end without it", () =>
      Effect.gen(function*() {
        const logged: Array<{ readonly level: string; readonly cause: string }> = []
        const logs = captureLogs(({ cause, level }) => logged.push({ level, cause: Cause.pretty(cause) }))
        const defect = Stream.concat(Stream.make(1), Stream.die(new Error("secret detail")))
        const events = yield* BamlHttp.events(defect).pipe(Stream.runCollect, Effect.provide(logs))
        expect(Array.from(events).map((event) => event.event)).toEqual(["partial", "error"])
        expect(logged).toHaveLength(1)
        expect(logged[0]!.level).toBe("Error")
        expect(logged[0]!.cause).toContain("secret detail")
      }), 30_000)
  })
})
