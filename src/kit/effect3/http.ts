/**
 * The Effect 3 line's HTTP: `@effect/platform`'s server and client, and the SSE and NDJSON text `BamlHttp` writes
 * (the same names as `src/kit/effect4/http.ts`).
 */
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as HttpApp from "@effect/platform/HttpApp"
import * as HttpMiddleware from "@effect/platform/HttpMiddleware"
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import type { Layer, Scope } from "effect"
import { Stream } from "effect"
import type { FetchHandler } from "../../core/wire/wire.js"

export * as Headers from "@effect/platform/Headers"
export * as HttpClient from "@effect/platform/HttpClient"
export * as HttpClientError from "@effect/platform/HttpClientError"
export * as HttpClientRequest from "@effect/platform/HttpClientRequest"
export * as HttpClientResponse from "@effect/platform/HttpClientResponse"
export * as HttpServerRequest from "@effect/platform/HttpServerRequest"
export * as HttpServerResponse from "@effect/platform/HttpServerResponse"

// HTTP

/** `HttpServerResponse.unsafeJson`: a JSON response of a value known to encode. */
export const jsonResponseUnsafe = HttpServerResponse.unsafeJson

/** `HttpClientRequest.bodyUnsafeJson`: a JSON body of a value known to encode. */
export const bodyJsonUnsafe = HttpClientRequest.bodyUnsafeJson

/** The response a client error carries, if a server answered. */
export const responseOf = (
  error: HttpClientError.HttpClientError
): HttpClientResponse.HttpClientResponse | undefined => error._tag === "ResponseError" ? error.response : undefined

// SSE and NDJSON

/** One message of a served stream: its event name, its data (any JSON value) and, in a resumable response, its id. */
export interface WireEvent {
  readonly event: string
  readonly data: unknown
  readonly id?: string | undefined
}

// `@effect/platform` has no SSE encoder (the one in `@effect/experimental` would make that package a dependency of
// every server); both formats are one line of JSON per message. A value JSON cannot write (a bigint) throws: a bug in
// what the function returned, not a client's mistake, so the stream dies, as on the Effect 4 line.
const json = (data: unknown): string => JSON.stringify(data) ?? "null"

/** Writes events as Server-Sent Events text, `data` as one line of JSON each. */
export const encodeSse = (events: Stream.Stream<WireEvent>): Stream.Stream<string> =>
  Stream.map(events, (event) =>
    `${event.id === undefined ? "" : `id: ${event.id}\n`}event: ${event.event}\ndata: ${json(event.data)}\n\n`)

/** Writes events as NDJSON, one `{"event","data"}` line each (`{"event","data","id"}` when it has an id). */
export const encodeNdjson = (events: Stream.Stream<WireEvent>): Stream.Stream<string> =>
  Stream.map(events, (event) =>
    `${
      json(event.id === undefined ? { event: event.event, data: event.data } : { event: event.event, data: event.data, id: event.id })
    }\n`)

// Fetch handlers

/** Routes, as this line declares them: an `HttpRouter` (or any `HttpApp`). */
export type Routes<E, R> = HttpApp.Default<E, R>

/** What `routes` need for each request that `A`, a layer's services, does not give. */
export type Unmet<R, A> = Exclude<R, A | Scope.Scope | HttpServerRequest.HttpServerRequest>

/**
 * `HttpApp.toWebHandlerLayer`, with Effect's request logger unless disabled (as the Effect 4 line's
 * `HttpRouter.toWebHandler` does).
 */
export const toWebHandler = <E, R, A, LE>(
  routes: Routes<E, R>,
  layer: Layer.Layer<A, LE>,
  options: { readonly disableLogger: boolean }
): FetchHandler => {
  const web = HttpApp.toWebHandlerLayer(
    routes as HttpApp.Default<E, A | Scope.Scope>,
    layer,
    options.disableLogger ? undefined : { middleware: HttpMiddleware.logger }
  )
  return { handler: (request) => web.handler(request).then((response) => cutOnAbort(request, response)), dispose: web.dispose }
}

/**
 * Effect 3's web handler interrupts the request's fiber when the request's signal aborts, but a streamed body runs on
 * after that fiber returned the response (measured: the LLM request completed): the body is piped through with the
 * signal, so that the abort cancels it, and its stream's finalizer aborts the LLM request.
 */
const cutOnAbort = (request: Request, response: Response): Response =>
  response.body === null
    ? response
    : new Response(response.body.pipeThrough(new TransformStream<Uint8Array, Uint8Array>(), { signal: request.signal }), {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers
    })
