import {
  BamlClient,
  BamlError as ServerErrors,
  BamlHttp,
  ClientErrors as BamlError,
  ClientHttp as Generated,
  ClientSchemas as Schemas,
  Effect,
  Exit,
  expect,
  Fiber,
  forkChild,
  type HttpClient,
  HttpClientRequest,
  HttpServerResponse,
  it,
  Layer,
  layer,
  Option,
  responseErrorName,
  responseErrorTag,
  responseStatus,
  route,
  Schema,
  ScriptedProvider,
  serve,
  Stream,
  withJsonBody
} from "#line"
import {
  longResume,
  marker,
  scriptFor,
  sentAtLeast,
  servedAt,
  settled,
  shortResume,
  TestLayer
} from "./fixtures.js"

interface Resume {
  readonly name: string
  readonly skills: ReadonlyArray<string>
}
type PartialResume = { readonly [K in keyof Resume]?: Resume[K] | null }

/** Text whose characters take two, three and four bytes in UTF-8. */
const wide = "naïve café, 日本語, 🎉"

/**
 * A response whose body is sent in two network writes, 50 ms apart, cut in the middle of the bytes of the first "日":
 * a reader that decodes each read on its own turns that character into U+FFFD replacement characters.
 */
const cutInACharacter = (body: string, contentType: string) =>
  Effect.sync(() => {
    const bytes = new TextEncoder().encode(body)
    const at = new TextEncoder().encode(body.slice(0, body.indexOf("日"))).length + 1
    return HttpServerResponse.stream(
      Stream.concat(
        Stream.make(bytes.slice(0, at)),
        Stream.fromEffect(Effect.as(Effect.sleep("50 millis"), bytes.slice(at)))
      ),
      { contentType }
    )
  })

const Routes = serve(
  route("POST", "/baml/ExtractResume", BamlHttp.handler("ExtractResume")),
  route("POST", "/baml/Summarize", BamlHttp.handler("Summarize")),
  route("POST", "/baml/Cut", HttpServerResponse.text("event: partial\ndata: {}\n\n", {
    contentType: "text/event-stream"
  })),
  route("POST", "/baml/Html", HttpServerResponse.text("<html></html>", { contentType: "text/html" })),
  route(
    "POST",
    "/baml/WideSse",
    cutInACharacter(
      `event: partial\ndata: ${JSON.stringify(wide)}\n\nevent: final\ndata: ${JSON.stringify(wide)}\n\n`,
      "text/event-stream"
    )
  ),
  route(
    "POST",
    "/baml/WideNdjson",
    cutInACharacter(
      `${JSON.stringify({ event: "partial", data: wide })}\n${JSON.stringify({ event: "final", data: wide })}\n`,
      "application/x-ndjson"
    )
  )
)

/** The server, and an `HttpClient` (fetch) whose requests go to it under /baml/. */
const AppLayer = servedAt(Routes).pipe(Layer.provideMerge(TestLayer))

const extract = (resume: string, format: "sse" | "ndjson") =>
  BamlClient.stream<PartialResume, Resume>("ExtractResume", { resume }, { format })

const formats = ["sse", "ndjson"] as const

layer(AppLayer, { timeout: "60 seconds", excludeTestServices: true })("BamlClient", (it) => {
  it.effect.each(formats)("a stream read to its end: typed partials, then the final result (%s)", (format) =>
    Effect.gen(function*() {
      const mark = marker(`client-full-${format}`)
      yield* scriptFor(mark, ScriptedProvider.json(shortResume("Grace Hopper"), { delayMs: 2 }))
      const messages = Array.from(yield* Stream.runCollect(extract(`Grace Hopper ${mark}`, format)))
      const last = messages.at(-1)!
      expect(last.event).toBe("final")
      expect(last.data).toEqual(shortResume("Grace Hopper"))
      expect(messages.slice(0, -1).every((m) => m.event === "partial")).toBe(true)
      expect(messages.length).toBeGreaterThan(2)
      expect((yield* settled(mark)).status).toBe("completed")
    }), 20_000)

  it.effect("the generated http.ts: one typed function per BAML function", () =>
    Effect.gen(function*() {
      const mark = marker("client-generated")
      yield* scriptFor(mark, ScriptedProvider.json(shortResume("Grace Hopper"), { delayMs: 2 }))
      const last = yield* Stream.runLast(Generated.ExtractResume(`Grace Hopper ${mark}`, { format: "ndjson" }))
      const message = Option.getOrThrow(last)
      // the final is typed as the function's result: `skills` is an array of strings, not a partial
      const skills: ReadonlyArray<string> | undefined = message.event === "final" ? message.data.skills : undefined
      expect(skills).toEqual(shortResume("Grace Hopper").skills)
    }), 20_000)

  it.effect("call: the final result alone", () =>
    Effect.gen(function*() {
      const mark = marker("client-call")
      yield* scriptFor(mark, { reply: "A short summary.", chunkSize: 4, delayMs: 2 })
      expect(yield* BamlClient.call<string>("Summarize", { text: `text ${mark}` })).toBe("A short summary.")
    }), 20_000)

  it.effect("call with the function's final schema: the result decoded with it; one that does not match is a MalformedResponse", () =>
    Effect.gen(function*() {
      const mark = marker("client-call-schema")
      yield* scriptFor(mark, ScriptedProvider.json(shortResume("Grace Hopper"), { delayMs: 2 }))
      const args = { resume: `Grace Hopper ${mark}` }
      const resume = yield* BamlClient.call("ExtractResume", args, {}, Schemas.ExtractResumeFinal)
      // typed by the schema: `skills` is an array of strings
      const skills: ReadonlyArray<string> = resume.skills
      expect(skills).toEqual(shortResume("Grace Hopper").skills)
      expect(resume).toEqual(shortResume("Grace Hopper"))
      const wrong = yield* Effect.flip(
        BamlClient.call("ExtractResume", args, {}, Schema.Struct({ name: Schema.Number }))
      )
      expect(wrong).toBeInstanceOf(BamlClient.MalformedResponse)
      expect(wrong.message).toContain("final")
      expect(wrong.message).toContain("name")
    }), 20_000)

  const earlyExits = [
    ["Stream.take", (s: Stream.Stream<unknown, unknown, HttpClient.HttpClient>) => s.pipe(Stream.take(3), Stream.runDrain)],
    [
      "Effect.timeout",
      (s: Stream.Stream<unknown, unknown, HttpClient.HttpClient>) =>
        s.pipe(Stream.runDrain, Effect.timeout("300 millis"), Effect.ignore)
    ],
    [
      "Fiber.interrupt (a component unmounting)",
      (s: Stream.Stream<unknown, unknown, HttpClient.HttpClient>) =>
        Effect.gen(function*() {
          const fiber = yield* forkChild(Stream.runDrain(s))
          yield* Effect.sleep("300 millis")
          yield* Fiber.interrupt(fiber)
        })
    ]
  ] as const

  it.effect.each(earlyExits.flatMap(([name]) => formats.map((format) => [name, format] as const)))(
    "%s closes the provider's request (%s)",
    ([name, format]) =>
      Effect.gen(function*() {
        const exit = earlyExits.find(([n]) => n === name)![1]
        const mark = marker(`client-${name.split(" ")[0]}-${format}`)
        yield* scriptFor(mark, ScriptedProvider.json(longResume("Ada Lovelace"), { delayMs: 5 }))
        yield* exit(extract(`Ada Lovelace ${mark}`, format))
        const record = yield* settled(mark)
        expect(record.status).toBe("closed-early")
        expect(record.closedEarly).toBe(true)
        expect(record.sent).toBeLessThan(record.planned)
      }),
    20_000
  )

  it.effect.each(formats)("a provider error arrives as its BamlError class (%s)", (format) =>
    Effect.gen(function*() {
      const mark = marker(`client-error-${format}`)
      yield* scriptFor(mark, { reply: "unused", fault: { _tag: "HttpError", status: 500 } })
      const error = yield* Effect.flip(Stream.runDrain(extract(`Ada ${mark}`, format)))
      expect(error).toBeInstanceOf(BamlError.BamlClientHttpError)
      // the very class the server's `BamlError` module exports
      expect(error).toBeInstanceOf(ServerErrors.BamlClientHttpError)
      expect(error._tag === "BamlClientHttpError" && error.statusCode).toBe(500)
    }), 20_000)

  it.effect("an error after partials ends the stream with it, after the partials", () =>
    Effect.gen(function*() {
      const mark = marker("client-drop")
      yield* scriptFor(
        mark,
        ScriptedProvider.json(longResume("Ada Lovelace"), { delayMs: 2, fault: { _tag: "DropConnection", afterChunks: 60 } })
      )
      const seen: Array<string> = []
      const exit = yield* extract(`Ada ${mark}`, "ndjson").pipe(
        Stream.runForEach((m) => Effect.sync(() => seen.push(m.event))),
        Effect.exit
      )
      expect(seen.length).toBeGreaterThan(0)
      expect(seen.every((event) => event === "partial")).toBe(true)
      expect(Exit.isFailure(exit) && exit.cause.toString()).toContain("BamlClientHttpError")
    }), 20_000)

  it.effect(`a body that is not an object is a 400 (${responseErrorName}), and reaches no provider`, () =>
    Effect.gen(function*() {
      const provider = yield* ScriptedProvider.ScriptedProvider
      const before = (yield* provider.requests).length
      const error = yield* Effect.flip(
        BamlClient.events(HttpClientRequest.post("ExtractResume").pipe(withJsonBody([1, 2]))).pipe(
          Stream.runDrain
        )
      )
      expect(error._tag).toBe(responseErrorTag)
      expect(responseStatus(error)).toBe(400)
      expect((yield* provider.requests).length).toBe(before)
    }), 20_000)

  it.effect.each(formats)("a character whose bytes arrive in two network reads is decoded whole (%s)", (format) =>
    Effect.gen(function*() {
      const name = format === "sse" ? "WideSse" : "WideNdjson"
      const messages = Array.from(yield* Stream.runCollect(BamlClient.stream<string, string>(name, {}, { format })))
      expect(messages).toEqual([{ event: "partial", data: wide }, { event: "final", data: wide }])
    }), 20_000)

  it.effect("a response cut before its final, or of another content type, is a MalformedResponse", () =>
    Effect.gen(function*() {
      const cut = yield* Effect.flip(Stream.runDrain(BamlClient.stream("Cut", {})))
      expect(cut).toBeInstanceOf(BamlClient.MalformedResponse)
      expect(cut.message).toContain("ended before its final")
      const html = yield* Effect.flip(Stream.runDrain(BamlClient.stream("Html", {})))
      expect(html).toBeInstanceOf(BamlClient.MalformedResponse)
      expect(html.message).toContain("text/html")
    }), 20_000)

  it.effect("the request is aborted at once: the provider stops within a few chunks of the exit", () =>
    Effect.gen(function*() {
      const mark = marker("client-prompt")
      yield* scriptFor(mark, ScriptedProvider.json(longResume("Ada Lovelace"), { delayMs: 10 }))
      const fiber = yield* forkChild(Stream.runDrain(extract(`Ada ${mark}`, "sse")))
      yield* sentAtLeast(mark, 20)
      yield* Fiber.interrupt(fiber)
      const record = yield* settled(mark)
      expect(record.status).toBe("closed-early")
      expect(record.sent).toBeLessThan(record.planned / 2)
    }), 20_000)
})

it("the client module's graph never reaches the BAML engine", () => {
  // checked by test/core.test.ts's import-graph test; here, that it loads and names what it exports
  expect(Object.keys(BamlClient).sort()).toEqual(
    ["GenerationStopped", "InternalServerError", "MalformedResponse", "ResumeFailed", "call", "events", "fromResponse", "request", "stream"]
  )
}, 10_000)
