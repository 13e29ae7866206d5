/**
 * A stand-in for the native engine that emits `events` ready-made partials, one per macrotask as the native
 * runtime's callbacks arrive, and then the final result. With no HTTP and no parsing, what remains of a client's
 * CPU time is its own cost per partial.
 */
import * as Engine from "@boundaryml/baml"
import type { FunctionResult, FunctionResultStream, RuntimeContextManager } from "@boundaryml/baml/native"
import type { Target } from "./target.js"

const result = (value: unknown): FunctionResult => ({ isOk: () => true, parsed: () => value }) as FunctionResult

export const stubTarget = (events: number): Target => {
  const context = { deepClone: () => context } as unknown as RuntimeContextManager
  const streamFunction = (...args: Parameters<Engine.BamlRuntime["streamFunction"]>): FunctionResultStream => {
    const signal = args[9] as AbortSignal | undefined
    let callback: ((error: unknown, result: FunctionResult) => void) | undefined
    return {
      onEvent: (next) => {
        callback = next
      },
      done: () =>
        new Promise<FunctionResult>((resolve) => {
          let sent = 0
          const emit = () => {
            if (sent < events && signal?.aborted !== true) {
              sent++
              // a fresh object each time, as the native runtime parses a new snapshot for every event
              callback?.(null, result({ name: "Ada Lovelace", skills: ["analysis"], sent }))
              setImmediate(emit)
            } else {
              resolve(result({ name: "Ada Lovelace", skills: ["analysis"], sent }))
            }
          }
          setImmediate(emit)
        })
    } as FunctionResultStream
  }
  const engine = { createContextManager: () => context, flush: () => undefined, streamFunction } as unknown as
    Engine.BamlRuntime
  const env = {}
  return { engine, ctx: new Engine.BamlCtxManager(engine), env, service: { engine, env } }
}
