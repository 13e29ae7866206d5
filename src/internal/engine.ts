import * as Engine from "@boundaryml/baml"
import type { RuntimeContextManager, TypeBuilder as NativeTypeBuilder } from "@boundaryml/baml/native"
import type { Options, TypeBuilder } from "../Baml.js"

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

/** The per-call options as the native call takes them, in its argument order after `args`. */
export interface CallArgs {
  readonly ctx: RuntimeContextManager
  readonly typeBuilder: NativeTypeBuilder | undefined
  readonly clientRegistry: Engine.ClientRegistry | undefined
  readonly collectors: Array<Engine.Collector>
  readonly tags: Record<string, string>
  readonly env: Record<string, string>
}

/** Resolves per-call options the way the official client does (`client` sets the registry's primary). Throws. */
export const callArgs = (
  engine: Engine.BamlRuntime,
  baseEnv: Readonly<Record<string, string>>,
  options: Options | undefined
): CallArgs => {
  let clientRegistry = options?.clientRegistry
  if (options?.client !== undefined) {
    clientRegistry ??= new Engine.ClientRegistry()
    clientRegistry.setPrimary(options.client)
  }
  return {
    ctx: engine.createContextManager(),
    typeBuilder: nativeTypeBuilder(options?.typeBuilder),
    clientRegistry,
    collectors: [...(options?.collectors ?? [])],
    tags: { ...options?.tags },
    env: options?.env ? { ...baseEnv, ...definedEnv(options.env) } : { ...baseEnv }
  }
}

/** True when the engine reports that the call was aborted through its signal. */
export const isAbort = (error: unknown): boolean => Engine.toBamlError(error) instanceof Engine.BamlAbortError
