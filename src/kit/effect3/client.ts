/**
 * The Effect 3 line's readers of a streamed response: `@effect/experimental`'s SSE parser and `@effect/platform`'s
 * NDJSON decoder, for `BamlClient` (the same names as `src/kit/effect4/client.ts`).
 */
import * as Sse from "@effect/experimental/Sse"
import * as Ndjson from "@effect/platform/Ndjson"
import { Stream } from "effect"

/** Reads Server-Sent Events from bytes, decoded to text as one stream (a character may straddle two reads). */
export const decodeSse = <E>(
  bytes: Stream.Stream<Uint8Array, E>
): Stream.Stream<{ readonly event: string; readonly data: string; readonly id: string | undefined }, unknown> =>
  bytes.pipe(Stream.decodeText(), Stream.pipeThroughChannel(Sse.makeChannel<E, unknown>()))

/** Reads NDJSON from bytes, decoded to text as one stream (a character may straddle two reads); blank lines skipped. */
export const decodeNdjson = <E>(bytes: Stream.Stream<Uint8Array, E>): Stream.Stream<unknown, unknown> =>
  bytes.pipe(Stream.decodeText(), Stream.pipeThroughChannel(Ndjson.unpackString({ ignoreEmptyLines: true })))

/** `FetchHttpClient`: the `HttpClient` of the platform's `fetch`. */
export * as FetchHttpClient from "@effect/platform/FetchHttpClient"
