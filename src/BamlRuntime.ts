/**
 * The BAML engine, loaded once from baml_src and shared by every call and stream.
 *
 * @since 0.1.0
 */
import * as Engine from "@boundaryml/baml"
import { Effect, type Layer } from "effect"
import type * as Scope from "effect/Scope"
import * as Kit from "#kit"
import { BamlRuntimeError, fromEngine } from "./BamlError.js"
import { definedEnv } from "./core/engine/engine.js"
import { declarations, declaredClients, readDirectory } from "./core/engine/declarations.js"
import { quietEngineLogs, unsetEnvWarnings } from "./core/engine/logging.js"

/**
 * Options for loading the engine.
 *
 * @example
 * ```ts
 * import { BamlRuntime } from "effect-baml"
 *
 * const options: BamlRuntime.Options = { env: { ...process.env, BAML_LOG: "warn" } }
 * const layer = BamlRuntime.layerFromDirectory("./baml_src", options)
 * ```
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /**
   * The values baml_src reads as `env.X` (API keys, base URLs). Replaces the process environment, which is the
   * default; pass `{ ...process.env, X: "..." }` to extend it instead.
   */
  readonly env?: Readonly<Record<string, string | undefined>>
  /**
   * Counts the tokens of a text, for the estimates of what a provider did not count (an aborted stream's output, its
   * input): a tokenizer of your models' family, e.g. `countTokens` from `gpt-tokenizer` for OpenAI's. Without it a
   * token is estimated per four characters. Loading a tokenizer takes seconds and tens of MB: it is yours to choose.
   */
  readonly countTokens?: ((text: string) => number) | undefined
}

/**
 * The loaded engine: the native runtime (also usable to build an engine `TypeBuilder`) and the environment every
 * call starts from.
 *
 * @example
 * ```ts
 * import { BamlRuntime } from "effect-baml"
 * import { Effect } from "effect"
 *
 * const hasKey = Effect.map(BamlRuntime.BamlRuntime, (runtime: BamlRuntime.Service) => "OPENAI_API_KEY" in runtime.env)
 * ```
 * @since 0.1.0
 * @category models
 */
export interface Service {
  readonly engine: Engine.BamlRuntime
  readonly env: Readonly<Record<string, string>>
  /** The tokenizer the estimates use, if the runtime was given one (`Options.countTokens`). */
  readonly countTokens?: ((text: string) => number) | undefined
  /**
   * The functions baml_src declares, with each parameter's BAML type as written: errors name them (an unknown
   * function lists those that exist, a wrong argument says the type its parameter expects).
   */
  readonly functions?: ReadonlyMap<string, ReadonlyArray<{ readonly name: string; readonly type: string }>>
  /**
   * The clients baml_src declares, with their `finish_reason_deny_list` / `finish_reason_allow_list` (applied to every
   * provider format, for calls and streams alike) and the variables they read as `env.X`.
   */
  readonly clients?: ReadonlyMap<string, {
    readonly denyList?: ReadonlyArray<string> | undefined
    readonly allowList?: ReadonlyArray<string> | undefined
    readonly env: ReadonlyArray<string>
  }>
}

/**
 * The service every `Baml.call` and `Baml.stream` needs.
 *
 * @example
 * ```ts
 * import { BamlRuntime } from "effect-baml"
 * import { Effect } from "effect"
 *
 * // the engine's own runtime, e.g. to build an engine TypeBuilder for dynamic types
 * const engine = Effect.map(BamlRuntime.BamlRuntime, (runtime) => runtime.engine)
 * ```
 * @since 0.1.0
 * @category services
 */
export class BamlRuntime extends Kit.Service<BamlRuntime, Service>()("effect-baml/BamlRuntime") {}

/**
 * Loads the engine with `load`, and flushes its traces when the scope closes. Build it once and share it (a layer
 * does): each engine holds its own connection pools and tracing state.
 *
 * @example
 * ```ts
 * import { BamlRuntime } from "effect-baml"
 * import * as Engine from "@boundaryml/baml"
 *
 * const runtime = BamlRuntime.make((env) => Engine.BamlRuntime.fromDirectory("./baml_src", env))
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  load: (env: Record<string, string>) => Engine.BamlRuntime,
  options?: Options
): Effect.Effect<Service, BamlRuntimeError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.try({
      // The environment is read when the runtime is built, not when the layer value is created (often at import).
      try: () => {
        const env = definedEnv(options?.env ?? process.env)
        const countTokens = options?.countTokens
        quietEngineLogs(env)
        return { engine: load(env), env, ...(countTokens === undefined ? {} : { countTokens }) }
      },
      catch: (cause) => {
        const error = fromEngine(cause, { env: options?.env ?? process.env })
        return error._tag === "BamlRuntimeError" ? error : new BamlRuntimeError({ message: error.message })
      }
    }),
    ({ engine }) => Effect.sync(() => engine.flush())
  )

/**
 * Loads every .baml file under `directory`.
 *
 * @example
 * ```ts
 * import { BamlRuntime } from "effect-baml"
 *
 * const runtime = BamlRuntime.fromDirectory("./baml_src")
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const fromDirectory = (
  directory: string,
  options?: Options
): Effect.Effect<Service, BamlRuntimeError, Scope.Scope> =>
  Effect.flatMap(
    make((env) => Engine.BamlRuntime.fromDirectory(directory, env), options),
    (service) => withSources(service, readDirectory(directory))
  )

/**
 * The runtime with what its sources declare, once it is built: a client whose `env.X` is not set is said now, as a
 * warning (a call that uses it fails; the client may never be used), not first at that call.
 */
const withSources = (service: Service, files: Readonly<Record<string, string>>): Effect.Effect<Service> => {
  const clients = declaredClients(files)
  const warnings = unsetEnvWarnings(clients, service.env)
  return Effect.as(
    Effect.forEach(warnings, (warning) => Effect.logWarning(warning), { discard: true }),
    { ...service, functions: declarations(files), clients }
  )
}

/**
 * Loads .baml sources given as text, keyed by their path relative to baml_src (e.g. `"resume.baml"`). Needs no
 * files at run time.
 *
 * @example
 * ```ts
 * import { BamlRuntime } from "effect-baml"
 *
 * const runtime = BamlRuntime.fromFiles({ "hello.baml": "function Hello(name: string) -> string { ... }" })
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const fromFiles = (
  files: Readonly<Record<string, string>>,
  options?: Options
): Effect.Effect<Service, BamlRuntimeError, Scope.Scope> =>
  Effect.flatMap(
    make((env) => Engine.BamlRuntime.fromFiles("baml_src", { ...files }, env), options),
    (service) => withSources(service, files)
  )

/**
 * A layer that loads every .baml file under `directory`. A broken file fails the layer with a
 * `BamlRuntimeError` naming the file and line.
 *
 * @example
 * ```ts
 * import { Baml, BamlRuntime } from "effect-baml"
 * import { Effect } from "effect"
 *
 * const program = Baml.call("ExtractResume", { resume: "..." }).pipe(
 *   Effect.provide(BamlRuntime.layerFromDirectory("./baml_src", { env: { OPENAI_API_KEY: "sk-..." } }))
 * )
 * ```
 * @since 0.1.0
 * @category layers
 */
export const layerFromDirectory = (directory: string, options?: Options): Layer.Layer<BamlRuntime, BamlRuntimeError> =>
  Kit.layerScoped(BamlRuntime, fromDirectory(directory, options))

/**
 * A layer that loads .baml sources given as text.
 *
 * @example
 * ```ts
 * import { BamlRuntime } from "effect-baml"
 * import { readFileSync } from "node:fs"
 *
 * const layer = BamlRuntime.layerFromFiles({ "resume.baml": readFileSync("baml_src/resume.baml", "utf8") })
 * ```
 * @since 0.1.0
 * @category layers
 */
export const layerFromFiles = (
  files: Readonly<Record<string, string>>,
  options?: Options
): Layer.Layer<BamlRuntime, BamlRuntimeError> => Kit.layerScoped(BamlRuntime, fromFiles(files, options))
