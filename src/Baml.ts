/**
 * BAML functions as Effects and Streams. Interrupting the consumer aborts the LLM request.
 *
 * @since 0.1.0
 */
import { Effect, Option, Scope, Stream } from "effect"
import { dual } from "effect/Function"
import type * as Layer from "effect/Layer"
import type { BamlError } from "./BamlError.js"
import { BamlInvalidArgumentError, type Call, fromEngine } from "./BamlError.js"
import type * as NativeEngine from "@boundaryml/baml"
import { retryAfterOf, settledOutcome } from "./core/errors/outcome.js"
import { fromReport, withRetryAfter } from "./internal/fromReport.js"
import { BamlRuntime, type Service } from "./BamlRuntime.js"
import * as Engine from "./core/engine/engine.js"
import * as ModelEvents from "./core/engine/modelEvents.js"
import * as Events from "./core/engine/streamEvent.js"
import type * as CoreUsage from "./core/usage/usage.js"
import { EarlyStop, meter, UsageSink } from "./internal/meter.js"
import * as Middleware from "./internal/middleware.js"
import { callSpan } from "./internal/telemetry.js"
import * as TripWire from "./core/engine/tripWire.js"
import * as Kit from "#kit"

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
export type TypeBuilder = Engine.TypeBuilder

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
export interface Options extends Engine.CallOptions {}

/**
 * The engine's `ClientRegistry` (the same methods, accepted wherever the engine's is), which records what is added to
 * it so that each call can use a copy: a call's `client` never changes it, and calls that share it can each name their
 * own client. The engine's own registry cannot be copied, and with `client` a call fails with a
 * `BamlInvalidArgumentError`.
 *
 * @example
 * ```ts
 * import { Baml } from "effect-baml"
 * import { Effect } from "effect"
 *
 * const clientRegistry = new Baml.ClientRegistry()
 * clientRegistry.addLlmClient("Fast", "openai", { model: "gpt-4o-mini", api_key: process.env.OPENAI_API_KEY })
 * clientRegistry.addLlmClient("Careful", "openai", { model: "gpt-4o", api_key: process.env.OPENAI_API_KEY })
 * const both = Effect.all([
 *   Baml.call("Summarize", { text: "..." }, { clientRegistry, client: "Fast" }),
 *   Baml.call("Summarize", { text: "..." }, { clientRegistry, client: "Careful" })
 * ], { concurrency: 2 })
 * ```
 * @since 0.2.0
 * @category models
 */
export { ClientRegistry } from "./core/engine/engine.js"

/** The trip-wire of one native call, owned by the scope: closing the scope trips it, whatever the exit. */
const tripWire: Effect.Effect<TripWire.TripWire, never, Scope.Scope> = Effect.acquireRelease(
  Effect.sync(TripWire.make),
  (wire) => Effect.sync(() => TripWire.trip(wire))
)

// Arguments the engine cannot convert (a cycle, a function) would crash it or be dropped without a word.
const checkArgs = (args: unknown): Effect.Effect<void, BamlInvalidArgumentError> =>
  Effect.suspend(() => {
    const problem = Engine.argsProblem(args)
    return problem === undefined ? Effect.void : Effect.fail(new BamlInvalidArgumentError({ message: problem }))
  })

// Effect's own report of a missing service names only its key; this one says which layer to provide.
const requireRuntime = Effect.flatMap(
  Effect.serviceOption(BamlRuntime),
  Option.match({ onNone: () => Effect.die(new Error(Engine.missingRuntime)), onSome: Effect.succeed })
) as Effect.Effect<Service, never, BamlRuntime>

/**
 * What a call and a stream both start with: checked arguments, the engine's view of the options, and how what the
 * engine settled with becomes the outcome: `toError` for what it rejects with, `settledError` for a value that does not
 * stand (a reply stopped for safety, an error event, a denied finish reason: `core/errors/outcome.ts`). Both read what
 * `collector` received.
 */
const prepare = (
  functionName: string,
  args: Readonly<Record<string, unknown>>,
  options: Options | undefined,
  collector: NativeEngine.Collector
) =>
  Effect.gen(function*() {
    const runtime = yield* requireRuntime
    yield* checkArgs(args)
    const native = yield* Effect.try({
      try: () => Engine.callArgs(runtime.engine, runtime.env, options, runtime.clients),
      catch: (cause) => fromEngine(cause, { env: runtime.env })
    })
    // The engine's records are read natively; if that fails, the engine's own outcome stands.
    const last = () => {
      try {
        return collector.last
      } catch {
        return null
      }
    }
    // The arguments are kept out of the messages: the call holds them for that.
    const toError = errorOf(native.env, { functionName, functions: runtime.functions, args }, last)
    const settledError = (): BamlError | undefined => {
      const report = settledOutcome(last(), native.client, native.env, args)
      return report === undefined ? undefined : fromReport(report)
    }
    return { engine: runtime.engine, native, toError, settledError }
  })

// The engine quotes the provider, which may echo the credentials it was sent: the call's env is redacted. Made apart
// from `prepare`, so that a stream's error mapper, kept for the stream's life, holds the env, the call and the engine's
// records (for a `Retry-After`), not all that `prepare` saw.
const errorOf = (
  env: Readonly<Record<string, string>>,
  call: Call,
  last: () => NativeEngine.FunctionLog | null
) =>
(cause: unknown): BamlError => withRetryAfter(fromEngine(cause, { env }, call), () => retryAfterOf(last()))

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
): Effect.Effect<unknown, BamlError, BamlRuntime> => Middleware.call({ functionName, args, options }, callNow)

/** One call, as it is sent: the options are final (the defaults merged in), and no middleware stands around it. */
const callNow = ({ args, functionName, options }: Middleware.Request): Effect.Effect<unknown, BamlError, BamlRuntime> =>
  Effect.scoped(
    Effect.gen(function*() {
      // Usage, metrics and the token budget. Acquired before the wire, so that it reads what the engine had received
      // once the wire is tripped.
      const usage = yield* meter("call", functionName, options?.client)
      const { engine, native, settledError, toError } = yield* prepare(functionName, args, options, usage.collector)
      const wire = yield* tripWire
      const result = yield* Effect.tryPromise({
        try: () =>
          engine.callFunction(functionName, args, ...native.options(usage.collector), wire.signal)
            .finally(() => TripWire.disarm(wire)),
        // Only an interrupt trips the wire, and an interrupted fiber has stopped waiting for this promise: every
        // rejection that arrives here is a real failure.
        catch: toError
      })
      // How the reply ended decides before its parse: a reply cut by a safety stop often does not parse either.
      const ended = settledError()
      if (ended !== undefined) return yield* Effect.fail(ended)
      return yield* Effect.try({ try: () => result.parsed(false), catch: toError })
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
  Middleware.stream({ functionName, args, options }, (request) => streamWith(request, Events.asValues, false))

/**
 * Streams a BAML function as events that say which element is which: `Partial` events while the LLM writes, then one
 * `Final` event with the fully parsed result, so that the final value can be typed apart from the partials (the
 * generated client types `Partial` with the function's partial type and `Final` with its final type). Everything else
 * is as `stream`: the newest partial wins, the final event is never dropped, ending early aborts the request.
 *
 * @example
 * ```ts
 * import { Baml } from "effect-baml"
 * import { Console, Stream } from "effect"
 *
 * const final = Baml.streamEvents("ExtractResume", { resume: "..." }).pipe(
 *   Stream.tap((event) => event._tag === "Partial" ? Console.log("so far", event.value) : Console.log("done")),
 *   Baml.final
 * )
 * ```
 * @since 0.2.0
 * @category streams
 */
export const streamEvents = (
  functionName: string,
  args: Readonly<Record<string, unknown>>,
  options?: Options
): Stream.Stream<StreamEvent<unknown, unknown>, BamlError, BamlRuntime> =>
  // every element goes through `asEvents`
  Middleware.stream({ functionName, args, options }, (request) => streamWith(request, Events.asEvents, false)) as Stream.Stream<
    StreamEvent<unknown, unknown>,
    BamlError,
    BamlRuntime
  >

/**
 * Runs a stream of events (of `streamEvents`, a generated client, or `streamWithReasoning`) to its end and returns
 * its final value, typed as the function's final type; the partials on the way are passed through whatever stages
 * come before. A stream that ends without its final event (cut short
 * by `Stream.take` before this) dies: that is a bug in the pipeline, not an outcome.
 *
 * @example
 * ```ts
 * import { Console, Effect, Stream } from "effect"
 * import { Baml } from "effect-baml"
 * import * as Client from "./baml_client/index.js"
 *
 * // Effect<Client.Resume, ...>: the partials are shown as they come, the result is the final type
 * const resume: Effect.Effect<Client.Resume, unknown, unknown> = Client.stream.ExtractResume("Ada Lovelace, ...").pipe(
 *   Stream.tap((event) => Console.log(event._tag, event.value.name)),
 *   Baml.final
 * )
 * ```
 * @since 0.2.0
 * @category streams
 */
export const final = <P, F, E, R>(self: Stream.Stream<StreamEvent<P, F> | ModelEvent, E, R>): Effect.Effect<F, E, R> =>
  Effect.flatMap(Stream.runLast(self), (last) =>
    Option.isSome(last) && last.value._tag === "Final"
      ? Effect.succeed(last.value.value)
      : Effect.die(new Error(Events.noFinal)))

/**
 * A partial result of `streamEvents`: fields still being written are null or missing, lists still growing.
 *
 * @example
 * ```ts
 * import type { Baml } from "effect-baml"
 *
 * const show = (event: Baml.Partial<{ readonly name: string | null }>) => event.value.name ?? "…"
 * ```
 * @since 0.2.0
 * @category models
 */
export type Partial<A> = Events.Partial<A>

/**
 * The final, fully parsed result of `streamEvents`: the last event of a stream that runs to its end.
 *
 * @example
 * ```ts
 * import type { Baml } from "effect-baml"
 *
 * const name = (event: Baml.Final<{ readonly name: string }>) => event.value.name
 * ```
 * @since 0.2.0
 * @category models
 */
export type Final<A> = Events.Final<A>

/**
 * An element of `streamEvents`: a `Partial` typed as the function's partial type, or the `Final`, as its final type.
 *
 * @example
 * ```ts
 * import type { Baml } from "effect-baml"
 *
 * const label = (event: Baml.StreamEvent<unknown, unknown>) => event._tag === "Final" ? "done" : "so far"
 * ```
 * @since 0.2.0
 * @category models
 */
export type StreamEvent<P, F> = Events.StreamEvent<P, F>

/**
 * Whether an element is an event of `streamEvents` (rather than a value of `stream`).
 *
 * @example
 * ```ts
 * import { Baml } from "effect-baml"
 *
 * const isEvent = Baml.isStreamEvent({ _tag: "Final", value: 1 }) // false: not made by streamEvents
 * ```
 * @since 0.2.0
 * @category guards
 */
export const isStreamEvent: (u: unknown) => u is StreamEvent<unknown, unknown> = Events.isStreamEvent

/**
 * Ends a stream of events at the first partial that satisfies `predicate`, aborts the LLM request there, and returns
 * that partial, typed as the function's partial type; when no partial does, the stream runs to its end and the
 * result is the `Final` event. Use it for a reply that is useful before it ends: the first three matches of a list,
 * a verdict whose `label` has arrived (a field marked `@stream.done` is there only once complete; one marked
 * `@stream.with_state` says `state: "Complete"`). The stream's {@link Usage} says `stoppedEarly: true`, with the
 * output tokens used until the stop.
 *
 * @example
 * ```ts
 * import { Baml } from "effect-baml"
 * import { Effect } from "effect"
 * import * as Client from "./baml_client/index.js"
 *
 * // the first three skills, and not a token more
 * const program = Client.stream.ExtractResume("Ada Lovelace, ...").pipe(
 *   Baml.stopWhen((resume) => resume.skills.length > 3),
 *   Effect.map((event) => event._tag === "Partial" ? event.value.skills.slice(0, 3) : event.value.skills)
 * )
 * ```
 * @since 0.3.0
 * @category streams
 */
export const stopWhen: {
  <P>(
    predicate: (partial: P) => boolean
  ): <F, E, R>(self: Stream.Stream<StreamEvent<P, F> | ModelEvent, E, R>) => Effect.Effect<StreamEvent<P, F>, E, R>
  <P, F, E, R>(
    self: Stream.Stream<StreamEvent<P, F> | ModelEvent, E, R>,
    predicate: (partial: P) => boolean
  ): Effect.Effect<StreamEvent<P, F>, E, R>
} = dual(2, <P, F, E, R>(
  self: Stream.Stream<StreamEvent<P, F> | ModelEvent, E, R>,
  predicate: (partial: P) => boolean
): Effect.Effect<StreamEvent<P, F>, E, R> =>
  Effect.suspend(() => {
    // The streams inside are told, through their context, that their consumer stopped them on purpose: their meters
    // read it when they end.
    const stop = { stopped: false }
    const found = (element: StreamEvent<P, F> | ModelEvent): element is StreamEvent<P, F> => {
      if (ModelEvents.isModelEvent(element)) return false
      if (element._tag === "Final") return true
      return stop.stopped = predicate(element.value)
    }
    return Effect.flatMap(
      Effect.provideService(Stream.runHead(Stream.filter(self, found)), EarlyStop, stop),
      (head) => Option.isSome(head) ? Effect.succeed(head.value as StreamEvent<P, F>) : Effect.die(new Error(Events.noFinal))
    )
  }))

/**
 * Streams a BAML function as {@link streamEvents} does, with the model's own events among them: `ReasoningDelta`
 * events with its reasoning text as it arrives (Anthropic's thinking, OpenAI reasoning summaries, Gemini's thoughts,
 * `reasoning_content` of OpenAI-compatible servers), and one `Finish` event with the finish reason, just before the
 * `Final` event. The text is read from the raw events the engine received, at most every 50 ms while the stream runs
 * and once at its end; other streams read none of it. Partials still replace each other when the consumer is slower;
 * reasoning deltas are never dropped.
 *
 * @example
 * ```ts
 * import { Baml } from "effect-baml"
 * import { Console, Stream } from "effect"
 *
 * const final = Baml.streamWithReasoning("ExtractResume", { resume: "..." }, { client: "Claude" }).pipe(
 *   Stream.tap((event) => event._tag === "ReasoningDelta" ? Console.log("thinking:", event.delta) : Console.log(event._tag)),
 *   Baml.final
 * )
 * ```
 * @since 0.3.0
 * @category streams
 */
export const streamWithReasoning = (
  functionName: string,
  args: Readonly<Record<string, unknown>>,
  options?: Options
): Stream.Stream<StreamEvent<unknown, unknown> | ModelEvent, BamlError, BamlRuntime> =>
  // every element is an event, or one of the model's
  Middleware.stream({ functionName, args, options }, (request) => streamWith(request, Events.asEvents, true)) as Stream.Stream<
    StreamEvent<unknown, unknown> | ModelEvent,
    BamlError,
    BamlRuntime
  >

/**
 * Reasoning text the model wrote since the last such event, in {@link streamWithReasoning}.
 *
 * @example
 * ```ts
 * import type { Baml } from "effect-baml"
 *
 * const thinking = (event: Baml.ReasoningDelta) => event.delta
 * ```
 * @since 0.3.0
 * @category models
 */
export type ReasoningDelta = ModelEvents.ReasoningDelta

/**
 * Why the model stopped, in the provider's own words (`stop`, `length`, `end_turn`, `max_tokens`, `STOP`, `completed`,
 * `max_output_tokens`, …), in {@link streamWithReasoning}: one, just before the `Final` event.
 *
 * @example
 * ```ts
 * import type { Baml } from "effect-baml"
 *
 * const truncated = (event: Baml.Finish) => event.reason === "length" || event.reason === "max_tokens"
 * ```
 * @since 0.3.0
 * @category models
 */
export type Finish = ModelEvents.Finish

/**
 * An event of the model that is not a value of the function: a {@link ReasoningDelta} or the {@link Finish}.
 *
 * @example
 * ```ts
 * import type { Baml } from "effect-baml"
 *
 * const describe = (event: Baml.ModelEvent) => event._tag === "Finish" ? event.reason : event.delta
 * ```
 * @since 0.3.0
 * @category models
 */
export type ModelEvent = ModelEvents.ModelEvent

/**
 * Runs `self` with default options for every call and stream inside it (generated clients and jobs included). A call's
 * own options are merged over them field by field: a field the call sets wins, `tags` and `env` are merged key by key,
 * the `collectors` of both record the call. Nested, the inner defaults are merged over the outer ones the same way.
 * Nothing given is changed: a call with `client` uses its own copy of the registry.
 *
 * @example
 * ```ts
 * import { Baml } from "effect-baml"
 * import { Effect } from "effect"
 *
 * const program = Effect.all([
 *   Baml.call("ExtractResume", { resume: "..." }),
 *   Baml.call("Summarize", { text: "..." }, { tags: { step: "summary" } }) // tags: { team: "hr", step: "summary" }
 * ]).pipe(Baml.withOptions({ client: "Careful", tags: { team: "hr" } }))
 * ```
 * @since 0.3.0
 * @category options
 */
export const withOptions: {
  (options: Options): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  <A, E, R>(self: Effect.Effect<A, E, R>, options: Options): Effect.Effect<A, E, R>
} = dual(
  2,
  <A, E, R>(self: Effect.Effect<A, E, R>, options: Options): Effect.Effect<A, E, R> =>
    Middleware.provideOptions(self, options)
)

/**
 * A layer that sets default options for every call and stream of the program it is provided to, as
 * {@link withOptions} does (merged over the defaults in force where the layer is built).
 *
 * @example
 * ```ts
 * import { Baml, BamlRuntime } from "effect-baml"
 * import { Effect, Layer } from "effect"
 *
 * const Live = Layer.merge(BamlRuntime.layerFromDirectory("./baml_src"), Baml.layerOptions({ tags: { service: "cv" } }))
 * const program = Baml.call("ExtractResume", { resume: "..." }).pipe(Effect.provide(Live))
 * ```
 * @since 0.3.0
 * @category options
 */
export const layerOptions = (options: Options): Layer.Layer<CurrentOptions> => Middleware.layerOptions(options)

/**
 * The default options in force where it is provided (set by {@link withOptions} and {@link layerOptions}; nothing
 * needs to read it).
 *
 * @example
 * ```ts
 * import { Baml } from "effect-baml"
 * import { Effect, Option } from "effect"
 *
 * const defaultClient = Effect.map(Effect.serviceOption(Baml.CurrentOptions), Option.map((options) => options.client))
 * ```
 * @since 0.3.0
 * @category options
 */
export const CurrentOptions = Middleware.CurrentOptions

/**
 * The service of {@link CurrentOptions}: the default options in force.
 *
 * @example
 * ```ts
 * import type { Baml } from "effect-baml"
 * import type { Layer } from "effect"
 *
 * declare const defaults: Layer.Layer<Baml.CurrentOptions>
 * ```
 * @since 0.3.0
 * @category options
 */
export type CurrentOptions = Middleware.CurrentOptions

const streamWith = (
  { args, functionName, options }: Middleware.Request,
  wrap: Events.Wrap,
  reasoning: boolean
): Stream.Stream<unknown, BamlError, BamlRuntime> =>
  // The stream keeps the effect that builds it for its life: in `suspend`, the generator function (with the shape and
  // prototype V8 makes for each one it runs, ~0.4 KB) is made when the stream starts, and not kept.
  Kit.unwrapStream(Effect.suspend(() =>
    Effect.gen(function*() {
      // What `Stream.callback` (Effect 4) or `Stream.asyncPush` (Effect 3) with a sliding buffer of one builds, with
      // one more hook in the pull (see `streamOf` below). With reasoning, whose text comes as deltas, the queue keeps
      // every element, and partials replace each other before they reach it (`newestPartial`).
      const queue = yield* (reasoning ? Kit.makeEventQueue<BamlError>() : Kit.makePartialQueue<BamlError>())
      const newest = reasoning ? Events.newestPartial(wrap, (element) => Kit.offerUnsafe(queue, element)) : undefined
      const usage = yield* meter("stream", functionName, options?.client)
      const { engine, native, settledError, toError } = yield* prepare(functionName, args, options, usage.collector)
      // Nothing of the raw events is read unless reasoning was asked for.
      const thinking = reasoning
        ? ModelEvents.makeReader(usage.collector, (delta) => Kit.offerUnsafe(queue, ModelEvents.reasoningDelta(delta)))
        : undefined
      // One resource: the trip-wire and the native stream it guards. Closing the scope trips the wire first (nothing
      // else stands between the consumer leaving and the abort), then releases the callbacks, which the engine holds
      // (with all they capture) until they are released, then shuts the queue down. One finalizer for the three, added
      // to the scope before the native stream starts, so that nothing comes between the start and it (each finalizer
      // of a scope costs a stream memory, and `acquireRelease` holds its whole acquisition until the scope closes).
      const wire = TripWire.make()
      // Each event the engine receives is counted against the token budget; when it goes over, the stream fails and
      // the request is cut off at once, however busy the consumer is.
      const tick = TripWire.releasable(() => {
        const exceeded = usage.onTick(wire.tripped)
        if (exceeded === undefined) return thinking?.tick()
        usage.settled({ _tag: "Failure", error: exceeded })
        Kit.failUnsafe(queue, exceeded)
        TripWire.trip(wire)
      })
      let handle: ReturnType<typeof engine.streamFunction> | undefined
      yield* Scope.addFinalizer(
        yield* Effect.scope,
        Effect.suspend(() => {
          if (handle !== undefined) {
            TripWire.trip(wire)
            handle.onEvent(undefined)
            tick.release()
            thinking?.close()
          }
          return Kit.shutdown(queue)
        })
      )
      // Not `Effect.try`: a closure here would keep the engine's arguments for the stream's life.
      try {
        handle = engine.streamFunction(
          functionName,
          args,
          undefined,
          ...native.options(usage.collector),
          wire.signal,
          tick.call
        )
      } catch (cause) {
        return yield* Effect.fail(toError(cause))
      }
      usage.started()
      // Once the wire is tripped the consumer has gone, and the engine's abort report has nobody to go to. Whether
      // the wire was tripped is the test, not the error's text: a model's reply can say "Operation was aborted" too.
      const fail = (error: BamlError) => {
        if (wire.tripped) return
        usage.settled({ _tag: "Failure", error })
        Kit.failUnsafe(queue, error)
      }
      let callbackError: unknown = undefined
      handle.onEvent((error, partial) => {
        if (error) callbackError ??= error
        // A partial that is not ok is a failed attempt (a retry or a fallback may follow); the final result says.
        else if (partial.isOk()) {
          let value: unknown
          try {
            value = partial.parsed(true)
          } catch {
            // a partial that cannot be read is skipped; the next snapshot or the final result replaces it
            return
          }
          usage.firstPartial()
          // The newest partial replaces one the consumer has not taken yet.
          if (newest === undefined) Kit.offerUnsafe(queue, wrap.partial(value))
          else newest.offer(value)
        }
      })
      handle.done(native.ctx).then(
        (result) => {
          TripWire.disarm(wire)
          let value: unknown
          try {
            if (callbackError !== undefined) throw callbackError
            // How the reply ended decides before its parse, as for a call: never a final value cut short silently.
            const ended = settledError()
            if (ended !== undefined) return fail(ended)
            value = result.parsed(false)
          } catch (cause) {
            return fail(toError(cause))
          }
          usage.settled({ _tag: "Success" })
          if (thinking !== undefined) {
            const rest = thinking.settle()
            if (rest.reasoning.length > 0) Kit.offerUnsafe(queue, ModelEvents.reasoningDelta(rest.reasoning))
            if (rest.finishReason !== undefined) Kit.offerUnsafe(queue, ModelEvents.finish(rest.finishReason))
          }
          // The final value, then the end: the queue is done once the consumer has taken it.
          Kit.offerUnsafe(queue, wrap.final(value))
          Kit.endUnsafe(queue)
        },
        (cause) => {
          TripWire.disarm(wire)
          fail(toError(cause))
        }
      )
      // When the fiber waiting in the stream's pull is interrupted (`Fiber.interrupt`, a timeout, a lost race), the
      // wire is tripped at once, before Effect unwinds the consumer and closes the stream's scope. The stream has then
      // ended: a later pull (only possible with `Stream.toPull`) finds it interrupted rather than waiting for an
      // aborted request.
      const elements = Kit.streamOf(queue, (interruptors) => {
        TripWire.trip(wire)
        Kit.interruptUnsafe(queue, interruptors)
      })
      return newest === undefined ? elements : Stream.map(elements, newest.resolve)
    })
  ))

/**
 * What one call or stream used and how it ended, handed over by {@link withUsage}: input, output and cached input
 * tokens with, for each, whether the provider reported it (`reported`) or it is an estimate; the client that
 * answered, its provider and models; the attempts; whether the request was aborted (`aborted`, `outcome`) and how far
 * it got (`events` and `characters` received, `outputTokens`); why the reply ended (`finishReason`, the provider's own
 * word: a reply cut by length that the client does not deny is a value, and this says it was cut).
 *
 * @example
 * ```ts
 * import type { Baml } from "effect-baml"
 *
 * const describe = (usage: Baml.Usage) =>
 *   `${usage.outputTokens} output tokens (${usage.reported.outputTokens ? "reported" : "estimated"}) from ${usage.client}`
 * ```
 * @since 0.2.0
 * @category models
 */
export interface Usage extends CoreUsage.Usage {}

/**
 * Runs `self` and returns its value with the usage of every `Baml.call` and `Baml.stream` that ran inside it (in the
 * order they ended), without a metric reader or a span exporter. A stream cut short (`Stream.take`, an interrupt of a
 * fiber forked inside, a budget) is there with `aborted: true` and what it had received. To keep the usage of an
 * effect that fails, wrap it in `Effect.exit` first. Nested, each `withUsage` sees the calls inside it.
 *
 * @example
 * ```ts
 * import { Baml } from "effect-baml"
 * import { Effect, Stream } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const [partials, [usage]] = yield* Baml.stream("ExtractResume", { resume: "..." }).pipe(
 *     Stream.take(3),
 *     Stream.runCollect,
 *     Baml.withUsage
 *   )
 *   // usage.aborted: true, usage.outputTokens: what arrived before the abort (usage.reported.outputTokens: false)
 *   return { partials, usage }
 * })
 * ```
 * @since 0.2.0
 * @category usage
 */
export const withUsage = <A, E, R>(
  self: Effect.Effect<A, E, R>
): Effect.Effect<readonly [A, ReadonlyArray<Usage>], E, R> =>
  Effect.suspend(() => {
    const usages: Array<Usage> = []
    return Effect.flatMap(Effect.serviceOption(UsageSink), (outer) => {
      const sink = (usage: Usage) => {
        usages.push(usage)
        if (Option.isSome(outer)) outer.value(usage)
      }
      return Effect.map(Effect.provideService(self, UsageSink, sink), (value) => [value, usages] as const)
    })
  })

/**
 * {@link call}, returning the parsed result with what the call used.
 *
 * @example
 * ```ts
 * import { Baml } from "effect-baml"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const [resume, usage] = yield* Baml.callWithUsage("ExtractResume", { resume: "Ada Lovelace" })
 *   yield* Effect.log(`${usage.inputTokens} in, ${usage.outputTokens} out, ${usage.attempts} attempt(s)`)
 *   return resume
 * })
 * ```
 * @since 0.2.0
 * @category usage
 */
export const callWithUsage = (
  functionName: string,
  args: Readonly<Record<string, unknown>>,
  options?: Options
): Effect.Effect<readonly [unknown, Usage], BamlError, BamlRuntime> =>
  Effect.map(withUsage(call(functionName, args, options)), ([value, usages]) => [value, usages[0]!] as const)
