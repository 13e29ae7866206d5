/**
 * The Effect 4 line's readers of a streamed response: `effect/encoding`'s SSE and NDJSON decoders, for `BamlClient`
 * (see `index.ts` beside this file for what a kit is).
 */
import { Stream } from "effect"
import { Ndjson, Sse } from "effect/encoding"

/** Reads Server-Sent Events from bytes, decoded to text as one stream (a character may straddle two reads). */
export const decodeSse = <E>(
  bytes: Stream.Stream<Uint8Array, E>
): Stream.Stream<{ readonly event: string; readonly data: string; readonly id: string | undefined }, unknown> =>
  bytes.pipe(Stream.decodeText, Stream.pipeThroughChannel(Sse.decode()))

/** Reads NDJSON from bytes, decoded to text as one stream (a character may straddle two reads); blank lines skipped. */
export const decodeNdjson = <E>(bytes: Stream.Stream<Uint8Array, E>): Stream.Stream<unknown, unknown> =>
  bytes.pipe(Stream.decodeText, Stream.pipeThroughChannel(Ndjson.decodeString({ ignoreEmptyLines: true })))

/** `FetchHttpClient`: the `HttpClient` of the platform's `fetch`. */
export { FetchHttpClient } from "effect/http"
