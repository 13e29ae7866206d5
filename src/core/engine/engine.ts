// The engine's arguments, and the checks the engine does not make itself. No Effect here: Baml.ts wraps these calls.
import * as Engine from "@boundaryml/baml"
import type { RuntimeContextManager, TypeBuilder as NativeTypeBuilder } from "@boundaryml/baml/native"
import { type DeclaredClient, type DeclaredClients, registryClient } from "./declarations.js"

/** A type builder: the engine's native one, `@boundaryml/baml/type_builder`'s, or a generated client's. */
export type TypeBuilder =
  | NativeTypeBuilder
  | { readonly _tb: () => NativeTypeBuilder }
  | { readonly __tb: () => NativeTypeBuilder }

/** Per-call options, as the official BAML client takes them (public as `Baml.Options`). */
export interface CallOptions {
  /**
   * The client to use instead of the function's own (or the registry's primary): a client of baml_src or of the
   * `clientRegistry`. It applies to this call only; the given registry is never changed, so calls that share one
   * registry can each name their own client. With a registry, that registry must be a {@link ClientRegistry}.
   */
  readonly client?: string | undefined
  /**
   * Clients defined at run time. Each call uses its own copy of a {@link ClientRegistry}, taken when the call starts.
   * The engine's own `ClientRegistry` (from `@boundaryml/baml`) cannot be copied: it is passed to the engine as it is,
   * and only without `client`.
   */
  readonly clientRegistry?: Engine.ClientRegistry | undefined
  /** Dynamic types (`@@dynamic` classes and enums). */
  readonly typeBuilder?: TypeBuilder | undefined
  /** The engine's `Collector`s, which record usage, timings and raw HTTP traffic of this call. */
  readonly collectors?: ReadonlyArray<Engine.Collector> | undefined
  /** Tags recorded with the call's trace. */
  readonly tags?: Readonly<Record<string, string>> | undefined
  /** Values for `env.X`, layered over the runtime's environment for this call only. */
  readonly env?: Readonly<Record<string, string | undefined>> | undefined
}

/**
 * `options` over `defaults`, field by field: a field `options` sets wins, `tags` and `env` are merged key by key (the
 * call's keys win), and the `collectors` of both record the call. Nothing given is changed (a registry is copied per
 * call anyway, see {@link ClientRegistry}).
 */
export const mergeOptions = (defaults: CallOptions | undefined, options: CallOptions | undefined): CallOptions | undefined => {
  if (defaults === undefined) return options
  if (options === undefined) return defaults
  const merged: { -readonly [K in keyof CallOptions]: CallOptions[K] } = { ...defaults }
  for (const [key, value] of Object.entries(options) as Array<[keyof CallOptions, never]>) {
    if (value !== undefined) merged[key] = value
  }
  if (defaults.collectors !== undefined && options.collectors !== undefined) {
    merged.collectors = [...defaults.collectors, ...options.collectors]
  }
  if (defaults.tags !== undefined && options.tags !== undefined) merged.tags = { ...defaults.tags, ...options.tags }
  if (defaults.env !== undefined && options.env !== undefined) merged.env = { ...defaults.env, ...options.env }
  return merged
}

/** Drops `undefined` values, which the engine does not accept. */
export const definedEnv = (env: Readonly<Record<string, string | undefined>>): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined) out[key] = value
  }
  return out
}

const nativeTypeBuilder = (tb: TypeBuilder | undefined): NativeTypeBuilder | undefined => {
  if (tb === undefined) return undefined
  if ("__tb" in tb) return tb.__tb()
  if ("_tb" in tb) return tb._tb()
  return tb
}

/** The per-call options as the native call takes them. */
export interface CallArgs {
  readonly ctx: RuntimeContextManager
  /** The environment of this call: the runtime's, with the call's `env` over it. */
  readonly env: Record<string, string>
  /** A client this call can use, as baml_src or the call's registry declares it (the registry's wins). */
  readonly client: (name: string) => DeclaredClient | undefined
  /** The native call's arguments from the context to the environment, with `collector` after the user's own. */
  readonly options: (collector: Engine.Collector) => readonly [
    ctx: RuntimeContextManager,
    typeBuilder: NativeTypeBuilder | undefined,
    clientRegistry: Engine.ClientRegistry | undefined,
    collectors: Array<Engine.Collector>,
    tags: Record<string, string>,
    env: Record<string, string>
  ]
}

/** What was added to a {@link ClientRegistry}, in order, and its primary: enough to build a copy. */
interface Recorded {
  readonly clients: Array<Parameters<Engine.ClientRegistry["addLlmClient"]>>
  primary: string | undefined
}

// Keyed by the registry, so that nothing of the record shows on the caller's object.
const recorded = new WeakMap<Engine.ClientRegistry, Recorded>()

/**
 * The engine's `ClientRegistry`, which also records the clients added to it and its primary. The native registry
 * cannot be read back or copied; from this record each call builds a registry of its own, so that choosing a call's
 * client never changes the caller's registry, and a change to it after a call has started does not reach that call.
 * Both Effect lines export it as `Baml.ClientRegistry`.
 */
export class ClientRegistry extends Engine.ClientRegistry {
  constructor() {
    super()
    recorded.set(this, { clients: [], primary: undefined })
  }

  override addLlmClient(
    name: string,
    provider: string,
    options: { [key: string]: unknown },
    retryPolicy?: string | undefined | null
  ): void {
    // The engine first: what it refuses (an unknown provider) is not recorded.
    super.addLlmClient(name, provider, options, retryPolicy)
    recorded.get(this)?.clients.push([name, provider, copyOf(options), retryPolicy])
  }

  override setPrimary(primary: string): void {
    super.setPrimary(primary)
    const record = recorded.get(this)
    if (record !== undefined) record.primary = primary
  }
}

// The engine copies a client's options when it is added; the record does too, so that a later change to the
// caller's object is not replayed. Options that cannot be cloned (a function in them) are recorded as they are.
const copyOf = (options: { [key: string]: unknown }): { [key: string]: unknown } => {
  try {
    return structuredClone(options)
  } catch {
    return options
  }
}

/**
 * The registry one call uses, never the caller's own: `client` is that registry's primary. A registry from
 * `@boundaryml/baml` cannot be copied: it is passed as it is, and refused with `client`, which would have to change
 * it. The refusal is the engine's own `BamlInvalidArgumentError`, which each Effect line's `fromEngine` types.
 */
const registryFor = (
  given: Engine.ClientRegistry | undefined,
  client: string | undefined
): Engine.ClientRegistry | undefined => {
  const record = given === undefined ? undefined : recorded.get(given)
  if (given !== undefined && record === undefined) {
    if (client === undefined) return given
    throw new Engine.BamlInvalidArgumentError(
      `\`client: ${JSON.stringify(client)}\` with a ClientRegistry from @boundaryml/baml: that registry cannot be ` +
        "copied, and choosing the call's client would change it for every call that shares it. Build it with " +
        "`new Baml.ClientRegistry()` (the same methods), or set its primary and pass no `client`"
    )
  }
  const primary = client ?? record?.primary
  if (record === undefined && primary === undefined) return undefined
  const registry = new Engine.ClientRegistry()
  for (const added of record?.clients ?? []) registry.addLlmClient(...added)
  if (primary !== undefined) registry.setPrimary(primary)
  return registry
}

/** Resolves per-call options into what this call alone uses: nothing the caller passed is changed. Throws. */
export const callArgs = (
  engine: Engine.BamlRuntime,
  baseEnv: Readonly<Record<string, string>>,
  options: CallOptions | undefined,
  declared: DeclaredClients = new Map()
): CallArgs => {
  const clientRegistry = registryFor(options?.clientRegistry, options?.client)
  const ctx = engine.createContextManager()
  const typeBuilder = nativeTypeBuilder(options?.typeBuilder)
  const collectors = [...(options?.collectors ?? [])]
  const tags = { ...options?.tags }
  // The engine only reads it: without a per-call `env`, every call shares the runtime's (no copy per call to hold).
  const env: Record<string, string> = options?.env ? { ...baseEnv, ...definedEnv(options.env) } : baseEnv
  const added = options?.clientRegistry === undefined ? undefined : recorded.get(options.clientRegistry)?.clients
  const client = (name: string): DeclaredClient | undefined => {
    // the last client added under a name is the one the engine uses
    for (let i = (added?.length ?? 0) - 1; i >= 0; i--) {
      if (added![i]![0] === name) return registryClient(added![i]![2])
    }
    return declared.get(name)
  }
  return {
    ctx,
    env,
    client,
    options: (collector) => [ctx, typeBuilder, clientRegistry, [...collectors, collector], tags, env]
  }
}

// The engine converts arguments recursively on the native stack: a cycle, or nesting a few thousand levels deep,
// overflows it and kills the process (measured: 2,000 nested arrays do) instead of failing the call.
const maxDepth = 256

const problemIn = (value: unknown, path: string, depth: number, seen: Set<object>): string | undefined => {
  if (typeof value === "function" || typeof value === "symbol" || typeof value === "bigint") {
    return `${path}: a ${typeof value} is not a value BAML can take (use a string, number, boolean, array or object)`
  }
  if (typeof value !== "object" || value === null || ArrayBuffer.isView(value)) return undefined
  if (seen.has(value)) return `${path}: the value contains itself (a circular reference), which BAML cannot take`
  if (depth >= maxDepth) return `${path}: nested more than ${maxDepth} levels deep, which BAML cannot take`
  seen.add(value)
  let problem: string | undefined
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length && problem === undefined; i++) {
      problem = problemIn(value[i], `${path}[${i}]`, depth + 1, seen)
    }
  } else {
    for (const key in value) {
      if (problem !== undefined) break
      if (Object.hasOwn(value, key)) {
        problem = problemIn((value as Record<string, unknown>)[key], `${path}.${key}`, depth + 1, seen)
      }
    }
  }
  seen.delete(value)
  return problem
}

/** Why the engine cannot take `args`, or `undefined` when it can (whether they match the function, it checks). */
export const argsProblem = (args: unknown): string | undefined => {
  if (typeof args !== "object" || args === null || Array.isArray(args)) {
    const got = args === null ? "null" : Array.isArray(args) ? "an array" : typeof args
    return `arguments must be an object with one entry per parameter of the BAML function, got ${got}`
  }
  for (const [name, value] of Object.entries(args)) {
    const problem = problemIn(value, name, 0, new Set())
    if (problem !== undefined) return problem
  }
  return undefined
}

/** What a call or stream dies with when no `BamlRuntime` was provided: which layer to provide. */
export const missingRuntime =
  "Baml.call and Baml.stream need a BamlRuntime, and none was provided. Provide one of its layers: " +
  "BamlRuntime.layerFromDirectory(\"./baml_src\"), BamlRuntime.layerFromFiles(files, { env }), or a generated " +
  "client's layer (Client.layer), e.g. program.pipe(Effect.provide(BamlRuntime.layerFromDirectory(\"./baml_src\"))); " +
  "in tests, ScriptedProvider.layerWithRuntime(\"./baml_src\")."
