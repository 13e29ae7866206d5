/**
 * The client half of `BamlHttp`: a streamed BAML response read back as a typed `Stream`, in a browser or in Node.
 * Requests go through Effect's `HttpClient` (`effect/http` on Effect 4, `@effect/platform` on Effect 3; provide
 * `FetchHttpClient.layer`), responses are read with Effect's `Sse` or `Ndjson` decoder (on Effect 3, SSE needs
 * `@effect/experimental` installed beside `@effect/platform`), whichever the response's content type names, and
 * errors come back as
 * the `BamlError` classes. The request is tied to the stream's scope: ending the stream early in any way (a timeout,
 * `Stream.take`, an interrupted fiber when a component unmounts) aborts it, the server's request fiber is interrupted,
 * and with it the LLM request.
 *
 * This module never loads the BAML engine: import it from `effect-baml/client`.
 *
 * @since 0.2.0
 */
import { Clock, Duration, Effect, Fiber, Option, Predicate, Schema, Stream } from "effect"
import * as Wire from "./core/wire/wire.js"
import * as BamlError from "./client/BamlError.js"
import * as Kit from "#kit"
import * as KitClient from "#kit/client"
import { Headers, HttpClient, HttpClientError, HttpClientRequest, type HttpClientResponse } from "#kit/http"
import * as KitHttp from "#kit/http"

/**
 * What the server sent when its stream died of a defect: the defect itself stays in the server's log.
 *
 * @example
 * ```ts
 * import { BamlClient } from "effect-baml/client"
 *
 * const isServerBug = (e: BamlClient.ClientError) => e._tag === "InternalServerError"
 * ```
 * @since 0.2.0
 * @category errors
 */
export class InternalServerError extends Schema.TaggedError<InternalServerError>()("InternalServerError", {
  message: Schema.String
}) {}

/**
 * A resumable stream's generation was stopped on the server, by someone else than this stream: another tab's stream
 * interrupted, a stop route called, or the server's own `BamlHttp.Generations` `stop`. The stream fails with it as
 * soon as the server says so, without reconnecting nor sending a stop of its own.
 *
 * @example
 * ```ts
 * import { BamlClient } from "effect-baml/client"
 *
 * const stoppedElsewhere = (e: BamlClient.ClientError) => e._tag === "GenerationStopped"
 * ```
 * @since 0.3.0
 * @category errors
 */
export class GenerationStopped extends Schema.TaggedError<GenerationStopped>()("GenerationStopped", {
  message: Schema.String
}) {}

/**
 * The response is not a streamed BAML response: an unexpected content type, a message that does not decode, or a
 * response that ended without its `final` or `error` message (the connection was cut).
 *
 * @example
 * ```ts
 * import { BamlClient } from "effect-baml/client"
 *
 * const wasCut = (e: BamlClient.ClientError) => e._tag === "MalformedResponse"
 * ```
 * @since 0.2.0
 * @category errors
 */
export class MalformedResponse extends Schema.TaggedError<MalformedResponse>()("MalformedResponse", {
  message: Schema.String
}) {}

/**
 * A resumable stream ({@link RequestOptions}'s `resume`) that could not be resumed: the connection stayed down for
 * longer than `within` (the message names the last failure), the server no longer knows the generation (`410`: it
 * ended longer ago than its grace period, or the reconnect reached an instance that does not share generations), or
 * it ended (`204`) before its final result (a stop is a {@link GenerationStopped}). A first request that fails before any response named a
 * generation is not resumed: it fails with its own error at once.
 *
 * @example
 * ```ts
 * import { BamlClient } from "effect-baml/client"
 *
 * const gaveUp = (e: BamlClient.ClientError) => e._tag === "ResumeFailed"
 * ```
 * @since 0.3.0
 * @category errors
 */
export class ResumeFailed extends Schema.TaggedError<ResumeFailed>()("ResumeFailed", {
  message: Schema.String
}) {}

/**
 * Every error a streamed response can end with: the function's own `BamlError`, as the server's stream failed with
 * it, or a failure of the transport (Effect's `HttpClientError`, e.g. a 404),
 * of the response, or of the server. Arguments a server refused (`BamlHttp.handler`'s `params`) are a
 * `BamlInvalidArgumentError` naming each wrong argument.
 *
 * @example
 * ```ts
 * import { BamlClient } from "effect-baml/client"
 *
 * const describe = (e: BamlClient.ClientError) => `${e._tag}: ${e.message}`
 * ```
 * @since 0.2.0
 * @category errors
 */
export type ClientError =
  | BamlError.BamlError
  | InternalServerError
  | GenerationStopped
  | MalformedResponse
  | ResumeFailed
  | HttpClientError.HttpClientError

/**
 * One element of a streamed response: a partial result, or the final one (always the last element). The final is
 * typed as the function's result; partials as its partial type.
 *
 * @example
 * ```ts
 * import type { BamlClient } from "effect-baml/client"
 *
 * const show = (message: BamlClient.Message<{ name?: string | null }, { name: string }>) =>
 *   message.event === "final" ? `done: ${message.data.name}` : `so far: ${message.data.name ?? "…"}`
 * ```
 * @since 0.2.0
 * @category models
 */
export type Message<Partial, Final> =
  | { readonly event: "partial"; readonly data: Partial }
  | { readonly event: "final"; readonly data: Final }

/**
 * How to ask for a streamed response: the encoding (`sse`, the default, or `ndjson`), the URL (by default the
 * function's name, resolved against the page or the `HttpClient`'s base URL, e.g. with
 * `HttpClient.mapRequest(HttpClientRequest.prependUrl("/api/baml"))`), extra headers, and, for a resumable route,
 * how to resume after a dropped connection ({@link ResumeOptions}; {@link stream} and {@link call} use it).
 *
 * @example
 * ```ts
 * import type { BamlClient } from "effect-baml/client"
 *
 * const options: BamlClient.RequestOptions = { url: "/api/extract", format: "ndjson" }
 * ```
 * @since 0.2.0
 * @category models
 */
export interface RequestOptions {
  readonly url?: string | undefined
  readonly format?: Wire.Format | undefined
  readonly headers?: Headers.Input | undefined
  readonly resume?: ResumeOptions | undefined
}

/**
 * How a stream from a resumable route (`BamlHttp.handler`'s `resumable`) survives a dropped connection: it reconnects
 * by itself with the id of the last message it read, and is sent the rest, with no new LLM request; after `within`
 * without a connection it fails with {@link ResumeFailed}. Interrupted, it stops the generation on the server (a
 * `DELETE` at `stopUrl`, by default the request's URL, with the `generation` search parameter: `BamlHttp.stop`);
 * interrupted before the first response named its generation (React's StrictMode unmounts at once), it waits for that
 * response, at most 5 seconds, to stop it. A generation stopped by someone else fails it at once with
 * {@link GenerationStopped}.
 *
 * @example
 * ```ts
 * import type { BamlClient } from "effect-baml/client"
 *
 * const options: BamlClient.RequestOptions = { resume: { within: "20 seconds" } }
 * ```
 * @since 0.3.0
 * @category models
 */
export interface ResumeOptions {
  readonly within: Kit.DurationInput
  readonly stopUrl?: string | undefined
}

/**
 * The schemas a client decodes what it receives with: each partial with `partial`, the final result with `final` (a
 * generated client's `Schemas.<Fn>Partial` and `Schemas.<Fn>Final`). A value that does not decode fails the stream
 * with a {@link MalformedResponse} naming the path and the problem.
 *
 * @example Effect 4
 * ```ts
 * import type { BamlClient } from "effect-baml/client"
 * import { Schema } from "effect"
 *
 * const Resume = Schema.Struct({ name: Schema.String })
 * const schemas: BamlClient.Schemas<{ readonly name?: string | null }, { readonly name: string }> = {
 *   partial: Schema.Struct({ name: Schema.optionalKey(Schema.NullOr(Schema.String)) }),
 *   final: Resume
 * }
 * ```
 * @example Effect 3
 * ```ts
 * import type { BamlClient } from "effect-baml/client"
 * import { Schema } from "effect"
 *
 * const Resume = Schema.Struct({ name: Schema.String })
 * const schemas: BamlClient.Schemas<{ readonly name?: string | null }, { readonly name: string }> = {
 *   partial: Schema.Struct({ name: Schema.optionalWith(Schema.NullOr(Schema.String), { exact: true }) }),
 *   final: Resume
 * }
 * ```
 * @since 0.2.0
 * @category models
 */
export interface Schemas<Partial, Final, PartialEncoded = Partial, FinalEncoded = Final> {
  readonly partial: Kit.Codec<Partial, PartialEncoded>
  readonly final: Kit.Codec<Final, FinalEncoded>
}

/**
 * The request for a BAML function's stream: a POST of its arguments as JSON, asking for the chosen encoding. The
 * server reads the arguments with `BamlHttp.handler` (or its own route) and answers with `BamlHttp.sse` or
 * `BamlHttp.ndjson`.
 *
 * @example
 * ```ts
 * import { BamlClient } from "effect-baml/client"
 *
 * const request = BamlClient.request("ExtractResume", { resume: "..." }, { url: "/api/extract" })
 * ```
 * @since 0.2.0
 * @category constructors
 */
export const request = (
  functionName: string,
  args: Readonly<Record<string, unknown>>,
  options?: RequestOptions
): HttpClientRequest.HttpClientRequest =>
  HttpClientRequest.post(options?.url ?? functionName).pipe(
    KitHttp.bodyJsonUnsafe(args),
    HttpClientRequest.setHeaders(Headers.fromInput(options?.headers)),
    HttpClientRequest.accept(Wire.contentTypes[options?.format ?? "sse"])
  )

const responseError = (message: string) => new MalformedResponse({ message })

const decodeError = (data: unknown): Effect.Effect<never, ClientError> =>
  Wire.isInternalServerError(data)
    ? Effect.fail(new InternalServerError({ message: data.message }))
    : Wire.isGenerationStopped(data)
    ? Effect.fail(new GenerationStopped({ message: data.message }))
    : Kit.decodeUnknown(BamlError.BamlError)(data).pipe(
      Effect.mapError((error) => responseError(`an "error" message that is not a BamlError: ${error.message}`)),
      Effect.flatMap(Effect.fail)
    )

/** The wire messages of a response body, decoded as its content type says. */
const wireMessages = (
  response: HttpClientResponse.HttpClientResponse
): Stream.Stream<Wire.Message, ClientError> => {
  const format = Wire.formatOf(response.headers["content-type"])
  // The transport's own failures pass through; what the decoders reject is a response that is not ours.
  const decoding = (error: unknown): ClientError =>
    HttpClientError.isHttpClientError(error)
      ? error
      : responseError(`the response does not decode: ${Predicate.hasProperty(error, "message") ? error.message : ""}`)
  switch (format) {
    case "sse":
      return KitClient.decodeSse(response.stream).pipe(
        Stream.mapError(decoding),
        Stream.mapEffect((event) => {
          // Events with other names (none are sent today) are skipped, as an `EventSource` would.
          const message = Wire.messageOfEvent(event.event, event.data, event.id)
          return message !== undefined && "malformed" in message
            ? Effect.fail(responseError(message.malformed))
            : Effect.succeed(message)
        }),
        Stream.filter(Predicate.isNotUndefined)
      )
    case "ndjson":
      return KitClient.decodeNdjson(response.stream).pipe(
        Stream.mapError(decoding),
        Stream.mapEffect((line) => {
          const message = Wire.messageOfLine(line)
          return message === undefined
            ? Effect.fail(responseError("an NDJSON line that is not a message"))
            : Effect.succeed(message)
        })
      )
    case undefined:
      return Stream.fail(responseError(
        `expected ${Wire.contentTypes.sse} or ${Wire.contentTypes.ndjson}, got ${
          response.headers["content-type"] ?? "no content type"
        }`
      ))
  }
}

/**
 * Reads a streamed BAML response as its messages: partials as they arrive, then the final one, or the error the
 * server's stream failed with. The response must be the one a scoped request returned (`HttpClient.withScope`): the
 * stream reads it, and it is the scope that aborts the request. Use {@link events} unless the request is made
 * elsewhere.
 *
 * @example Effect 4
 * ```ts
 * import { BamlClient } from "effect-baml/client"
 * import { Effect, Stream } from "effect"
 * import { HttpClient, HttpClientRequest } from "effect/http"
 *
 * const messages = Stream.unwrap(Effect.gen(function*() {
 *   const client = HttpClient.filterStatusOk(yield* HttpClient.HttpClient)
 *   const response = yield* client.execute(HttpClientRequest.get("/api/extract.sse?resume=..."))
 *   return BamlClient.fromResponse<unknown, unknown>(response)
 * }))
 * ```
 * @example Effect 3
 * ```ts
 * import { BamlClient } from "effect-baml/client"
 * import { Effect, Stream } from "effect"
 * import { HttpClient, HttpClientRequest } from "@effect/platform"
 *
 * const messages = Stream.unwrapScoped(Effect.gen(function*() {
 *   const client = HttpClient.filterStatusOk(yield* HttpClient.HttpClient)
 *   const response = yield* client.execute(HttpClientRequest.get("/api/extract.sse?resume=..."))
 *   return BamlClient.fromResponse<unknown, unknown>(response)
 * }))
 * ```
 * @since 0.2.0
 * @category streams
 */
export const fromResponse = <Partial, Final = Partial, PartialEncoded = Partial, FinalEncoded = Final>(
  response: HttpClientResponse.HttpClientResponse,
  schemas?: Schemas<Partial, Final, PartialEncoded, FinalEncoded>
): Stream.Stream<Message<Partial, Final>, ClientError> =>
  Stream.suspend(() => {
    let ended = false
    return decodedMessages(response, schemas, (message) => {
      ended = message.event === "final"
    }).pipe(
      Stream.concat(Stream.suspend(() =>
        ended ? Stream.empty : Stream.fail(responseError("the response ended before its final result"))
      ))
    )
  })

/**
 * The messages of a response, decoded, until its final one; `seen` is told of each as it came (with its id) before it
 * is decoded. A response that ends before its final just ends.
 */
const decodedMessages = <Partial, Final, PartialEncoded, FinalEncoded>(
  response: HttpClientResponse.HttpClientResponse,
  schemas: Schemas<Partial, Final, PartialEncoded, FinalEncoded> | undefined,
  seen: (message: Wire.Message) => void
): Stream.Stream<Message<Partial, Final>, ClientError> =>
  wireMessages(response).pipe(
    Stream.mapEffect((message): Effect.Effect<Message<Partial, Final>, ClientError> => {
      seen(message)
      if (message.event === "error") return decodeError(message.data)
      if (schemas === undefined) {
        // Without schemas, the caller's types say what the server's stream produced; the wire carries it as JSON.
        return Effect.succeed({ event: message.event, data: message.data } as Message<Partial, Final>)
      }
      const { data } = message
      const decoded: Effect.Effect<Message<Partial, Final>, Kit.SchemaError> = message.event === "final"
        ? Effect.map(Kit.decodeUnknown(schemas.final)(data), (value) => ({ event: "final", data: value }))
        : Effect.map(Kit.decodeUnknown(schemas.partial)(data), (value) => ({ event: "partial", data: value }))
      return Effect.mapError(decoded, (error) =>
        responseError(`a ${message.event} result that does not match the function's schema: ${error.message}`))
    }),
    // Nothing follows a final: stop reading there rather than wait for the server to close.
    Stream.takeUntil((message) => message.event === "final")
  )

/**
 * Sends `request` and reads the streamed BAML response as its messages (see {@link fromResponse}). The request lives
 * as long as the stream: ending the stream early aborts it, and the server aborts the LLM request. A status other
 * than 2xx fails with `HttpClientError`.
 *
 * @example Effect 4
 * ```ts
 * import { BamlClient } from "effect-baml/client"
 * import { Stream } from "effect"
 * import { HttpClientRequest } from "effect/http"
 *
 * const firstTwo = BamlClient.events(HttpClientRequest.get("/api/extract.sse?resume=...")).pipe(Stream.take(2))
 * ```
 * @example Effect 3
 * ```ts
 * import { BamlClient } from "effect-baml/client"
 * import { Stream } from "effect"
 * import { HttpClientRequest } from "@effect/platform"
 *
 * const firstTwo = BamlClient.events(HttpClientRequest.get("/api/extract.sse?resume=...")).pipe(Stream.take(2))
 * ```
 * @since 0.2.0
 * @category streams
 */
export const events = <Partial, Final = Partial, PartialEncoded = Partial, FinalEncoded = Final>(
  request: HttpClientRequest.HttpClientRequest,
  schemas?: Schemas<Partial, Final, PartialEncoded, FinalEncoded>
): Stream.Stream<Message<Partial, Final>, ClientError, HttpClient.HttpClient> =>
  Kit.unwrapStream(Effect.gen(function*() {
    const client = HttpClient.withScope(HttpClient.filterStatusOk(yield* HttpClient.HttpClient))
    const response = yield* client.execute(request).pipe(Kit.catchAll(refused))
    return fromResponse(response, schemas)
  }))

// A 400 whose body is a `BamlError` (the arguments `BamlHttp.handler` refused) is that error; any other stays as it is.
const refused = (error: HttpClientError.HttpClientError): Effect.Effect<never, ClientError> => {
  const response = KitHttp.responseOf(error)
  if (response === undefined || response.status !== 400) return Effect.fail(error)
  return response.json.pipe(
    Effect.flatMap(Kit.decodeUnknown(BamlError.BamlError)),
    Effect.matchEffect({ onFailure: () => Effect.fail(error), onSuccess: Effect.fail })
  )
}

/**
 * Streams the BAML function `functionName` from a server: POSTs its arguments (see {@link request}) and reads the
 * response as its messages, partials typed `Partial` and the final one typed `Final`. The generated client's
 * `http.ts` offers one typed function per BAML function over this.
 *
 * @example Effect 4
 * ```ts
 * import { BamlClient } from "effect-baml/client"
 * import { Effect, Stream } from "effect"
 * import { FetchHttpClient } from "effect/http"
 *
 * interface Resume { readonly name: string }
 *
 * const program = BamlClient.stream<Partial<Resume>, Resume>("ExtractResume", { resume: "..." }).pipe(
 *   Stream.runForEach((message) => Effect.log(message.event, message.data)),
 *   Effect.timeout("30 seconds"), // the request, and the LLM request on the server, are aborted on timeout
 *   Effect.provide(FetchHttpClient.layer)
 * )
 * ```
 * @example Effect 3
 * ```ts
 * import { BamlClient } from "effect-baml/client"
 * import { Effect, Stream } from "effect"
 * import { FetchHttpClient } from "@effect/platform"
 *
 * interface Resume { readonly name: string }
 *
 * const program = BamlClient.stream<Partial<Resume>, Resume>("ExtractResume", { resume: "..." }).pipe(
 *   Stream.runForEach((message) => Effect.log(message.event, message.data)),
 *   Effect.timeout("30 seconds"), // the request, and the LLM request on the server, are aborted on timeout
 *   Effect.provide(FetchHttpClient.layer)
 * )
 * ```
 * @since 0.2.0
 * @category streams
 */
export const stream = <Partial, Final = Partial, PartialEncoded = Partial, FinalEncoded = Final>(
  functionName: string,
  args: Readonly<Record<string, unknown>>,
  options?: RequestOptions,
  schemas?: Schemas<Partial, Final, PartialEncoded, FinalEncoded>
): Stream.Stream<Message<Partial, Final>, ClientError, HttpClient.HttpClient> =>
  options?.resume === undefined
    ? events(request(functionName, args, options), schemas)
    : resumed(request(functionName, args, options), options.resume, options.url ?? functionName, schemas)

/** A response cut before its final: reconnect. */
class Cut {
  readonly _tag = "Cut"
}

/**
 * Whether a failure of a resumable stream is worth reconnecting for: the transport's own (no response, a 5xx from a
 * proxy, a body cut mid-read) and a response cut before its final, not a refusal (4xx) nor what the server sent.
 */
const reconnects = (error: ClientError | Cut): boolean => {
  if (error instanceof Cut) return true
  if (!HttpClientError.isHttpClientError(error)) return false
  const status = KitHttp.responseOf(error)?.status
  return status === undefined || status >= 500 || status < 400
}

const resumed = <Partial, Final, PartialEncoded, FinalEncoded>(
  first: HttpClientRequest.HttpClientRequest,
  options: ResumeOptions,
  url: string,
  schemas: Schemas<Partial, Final, PartialEncoded, FinalEncoded> | undefined
): Stream.Stream<Message<Partial, Final>, ClientError, HttpClient.HttpClient> =>
  Kit.unwrapStream(Effect.gen(function*() {
    const base = yield* HttpClient.HttpClient
    const client = HttpClient.withScope(HttpClient.filterStatusOk(base))
    const state = {
      generation: undefined as string | undefined,
      last: undefined as Wire.Position | undefined,
      ended: false,
      // when the connection dropped, while it is down
      droppedAt: undefined as number | undefined,
      attempts: 0
    }
    const within = Duration.toMillis(options.within)
    // Interrupted before its end, the generation is stopped on the server: nobody will read it.
    yield* Effect.addFinalizer(() =>
      state.ended || state.generation === undefined ? Effect.void : base.execute(
        HttpClientRequest.make("DELETE")(options.stopUrl ?? url).pipe(
          HttpClientRequest.appendUrlParam("generation", state.generation)
        )
      ).pipe(Effect.scoped, Effect.interruptible, Effect.timeout("5 seconds"), Effect.ignore)
    )
    // Interrupted before the first response named its generation (React's StrictMode unmounts at once), the request
    // goes on until it does, for at most 5 seconds, so that the finalizer can stop the generation: the server answers
    // before the model does, in one round trip. Aborted then, it would leave a generation nobody can stop running until
    // its grace period ends.
    const execute = (request: HttpClientRequest.HttpClientRequest) =>
      state.generation !== undefined ? client.execute(request) : Effect.uninterruptibleMask((restore) =>
        Effect.flatMap(
          Kit.forkDetach(Effect.tap(client.execute(request), (response) =>
            Effect.sync(() => {
              state.generation ??= response.headers[Wire.headers.generation]
            }))),
          (fiber) =>
            restore(Fiber.join(fiber)).pipe(
              Effect.onInterrupt(() =>
                Fiber.await(fiber).pipe(
                  Effect.interruptible,
                  Effect.timeout("5 seconds"),
                  Effect.ignore,
                  Effect.andThen(Fiber.interrupt(fiber))
                )
              )
            )
        )
      )
    const attempt = (): Stream.Stream<Message<Partial, Final>, ClientError | Cut> =>
      Kit.unwrapStream(Effect.gen(function*() {
        const from = state.last ?? (state.generation === undefined ? undefined : { generation: state.generation, sequence: 0 })
        const request = from === undefined ? first : HttpClientRequest.setHeader(first, Wire.headers.lastEventId, Wire.messageId(from))
        const response = yield* execute(request).pipe(
          Kit.catchAll((error): Effect.Effect<never, ClientError> =>
            KitHttp.responseOf(error)?.status === Wire.resumeStatus.gone
              ? Effect.fail(
                new ResumeFailed({
                  message: "the server no longer knows the generation (it ended longer ago than its grace period, or " +
                    "the reconnect reached another server instance that does not share generations: " +
                    "BamlHttpCluster.layerGenerations serves them across instances)"
                })
              )
              : refused(error))
        )
        if (response.status === Wire.resumeStatus.done) {
          return Stream.fail(new ResumeFailed({ message: "the generation ended before its final result" }))
        }
        state.generation ??= response.headers[Wire.headers.generation]
        return Stream.concat(
          decodedMessages(response, schemas, (message) => {
            state.droppedAt = undefined
            state.attempts = 0
            if (message.event !== "partial") state.ended = true
            const position = Wire.positionOf(message.id)
            if (position !== undefined) state.last = position
          }),
          Stream.suspend(() => state.ended ? Stream.empty : Stream.fail(new Cut()))
        )
      }))
    // Before a response named its generation there is nothing to resume: a request that could not be made (a wrong
    // url, a server that is down) fails with its own error at once, as a stream that is not resumable does.
    const unresumable = (error: ClientError | Cut): ClientError =>
      error instanceof Cut
        ? new ResumeFailed({
          message: "the response was cut before its final, and the server named no generation to resume " +
            "(is the route resumable?)"
        })
        : error
    const retry = (error: ClientError | Cut) =>
      Kit.unwrapStream(Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        state.droppedAt ??= now
        if (now - state.droppedAt > within) {
          const last = error instanceof Cut ? "the response was cut before its final" : error.message
          return Stream.fail(
            new ResumeFailed({ message: `no connection for longer than ${within} ms (the last failure: ${last})` })
          )
        }
        yield* Effect.sleep(Math.min(100 * 2 ** state.attempts++, 2_000))
        return loop()
      }))
    const loop = (): Stream.Stream<Message<Partial, Final>, ClientError> =>
      Kit.catchAllStream(
        attempt(),
        (error) => !reconnects(error) || state.generation === undefined ? Stream.fail(unresumable(error)) : retry(error)
      )
    return loop()
  }))

/**
 * The final result of a streamed BAML function from a server, without its partials. The response still streams:
 * interrupting the effect aborts the request, and the server aborts the LLM request. With `final` (a generated
 * client's `Schemas.<Fn>Final`) the result is decoded with it; one that does not decode fails with a
 * {@link MalformedResponse} naming the path and the problem. Without it, `Final` is what the caller says the server's
 * function returns.
 *
 * @example Effect 4
 * ```ts
 * import { BamlClient } from "effect-baml/client"
 * import { Effect, Schema } from "effect"
 * import { FetchHttpClient } from "effect/http"
 *
 * const summary = BamlClient.call("Summarize", { text: "..." }, {}, Schema.String).pipe(
 *   Effect.provide(FetchHttpClient.layer)
 * )
 * ```
 * @example Effect 3
 * ```ts
 * import { BamlClient } from "effect-baml/client"
 * import { Effect, Schema } from "effect"
 * import { FetchHttpClient } from "@effect/platform"
 *
 * const summary = BamlClient.call("Summarize", { text: "..." }, {}, Schema.String).pipe(
 *   Effect.provide(FetchHttpClient.layer)
 * )
 * ```
 * @since 0.2.0
 * @category constructors
 */
export const call = <Final = unknown, FinalEncoded = Final>(
  functionName: string,
  args: Readonly<Record<string, unknown>>,
  options?: RequestOptions,
  final?: Kit.Codec<Final, FinalEncoded>
): Effect.Effect<Final, ClientError, HttpClient.HttpClient> =>
  stream<unknown, Final, unknown, FinalEncoded>(
    functionName,
    args,
    options,
    final === undefined ? undefined : { partial: Schema.Unknown, final }
  ).pipe(
    Stream.filter((message): message is { readonly event: "final"; readonly data: Final } =>
      message.event === "final"
    ),
    Stream.runHead,
    Effect.flatMap(Option.match({
      onNone: () => Effect.fail(responseError("the response ended before its final result")),
      onSome: (message) => Effect.succeed(message.data)
    }))
  )
