/**
 * `effect-baml/react`: a React hook over a BAML function served by `BamlHttp.handler`, cancelled end to end. The hook
 * runs the function's stream (a generated `http.ts` function, or any function returning a `BamlClient` stream) in a
 * fiber of its own and renders what arrives: the partial value as it grows, then the final value, or the error.
 * Unmounting the component, `stop()`, and a new start (new arguments) each interrupt that fiber, which aborts the HTTP
 * request, and the server aborts the LLM request.
 *
 * It is built on React's own `useState` and `useEffect`, whose cleanup is exactly the lifetime a generation needs.
 * React is an optional peer dependency of effect-baml: nothing of it loads unless this module is imported.
 *
 * @since 0.3.0
 */
import { Effect, Exit, Fiber, type Layer, Option, Stream } from "effect"
import { useCallback, useEffect, useRef, useState } from "react"
import type { Message } from "../BamlClient.js"
import * as Kit from "#kit"
import { FetchHttpClient } from "#kit/client"
import type { HttpClient } from "#kit/http"

/**
 * Where a generation is: `idle` before the first start, `streaming` while the response comes in, then `done` (the
 * final value arrived), `error` (it failed) or `stopped` (`stop()` cut it).
 *
 * @example
 * ```ts
 * import type { Status } from "effect-baml/react"
 *
 * const busy = (status: Status) => status === "streaming"
 * ```
 * @since 0.3.0
 * @category models
 */
export type Status = "idle" | "streaming" | "done" | "error" | "stopped"

/**
 * What {@link useBamlStream} returns: the generation's `status`, the latest `partial` value (kept after the final
 * arrives), the `final` value, the `error` the stream failed with (a `BamlError` class, or a transport error), and
 * `start`, which (re)starts the function with new arguments, aborting a generation still running, and `stop`, which
 * aborts it.
 *
 * @example
 * ```ts
 * import type { UseBamlStream } from "effect-baml/react"
 *
 * const label = (resume: UseBamlStream<[string], { readonly name?: string | null }, { readonly name: string }, Error>) =>
 *   resume.final?.name ?? resume.partial?.name ?? "…"
 * ```
 * @since 0.3.0
 * @category models
 */
export interface UseBamlStream<Args extends ReadonlyArray<unknown>, Partial, Final, E> {
  readonly status: Status
  readonly partial: Partial | undefined
  readonly final: Final | undefined
  readonly error: E | undefined
  readonly start: (...args: Args) => void
  readonly stop: () => void
}

/**
 * Options of {@link useBamlStream}. With `args`, the function starts when the component mounts and starts again
 * whenever the arguments change (compared as the JSON the request sends); without them, it waits for `start`.
 * `layer` provides the `HttpClient` (default: the platform's `fetch`), e.g. one with a base URL.
 *
 * @example
 * ```ts
 * import type { UseBamlStreamOptions } from "effect-baml/react"
 *
 * const options: UseBamlStreamOptions<[string]> = { args: ["Ada Lovelace, programmer"] }
 * ```
 * @since 0.3.0
 * @category models
 */
export interface UseBamlStreamOptions<Args extends ReadonlyArray<unknown>> {
  readonly args?: Args | undefined
  readonly layer?: Layer.Layer<HttpClient.HttpClient> | undefined
}

interface State<Partial, Final, E> {
  readonly status: Status
  readonly partial: Partial | undefined
  readonly final: Final | undefined
  readonly error: E | undefined
}

/** One generation: the fiber running it. The hook's current one is the only one whose messages are rendered. */
interface Run {
  fiber: Fiber.Fiber<void> | undefined
}

/**
 * Streams a BAML function from a server into a component: `fn` is a generated `http.ts` function (or any function
 * returning a `BamlClient` stream), so the partial and final values are typed, and decoded, by the function's
 * schemas. The request lives as long as the generation: unmounting the component, `stop()`, a new `start` or new
 * `args` abort it, and the server aborts the LLM request. Under React's StrictMode, whose development mount is
 * mount, unmount, mount, the first request is aborted the same way.
 *
 * @example Effect 4
 * ```ts
 * import { BamlClient } from "effect-baml/client"
 * import { useBamlStream } from "effect-baml/react"
 * import { Effect, Layer } from "effect"
 * import { FetchHttpClient, HttpClient, HttpClientRequest } from "effect/http"
 *
 * interface Resume { readonly name: string }
 * const extract = (resume: string) => BamlClient.stream<Partial<Resume>, Resume>("ExtractResume", { resume })
 *
 * const Api = Layer.effect(
 *   HttpClient.HttpClient,
 *   Effect.map(HttpClient.HttpClient, HttpClient.mapRequest(HttpClientRequest.prependUrl("/api/baml")))
 * ).pipe(Layer.provide(FetchHttpClient.layer))
 *
 * // in a component: runs on mount and when `text` changes; unmounting aborts the LLM request
 * export const useResume = (text: string) => useBamlStream(extract, { args: [text], layer: Api })
 * ```
 * @example Effect 3
 * ```ts
 * import { FetchHttpClient, HttpClient, HttpClientRequest } from "@effect/platform"
 * import { BamlClient } from "effect-baml/client"
 * import { useBamlStream } from "effect-baml/react"
 * import { Effect, Layer } from "effect"
 *
 * interface Resume { readonly name: string }
 * const extract = (resume: string) => BamlClient.stream<Partial<Resume>, Resume>("ExtractResume", { resume })
 *
 * const Api = Layer.effect(
 *   HttpClient.HttpClient,
 *   Effect.map(HttpClient.HttpClient, HttpClient.mapRequest(HttpClientRequest.prependUrl("/api/baml/")))
 * ).pipe(Layer.provide(FetchHttpClient.layer))
 *
 * // in a component: runs on mount and when `text` changes; unmounting aborts the LLM request
 * export const useResume = (text: string) => useBamlStream(extract, { args: [text], layer: Api })
 * ```
 * @since 0.3.0
 * @category hooks
 */
export const useBamlStream = <Args extends ReadonlyArray<unknown>, Partial, Final, E>(
  fn: (...args: Args) => Stream.Stream<Message<Partial, Final>, E, HttpClient.HttpClient>,
  options?: UseBamlStreamOptions<Args>
): UseBamlStream<Args, Partial, Final, E> => {
  const [state, setState] = useState<State<Partial, Final, E>>(idle)
  const current = useRef<Run | undefined>(undefined)
  // The function and layer of the latest render: a start uses those, whatever render's `start` it was called through.
  const latest = useRef({ fn, layer: options?.layer })
  latest.current = { fn, layer: options?.layer }

  /** Ends the current generation, if any: its fiber is interrupted, which aborts its request. */
  const abort = useCallback((): boolean => {
    const run = current.current
    current.current = undefined
    if (run?.fiber !== undefined) Effect.runFork(Fiber.interrupt(run.fiber))
    return run !== undefined
  }, [])

  const start = useCallback((...args: Args) => {
    abort()
    const run: Run = { fiber: undefined }
    current.current = run
    // Messages of a generation that was aborted may still be on their way: only the current one renders.
    const update = (next: (state: State<Partial, Final, E>) => State<Partial, Final, E>) =>
      Effect.sync(() => {
        if (current.current === run) setState(next)
      })
    setState({ status: "streaming", partial: undefined, final: undefined, error: undefined })
    const { fn, layer } = latest.current
    const generation = fn(...args).pipe(
      Stream.runForEach((message) =>
        update((state) =>
          message.event === "final" ? { ...state, final: message.data } : { ...state, partial: message.data }
        )
      ),
      Effect.exit,
      Effect.flatMap((exit) =>
        update((state) => {
          current.current = undefined
          if (Exit.isSuccess(exit)) return { ...state, status: "done" }
          // a defect has no typed error: the status says it failed, the console says why
          const error = Option.getOrUndefined(Kit.failureOption(exit.cause))
          if (error === undefined) console.error(exit.cause)
          return { ...state, status: "error", error }
        })
      ),
      Effect.provide(layer ?? FetchHttpClient.layer)
    )
    run.fiber = Effect.runFork(generation)
  }, [abort])

  const stop = useCallback(() => {
    if (abort()) setState((state) => ({ ...state, status: "stopped" }))
  }, [abort])

  // With `args`: a start on mount and on every change of the arguments; the previous generation is aborted first.
  const args = options?.args
  const key = args === undefined ? undefined : JSON.stringify(args)
  useEffect(() => {
    if (args !== undefined) start(...args)
    return () => void abort()
  }, [key])

  // Unmounting aborts whatever runs, started with `args` or by `start`.
  useEffect(() => () => void abort(), [abort])

  return { ...state, start, stop }
}

const idle: State<never, never, never> = { status: "idle", partial: undefined, final: undefined, error: undefined }
