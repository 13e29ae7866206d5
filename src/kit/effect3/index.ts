/**
 * What the Effect 3 line needs that Effect 4 names or shapes differently: the same names as `src/kit/effect4/index.ts`
 * (read it first), from Effect 3. Private: the package does not export it.
 */
import type * as Platform from "@effect/platform/Error"
import * as FileSystem from "@effect/platform/FileSystem"
import {
  Array as Arr,
  Cause,
  Chunk,
  Context,
  Deferred,
  type Duration,
  Effect,
  Exit,
  FiberId,
  FiberRef,
  HashSet,
  Layer,
  Mailbox,
  Metric,
  MetricBoundaries,
  MetricLabel,
  Option,
  ParseResult,
  Predicate,
  Schema,
  Stream
} from "effect"
import type * as Scope from "effect/Scope"
import type * as Tracer from "effect/Tracer"

export { FileSystem }

// Services and layers

/** `Context.Tag`: `class X extends Service<X, Shape>()("key") {}` declares a service. */
export const Service = <Self, Shape>() => <const Key extends string>(key: Key): Context.TagClass<Self, Key, Shape> =>
  Context.Tag(key)<Self, Shape>()

/** `Layer.scoped`: a layer from a scoped effect. */
export const layerScoped = Layer.scoped

/** `Layer.unwrapEffect`: the layer an effect builds. */
export const unwrapLayer = Layer.unwrapEffect

// Effect, Cause, Stream

/** `Effect.async`: an effect completed by a callback. */
export const callback = Effect.async

/** `Effect.forkDaemon`: a fiber outside the current one's supervision. */
export const forkDetach = Effect.forkDaemon

/** `Effect.catchAll`: recovers from any typed error. */
export const catchAll = Effect.catchAll

/** `Cause.failureOption`: the first typed error of a cause. */
export const failureOption = Cause.failureOption

/** `Cause.isInterruptedOnly`: whether a cause holds interruptions and nothing else. */
export const isInterruptedOnly = Cause.isInterruptedOnly

/** `Deferred.unsafeDone`: completes a deferred from outside Effect. */
export const deferredDoneUnsafe = Deferred.unsafeDone

/** `Duration.DurationInput`: how long, as this line's functions take it. */
export type DurationInput = Duration.DurationInput

/** The options of a span as effect-baml makes them. */
export interface SpanOptions {
  readonly kind: Tracer.SpanKind
  readonly attributes: Readonly<Record<string, unknown>>
}

/**
 * `Effect.makeSpanScoped` without the call site's stack: Effect 3 captures it for every span (an `Error`), and formats
 * it when the span ends with a failure or an interrupt (Effect 4 does neither for a scoped span). The frames would be
 * effect-baml's own, and formatting them, after a stream's wire is tripped, delayed the close the provider sees.
 */
export const makeSpanScoped = (name: string, options: SpanOptions): Effect.Effect<Tracer.Span, never, Scope.Scope> =>
  Effect.makeSpanScoped(name, { ...options, captureStackTrace: false })

/** `Stream.unwrapScoped`: the stream a scoped effect builds, its scope closed with the stream. */
export const unwrapStream = Stream.unwrapScoped

/** `Stream.catchAll`: recovers from any typed error of a stream. */
export const catchAllStream = Stream.catchAll

/** `Stream.catchAllCause`: recovers from any cause a stream ends with. */
export const catchAllCauseStream = Stream.catchAllCause

/** `Stream.execute`: a stream that runs an effect and emits nothing. */
export const drainStream = Stream.execute

/** Whether a value is a stream. */
export const isStream = (u: unknown): u is Stream.Stream<unknown, unknown, unknown> =>
  Predicate.hasProperty(u, Stream.StreamTypeId)

// The partial queue: a stream's partials from the engine's callback to the consumer's pull

/** The mailbox between the engine's callback and the stream's pull (see the Effect 4 kit). */
export type PartialQueue<E> = Mailbox.Mailbox<unknown, E>

/** Makes a {@link PartialQueue}; whoever makes it shuts it down (`shutdown`) when the stream's scope closes. */
export const makePartialQueue = <E>(): Effect.Effect<PartialQueue<E>> =>
  Mailbox.make<unknown, E>({ capacity: 1, strategy: "sliding" })

/** Shuts the queue down: a pull still waiting on it is interrupted. */
export const shutdown = <E>(self: PartialQueue<E>): Effect.Effect<void> => Effect.asVoid(self.shutdown)

/** Makes a {@link PartialQueue} that keeps every value (see the Effect 4 kit). */
export const makeEventQueue = <E>(): Effect.Effect<PartialQueue<E>> => Mailbox.make<unknown, E>()

/** Offers a value from outside Effect (the engine's callback); a full queue drops its oldest value. */
export const offerUnsafe = <E>(self: PartialQueue<E>, value: unknown): void => {
  self.unsafeOffer(value)
}

/** Fails the queue from outside Effect: the consumer's next pull fails with `error`. */
export const failUnsafe = <E>(self: PartialQueue<E>, error: E): void => {
  self.unsafeDone(Exit.fail(error))
}

/** Ends the queue from outside Effect: the consumer takes what is in it, then the stream ends. */
export const endUnsafe = <E>(self: PartialQueue<E>): void => {
  self.unsafeDone(Exit.void)
}

/** Ends the queue as interrupted by `interruptors` (the fibers that interrupted the pull). */
export const interruptUnsafe = <E>(self: PartialQueue<E>, interruptors: HashSet.HashSet<FiberId.FiberId>): void => {
  self.unsafeDone(Exit.failCause(Cause.interrupt(FiberId.combineAll(interruptors))))
}

/** The stream that pulls the queue; `onInterrupt` runs when the fiber waiting in a pull is interrupted. */
export const streamOf = <E>(
  self: PartialQueue<E>,
  onInterrupt: (interruptors: HashSet.HashSet<FiberId.FiberId>) => void
): Stream.Stream<unknown, E> =>
  Stream.repeatEffectChunkOption(
    self.takeAll.pipe(
      Effect.onInterrupt((interruptors) => Effect.sync(() => onInterrupt(interruptors))),
      Effect.mapError(Option.some),
      Effect.flatMap(([partials, done]) =>
        done && Chunk.isEmpty(partials) ? Effect.fail(Option.none()) : Effect.succeed(partials)
      )
    )
  )

// Schema

/** `Schema.Union`: a union of the member schemas. */
export const Union = <const Members extends readonly [Schema.Schema.All, Schema.Schema.All, ...Array<Schema.Schema.All>]>(
  ...members: Members
): Schema.Union<Members> => Schema.Union(...members)

/** `Schema.Record`: a record of `key` to `value`. */
export const Record = <K extends Schema.Schema.All & Schema.Schema<string, string, never>, V extends Schema.Schema.All>(
  key: K,
  value: V
): Schema.Record$<K, V> => Schema.Record({ key, value })

/** A schema that decodes what its encoded form `I` is into `A`, needing no services. */
export type Codec<A, I = A> = Schema.Schema<A, I>

/** The encoded form of a schema. */
export type Encoded<S extends Schema.Schema.All> = Schema.Schema.Encoded<S>

/** What a decoding fails with. */
export type SchemaError = ParseResult.ParseError

/** `Schema.decodeUnknown`: decodes an unknown value in an effect. */
export const decodeUnknown = <A, I>(schema: Codec<A, I>) => (input: unknown): Effect.Effect<A, SchemaError> =>
  Schema.decodeUnknown(schema)(input)

/** The issues of a failed decoding, each with the path of the value it is about. */
export const issuesOf = (
  error: SchemaError
): ReadonlyArray<{ readonly path: ReadonlyArray<unknown>; readonly message: string }> =>
  ParseResult.ArrayFormatter.formatErrorSync(error).map((issue) => ({ path: issue.path, message: issue.message }))

// Metrics

/** A counter of numbers. */
export type Counter = Metric.Metric.Counter<number>

/** A histogram of numbers. */
export type Histogram = Metric.Metric.Histogram<number>

/** `Metric.counter`. */
export const counter = (name: string, options: { readonly description: string; readonly incremental?: boolean }): Metric.Metric.Counter<number> =>
  Metric.counter(name, options)

/** `Metric.histogram` with boundaries given as numbers. */
export const histogram = (
  name: string,
  options: { readonly description: string; readonly boundaries: ReadonlyArray<number> }
): Metric.Metric.Histogram<number> => Metric.histogram(name, MetricBoundaries.fromIterable(options.boundaries), options.description)

/** `MetricBoundaries.exponential`. */
export const exponentialBoundaries = (
  options: { readonly start: number; readonly factor: number; readonly count: number }
): ReadonlyArray<number> => MetricBoundaries.exponential(options).values

/** The labels of one data point, made once per distinct set (a metric finds its data point fastest by the same array). */
export type MetricTags = ReadonlyArray<MetricLabel.MetricLabel>

/** Makes {@link MetricTags} from name and value pairs. */
export const metricTags = (entries: ReadonlyArray<readonly [string, string]>): MetricTags =>
  entries.map(([key, value]) => MetricLabel.make(key, value))

/** Updates metrics from outside Effect, with the fiber's own metric labels (`Effect.labelMetrics`) after ours. */
export const metricUpdater: Effect.Effect<(metric: Counter | Histogram, value: number, tags: MetricTags) => void> =
  Effect.map(FiberRef.get(FiberRef.currentMetricLabels), (fiber) => {
    const withFiber = new Map<MetricTags, MetricTags>()
    return (metric, value, tags) => {
      let labels = fiber.length === 0 ? tags : withFiber.get(tags)
      if (labels === undefined) {
        labels = Arr.union(tags, fiber)
        withFiber.set(tags, labels)
      }
      metric.unsafeUpdate(value, labels)
    }
  })

/** The platform's error for a file system failure (a `SystemError` whose `reason` says why, e.g. `NotFound`). */
export type PlatformError = Platform.PlatformError
