/**
 * What the Effect 4 line needs that Effect 3 names or shapes differently. Every Effect-facing module of effect-baml is
 * written once and imports these names from `#kit` (and `#kit/http`, `#kit/client`), which each line's build, type
 * check and tests resolve to that line's kit: `src/kit/effect4/` for `effect-baml`, `src/kit/effect3/` for
 * `effect-baml/effect3`. Both kits export the same names with the same meaning; a name is here only because the two
 * Effects differ on it. Private: the package does not export it.
 */
import { Cause, Context, Deferred, type Duration, Effect, FileSystem, Layer, Metric, Queue, Schema, SchemaIssue, Stream } from "effect"
import type { NonEmptyReadonlyArray } from "effect/Array"
import type * as Platform from "effect/PlatformError"
import type * as Pull from "effect/Pull"
import type * as Scope from "effect/Scope"
import type * as Tracer from "effect/Tracer"

export { FileSystem }

// Services and layers

/** `Context.Service`: `class X extends Service<X, Shape>()("key") {}` declares a service. */
export const Service = Context.Service

/** `Layer.effect`: a layer from a scoped effect (Effect 4's `Layer.effect` owns the scope). */
export const layerScoped = Layer.effect

/** `Layer.unwrap`: the layer an effect builds. */
export const unwrapLayer = Layer.unwrap

// Effect, Cause, Stream

/** `Effect.callback`: an effect completed by a callback. */
export const callback = Effect.callback

/** `Effect.forkDetach`: a fiber outside the current one's supervision. */
export const forkDetach = Effect.forkDetach

/** `Effect.catch`: recovers from any typed error. */
export const catchAll = Effect.catch

/** `Cause.findErrorOption`: the first typed error of a cause. */
export const failureOption = Cause.findErrorOption

/** `Cause.hasInterruptsOnly`: whether a cause holds interruptions and nothing else. */
export const isInterruptedOnly = Cause.hasInterruptsOnly

/** `Deferred.doneUnsafe`: completes a deferred from outside Effect. */
export const deferredDoneUnsafe = Deferred.doneUnsafe

/** `Duration.Input`: how long, as this line's functions take it. */
export type DurationInput = Duration.Input

/** The options of a span as effect-baml makes them. */
export interface SpanOptions {
  readonly kind: Tracer.SpanKind
  readonly attributes: Readonly<Record<string, unknown>>
}

/** `Effect.makeSpanScoped`: a span ended when the scope closes (Effect 4 captures no call-site stack for it). */
export const makeSpanScoped = (name: string, options: SpanOptions): Effect.Effect<Tracer.Span, never, Scope.Scope> =>
  Effect.makeSpanScoped(name, options)

/** `Stream.unwrap`: the stream a scoped effect builds, its scope closed with the stream. */
export const unwrapStream = Stream.unwrap

/** `Stream.catch`: recovers from any typed error of a stream. */
export const catchAllStream = Stream.catch

/** `Stream.catchCause`: recovers from any cause a stream ends with. */
export const catchAllCauseStream = Stream.catchCause

/** `Stream.fromEffectDrain`: a stream that runs an effect and emits nothing. */
export const drainStream = Stream.fromEffectDrain

/** `Stream.isStream`: whether a value is a stream. */
export const isStream = (u: unknown): u is Stream.Stream<unknown, unknown, unknown> => Stream.isStream(u)

// The partial queue: a stream's partials from the engine's callback to the consumer's pull

/**
 * The mailbox between the engine's callback and the stream's pull: capacity one, sliding (the newest partial
 * replaces one not yet taken; partials are snapshots, not deltas), ended with the final value or a failure.
 */
export type PartialQueue<E> = Queue.Queue<unknown, E | Cause.Done>

/** Makes a {@link PartialQueue}; whoever makes it shuts it down (`shutdown`) when the stream's scope closes. */
export const makePartialQueue = <E>(): Effect.Effect<PartialQueue<E>> =>
  Queue.make<unknown, E | Cause.Done>({ capacity: 1, strategy: "sliding" })

/** Shuts the queue down: a pull still waiting on it is interrupted. */
export const shutdown = <E>(self: PartialQueue<E>): Effect.Effect<void> => Effect.asVoid(Queue.shutdown(self))

/**
 * Makes a {@link PartialQueue} that keeps every value: for events that are deltas (reasoning text), which a sliding
 * queue would drop. Whoever offers to it decides how partials are coalesced; whoever makes it shuts it down.
 */
export const makeEventQueue = <E>(): Effect.Effect<PartialQueue<E>> => Queue.unbounded<unknown, E | Cause.Done>()

/** Offers a value from outside Effect (the engine's callback); a full queue drops its oldest value. */
export const offerUnsafe = <E>(self: PartialQueue<E>, value: unknown): void => {
  Queue.offerUnsafe(self, value)
}

/** Fails the queue from outside Effect: the consumer's next pull fails with `error`. */
export const failUnsafe = <E>(self: PartialQueue<E>, error: E): void => {
  Queue.failCauseUnsafe(self, Cause.fail(error))
}

/** Ends the queue from outside Effect: the consumer takes what is in it, then the stream ends. */
export const endUnsafe = <E>(self: PartialQueue<E>): void => {
  Queue.endUnsafe(self)
}

/** Ends the queue as interrupted by `interruptors` (the fibers that interrupted the pull). */
export const interruptUnsafe = <E>(self: PartialQueue<E>, interruptors: ReadonlySet<number>): void => {
  Queue.failCauseUnsafe(
    self,
    interruptors.size === 0
      ? Cause.interrupt()
      : Cause.fromReasons(Array.from(interruptors, (id) => Cause.makeInterruptReason(id)))
  )
}

/**
 * The stream that pulls the queue. `onInterrupt` runs, with the interruptors' ids, when the fiber waiting in a pull
 * is interrupted: before Effect unwinds the consumer and closes the stream's scope.
 */
export const streamOf = <E>(
  self: PartialQueue<E>,
  onInterrupt: (interruptors: ReadonlySet<number>) => void
): Stream.Stream<unknown, E> => {
  const pull: Pull.Pull<NonEmptyReadonlyArray<unknown>, E> = Queue.takeAll(self).pipe(
    Effect.onInterrupt((interruptors) => Effect.sync(() => onInterrupt(interruptors)))
  )
  return Stream.fromPull(Effect.succeed(pull))
}

// Schema

/** `Schema.Union`: a union of the member schemas. */
export const Union = <const Members extends readonly [Schema.Top, Schema.Top, ...Array<Schema.Top>]>(
  ...members: Members
): Schema.Union<Members> =>
  Schema.Union(members)

/** `Schema.Record`: a record of `key` to `value`. */
export const Record = <K extends Schema.Record.Key, V extends Schema.Top>(key: K, value: V): Schema.$Record<K, V> =>
  Schema.Record(key, value)

/** A schema that decodes what its encoded form `I` is into `A`, needing no services. */
export type Codec<A, I = A> = Schema.Codec<A, I>

/** The encoded form of a schema. */
export type Encoded<S extends Schema.Top> = Schema.Codec.Encoded<S>

/** What a decoding fails with. */
export type SchemaError = Schema.SchemaError

/** `Schema.decodeUnknownEffect`: decodes an unknown value in an effect. */
export const decodeUnknown = <A, I>(schema: Codec<A, I>) => (input: unknown): Effect.Effect<A, SchemaError> =>
  Schema.decodeUnknownEffect(schema)(input)

const formatIssues = SchemaIssue.makeFormatterStandardSchemaV1()

/** The issues of a failed decoding, each with the path of the value it is about. */
export const issuesOf = (
  error: SchemaError
): ReadonlyArray<{ readonly path: ReadonlyArray<unknown>; readonly message: string }> =>
  formatIssues(error.issue).issues.map((issue) => ({ path: issue.path ?? [], message: issue.message }))

// Metrics

/** A counter of numbers. */
export type Counter = Metric.Counter<number>

/** A histogram of numbers. */
export type Histogram = Metric.Histogram<number>

/** `Metric.counter`. */
export const counter = (name: string, options: { readonly description: string; readonly incremental?: boolean }): Metric.Counter<number> =>
  Metric.counter(name, options)

/** `Metric.histogram` with boundaries given as numbers. */
export const histogram = (
  name: string,
  options: { readonly description: string; readonly boundaries: ReadonlyArray<number> }
): Metric.Histogram<number> => Metric.histogram(name, options)

/** `Metric.exponentialBoundaries`. */
export const exponentialBoundaries = (
  options: { readonly start: number; readonly factor: number; readonly count: number }
): ReadonlyArray<number> => Metric.exponentialBoundaries(options)

/** The attributes of one data point, made once per distinct set (a metric finds its series fastest by the same one). */
export type MetricTags = Readonly<Record<string, string>>

/** Makes {@link MetricTags} from name and value pairs. */
export const metricTags = (entries: ReadonlyArray<readonly [string, string]>): MetricTags => Object.fromEntries(entries)

/** Updates metrics from outside Effect, with the fiber's own metric attributes (`Metric.CurrentMetricAttributes`) under ours. */
export const metricUpdater: Effect.Effect<(metric: Counter | Histogram, value: number, tags: MetricTags) => void> =
  Effect.map(Effect.context<never>(), (context) => {
    const fiber = Context.get(context, Metric.CurrentMetricAttributes)
    const none = Object.keys(fiber).length === 0
    const contexts = new Map<MetricTags, Context.Context<never>>()
    return (metric, value, tags) => {
      let tagged = contexts.get(tags)
      if (tagged === undefined) {
        tagged = Context.add(context, Metric.CurrentMetricAttributes, none ? tags : { ...fiber, ...tags })
        contexts.set(tags, tagged)
      }
      metric.updateUnsafe(value, tagged)
    }
  })

/** The platform's error for a file system failure (its `reason` says why, e.g. `NotFound`). */
export type PlatformError = Platform.PlatformError
