/**
 * One engine as each client reaches it: the official client holds it with a `BamlCtxManager` (as the generated
 * client's `globals.ts` does), effect-baml through its `BamlRuntime` service. Every client in a run shares the same
 * engine, so they share its connection pool and parser.
 */
import * as Engine from "@boundaryml/baml"
import type { FunctionResult, FunctionResultStream } from "@boundaryml/baml/native"
import type { BamlRuntime } from "../src/index.js"

export interface Target {
  readonly engine: Engine.BamlRuntime
  readonly ctx: Engine.BamlCtxManager
  readonly env: Record<string, string>
  readonly service: BamlRuntime.Service
}

export const makeTarget = (engine: Engine.BamlRuntime, env: Record<string, string>): Target => ({
  engine,
  ctx: new Engine.BamlCtxManager(engine),
  env,
  service: { engine, env }
})

/**
 * When the native runtime handed each partial to JS: the value `parsed()` returned, mapped to the moment the
 * native `onEvent` callback was entered. Clients pass the parsed value on as it is, so user code can look up
 * the emission time of the value it received.
 */
export type EmittedAt = WeakMap<object, number>

const stamped = (result: FunctionResult, at: number, emittedAt: EmittedAt): FunctionResult => ({
  isOk: () => result.isOk(),
  parsed: (allowPartials: boolean) => {
    const value: unknown = result.parsed(allowPartials)
    if (typeof value === "object" && value !== null) emittedAt.set(value, at)
    return value
  }
}) as FunctionResult

const stampedStream = (stream: FunctionResultStream, emittedAt: EmittedAt): FunctionResultStream => ({
  onEvent: (callback) =>
    stream.onEvent(
      callback === undefined
        ? undefined
        : (error, result) => {
          const at = performance.now()
          callback(error, error ? result : stamped(result, at, emittedAt))
        }
    ),
  done: (ctx) => stream.done(ctx)
}) as FunctionResultStream

/**
 * The same engine seen through a Proxy that passes every `streamFunction` call and its result through `wrap`, and
 * every `callFunction` promise through `wrapCall`.
 */
const intercept = (
  target: Target,
  wrap: (
    args: Parameters<Engine.BamlRuntime["streamFunction"]>,
    stream: FunctionResultStream
  ) => FunctionResultStream,
  wrapCall: (result: Promise<FunctionResult>) => Promise<FunctionResult> = (result) => result
): Target => {
  const engine = new Proxy(target.engine, {
    get(object, key) {
      const member: unknown = Reflect.get(object, key, object)
      if (key === "streamFunction") {
        return (...args: Parameters<Engine.BamlRuntime["streamFunction"]>) =>
          wrap(args, object.streamFunction(...args))
      }
      if (key === "callFunction") {
        return (...args: Parameters<Engine.BamlRuntime["callFunction"]>) => wrapCall(object.callFunction(...args))
      }
      // native methods check their receiver, so they are called on the engine itself
      return typeof member === "function" ? member.bind(object) : member
    }
  })
  return { ...target, engine, service: { ...target.service, engine } }
}

/**
 * The same engine, stamping every native event before any client code runs. Nothing in the clients changes; each
 * pays the same two extra closures per event.
 */
export const instrumented = (target: Target, emittedAt: EmittedAt): Target =>
  intercept(target, (_, stream) => stampedStream(stream, emittedAt))

/** The same engine, reporting the moment the abort signal of a call fires (the client has pulled the wire). */
export const watchingAborts = (target: Target, aborted: (at: number) => void): Target =>
  intercept(target, (args, stream) => {
    const signal = args[9] as AbortSignal | null | undefined
    signal?.addEventListener("abort", () => aborted(performance.now()), { once: true })
    return stream
  })

/**
 * The same engine, reporting the moment the native side hands a call's or a stream's outcome to JS: the `done()` (or
 * call) promise settling, or an error given to the `onEvent` callback, whichever comes first for that call.
 */
export const watchingOutcomes = (target: Target, settled: (at: number) => void): Target => {
  const settles = <A>(promise: Promise<A>, first: () => void) =>
    promise.then((value) => {
      first()
      return value
    }, (error: unknown) => {
      first()
      throw error
    })
  const once = () => {
    let seen = false
    return () => {
      if (!seen) settled(performance.now())
      seen = true
    }
  }
  return intercept(
    target,
    (_, stream) => {
      const first = once()
      return {
        onEvent: (callback) =>
          stream.onEvent(
            callback === undefined ? undefined : (error, result) => {
              if (error) first()
              callback(error, result)
            }
          ),
        done: (ctx) => settles(stream.done(ctx), first)
      } as FunctionResultStream
    },
    (result) => settles(result, once())
  )
}
