/**
 * A provider that speaks OpenAI chat completions, the OpenAI Responses API, Anthropic Messages and Google Gemini
 * (streaming and not, each with its own usage events and error bodies), plays scripted replies at a scripted pace, injects
 * faults and records what each request received, for offline tests and demos. The server itself has no Effect in
 * it; this module makes it a scoped service.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import type { BamlRuntimeError } from "../BamlError.js"
import * as BamlRuntime from "../BamlRuntime.js"
import * as Server from "../core/scripted/scriptedServer.js"
import * as Kit from "#kit"

/**
 * A scripted reply: the text, how it is cut into chunks, its pace and an optional fault.
 *
 * @example
 * ```ts
 * import type { ScriptedProvider } from "effect-baml/testing"
 *
 * const slow: ScriptedProvider.Script = { reply: "Hello there", chunkSize: 2, delayMs: 20 }
 * ```
 * @since 0.1.0
 * @category models
 */
export type Script = Server.Script

/**
 * A fault to inject into a reply: `HttpError` (optionally only the first `times` requests), `DropConnection`,
 * `MalformedSse` or `Stall` after `afterChunks` content chunks.
 *
 * @example
 * ```ts
 * import type { ScriptedProvider } from "effect-baml/testing"
 *
 * const rateLimited: ScriptedProvider.Fault = { _tag: "HttpError", status: 429, retryAfterSeconds: 1, times: 1 }
 * ```
 * @since 0.1.0
 * @category models
 */
export type Fault = Server.Fault

/**
 * What a script function sees of a request; `index` counts the earlier requests its rule answered.
 *
 * @example
 * ```ts
 * import type { ScriptedProvider } from "effect-baml/testing"
 *
 * const numbered = (request: ScriptedProvider.ScriptRequest): ScriptedProvider.Script => ({
 *   reply: `reply ${request.index}`
 * })
 * ```
 * @since 0.1.0
 * @category models
 */
export type ScriptRequest = Server.ScriptRequest

/**
 * The provider APIs the scripted provider answers: `chat-completions` (`openai`, `openai-generic`), `responses`
 * (`openai-responses`), `anthropic-messages` (`anthropic`) and `gemini` (`google-ai`). A BAML client of any of these
 * providers reaches it with `base_url` set to the provider's `baseUrl`; each request's record says which it used.
 *
 * @example
 * ```ts
 * import type { ScriptedProvider } from "effect-baml/testing"
 *
 * const anthropicOnly = (request: ScriptedProvider.ScriptRequest) => request.format === "anthropic-messages"
 * ```
 * @since 0.2.0
 * @category models
 */
export type WireFormat = Server.WireFormat

/**
 * A routing rule: it answers requests for `model` (if given) whose prompt satisfies `match` (if given).
 *
 * @example
 * ```ts
 * import type { ScriptedProvider } from "effect-baml/testing"
 *
 * const rule: ScriptedProvider.Rule = {
 *   model: "gpt-4o",
 *   match: (prompt) => prompt.includes("weather"),
 *   script: { reply: "Sunny" }
 * }
 * ```
 * @since 0.1.0
 * @category models
 */
export type Rule = Server.Rule

/**
 * A snapshot of what the provider did for one request.
 *
 * @example
 * ```ts
 * import type { ScriptedProvider } from "effect-baml/testing"
 *
 * const wasted = (record: ScriptedProvider.RequestRecord) => record.planned - record.sent
 * ```
 * @since 0.1.0
 * @category models
 */
export type RequestRecord = Server.RequestRecord

/**
 * Options for `make` and `layer`: the initial rules and the host to bind (default "127.0.0.1").
 *
 * @example
 * ```ts
 * import type { ScriptedProvider } from "effect-baml/testing"
 *
 * const options: ScriptedProvider.Options = { rules: [{ script: { reply: "Hi" } }] }
 * ```
 * @since 0.1.0
 * @category models
 */
export type Options = Server.Options

/**
 * The running provider.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { ScriptedProvider } from "effect-baml/testing"
 *
 * const completed = Effect.flatMap(ScriptedProvider.ScriptedProvider, (provider) =>
 *   provider.awaitRequests((records) => records.some((record) => record.status === "completed")))
 * ```
 * @since 0.1.0
 * @category models
 */
export interface Service {
  readonly port: number
  /**
   * `http://HOST:PORT/v1`, the `base_url` for a BAML client of any provider it speaks (`openai-generic`, `openai`,
   * `openai-responses`, `anthropic`, `google-ai`).
   */
  readonly baseUrl: string
  /** Adds rules that take precedence over every earlier rule. */
  readonly script: (...rules: ReadonlyArray<Rule>) => Effect.Effect<void>
  /** Drops the added rules (keeping the initial ones), the records and the rules' counters. */
  readonly reset: Effect.Effect<void>
  /**
   * The records as they are now. A call or stream that has returned finds its request `completed` (or `failed`); a
   * request its consumer left (an interrupt, `Stream.take`) is `open` until the provider sees the connection close,
   * a moment later: read those through `settled`.
   */
  readonly requests: Effect.Effect<ReadonlyArray<RequestRecord>>
  /**
   * The records once no request is `open`: each has completed, failed or been closed early. Use it after an early
   * exit, before reading what the provider saw; it waits for as long as a request stays open.
   */
  readonly settled: Effect.Effect<ReadonlyArray<RequestRecord>>
  /** Sockets currently connected to the server. */
  readonly openSockets: Effect.Effect<number>
  /** Waits until the records satisfy `predicate`, re-checking on every record change. */
  readonly awaitRequests: (
    predicate: (records: ReadonlyArray<RequestRecord>) => boolean
  ) => Effect.Effect<ReadonlyArray<RequestRecord>>
}

/**
 * The scripted provider service.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { ScriptedProvider } from "effect-baml/testing"
 *
 * const baseUrl = Effect.map(ScriptedProvider.ScriptedProvider, (provider) => provider.baseUrl)
 * ```
 * @since 0.1.0
 * @category services
 */
export class ScriptedProvider extends Kit.Service<ScriptedProvider, Service>()("effect-baml/testing/ScriptedProvider") {}

const awaitRequests = (server: Server.ScriptedServer) =>
(
  predicate: (records: ReadonlyArray<RequestRecord>) => boolean
): Effect.Effect<ReadonlyArray<RequestRecord>> =>
  Kit.callback<ReadonlyArray<RequestRecord>>((resume) => {
    let unsubscribe = (): void => {}
    const check = (): boolean => {
      const records = server.requests()
      let holds: boolean
      try {
        holds = predicate(records)
      } catch (defect) {
        // It runs inside node callbacks, where a throw would take the server down.
        unsubscribe()
        resume(Effect.die(defect))
        return true
      }
      if (holds) {
        unsubscribe()
        resume(Effect.succeed(records))
      }
      return holds
    }
    if (check()) return
    unsubscribe = server.subscribe(check)
    return Effect.sync(unsubscribe)
  })

/**
 * Starts a provider on a free port; it stops, destroying any open connection, when the scope closes.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { ScriptedProvider } from "effect-baml/testing"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const provider = yield* ScriptedProvider.make({ rules: [{ script: { reply: "Hi" } }] })
 *   const response = yield* Effect.promise(() => fetch(`${provider.baseUrl}/chat/completions`, {
 *     method: "POST",
 *     body: JSON.stringify({ model: "any", messages: [{ role: "user", content: "Hello" }] })
 *   }))
 *   return yield* Effect.promise(() => response.json())
 * }))
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options = {}): Effect.Effect<Service, never, Scope.Scope> =>
  Effect.map(
    Effect.acquireRelease(
      Effect.promise(() => Server.start(options)),
      (server) => Effect.promise(server.close)
    ),
    (server): Service => ({
      port: server.port,
      baseUrl: server.baseUrl,
      script: (...rules) => Effect.sync(() => server.script(rules)),
      reset: Effect.sync(server.reset),
      requests: Effect.sync(server.requests),
      openSockets: Effect.sync(server.openSockets),
      awaitRequests: awaitRequests(server),
      settled: awaitRequests(server)((records) => records.every((record) => record.status !== "open"))
    })
  )

/**
 * The provider as a scoped layer.
 *
 * @example
 * ```ts
 * import { ScriptedProvider } from "effect-baml/testing"
 *
 * const ProviderLive = ScriptedProvider.layer({ rules: [{ script: ScriptedProvider.json({ name: "Ada" }) }] })
 * ```
 * @since 0.1.0
 * @category layers
 */
export const layer = (options?: Options): Layer.Layer<ScriptedProvider> => Kit.layerScoped(ScriptedProvider, make(options))

/**
 * The provider and, beside it, the engine loaded from `sources` (a baml_src directory, or the sources a generated
 * client embeds: its `files`, by file name) with `env.SCRIPTED_BASE_URL` set to the provider's address (over
 * `options.env`, or the process environment): what a test of your own BAML functions provides. Fails with
 * `BamlRuntimeError` when the sources do not compile. Point their client at it in baml_src:
 *
 * ```baml
 * client<llm> Scripted {
 *   provider openai-generic
 *   options {
 *     base_url env.SCRIPTED_BASE_URL
 *     model "scripted"
 *   }
 * }
 * ```
 *
 * @example
 * ```ts
 * import { Baml } from "effect-baml"
 * import { ScriptedProvider } from "effect-baml/testing"
 * import { Effect } from "effect"
 *
 * const test = Effect.gen(function*() {
 *   const provider = yield* ScriptedProvider.ScriptedProvider
 *   yield* provider.script({ script: ScriptedProvider.json({ name: "Ada", skills: [], experience: [] }) })
 *   return yield* Baml.call("ExtractResume", { resume: "Ada" })
 * }).pipe(Effect.provide(ScriptedProvider.layerWithRuntime("baml_src")))
 * ```
 *
 * @example
 * ```ts
 * import { ScriptedProvider } from "effect-baml/testing"
 * import * as Client from "./baml_client/index.js"
 *
 * // the sources the generated client embeds, so a test needs no baml_src at run time
 * const Offline = ScriptedProvider.layerWithRuntime(Client.files)
 * ```
 * @since 0.2.0
 * @category layers
 */
export const layerWithRuntime = (
  sources: string | Readonly<Record<string, string>>,
  options?: Options & BamlRuntime.Options
): Layer.Layer<ScriptedProvider | BamlRuntime.BamlRuntime, BamlRuntimeError> =>
  Kit.unwrapLayer(
    Effect.map(ScriptedProvider, (provider) => {
      const env = { env: { ...(options?.env ?? process.env), SCRIPTED_BASE_URL: provider.baseUrl } }
      return typeof sources === "string"
        ? BamlRuntime.layerFromDirectory(sources, env)
        : BamlRuntime.layerFromFiles(sources, env)
    })
  ).pipe(Layer.provideMerge(layer(options)))

/**
 * A script whose reply is `value` as pretty-printed JSON (as models write it), optionally in a json fence.
 *
 * @example
 * ```ts
 * import { ScriptedProvider } from "effect-baml/testing"
 *
 * const script = ScriptedProvider.json({ name: "Ada", born: 1815 }, { fence: true, delayMs: 10 })
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const json: (value: unknown, options?: Omit<Script, "reply"> & { readonly fence?: boolean }) => Script =
  Server.json

/**
 * Content chunks of `record` written at or after `time` (a `performance.now()` value), e.g. after an interrupt.
 *
 * @example
 * ```ts
 * import { ScriptedProvider } from "effect-baml/testing"
 *
 * declare const record: ScriptedProvider.RequestRecord
 * declare const interruptedAt: number
 * const wasted = ScriptedProvider.chunksAfter(record, interruptedAt)
 * ```
 * @since 0.1.0
 * @category utils
 */
export const chunksAfter: (record: RequestRecord, time: number) => number = Server.chunksAfter
