/**
 * The Effect 4 line's HTTP: `effect/http`'s server and client, and `effect/encoding`'s SSE and NDJSON encoders, for
 * `BamlHttp` (see `index.ts` beside this file for what a kit is).
 */
import { Layer, Stream } from "effect"
import type { Scope } from "effect"
import { Ndjson, Sse } from "effect/encoding"
import { HttpClientRequest, HttpRouter, HttpServerResponse } from "effect/http"
import type { HttpClientError, HttpClientResponse, HttpServerRequest } from "effect/http"
import type { FetchHandler } from "../../core/wire/wire.js"

export {
  Headers,
  HttpClient,
  HttpClientError,
  HttpClientRequest,
  HttpClientResponse,
  HttpServerRequest,
  HttpServerResponse
} from "effect/http"

// HTTP

/** `HttpServerResponse.jsonUnsafe`: a JSON response of a value known to encode. */
export const jsonResponseUnsafe = HttpServerResponse.jsonUnsafe

/** `HttpClientRequest.bodyJsonUnsafe`: a JSON body of a value known to encode. */
export const bodyJsonUnsafe = HttpClientRequest.bodyJsonUnsafe

/** The response a client error carries, if a server answered. */
export const responseOf = (
  error: HttpClientError.HttpClientError
): HttpClientResponse.HttpClientResponse | undefined => error.response

// SSE and NDJSON

/** One message of a served stream: its event name, its data (any JSON value) and, in a resumable response, its id. */
export interface WireEvent {
  readonly event: string
  readonly data: unknown
  readonly id?: string | undefined
}

/** Writes events as Server-Sent Events text, `data` as one line of JSON each. */
export const encodeSse = (events: Stream.Stream<WireEvent>): Stream.Stream<string> =>
  events.pipe(
    Stream.map((event): Sse.Event => ({ _tag: "Event", event: event.event, id: event.id, data: JSON.stringify(event.data) })),
    Stream.pipeThroughChannel(Sse.encode<never, unknown>())
  )

/** Writes events as NDJSON, one `{"event","data"}` line each (`{"event","data","id"}` when it has an id). */
export const encodeNdjson = (events: Stream.Stream<WireEvent>): Stream.Stream<string> =>
  events.pipe(
    Stream.map((event) =>
      event.id === undefined ? { event: event.event, data: event.data } : { event: event.event, data: event.data, id: event.id }
    ),
    Stream.pipeThroughChannel(Ndjson.encodeString<never, unknown>()),
    // A value JSON cannot write (a bigint) is a bug in what the function returned, not a client's mistake.
    Stream.orDie
  )

// Fetch handlers

/** Routes, as this line declares them: `HttpRouter.add` layers (merged with `Layer.mergeAll`). */
export type Routes<E, R> = Layer.Layer<never, E, R>

/** What `routes` need for each request that `A`, a layer's services, does not give. */
export type Unmet<R, A> = Exclude<
  HttpRouter.Request.Only<"Requires", R> | HttpRouter.Request.Only<"GlobalRequires", R>,
  A | Scope.Scope | HttpServerRequest.HttpServerRequest
>

/**
 * `HttpRouter.toWebHandler` with the layer's services merged into what the routes' requests see: a layer only
 * provided to the routes is built, but its services never reach a request (it dies needing them).
 */
export const toWebHandler = <E, R, A, LE>(
  routes: Routes<E, R>,
  layer: Layer.Layer<A, LE>,
  options: { readonly disableLogger: boolean }
): FetchHandler => {
  const app = routes.pipe(Layer.provideMerge(layer)) as Layer.Layer<A, E | LE, HttpRouter.HttpRouter>
  const web = HttpRouter.toWebHandler(app, { disableLogger: options.disableLogger })
  return { handler: (request) => web.handler(request), dispose: web.dispose }
}
