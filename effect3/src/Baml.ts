/**
 * BAML functions as Effects and Streams. Interrupting the consumer aborts the LLM request.
 *
 * @since 0.1.0
 */
import type * as Engine from "@boundaryml/baml"
import type { TypeBuilder as NativeTypeBuilder } from "@boundaryml/baml/native"
import { Cause, Chunk, Effect, Exit, FiberId, Mailbox, Option, Stream } from "effect"
import type * as Scope from "effect/Scope"
import type { BamlError } from "./BamlError.js"
import { BamlInvalidArgumentError, fromEngine } from "./BamlError.js"
import { BamlRuntime } from "./BamlRuntime.js"
import { argsProblem, callArgs } from "./internal/engine.js"
import type { Emit } from "./internal/meter.js"
import { callSpan, meter } from "./internal/meter.js"

/**
 * A type builder for dynamic types: the engine's native one, `@boundaryml/baml/type_builder`'s, or the one a
 * generated BAML client exports.
 *
 * @example
 * ```ts
 * import { Baml, BamlRuntime } from "effect-baml"
 * import { TypeBuilder } from "@boundaryml/baml/type_builder"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const { engine } = yield* BamlRuntime.BamlRuntime
 *   const tb = new TypeBuilder({ classes: new Set(["Pet"]), enums: new Set(), runtime: engine })
 *   tb.classBuilder("Pet", ["name"]).addProperty("legs", tb.int())
 *   return yield* Baml.call("DescribePet", { description: "a cat" }, { typeBuilder: tb })
 * })
 * ```
 * @since 0.1.0
 * @category models
 */
export type TypeBuilder =
  | NativeTypeBuilder
  | { readonly _tb: () => NativeTypeBuilder }
  | { readonly __tb: () => NativeTypeBuilder }

/**
 * Per-call options, as the official BAML client takes them.
 *
 * @example
 * ```ts
 * import { Baml } from "effect-baml"
 * import { Collector } from "@boundaryml/baml"
 *
 * const collector = new Collector("resumes")
 * const options: Baml.Options = { client: "OpenAI", collectors: [collector], tags: { user: "42" } }
 * const program = Baml.call("ExtractResume", { resume: "..." }, options)
 * ```
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /**
   * The client to use instead of the function's own. With a `clientRegistry` too, it sets that registry's primary
   * client, as the official client does: the registry keeps it for later calls.
   */
  readonly client?: string | undefined
  /** Clients defined at run time; the engine's own `ClientRegistry`. */
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
 * The trip-wire: an AbortController whose signal goes to the native call. Closing the scope pulls it, and the engine
 * then drops the HTTP request. A call the engine has settled has nothing left to abort, and pulling the wire would
 * still cost an exception object and the engine's abort listener: settling disarms it.
 */
interface TripWire {
  readonly controller: AbortController
  armed: boolean
}

const armedWire = (): TripWire => ({ controller: new AbortController(), armed: true })

const pull = (wire: TripWire): void => {
  if (wire.armed) wire.controller.abort()
}

const tripWire: Effect.Effect<TripWire, never, Scope.Scope> = Effect.acquireRelease(
  Effect.sync(armedWire),
  (wire) => Effect.sync(() => pull(wire))
)

const engineCall = <A>(evaluate: () => A, toError: (cause: unknown) => BamlError): Effect.Effect<A, BamlError> =>
  Effect.try({ try: evaluate, catch: toError })

// Arguments the engine cannot convert (a cycle, a function) would crash it or be dropped without a word.
const checkArgs = (args: unknown): Effect.Effect<void, BamlInvalidArgumentError> =>
  Effect.suspend(() => {
    const problem = argsProblem(args)
    return problem === undefined ? Effect.void : Effect.fail(new BamlInvalidArgumentError({ message: problem }))
  })

/** What a call and a stream both start with: checked arguments and the engine's view of the options. */
const prepare = (args: Readonly<Record<string, unknown>>, options: Options | undefined) =>
  Effect.gen(function*() {
    const runtime = yield* BamlRuntime
    yield* checkArgs(args)
    const native = yield* engineCall(
      () => callArgs(runtime.engine, runtime.env, options),
      (cause) => fromEngine(cause, { env: runtime.env })
    )
    // The engine quotes the provider, which may echo the credentials it was sent: the call's env is redacted.
    const toError = (cause: unknown) => fromEngine(cause, { env: native.env })
    return { engine: runtime.engine, native, toError }
  })

/**
 * Calls a BAML function and returns its parsed result. Interrupting the fiber aborts the LLM request.
 *
 * @example
 * ```ts
 * import { Baml, BamlRuntime } from "effect-baml"
 * import { Effect } from "effect"
 *
 * const program = Baml.call("ExtractResume", { resume: "Ada Lovelace, mathematician" }).pipe(
 *   Effect.timeout("10 seconds"), // on timeout the request is aborted, not left running
 *   Effect.provide(BamlRuntime.layerFromDirectory("./baml_src"))
 * )
 * ```
 * @since 0.1.0
 * @category calls
 */
export const call = (
  functionName: string,
  args: Readonly<Record<string, unknown>>,
  options?: Options
): Effect.Effect<unknown, BamlError, BamlRuntime> =>
  Effect.scoped(
    Effect.gen(function*() {
      // Usage, metrics and the token budget. Acquired before the wire, so that it reads what the engine had received
      // once the wire is pulled.
      const usage = yield* meter("call", functionName, options?.client)
      const { engine, native, toError } = yield* prepare(args, options)
      const wire = yield* tripWire
      const result = yield* Effect.tryPromise({
        try: () =>
          engine.callFunction(functionName, args, ...native.options(usage.collector), wire.controller.signal)
            .finally(() => (wire.armed = false)),
        // Only an interrupt pulls the wire, and an interrupted fiber has stopped waiting for this promise: every
        // rejection that arrives here is a real failure.
        catch: toError
      })
      return yield* engineCall(() => result.parsed(false), toError)
    })
  ).pipe(callSpan(functionName))

/**
 * Streams a BAML function: each element is the newest partial result, and the last element is the final, fully
 * parsed result. When the consumer is slower than the LLM only the newest partial is kept (partials are snapshots,
 * not deltas); the final result is never dropped. Ending the stream early in any way (`Stream.take`, an interrupt, a
 * failing downstream stage, a closed scope) aborts the LLM request.
 *
 * @example
 * ```ts
 * import { Baml } from "effect-baml"
 * import { Stream } from "effect"
 *
 * // Only the first three partials are generated and paid for: the request is aborted after them.
 * const firstThree = Baml.stream("ExtractResume", { resume: "..." }).pipe(Stream.take(3), Stream.runCollect)
 * // The final result, with every partial on the way.
 * const final = Baml.stream("ExtractResume", { resume: "..." }).pipe(Stream.runLast)
 * ```
 * @since 0.1.0
 * @category streams
 */
export const stream = (
  functionName: string,
  args: Readonly<Record<string, unknown>>,
  options?: Options
): Stream.Stream<unknown, BamlError, BamlRuntime> =>
  Stream.unwrapScoped(
    Effect.gen(function*() {
      // What `Stream.asyncPush` with a sliding buffer of one builds, with one more hook in the pull (see `pullFrom`).
      const mailbox = yield* Effect.acquireRelease(
        Mailbox.make<unknown, BamlError>({ capacity: 1, strategy: "sliding" }),
        (mailbox) => mailbox.shutdown
      )
      const usage = yield* meter("stream", functionName, options?.client)
      const { engine, native, toError } = yield* prepare(args, options)
      // One resource: the trip-wire and the native stream it guards. Closing the scope pulls the wire first (nothing
      // else stands between the consumer leaving and the abort), then releases the callback, which the native
      // stream holds (with all it captures) until it is released.
      const { emit, handle, wire } = yield* Effect.acquireRelease(
        engineCall(() => {
          const wire = armedWire()
          // `emit` notes the first partial and how the engine ended; `onTick` counts each event against the token
          // budget, and pulls the wire when the budget is spent.
          const { emit, onTick } = usage.watch(emitTo(mailbox), wire.controller)
          const tick = releasable(onTick)
          const handle = engine.streamFunction(
            functionName,
            args,
            undefined,
            ...native.options(usage.collector),
            wire.controller.signal,
            tick.call
          )
          return { emit, handle, tick, wire }
        }, toError),
        ({ handle, tick, wire }) =>
          Effect.sync(() => {
            pull(wire)
            handle.onEvent(undefined)
            tick.release()
          })
      )
      // Once the wire is pulled the consumer has gone, and the engine's abort report has nobody to go to. Whether
      // the wire was pulled is the test, not the error's text: a model's reply can say "Operation was aborted" too.
      const fail = (cause: unknown) => {
        if (!wire.controller.signal.aborted) emit.fail(toError(cause))
      }
      let callbackError: unknown = undefined
      handle.onEvent((error, partial) => {
        if (error) callbackError ??= error
        // A partial that is not ok is a failed attempt (a retry or a fallback may follow); the final result says.
        else if (partial.isOk()) {
          try {
            emit.partial(partial.parsed(true))
          } catch {
            // a partial that cannot be read is skipped; the next snapshot or the final result replaces it
          }
        }
      })
      handle.done(native.ctx).then(
        (result) => {
          wire.armed = false
          try {
            if (callbackError !== undefined) throw callbackError
            emit.final(result.parsed(false))
          } catch (cause) {
            fail(cause)
          }
        },
        (cause) => {
          wire.armed = false
          fail(cause)
        }
      )
      return Stream.repeatEffectChunkOption(pullFrom(mailbox, wire))
    })
  )

/**
 * A callback for the engine that lets go of `f` when released. The engine (0.226.2) keeps a stream's `onTick` after
 * the stream has ended, for good: holding `f` itself, it kept the whole stream (~17 KB a stream after `Stream.take`);
 * holding this forwarder, it keeps two small objects.
 */
const releasable = (f: () => void) => {
  const ref: { f: (() => void) | undefined } = { f }
  return { call: () => ref.f?.(), release: () => void (ref.f = undefined) }
}

/** Where the engine's results go: the newest partial replaces one not yet taken; the final value, then the end. */
const emitTo = (mailbox: Mailbox.Mailbox<unknown, BamlError>): Emit => ({
  partial: (value) => void mailbox.unsafeOffer(value),
  final: (value) => {
    mailbox.unsafeOffer(value)
    mailbox.unsafeDone(Exit.void)
  },
  fail: (error) => void mailbox.unsafeDone(Exit.fail(error))
})

/**
 * The stream's pull. When the fiber waiting in it is interrupted (`Fiber.interrupt`, a timeout, a lost race), the wire
 * is pulled at once, before Effect unwinds the consumer and closes the stream's scope. The stream has then ended: a
 * later pull (only possible with `Stream.toPull`) finds it interrupted rather than waiting for an aborted request.
 */
const pullFrom = (mailbox: Mailbox.Mailbox<unknown, BamlError>, wire: TripWire) =>
  mailbox.takeAll.pipe(
    Effect.onInterrupt((interruptors) =>
      Effect.sync(() => {
        pull(wire)
        mailbox.unsafeDone(Exit.failCause(Cause.interrupt(FiberId.combineAll(interruptors))))
      })
    ),
    Effect.mapError(Option.some),
    Effect.flatMap(([partials, done]) =>
      done && Chunk.isEmpty(partials) ? Effect.fail(Option.none()) : Effect.succeed(partials)
    )
  )
