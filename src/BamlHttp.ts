/**
 * BAML streams as HTTP responses: Server-Sent Events and NDJSON on Effect's HTTP server (`effect/http` on Effect 4,
 * `@effect/platform` on Effect 3). The stream runs in the request's fiber, so a client that goes away (a closed tab, a
 * Stop button, a dropped connection) interrupts it, and the interrupt aborts the LLM request.
 *
 * @since 0.1.0
 */
import { Context, Deferred, Effect, Fiber, type Layer, Option, Schema, Scope, Stream } from "effect"
import { dual, identity } from "effect/Function"
import * as Baml from "./Baml.js"
import * as BamlError from "./BamlError.js"
import type { BamlRuntime } from "./BamlRuntime.js"
import * as Signals from "./core/engine/signals.js"
import * as Events from "./core/engine/streamEvent.js"
import * as Registry from "./internal/generations.js"
import { UsageSink } from "./internal/meter.js"
import * as Wire from "./core/wire/wire.js"
import * as Kit from "#kit"
import { Headers, HttpServerRequest, HttpServerResponse } from "#kit/http"
import * as KitHttp from "#kit/http"

/**
 * What a client is sent when the stream dies of a defect: nothing of the defect itself, which stays in the server's
 * log. The tag is the one Effect's `HttpApiError` uses for the same case.
 *
 * @example
 * ```ts
 * import type { BamlHttp } from "effect-baml"
 *
 * const isBug = (data: BamlHttp.ErrorData) => data._tag === "InternalServerError"
 * ```
 * @since 0.1.0
 * @category models
 */
export interface InternalServerError {
  readonly _tag: "InternalServerError"
  readonly message: string
}

/**
 * The data of the `error` event that ends every response of a resumable generation that was stopped ({@link stop},
 * {@link Generations}' `stop`), rather than a cut: its readers know not to reconnect. Its id is the generation's last:
 * a reconnect from it is answered `204`.
 *
 * @example
 * ```ts
 * import type { BamlHttp } from "effect-baml"
 *
 * const wasStopped = (data: BamlHttp.ErrorData) => data._tag === "GenerationStopped"
 * ```
 * @since 0.3.0
 * @category models
 */
export interface GenerationStopped {
  readonly _tag: "GenerationStopped"
  readonly message: string
}

/**
 * The data of an `error` event: a {@link BamlError.BamlError} encoded with its schema (so at least `_tag` and
 * `message`, and the fields of its class), an {@link InternalServerError}, or, in a resumable response, a
 * {@link GenerationStopped}.
 *
 * @example
 * ```ts
 * import { BamlError } from "effect-baml"
 * import type { BamlHttp } from "effect-baml"
 * import { Schema } from "effect"
 *
 * // in the browser, or any client: back to the error class
 * const decode = (data: BamlHttp.ErrorData) =>
 *   data._tag === "InternalServerError" || data._tag === "GenerationStopped"
 *     ? data
 *     : Schema.decodeSync(BamlError.BamlError)(data)
 * ```
 * @since 0.1.0
 * @category models
 */
export type ErrorData = Kit.Encoded<typeof BamlError.BamlError> | InternalServerError | GenerationStopped

/**
 * One message of a streamed response. Every element of the stream is sent as a `partial` as soon as it arrives; when
 * the stream ends, its last element is sent again as the `final`. A failure ends the response with an `error`
 * instead, and no `final`.
 *
 * @example
 * ```ts
 * import type { BamlHttp } from "effect-baml"
 *
 * const render = (event: BamlHttp.Event<unknown>) =>
 *   event.event === "error" ? `failed: ${event.data.message}` : JSON.stringify(event.data)
 * ```
 * @since 0.1.0
 * @category models
 */
export type Event<A> =
  | { readonly event: "partial"; readonly data: A }
  | { readonly event: "final"; readonly data: A }
  | { readonly event: "error"; readonly data: ErrorData }

const encodeError = Schema.encodeSync(BamlError.BamlError)

/**
 * What a message carries for an element of the stream: the element itself, or the value of an event of
 * `Baml.streamEvents`.
 *
 * @example
 * ```ts
 * import type { Baml, BamlHttp } from "effect-baml"
 *
 * type Sent = BamlHttp.ValueOf<Baml.StreamEvent<{ readonly name: string | null }, { readonly name: string }>>
 * ```
 * @since 0.2.0
 * @category models
 */
export type ValueOf<A> = A extends Events.StreamEvent<infer P, infer F> ? P | F : A

const internalServerError: Event<never> = { event: "error", data: Wire.internalServerError }

/**
 * The messages of a response, as a stream that does not fail: partials, then the final, or an error. Interruption
 * passes through untouched, so that it still aborts the LLM request. A defect is announced with an
 * `InternalServerError` event and logged (with its cause) at error level, and the stream then ends, so that the
 * response ends with its last message rather than being cut off. `sse` and `ndjson` are encodings of this stream; use
 * it directly for another transport (e.g. a WebSocket).
 *
 * @example
 * ```ts
 * import { Baml, BamlHttp } from "effect-baml"
 * import { Stream } from "effect"
 *
 * const messages = BamlHttp.events(Baml.stream("ExtractResume", { resume: "..." })).pipe(
 *   Stream.map((event) => JSON.stringify(event))
 * )
 * ```
 * @since 0.1.0
 * @category streams
 */
export const events = <A, E extends BamlError.BamlError, R>(
  self: Stream.Stream<A, E, R>
): Stream.Stream<Event<ValueOf<A>>, never, R> =>
  Stream.suspend(() => {
    // In a stream of values nothing marks an element as the final one: it is the last. Each element goes out at once
    // as a partial and the last goes out again as the final, which costs one message; holding each one back until
    // the next arrived would instead delay every partial by a whole partial interval. A stream of events
    // (`Baml.streamEvents`, a generated client's `stream`) says which is which, and its final goes out once.
    let last = Option.none<ValueOf<A>>()
    let finalSent = false
    return self.pipe(
      Stream.map((element): Event<ValueOf<A>> => {
        const message = Events.messageOf(element) as Event<ValueOf<A>> & { readonly event: "partial" | "final" }
        if (message.event === "final") finalSent = true
        else if (!Events.isStreamEvent(element)) last = Option.some(message.data)
        return message
      }),
      Stream.concat(Stream.suspend(() =>
        finalSent ? Stream.empty : Option.match(last, {
          onNone: () => Stream.empty,
          onSome: (data) => Stream.succeed<Event<ValueOf<A>>>({ event: "final", data })
        })
      )),
      Kit.catchAllStream((error) => Stream.sync((): Event<ValueOf<A>> => ({ event: "error", data: encodeError(error) }))),
      Kit.catchAllCauseStream((cause) =>
        Kit.isInterruptedOnly(cause)
          ? Stream.failCause(cause)
          : Stream.concat(
            Stream.succeed(internalServerError),
            Kit.drainStream(Effect.logError("BamlHttp: the stream died while serving a response", cause))
          )
      )
    )
  })

/**
 * A function that serves a stream as a streaming HTTP response: `BamlHttp.sse` and `BamlHttp.ndjson`. It takes the
 * stream first, or the options first for `pipe`.
 *
 * @example
 * ```ts
 * import { Baml, BamlHttp } from "effect-baml"
 *
 * const serve: BamlHttp.Responder = BamlHttp.sse
 * const response = Baml.stream("ExtractResume", { resume: "..." }).pipe(serve())
 * ```
 * @since 0.1.0
 * @category models
 */
export interface Responder {
  (
    options?: HttpServerResponse.Options.WithContent
  ): <A, E extends BamlError.BamlError, R>(
    self: Stream.Stream<A, E, R>
  ) => Effect.Effect<HttpServerResponse.HttpServerResponse, never, R>
  <A, E extends BamlError.BamlError, R>(
    self: Stream.Stream<A, E, R>,
    options?: HttpServerResponse.Options.WithContent
  ): Effect.Effect<HttpServerResponse.HttpServerResponse, never, R>
}

const encoders: Record<Wire.Format, (events: Stream.Stream<KitHttp.WireEvent>) => Stream.Stream<string>> = {
  sse: KitHttp.encodeSse,
  ndjson: KitHttp.encodeNdjson
}

/**
 * A streaming response of wire messages in `format`, cut at the server's shutdown. An SSE body opens with a comment line
 * (and `opening`'s fields): the encoder writes events only, and a comment is what opens the response before the first
 * event.
 */
const wireResponse = (
  messages: Stream.Stream<KitHttp.WireEvent>,
  format: Wire.Format,
  options: HttpServerResponse.Options.WithContent | undefined,
  extra: { readonly opening?: string; readonly headers?: Readonly<Record<string, string>> } = {}
): Effect.Effect<HttpServerResponse.HttpServerResponse> =>
  Effect.map(Effect.serviceOption(Shutdown), (shutdown) => {
    const encoded = encoders[format](messages)
    const body = format === "sse" ? Stream.concat(Stream.succeed(`: stream\n${extra.opening ?? ""}\n`), encoded) : encoded
    return HttpServerResponse.stream(
      Stream.encodeText(body).pipe(
        // At shutdown the response is cut, with no `final`: the stream is interrupted, not finished.
        Option.match(shutdown, { onNone: () => identity, onSome: (s) => Stream.interruptWhen(s.started) })
      ),
      {
        ...options,
        contentType: Wire.contentTypes[format],
        headers: Headers.merge(
          // A cached or buffered stream would show the reader nothing until the end (nginx buffers unless told).
          Headers.fromInput({ "cache-control": "no-cache", "x-accel-buffering": "no", ...extra.headers }),
          Headers.fromInput(options?.headers)
        )
      }
    )
  })

/** The stream's {@link events} as wire messages, with the handler's services (the body runs after it returned). */
const wireMessages = <A, E extends BamlError.BamlError, R>(
  self: Stream.Stream<A, E, R>
): Stream.Stream<KitHttp.WireEvent, never, R> =>
  // `undefined` (a void function's result) has no JSON form; `null` is the closest a client can read.
  Stream.map(events(self), (event) => ({ ...event, data: Wire.orNull(event.data) }))

/**
 * The messages of a response that is not resumable, and `onEnd` told how it ended when it does: `abandoned` when the
 * client left (the request's fiber is interrupted, which aborts the LLM request).
 */
const withEnd = <R>(
  messages: Stream.Stream<KitHttp.WireEvent, never, R>,
  onEnd: (end: End) => Effect.Effect<void>
): Stream.Stream<KitHttp.WireEvent, never, R> =>
  Stream.flatMap(Stream.fromEffect(Effect.serviceOption(UsageSink)), (outer) => {
    const usage: Array<Baml.Usage> = []
    // The last message and the last one with a value: nothing more is needed, so nothing more is kept.
    const kept: Array<KitHttp.WireEvent> = []
    let count = 0
    return messages.pipe(
      Stream.tap((message) =>
        Effect.sync(() => {
          count++
          if (message.event !== "error") kept.splice(0, kept.length)
          kept.push(message)
        })
      ),
      Stream.provideService(UsageSink, (one: Baml.Usage) => {
        usage.push(one)
        if (Option.isSome(outer)) outer.value(one)
      }),
      Stream.ensuring(Effect.suspend(() => {
        const last = kept.at(-1)?.event
        return Registry.tell(onEnd, {
          generation: undefined,
          outcome: last === "final" ? "completed" : last === "error" ? "failed" : "abandoned",
          last: Registry.lastValue(kept),
          messages: count,
          usage
        })
      }))
    )
  })

/** Serves the stream's {@link events} in `format`. */
const responder = (format: Wire.Format): Responder =>
  dual(
    (args) => Kit.isStream(args[0]),
    <A, E extends BamlError.BamlError, R>(
      self: Stream.Stream<A, E, R>,
      options?: HttpServerResponse.Options.WithContent
    ): Effect.Effect<HttpServerResponse.HttpServerResponse, never, R> =>
      // The response's body runs in the request's fiber, after the handler returned: it gets the handler's services.
      Effect.flatMap(Effect.context<R>(), (context) =>
        wireResponse(Stream.provideContext(wireMessages(self), context), format, options))
  )

/**
 * Serves a stream as Server-Sent Events: `event: partial` for each element, `event: final` with the last one, or
 * `event: error` with the encoded error; each event's `data` is one line of JSON. The response starts at once (with
 * a comment line), before the first partial, so that clients and proxies see it open. When the client disconnects,
 * the request's fiber is interrupted and the LLM request is aborted.
 *
 * The status is sent before the stream runs, so a failure is an `error` event in a 200 response. An `EventSource`
 * reconnects when a response ends: close it on `final` and on `error`.
 *
 * @example Effect 4
 * ```ts
 * import { Baml, BamlHttp } from "effect-baml"
 * import { Effect, Schema } from "effect"
 * import { HttpRouter, HttpServerRequest } from "effect/http"
 *
 * const Extract = HttpRouter.add(
 *   "GET",
 *   "/extract",
 *   Effect.gen(function*() {
 *     const { resume } = yield* HttpServerRequest.schemaSearchParams(Schema.Struct({ resume: Schema.String }))
 *     return yield* BamlHttp.sse(Baml.stream("ExtractResume", { resume }))
 *   })
 * )
 * ```
 * @example Effect 3
 * ```ts
 * import { HttpRouter, HttpServerRequest } from "@effect/platform"
 * import { Baml, BamlHttp } from "effect-baml"
 * import { Effect, Schema } from "effect"
 *
 * const router = HttpRouter.empty.pipe(
 *   HttpRouter.get("/extract", Effect.gen(function*() {
 *     const { resume } = yield* HttpServerRequest.schemaSearchParams(Schema.Struct({ resume: Schema.String }))
 *     return yield* BamlHttp.sse(Baml.stream("ExtractResume", { resume }))
 *   }))
 * )
 * ```
 * @since 0.1.0
 * @category responses
 */
export const sse: Responder = responder("sse")

/**
 * Serves a stream as newline-delimited JSON: one `{"event":"partial","data":...}` line per element, then a `final`
 * line with the last one, or an `error` line with the encoded error, the same messages as {@link sse}. For clients
 * that read a `fetch` body (e.g. to POST the arguments); aborting the fetch aborts the LLM request.
 *
 * @example Effect 4
 * ```ts
 * import { Baml, BamlHttp } from "effect-baml"
 * import { Effect, Schema } from "effect"
 * import { HttpRouter, HttpServerRequest } from "effect/http"
 *
 * const Extract = HttpRouter.add(
 *   "POST",
 *   "/extract",
 *   Effect.gen(function*() {
 *     const { resume } = yield* HttpServerRequest.schemaBodyJson(Schema.Struct({ resume: Schema.String }))
 *     return yield* Baml.stream("ExtractResume", { resume }).pipe(BamlHttp.ndjson())
 *   })
 * )
 * ```
 * @example Effect 3
 * ```ts
 * import { HttpRouter, HttpServerRequest } from "@effect/platform"
 * import { Baml, BamlHttp } from "effect-baml"
 * import { Effect, Schema } from "effect"
 *
 * const router = HttpRouter.empty.pipe(
 *   HttpRouter.post("/extract", Effect.gen(function*() {
 *     const { resume } = yield* HttpServerRequest.schemaBodyJson(Schema.Struct({ resume: Schema.String }))
 *     return yield* Baml.stream("ExtractResume", { resume }).pipe(BamlHttp.ndjson())
 *   }))
 * )
 * ```
 * @since 0.1.0
 * @category responses
 */
export const ndjson: Responder = responder("ndjson")

/**
 * Serves a stream as the request asks: NDJSON when its `accept` header names `application/x-ndjson` (and not
 * `text/event-stream`), Server-Sent Events otherwise. `BamlClient` asks with `accept`.
 *
 * @example Effect 4
 * ```ts
 * import { Baml, BamlHttp } from "effect-baml"
 * import { HttpRouter } from "effect/http"
 *
 * const Summarize = HttpRouter.add("POST", "/summarize", BamlHttp.respond(Baml.stream("Summarize", { text: "..." })))
 * ```
 * @example Effect 3
 * ```ts
 * import { HttpRouter } from "@effect/platform"
 * import { Baml, BamlHttp } from "effect-baml"
 *
 * const router = HttpRouter.empty.pipe(
 *   HttpRouter.post("/summarize", BamlHttp.respond(Baml.stream("Summarize", { text: "..." })))
 * )
 * ```
 * @since 0.2.0
 * @category responses
 */
export const respond = <A, E extends BamlError.BamlError, R>(
  self: Stream.Stream<A, E, R>,
  options?: HttpServerResponse.Options.WithContent
): Effect.Effect<HttpServerResponse.HttpServerResponse, never, R | HttpServerRequest.HttpServerRequest> =>
  Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
    Wire.preferredFormat(request.headers.accept) === "ndjson" ? ndjson(self, options) : sse(self, options))

/**
 * Options of {@link handler}: the per-call options of every stream it starts, the schema of the function's arguments
 * (a generated client's `Schemas.<Fn>Params`), which decodes the request's body before the engine sees it, and
 * `onEnd`, told once how each response ended and what it used (see {@link End}; a client that left is `abandoned`).
 * With `resumable` (see {@link ResumableOptions}), responses survive a reconnect.
 *
 * @example
 * ```ts
 * import type { BamlHttp } from "effect-baml"
 *
 * const options: BamlHttp.HandlerOptions = { options: { client: "OpenAI" } }
 * ```
 * @since 0.2.0
 * @category models
 */
export interface HandlerOptions<
  A extends Readonly<Record<string, unknown>> = Readonly<Record<string, unknown>>,
  I = A
> {
  readonly options?: Baml.Options | undefined
  readonly params?: Kit.Codec<A, I> | undefined
  readonly onEnd?: ((end: End) => Effect.Effect<void>) | undefined
}

const Args = Kit.Record(Schema.String, Schema.Unknown)

/**
 * The error for arguments that do not decode with a function's parameters schema: each issue names the path of the
 * argument (`["profile", "kind"]`) and what is wrong with it.
 *
 * @example Effect 4
 * ```ts
 * import { BamlHttp } from "effect-baml"
 * import { Effect, Schema } from "effect"
 *
 * const Params = Schema.Struct({ resume: Schema.String })
 * const checked = Schema.decodeUnknownEffect(Params)({ resume: 1 }).pipe(
 *   Effect.mapError((error) => BamlHttp.invalidArguments("ExtractResume", error))
 * )
 * ```
 * @example Effect 3
 * ```ts
 * import { BamlHttp } from "effect-baml"
 * import { Effect, Schema } from "effect"
 *
 * const Params = Schema.Struct({ resume: Schema.String })
 * const checked = Schema.decodeUnknown(Params)({ resume: 1 }).pipe(
 *   Effect.mapError((error) => BamlHttp.invalidArguments("ExtractResume", error))
 * )
 * ```
 * @since 0.2.0
 * @category handlers
 */
export const invalidArguments = (
  functionName: string,
  error: Kit.SchemaError
): BamlError.BamlInvalidArgumentError => {
  const issues = Kit.issuesOf(error).map((issue) => Wire.argumentIssue(issue.path, issue.message))
  return new BamlError.BamlInvalidArgumentError({
    message: Wire.invalidArgumentsMessage(functionName, issues),
    issues
  })
}

/**
 * An HTTP handler that streams the BAML function `functionName`: it reads the arguments from the request's JSON body
 * (an object, by parameter name), runs `Baml.streamEvents` and {@link respond}s with it, the request
 * `BamlClient.stream` sends. A body that is not a JSON object is answered with a 400. With `params`, the body is
 * decoded with it first: arguments that do not decode are answered with a 400 whose JSON body is a
 * `BamlInvalidArgumentError` naming each wrong argument's path, and the engine is never called. Without it, arguments
 * the function does not take fail the stream with a `BamlInvalidArgumentError`, before anything reaches the provider.
 *
 * @example Effect 4
 * ```ts
 * import { BamlHttp } from "effect-baml"
 * import { Schema } from "effect"
 * import { HttpRouter } from "effect/http"
 *
 * const ExtractResumeParams = Schema.Struct({ resume: Schema.String }) // or a generated client's Schemas
 * const ExtractResume = HttpRouter.add(
 *   "POST",
 *   "/api/baml/ExtractResume",
 *   BamlHttp.handler("ExtractResume", { params: ExtractResumeParams })
 * )
 * ```
 * @example Effect 3
 * ```ts
 * import { HttpRouter } from "@effect/platform"
 * import { BamlHttp } from "effect-baml"
 * import { Schema } from "effect"
 *
 * const ExtractResumeParams = Schema.Struct({ resume: Schema.String }) // or a generated client's Schemas
 * const router = HttpRouter.empty.pipe(
 *   HttpRouter.post("/api/baml/ExtractResume", BamlHttp.handler("ExtractResume", { params: ExtractResumeParams }))
 * )
 * ```
 * @since 0.2.0
 * @category handlers
 */
export function handler<A extends Readonly<Record<string, unknown>> = Readonly<Record<string, unknown>>, I = A>(
  functionName: string,
  options?: HandlerOptions<A, I> & { readonly resumable?: undefined }
): Effect.Effect<HttpServerResponse.HttpServerResponse, never, BamlRuntime | HttpServerRequest.HttpServerRequest>
export function handler<A extends Readonly<Record<string, unknown>> = Readonly<Record<string, unknown>>, I = A>(
  functionName: string,
  options: HandlerOptions<A, I> & { readonly resumable: ResumableOptions }
): Effect.Effect<
  HttpServerResponse.HttpServerResponse,
  never,
  BamlRuntime | HttpServerRequest.HttpServerRequest | Generations
>
export function handler<A extends Readonly<Record<string, unknown>>, I>(
  functionName: string,
  options?: HandlerOptions<A, I> & { readonly resumable?: ResumableOptions | undefined }
): Effect.Effect<
  HttpServerResponse.HttpServerResponse,
  never,
  BamlRuntime | HttpServerRequest.HttpServerRequest | Generations
> {
  const onEnd = options?.onEnd
  const streamed = (args: Readonly<Record<string, unknown>>) => {
    const stream = Baml.streamEvents(functionName, args, options?.options)
    if (options?.resumable !== undefined) {
      // the request's `Last-Event-ID` was read before its body (see below): this one starts a generation
      const resumableOptions = onEnd === undefined ? options.resumable : { ...options.resumable, onEnd }
      return Effect.flatMap(
        HttpServerRequest.HttpServerRequest,
        (request) => startGeneration(stream, resumableOptions, request)
      )
    }
    if (onEnd === undefined) return respond(stream)
    return Effect.flatMap(
      Effect.all([HttpServerRequest.HttpServerRequest, Effect.context<BamlRuntime>()]),
      ([request, context]) =>
        wireResponse(
          Stream.provideContext(withEnd(wireMessages(stream), onEnd), context),
          Wire.preferredFormat(request.headers.accept),
          undefined
        )
    )
  }
  const decoded = HttpServerRequest.schemaBodyJson(Args).pipe(
    Effect.matchEffect({
      onFailure: (error) => Effect.succeed(HttpServerResponse.text(error.message, { status: 400 })),
      onSuccess: (body) => {
        const params = options?.params
        if (params === undefined) return streamed(body)
        return Kit.decodeUnknown(params)(body).pipe(
          Effect.matchEffect({
            onFailure: (error) =>
              Effect.succeed(
                KitHttp.jsonResponseUnsafe(encodeError(invalidArguments(functionName, error)), { status: 400 })
              ),
            onSuccess: streamed
          })
        )
      }
    })
  )
  // A client that reconnects to a resumable response is sent its generation; its body is not read again.
  const resumableOptions = options?.resumable
  return resumableOptions === undefined
    ? decoded
    : Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => startOrResume(request, resumableOptions, decoded))
}

/**
 * How a generation of a resumable response ended: `completed` (its `final` was sent), `failed` (its `error` was
 * sent), `abandoned` (nobody read it for its grace period, and its LLM request was aborted) or `stopped` (by
 * {@link stop}, or the server's shutdown).
 *
 * @example
 * ```ts
 * import type { BamlHttp } from "effect-baml"
 *
 * const billable = (outcome: BamlHttp.Outcome) => outcome !== "failed"
 * ```
 * @since 0.3.0
 * @category resumable
 */
export type Outcome = Registry.Outcome

/**
 * What a generation of a resumable response used and how it ended, handed once to {@link ResumableOptions}'s
 * `onEnd`, however many times clients reconnected to it: its id, its {@link Outcome}, the data of its last `partial`
 * or `final` message, how many messages it sent and the `Baml.Usage` of its LLM requests (an aborted one says
 * `aborted: true`, with what it had received).
 *
 * @example
 * ```ts
 * import type { BamlHttp } from "effect-baml"
 *
 * const line = (end: BamlHttp.End) => `${end.generation}: ${end.outcome}, ${end.usage[0]?.outputTokens ?? 0} tokens`
 * ```
 * @since 0.3.0
 * @category resumable
 */
export interface End extends Registry.End {}

/**
 * Options of a resumable response: `grace`, how long a generation goes on with nobody reading it before its LLM
 * request is aborted (and how long an ended one is remembered), and `onEnd`, told once how each generation ended and
 * what it used (for billing or persistence; a failure of it is logged).
 *
 * @example
 * ```ts
 * import type { BamlHttp } from "effect-baml"
 * import { Effect } from "effect"
 *
 * const options: BamlHttp.ResumableOptions = {
 *   grace: "10 seconds",
 *   onEnd: (end) => Effect.log(end.outcome, end.usage)
 * }
 * ```
 * @since 0.3.0
 * @category resumable
 */
export interface ResumableOptions extends OwnerOptions {
  readonly grace: Kit.DurationInput
  readonly onEnd?: ((end: End) => Effect.Effect<void>) | undefined
}

/**
 * Binds each generation to its owner: `owner` reads who is asking from the request (a user id from a signed cookie,
 * a verified token's subject). A generation is then resumed and stopped only by a request with the owner of the
 * request that started it; to anyone else it is unknown (`410` on resume, `404` on stop), so that an id does not tell
 * whether it exists. Without it, a generation's id is a bearer token: whoever holds it may resume or stop it (ids are
 * random UUIDs, 122 random bits, and are never listed).
 *
 * @example
 * ```ts
 * import type { BamlHttp } from "effect-baml"
 * import { Effect } from "effect"
 *
 * const options: BamlHttp.OwnerOptions = {
 *   owner: (request) => Effect.succeed(request.headers["x-user"] ?? "anonymous")
 * }
 * ```
 * @since 0.3.0
 * @category resumable
 */
export interface OwnerOptions {
  readonly owner?: ((request: HttpServerRequest.HttpServerRequest) => Effect.Effect<string>) | undefined
}

/** Who the request asks as, for a route with (or without) an `owner` function. */
const requesterOf = (
  request: HttpServerRequest.HttpServerRequest,
  options: OwnerOptions | undefined
): Effect.Effect<string | undefined> => options?.owner === undefined ? Effect.succeed(undefined) : options.owner(request)

/**
 * The generations of resumable responses, as the server's own code sees them: `stop` cuts one at once by its id
 * (whatever its owner; `false` when none of that id is running), `size` counts those running or remembered (ended less
 * than their grace period ago) on this server. Where they run and keep their messages is the layer's: in memory on this
 * server with {@link layerGenerations}, on a cluster's instances with `BamlHttpCluster.layerGenerations` (Effect 4).
 * A resumable response needs one.
 *
 * @example
 * ```ts
 * import { BamlHttp } from "effect-baml"
 * import { Effect } from "effect"
 *
 * const running = Effect.flatMap(BamlHttp.Generations, (generations) => generations.size)
 * const cancel = (id: string) => Effect.flatMap(BamlHttp.Generations, (generations) => generations.stop(id))
 * ```
 * @since 0.3.0
 * @category resumable
 */
export class Generations extends Kit.Service<Generations, {
  readonly stop: (id: string) => Effect.Effect<boolean>
  readonly size: Effect.Effect<number>
}>()("effect-baml/BamlHttp/Generations") {}

/**
 * The generations of resumable responses in this server's memory. Its release interrupts the generations still
 * running, which aborts their LLM requests.
 *
 * @example Effect 4
 * ```ts
 * import { BamlHttp } from "effect-baml"
 * import { Layer } from "effect"
 * import { HttpRouter } from "effect/http"
 *
 * const Routes = HttpRouter.add(
 *   "POST",
 *   "/api/baml/ExtractResume",
 *   BamlHttp.handler("ExtractResume", { resumable: { grace: "10 seconds" } })
 * )
 * const Server = HttpRouter.serve(Routes).pipe(Layer.provide(BamlHttp.layerGenerations))
 * ```
 * @example Effect 3
 * ```ts
 * import { HttpRouter, HttpServer } from "@effect/platform"
 * import { BamlHttp } from "effect-baml"
 * import { Layer } from "effect"
 *
 * const router = HttpRouter.empty.pipe(
 *   HttpRouter.post("/api/baml/ExtractResume", BamlHttp.handler("ExtractResume", { resumable: { grace: "10 seconds" } }))
 * )
 * const Server = HttpServer.serve(router).pipe(Layer.provide(BamlHttp.layerGenerations))
 * ```
 * @since 0.3.0
 * @category resumable
 */
export const layerGenerations: Layer.Layer<Generations> = Kit.layerScoped(
  Generations,
  Effect.map(Registry.make, (registry) => Registry.face(Registry.local(registry)))
)

/**
 * A request to a resumable route: `start` when it has no `Last-Event-ID` (or an empty one), a resume when its
 * `Last-Event-ID` names a message, and otherwise a `400` whose JSON body is a `BamlInvalidArgumentError`: a malformed
 * id never starts a new generation (a new LLM request).
 */
const startOrResume = <R>(
  request: HttpServerRequest.HttpServerRequest,
  options: OwnerOptions | undefined,
  start: Effect.Effect<HttpServerResponse.HttpServerResponse, never, R>
): Effect.Effect<HttpServerResponse.HttpServerResponse, never, R | Generations> => {
  const id = request.headers[Wire.headers.lastEventId]
  if (id === undefined || id === "") return start
  const position = Wire.positionOf(id)
  return position === undefined
    ? Effect.succeed(KitHttp.jsonResponseUnsafe(
      encodeError(new BamlError.BamlInvalidArgumentError({ message: Wire.invalidLastEventIdMessage(id) })),
      { status: 400 }
    ))
    : resume(request, position, options)
}

/** Answers a client that reconnects with the messages of its generation after the one it read last. */
const resume = (
  request: HttpServerRequest.HttpServerRequest,
  position: Wire.Position,
  options: OwnerOptions | undefined
): Effect.Effect<HttpServerResponse.HttpServerResponse, never, Generations> =>
  Effect.gen(function*() {
    const backend = Registry.backendOf(yield* Generations)
    const requester = yield* requesterOf(request, options)
    const opened = yield* backend.open(position.generation, position.sequence, requester)
    if (opened._tag === "Gone") return HttpServerResponse.empty({ status: Wire.resumeStatus.gone })
    if (opened._tag === "Done") return HttpServerResponse.empty({ status: Wire.resumeStatus.done })
    return yield* wireResponse(
      opened.messages,
      Wire.preferredFormat(request.headers.accept),
      undefined,
      { headers: { [Wire.headers.generation]: position.generation } }
    )
  })

/**
 * Serves a stream as a resumable response, in the encoding the request asks for (as {@link respond}). The stream runs
 * as a generation of its own ({@link Generations}), not in the request's fiber, and every message carries its id
 * (SSE's `id:`, an NDJSON line's `id`): a client that reconnects with `Last-Event-ID` (an `EventSource` does it by
 * itself) is sent the messages it missed, then the live ones, and no new LLM request is made. Only when nobody has
 * read the generation for `grace` is its LLM request aborted. A client that reconnects after the end is answered
 * `204` (an `EventSource` then stops reconnecting); one whose generation is unknown, `410`. A `Last-Event-ID` that is
 * not a message's id (`<generation>.<sequence>`) is answered `400`, with a `BamlInvalidArgumentError` as its JSON body,
 * and starts nothing.
 *
 * @example Effect 4
 * ```ts
 * import { Baml, BamlHttp } from "effect-baml"
 * import { Effect, Schema } from "effect"
 * import { HttpRouter, HttpServerRequest } from "effect/http"
 *
 * const Extract = HttpRouter.add(
 *   "GET",
 *   "/extract",
 *   Effect.gen(function*() {
 *     const { resume } = yield* HttpServerRequest.schemaSearchParams(Schema.Struct({ resume: Schema.String }))
 *     return yield* BamlHttp.resumable(Baml.stream("ExtractResume", { resume }), { grace: "10 seconds" })
 *   })
 * )
 * ```
 * @example Effect 3
 * ```ts
 * import { HttpRouter, HttpServerRequest } from "@effect/platform"
 * import { Baml, BamlHttp } from "effect-baml"
 * import { Effect, Schema } from "effect"
 *
 * const router = HttpRouter.empty.pipe(
 *   HttpRouter.get("/extract", Effect.gen(function*() {
 *     const { resume } = yield* HttpServerRequest.schemaSearchParams(Schema.Struct({ resume: Schema.String }))
 *     return yield* BamlHttp.resumable(Baml.stream("ExtractResume", { resume }), { grace: "10 seconds" })
 *   }))
 * )
 * ```
 * @since 0.3.0
 * @category resumable
 */
export const resumable = <A, E extends BamlError.BamlError, R>(
  self: Stream.Stream<A, E, R>,
  options: ResumableOptions
): Effect.Effect<
  HttpServerResponse.HttpServerResponse,
  never,
  R | HttpServerRequest.HttpServerRequest | Generations
> =>
  Effect.flatMap(
    HttpServerRequest.HttpServerRequest,
    (request) => startOrResume(request, options, startGeneration(self, options, request))
  )

/** Starts a generation of `self` for `request` (one with no `Last-Event-ID`) and answers with its messages. */
const startGeneration = <A, E extends BamlError.BamlError, R>(
  self: Stream.Stream<A, E, R>,
  options: ResumableOptions,
  request: HttpServerRequest.HttpServerRequest
): Effect.Effect<HttpServerResponse.HttpServerResponse, never, R | Generations> =>
  Effect.gen(function*() {
    const backend = Registry.backendOf(yield* Generations)
    const owner = yield* requesterOf(request, options)
    // The generation outlives the request: it runs without the request's scope, which closes with the response.
    const context = Context.omit(Scope.Scope)(yield* Effect.context<R>()) as Context.Context<R>
    const generation = yield* backend.start(wireMessages(self), context, { ...options, owner })
    return yield* wireResponse(
      generation.messages,
      Wire.preferredFormat(request.headers.accept),
      undefined,
      {
        // An `EventSource` that loses the response before the first message reconnects from the start of this one.
        opening: `id: ${Wire.messageId({ generation: generation.id, sequence: 0 })}\n`,
        headers: { [Wire.headers.generation]: generation.id }
      }
    )
  })

/**
 * A handler that stops a generation of a resumable response at once: the one named by the request's `generation`
 * search parameter (the `x-baml-generation` header of its responses), whoever is reading it. Its LLM request is
 * aborted and its readers' responses end with an `error` event, a {@link GenerationStopped} (`BamlClient` fails with
 * it, and does not reconnect). Answers `204`, or `404` when no such generation is running (or it is bound
 * to an owner: see {@link stopWith}). `BamlClient`'s resumable streams send it (`DELETE`, at the stream's own URL)
 * when they are interrupted.
 *
 * @example Effect 4
 * ```ts
 * import { BamlHttp } from "effect-baml"
 * import { HttpRouter } from "effect/http"
 *
 * const Stop = HttpRouter.add("DELETE", "/api/baml/ExtractResume", BamlHttp.stop)
 * ```
 * @example Effect 3
 * ```ts
 * import { HttpRouter } from "@effect/platform"
 * import { BamlHttp } from "effect-baml"
 *
 * const router = HttpRouter.empty.pipe(HttpRouter.del("/api/baml/ExtractResume", BamlHttp.stop))
 * ```
 * @since 0.3.0
 * @category resumable
 */
export const stop: Effect.Effect<
  HttpServerResponse.HttpServerResponse,
  never,
  HttpServerRequest.HttpServerRequest | Generations
> = Effect.suspend(() => stopWith({}))

/**
 * {@link stop} for generations bound to their owner: give it the route's `owner` function (see {@link OwnerOptions}).
 * A request whose owner is not the generation's is answered `404`, as for an unknown id, and stops nothing.
 *
 * @example Effect 4
 * ```ts
 * import { BamlHttp } from "effect-baml"
 * import { Effect } from "effect"
 * import { HttpRouter } from "effect/http"
 *
 * const owner = (request: { readonly headers: Readonly<Record<string, string | undefined>> }) =>
 *   Effect.succeed(request.headers["x-user"] ?? "anonymous")
 * const Start = HttpRouter.add(
 *   "POST",
 *   "/api/baml/ExtractResume",
 *   BamlHttp.handler("ExtractResume", { resumable: { grace: "10 seconds", owner } })
 * )
 * const Stop = HttpRouter.add("DELETE", "/api/baml/ExtractResume", BamlHttp.stopWith({ owner }))
 * ```
 * @example Effect 3
 * ```ts
 * import { HttpRouter } from "@effect/platform"
 * import { BamlHttp } from "effect-baml"
 * import { Effect } from "effect"
 *
 * const owner = (request: { readonly headers: Readonly<Record<string, string | undefined>> }) =>
 *   Effect.succeed(request.headers["x-user"] ?? "anonymous")
 * const router = HttpRouter.empty.pipe(
 *   HttpRouter.post("/api/baml/ExtractResume", BamlHttp.handler("ExtractResume", { resumable: { grace: "10 seconds", owner } })),
 *   HttpRouter.del("/api/baml/ExtractResume", BamlHttp.stopWith({ owner }))
 * )
 * ```
 * @since 0.3.0
 * @category resumable
 */
export const stopWith = (options: OwnerOptions): Effect.Effect<
  HttpServerResponse.HttpServerResponse,
  never,
  HttpServerRequest.HttpServerRequest | Generations
> =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const backend = Registry.backendOf(yield* Generations)
    const id = new URL(request.url, "http://localhost").searchParams.get("generation")
    const stopped = id === null ? false : yield* backend.stop(id, yield* requesterOf(request, options))
    return HttpServerResponse.empty({ status: stopped ? 204 : 404 })
  })

/**
 * The server's shutdown, as the responses of {@link sse}, {@link ndjson} and {@link respond} see it: when `started`
 * completes, every response still streaming is cut and its stream interrupted, which aborts its LLM request. Provided
 * by {@link layerShutdown}; without it, responses run to their end.
 *
 * @example
 * ```ts
 * import { BamlHttp } from "effect-baml"
 * import { Effect } from "effect"
 *
 * const waitForShutdown = Effect.flatMap(BamlHttp.Shutdown, (shutdown) => shutdown.started)
 * ```
 * @since 0.2.0
 * @category shutdown
 */
export class Shutdown extends Kit.Service<Shutdown, { readonly started: Effect.Effect<void> }>()(
  "effect-baml/BamlHttp/Shutdown"
) {}

/**
 * Options of {@link layerShutdown}: how long in-flight generations may go on after the signal (default none), and
 * which signals mean shutdown (default SIGINT and SIGTERM).
 *
 * @example
 * ```ts
 * import type { BamlHttp } from "effect-baml"
 *
 * const options: BamlHttp.ShutdownOptions = { grace: "5 seconds" }
 * ```
 * @since 0.2.0
 * @category shutdown
 */
export interface ShutdownOptions {
  readonly grace?: Kit.DurationInput | undefined
  readonly signals?: ReadonlyArray<Signals.Signal> | undefined
}

/**
 * Stops in-flight generations when the process is asked to stop (SIGINT, SIGTERM): after the `grace` period, every
 * streamed response still running is cut and its LLM request aborted, instead of generating to its end while the
 * server waits for it to close. Provide it to the server (the responses run in its request fibers, which have its
 * services); the process's own handler (`NodeRuntime.runMain`) still closes the server.
 *
 * @example Effect 4
 * ```ts
 * import { BamlHttp } from "effect-baml"
 * import { Layer } from "effect"
 * import { HttpRouter } from "effect/http"
 *
 * const Routes = HttpRouter.add("POST", "/api/baml/ExtractResume", BamlHttp.handler("ExtractResume"))
 * const Server = HttpRouter.serve(Routes).pipe(Layer.provide(BamlHttp.layerShutdown({ grace: "2 seconds" })))
 * ```
 * @example Effect 3
 * ```ts
 * import { HttpRouter, HttpServer } from "@effect/platform"
 * import { BamlHttp } from "effect-baml"
 * import { Layer } from "effect"
 *
 * const router = HttpRouter.empty.pipe(HttpRouter.post("/api/baml/ExtractResume", BamlHttp.handler("ExtractResume")))
 * const Server = HttpServer.serve(router).pipe(Layer.provide(BamlHttp.layerShutdown({ grace: "2 seconds" })))
 * ```
 * @since 0.2.0
 * @category shutdown
 */
export const layerShutdown = (options?: ShutdownOptions): Layer.Layer<Shutdown> =>
  Kit.layerScoped(
    Shutdown,
    Effect.gen(function*() {
      const signalled = yield* Deferred.make<void>()
      const started = yield* Deferred.make<void>()
      yield* Effect.acquireRelease(
        Effect.sync(() =>
          Signals.onSignals(options?.signals ?? ["SIGINT", "SIGTERM"], () => Kit.deferredDoneUnsafe(signalled, Effect.void))
        ),
        (remove) => Effect.sync(remove)
      )
      // The grace period runs past this layer's release: the server's teardown may release it before the server has
      // closed, i.e. while the responses it is to cut are still running. Without a signal, nothing is left running.
      const timer = yield* Deferred.await(signalled).pipe(
        Effect.andThen(Effect.sleep(options?.grace ?? 0)),
        Effect.andThen(Deferred.succeed(started, undefined)),
        Kit.forkDetach
      )
      yield* Effect.addFinalizer(() =>
        Effect.flatMap(Deferred.isDone(signalled), (isDone) => isDone ? Effect.void : Fiber.interrupt(timer))
      )
      return { started: Deferred.await(started) }
    })
  )

/**
 * A server as a fetch handler, what Next.js route handlers, Hono, `Bun.serve` and `Deno.serve` take: `handler` answers
 * a `Request` with a `Response`, and `dispose` releases what the handler's layer built (the BAML runtime, the
 * scripted provider), waiting for its finalizers.
 *
 * @example
 * ```ts
 * import type { BamlHttp } from "effect-baml"
 *
 * const serve = (web: BamlHttp.WebHandler) => (request: Request) => web.handler(request)
 * ```
 * @since 0.3.0
 * @category fetch handlers
 */
export interface WebHandler extends Wire.FetchHandler {}

/**
 * Options of {@link toWebHandler}: `disableLogger` turns off Effect's log line per request (on by default, as with
 * Effect's own HTTP server).
 *
 * @example
 * ```ts
 * import type { BamlHttp } from "effect-baml"
 *
 * const options: BamlHttp.WebHandlerOptions = { disableLogger: true }
 * ```
 * @since 0.3.0
 * @category fetch handlers
 */
export interface WebHandlerOptions {
  readonly disableLogger?: boolean | undefined
}

/**
 * Serves `routes` (routes of {@link handler}s, or any of Effect's routes) as a fetch handler, with `layer`'s services
 * (a `BamlRuntime` layer, and whatever else the routes use) given to every request. The layer is built once, on the
 * first request or before, and shared by every request; `dispose` releases it. A request whose `signal` aborts (the
 * client went away), or whose response body its reader cancels, is interrupted, and its LLM request aborted. The
 * type checker refuses a layer that lacks a service the routes need.
 *
 * @example Effect 4
 * ```ts
 * import { BamlHttp, BamlRuntime } from "effect-baml"
 * import { HttpRouter } from "effect/http"
 *
 * const Routes = HttpRouter.add("POST", "/api/baml/ExtractResume", BamlHttp.handler("ExtractResume"))
 * const web = BamlHttp.toWebHandler(Routes, BamlRuntime.layerFromDirectory("baml_src"))
 *
 * export const POST = web.handler // a Next.js route handler; or Bun.serve({ fetch: web.handler })
 * ```
 * @example Effect 3
 * ```ts
 * import { HttpRouter } from "@effect/platform"
 * import { BamlHttp, BamlRuntime } from "effect-baml"
 *
 * const routes = HttpRouter.empty.pipe(HttpRouter.post("/api/baml/ExtractResume", BamlHttp.handler("ExtractResume")))
 * const web = BamlHttp.toWebHandler(routes, BamlRuntime.layerFromDirectory("baml_src"))
 *
 * export const POST = web.handler // a Next.js route handler; or Bun.serve({ fetch: web.handler })
 * ```
 * @since 0.3.0
 * @category fetch handlers
 */
export const toWebHandler = <E, R, A, LE>(
  routes: KitHttp.Routes<E, R>,
  layer:
    & Layer.Layer<A, LE>
    & ([KitHttp.Unmet<R, A>] extends [never] ? unknown : { readonly "needs, and the layer lacks": KitHttp.Unmet<R, A> }),
  options?: WebHandlerOptions
): WebHandler => KitHttp.toWebHandler(routes, layer, { disableLogger: options?.disableLogger === true })
