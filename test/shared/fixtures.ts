import type * as Engine from "@boundaryml/baml"
import {
  BamlRuntime,
  callback,
  captureLogs,
  Cause,
  Effect,
  Exit,
  failureOf,
  FetchHttpClient,
  HttpClient,
  HttpClientRequest,
  HttpServer,
  Kinds,
  Layer,
  NodeHttpServer,
  Option,
  recordingTracer,
  ScriptedProvider,
  timeoutFail,
  type Tracer,
  unwrapLayer,
  withMinimumLogLevel
} from "#line"
import * as Http from "node:http"

/** The scripted provider and a runtime loaded from the project's baml_src, pointed at it. */
export const TestLayer = unwrapLayer(
  Effect.map(
    ScriptedProvider.ScriptedProvider,
    (provider) => BamlRuntime.layerFromDirectory("baml_src", { env: { SCRIPTED_BASE_URL: provider.baseUrl } })
  )
).pipe(Layer.provideMerge(ScriptedProvider.layer()))

/** The scripted provider and a runtime of the kinds fixture (one of each kind of BAML type), pointed at it. */
export const KindsLayer = unwrapLayer(
  Effect.map(
    ScriptedProvider.ScriptedProvider,
    (provider) => BamlRuntime.layerFromFiles(Kinds.files, { env: { SCRIPTED_BASE_URL: provider.baseUrl } })
  )
).pipe(Layer.provideMerge(ScriptedProvider.layer()))

/** A `Profile` of the kinds fixture as a model writes it: its colour by the enum value's alias. */
export const kindsProfile = (mark: string) => ({
  kind: "company",
  tags: { founded: 1843 },
  color: "verde",
  shape: { center: { x: 1, y: 2 }, radius: 3 },
  settled: `settled ${mark}`,
  status: "active",
  labels: ["engines", "looms"],
  extra: { a: [1, "b", true, { c: { d: [] } }] }
})

/** Arguments of the kinds fixture's `Describe`, as a browser sends them. */
export const describeArgs = (mark: string) => ({
  profile: { ...kindsProfile(mark), color: "Blue" },
  colors: ["Red", "Green"],
  note: mark,
  limits: { a: 1.5 },
  choice: "a, b"
})

/** A resume as a model would write it, long enough that streaming it takes a few seconds at 5 ms a chunk. */
export const longResume = (name: string, skills = 120) => ({
  name,
  email: `${name.toLowerCase().replace(/\W+/g, ".")}@example.com`,
  skills: Array.from({ length: skills }, (_, i) => `skill number ${i}`),
  experience: [
    { company: "Analytical Engines Ltd", title: "Programmer", years: 3 },
    { company: "Royal Society", title: "Correspondent", years: 9 }
  ]
})

/** A short resume that streams in well under a second. */
export const shortResume = (name: string) => longResume(name, 6)

let counter = 0
/** A marker unique to one test, put in the input so that a rule matches only that test's requests. */
export const marker = (label: string) => `[${label}-${++counter}-${Math.random().toString(36).slice(2, 8)}]`

/** Waits until the provider has finished the one request whose prompt contains `mark` (completed or closed). */
export const settled = (mark: string) =>
  Effect.flatMap(ScriptedProvider.ScriptedProvider, (provider) =>
    provider.awaitRequests((records) => records.some((r) => r.prompt.includes(mark) && r.status !== "open"))
  ).pipe(
    Effect.map((records) => records.find((r) => r.prompt.includes(mark))!),
    timeoutFail("10 seconds", () => new Error(`request ${mark} never settled`))
  )

/** Waits until the provider has ended every request whose prompt contains `mark`: completed, failed or closed. */
export const settledAll = (mark: string) =>
  Effect.flatMap(ScriptedProvider.ScriptedProvider, (provider) =>
    provider.awaitRequests((records) => {
      const mine = records.filter((r) => r.prompt.includes(mark))
      return mine.length > 0 && mine.every((r) => r.status !== "open")
    })).pipe(
      Effect.map((records) => records.filter((r) => r.prompt.includes(mark))),
      timeoutFail("10 seconds", () => new Error(`requests ${mark} never settled`))
    )

/** Waits until the provider has sent at least `n` chunks for the request whose prompt contains `mark`. */
export const sentAtLeast = (mark: string, n: number) =>
  Effect.flatMap(ScriptedProvider.ScriptedProvider, (provider) =>
    provider.awaitRequests((records) => records.some((r) => r.prompt.includes(mark) && r.sent >= n)))

/** Scripts the reply to the requests whose prompt contains `mark` (and that ask for `model`, if given). */
export const scriptFor = (mark: string, script: ScriptedProvider.Rule["script"], model?: string) =>
  Effect.flatMap(ScriptedProvider.ScriptedProvider, (provider) =>
    provider.script({ ...(model === undefined ? {} : { model }), match: (prompt) => prompt.includes(mark), script }))

/** Scripts a long reply (hundreds of 5 ms chunks) for the requests whose prompt contains `mark`. */
export const scriptLong = (mark: string) =>
  scriptFor(mark, ScriptedProvider.json(longResume("Ada Lovelace"), { delayMs: 5 }))

/** What the engine saw of one native call or stream: its arguments, callback releases and trip-wire pulls. */
export interface Observed {
  readonly kind: "call" | "stream"
  readonly args: Readonly<Record<string, unknown>>
  releases: number
  aborts: number
  /** The call's abort signal, held weakly: once the call is over, nothing should keep it alive. */
  readonly signal: WeakRef<AbortSignal>
  /** When the signal was aborted and when the engine settled the call (its promise ended), in event order. */
  abortedAt: number | undefined
  settledAt: number | undefined
}

// A counter rather than a clock: two events in one millisecond still have an order.
let events = 0

/** Records one native call or stream, and counts the aborts of its signal. */
const watch = (
  observed: Array<Observed>,
  kind: Observed["kind"],
  args: Observed["args"],
  signal: AbortSignal
): Observed => {
  const seen: Observed = {
    kind,
    args,
    releases: 0,
    aborts: 0,
    signal: new WeakRef(signal),
    abortedAt: undefined,
    settledAt: undefined
  }
  observed.push(seen)
  signal.addEventListener("abort", () => {
    seen.aborts++
    seen.abortedAt ??= ++events
  })
  return seen
}

/**
 * Notes when the engine settles `promise`. Attached before the library's own handlers, so it runs just before them: no
 * other code runs between the engine settling and the library learning it.
 */
const whenSettled = <A>(seen: Observed, promise: Promise<A>): Promise<A> => {
  const settle = () => void (seen.settledAt ??= ++events)
  promise.then(settle, settle)
  return promise
}

/** The native call or stream whose `resume` argument was `resume`. */
export const observedFor = (observed: ReadonlyArray<Observed>, resume: string): Observed | undefined =>
  observed.find((seen) => seen.args.resume === resume)

/**
 * What a native call or stream had seen so far: whether the engine settled it before any pull of its wire, and how
 * often its wire was pulled. Taken when a consumer is done with it, `aborts` must be `settledFirst ? 0 : 1`.
 */
export interface Snapshot {
  readonly settledFirst: boolean
  readonly aborts: number
}

/** A {@link Snapshot} of `seen`, now. */
export const snapshotOf = (seen: Observed): Snapshot => ({
  settledFirst: seen.settledAt !== undefined && (seen.abortedAt === undefined || seen.settledAt < seen.abortedAt),
  aborts: seen.aborts
})

/**
 * Observes the native calls and streams the library makes, from outside it: a proxy over the engine that records,
 * per call or stream, the aborts of its signal (the trip-wire), the releases of its `onEvent` callback (the stream's
 * finalizer) and when the engine settled it.
 */
const observe = (engine: Engine.BamlRuntime, observed: Array<Observed>): Engine.BamlRuntime =>
  new Proxy(engine, {
    get(target, key) {
      const value = Reflect.get(target, key, target)
      if (key === "callFunction") {
        return (...args: Parameters<Engine.BamlRuntime["callFunction"]>) => {
          const seen = watch(observed, "call", args[1], args[8] as AbortSignal)
          return whenSettled(seen, target.callFunction(...args))
        }
      }
      if (key === "streamFunction") {
        return (...args: Parameters<Engine.BamlRuntime["streamFunction"]>) => {
          const seen = watch(observed, "stream", args[1], args[9] as AbortSignal)
          const handle = target.streamFunction(...args)
          const onEvent = handle.onEvent.bind(handle)
          handle.onEvent = (callback) => {
            if (callback === undefined) seen.releases++
            onEvent(callback)
          }
          const done = handle.done.bind(handle)
          handle.done = (ctx) => whenSettled(seen, done(ctx))
          return handle
        }
      }
      return typeof value === "function" ? value.bind(target) : value
    }
  })

/** {@link TestLayer} with its engine observed: every native call and stream is pushed onto `observed`. */
export const observingLayer = (observed: Array<Observed>) =>
  Layer.effect(
    BamlRuntime.BamlRuntime,
    Effect.map(BamlRuntime.BamlRuntime, (runtime) => ({ ...runtime, engine: observe(runtime.engine, observed) }))
  ).pipe(Layer.provideMerge(TestLayer))

/**
 * The BAML clients of baml_src/clients.baml that reach the scripted provider in each provider format it speaks: the
 * same server, a different `provider` and the same `base_url`.
 */
export const providerClients: ReadonlyArray<{
  readonly format: ScriptedProvider.WireFormat
  readonly client: string
  readonly provider: string
}> = [
  { format: "chat-completions", client: "Scripted", provider: "openai-generic" },
  { format: "anthropic-messages", client: "ScriptedAnthropic", provider: "anthropic" },
  { format: "responses", client: "ScriptedResponses", provider: "openai-responses" },
  { format: "gemini", client: "ScriptedGemini", provider: "google-ai" }
]

/** `served` (a server's routes, from `serve`) listening on a free port of 127.0.0.1. */
export const onFreePort = <E, R>(served: Layer.Layer<never, E, R>) =>
  served.pipe(Layer.provideMerge(NodeHttpServer.layer(() => Http.createServer(), { port: 0, host: "127.0.0.1" })))

/** The port the test server listens on. */
export const serverPort = Effect.map(
  HttpServer.HttpServer,
  (server) => "port" in server.address ? server.address.port : 0
)

/**
 * `served` on a free port of 127.0.0.1, and an `HttpClient` (fetch) whose requests go to that server under `/baml/`.
 * The caller provides what the routes need (a BamlRuntime and the scripted provider).
 */
export const servedAt = <E, R>(served: Layer.Layer<never, E, R>) =>
  unwrapLayer(Effect.map(serverPort, (port) =>
    Layer.effect(
      HttpClient.HttpClient,
      Effect.map(
        HttpClient.HttpClient,
        HttpClient.mapRequest(HttpClientRequest.prependUrl(`http://127.0.0.1:${port}/baml/`))
      )
    ).pipe(Layer.provide(FetchHttpClient.layer)))).pipe(Layer.provideMerge(onFreePort(served)))

/** What a run said, as {@link everythingSaid} collects it. */
export interface Said<E> {
  readonly exit: Exit.Exit<unknown, E>
  readonly error: E | undefined
  /** Every log line (with its annotations and cause), span (name, attributes) and span event, `Cause.pretty`, and the
   * error's `String` and stack: what ends up in logs. Not the error's encoded fields. */
  readonly texts: ReadonlyArray<string>
  readonly lines: number
  readonly spans: number
}

/**
 * Runs `effect` with every log level enabled, a logger that keeps each line and a tracer that keeps each span, and
 * returns all it said as text.
 */
export const everythingSaid = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const lines: Array<string> = []
    const spans: Array<Tracer.Span> = []
    const events: Array<unknown> = []
    const base = yield* Effect.tracer
    const tracer = recordingTracer(base, (span) => {
      spans.push(span)
      const event = span.event.bind(span)
      return Object.assign(span, {
        event: (name: string, startTime: bigint, attributes?: Record<string, unknown>) => {
          events.push([name, attributes])
          event(name, startTime, attributes)
        }
      })
    })
    // Every line with its annotations and its cause, if any: something could hide in either.
    const logs = captureLogs(({ annotations, cause, message }) =>
      lines.push(JSON.stringify([message, annotations, Cause.pretty(cause)]))
    )
    const exit = yield* effect.pipe(
      Effect.exit,
      Effect.withTracer(tracer),
      Effect.provide(logs),
      withMinimumLogLevel("All")
    )
    const error = Option.getOrUndefined(Exit.isFailure(exit) ? failureOf(exit.cause) : Option.none())
    const texts = [
      ...lines,
      ...spans.map((span) => JSON.stringify([span.name, [...span.attributes]])),
      ...events.map((event) => JSON.stringify(event)),
      Exit.isFailure(exit) ? Cause.pretty(exit.cause) : "",
      ...(error === undefined ? [] : [String(error), error instanceof Error ? error.stack ?? "" : ""])
    ]
    return { exit, error, texts, lines: lines.length, spans: spans.length } satisfies Said<E>
  })

/**
 * Asserts that every one of `records` ended `closed-early`, before the end of its reply. Under React's StrictMode a
 * component mounts twice in development, so one generation in a page may be two requests: the first one aborted.
 */
export const allClosedEarly = (records: ReadonlyArray<ScriptedProvider.RequestRecord>) => {
  for (const record of records) {
    if (record.status !== "closed-early" || record.sent >= record.planned) {
      throw new Error(`request ${record.id} ended ${record.status}, ${record.sent} of ${record.planned} chunks sent`)
    }
  }
}

/** A request as {@link cuttingProxy} sees it: `n` counts the requests from 1. */
export interface ProxiedRequest {
  readonly n: number
  readonly method: string
  readonly url: string
  readonly headers: Http.IncomingHttpHeaders
}

/** A proxy started by {@link cuttingProxy}: how many responses it cut, and the ids of the whole messages of each response it passed on. */
export interface CuttingProxy extends Http.Server {
  cuts: number
  readonly delivered: Array<Array<string | undefined>>
}

/**
 * A proxy in front of the test server that cuts a response once `cutAfter(request)` messages of it have passed; `0`
 * refuses the request outright, `undefined` lets it through whole. `how`: `reset` destroys both sockets (what the
 * client got of the last messages is then up to its network stack), `end` ends the response there, as a proxy that
 * limits a response's length does (the client got every message `delivered` lists).
 */
export const cuttingProxy = (
  cutAfter: (request: ProxiedRequest) => number | undefined,
  how: "reset" | "end" = "reset"
) =>
  Effect.flatMap(serverPort, (target) =>
    Effect.acquireRelease(
      callback<CuttingProxy, never>((resume) => {
        let requests = 0
        const server: CuttingProxy = Object.assign(
          Http.createServer((req, res) => {
            const limit = cutAfter({ n: ++requests, method: req.method ?? "GET", url: req.url ?? "/", headers: req.headers })
            if (limit === 0) return void req.socket.destroy()
            const upstream = Http.request(
              { host: "127.0.0.1", port: target, method: req.method, path: req.url, headers: req.headers, agent: false },
              (up) => {
                res.writeHead(up.statusCode ?? 502, up.headers)
                const contentType = String(up.headers["content-type"])
                const streamed = contentType.startsWith("text/event-stream") || contentType.startsWith("application/x-ndjson")
                const separator = contentType.startsWith("text/event-stream") ? "\n\n" : "\n"
                const ids: Array<string | undefined> = []
                if (streamed) server.delivered.push(ids)
                let pending = ""
                up.setEncoding("utf8")
                up.on("data", (text: string) => {
                  if (!streamed) return void res.write(text)
                  // whole messages only, so that what the client got at a cut is exactly what `delivered` says
                  const frames = (pending + text).split(separator)
                  pending = frames.pop()!
                  for (const frame of frames) {
                    if (res.destroyed) return
                    // the SSE opening (a comment and the generation's first id) is no message
                    const message = /^event: |^\{"event":/m.test(frame)
                    if (message) {
                      ids.push(
                        separator === "\n" ? (JSON.parse(frame) as { id?: string }).id : /^id: (.*)$/m.exec(frame)?.[1]
                      )
                    }
                    const cut = message && limit !== undefined && ids.length >= limit
                    // cut once the message has left the proxy, not while it sits in its buffer
                    res.write(frame + separator, () => {
                      if (cut && how === "reset" && !res.destroyed) res.socket?.destroy()
                    })
                    if (cut && how === "end") res.end()
                    if (cut) {
                      server.cuts++
                      up.destroy()
                      return
                    }
                  }
                })
                up.on("end", () => res.writableEnded || res.end())
              }
            )
            upstream.on("error", () => res.socket?.destroy())
            req.pipe(upstream)
          }),
          { cuts: 0, delivered: [] }
        )
        server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
      }),
      (server) => Effect.sync(() => server.close())
    ))

/** The port a node:http server listens on. */
export const portOf = (server: Http.Server) => {
  const address = server.address()
  return typeof address === "object" && address !== null ? address.port : 0
}
