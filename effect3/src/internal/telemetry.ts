// The metrics and span attributes of one call or stream, as BamlMetrics.ts documents them.
import { Array as Arr, Effect, FiberRef, MetricLabel } from "effect"
import type { Metric } from "effect"
import type * as Tracer from "effect/Tracer"
import type { Ending } from "../../../src/core/ending.js"
import type { Usage } from "../../../src/core/usage.js"
import * as BamlMetrics from "../BamlMetrics.js"

/** What one call or stream used and how it ended. */
export interface Report extends Usage, Ending {
  readonly kind: "call" | "stream"
  readonly functionName: string
  /** Whether its request was aborted: its consumer left first, or a budget cut it off. */
  readonly aborted: boolean
  /** Server-sent events received. */
  readonly chunks: number
  /** Milliseconds from the start of a stream to its first partial in user code. */
  readonly timeToFirstPartial: number | undefined
}

/**
 * The labels of one data point, one array per distinct set: a metric keeps a cache of its data points keyed by the
 * labels array, so handing it the same array each time finds the point without hashing a new key. Bounded, in case
 * client names are made per call.
 */
const labelSets = new Map<string, ReadonlyArray<MetricLabel.MetricLabel>>()

const labelsOf = (report: Report, error?: string): ReadonlyArray<MetricLabel.MetricLabel> => {
  const key = JSON.stringify([report.functionName, report.client, report.kind, error])
  let labels = labelSets.get(key)
  if (labels === undefined) {
    if (labelSets.size >= 1_000) labelSets.clear()
    labels = [
      MetricLabel.make("baml.function", report.functionName),
      MetricLabel.make("baml.client", report.client),
      MetricLabel.make("baml.kind", report.kind),
      ...(error === undefined ? [] : [MetricLabel.make("baml.error", error)])
    ]
    labelSets.set(key, labels)
  }
  return labels
}

/** Updates the metrics of one call or stream, with the fiber's own metric labels (`Effect.labelMetrics`) after ours. */
export const record = (report: Report): Effect.Effect<void> =>
  Effect.flatMap(FiberRef.get(FiberRef.currentMetricLabels), (fiberLabels) =>
    Effect.sync(() => {
      const withFiber = (labels: ReadonlyArray<MetricLabel.MetricLabel>) =>
        fiberLabels.length === 0 ? labels : Arr.union(labels, fiberLabels)
      const labels = withFiber(labelsOf(report))
      const add = (metric: Metric.Metric.Counter<number>, n: number | undefined) => {
        if (n !== undefined && n !== 0) metric.unsafeUpdate(n, labels)
      }
      add(BamlMetrics.calls, 1)
      if (report.outcome === "interrupted") add(BamlMetrics.cancelled, 1)
      if (report.error !== undefined) {
        BamlMetrics.failures.unsafeUpdate(1, withFiber(labelsOf(report, report.error)))
      }
      add(BamlMetrics.inputTokens, report.inputTokens)
      add(BamlMetrics.outputTokens, report.outputTokens)
      add(BamlMetrics.cachedInputTokens, report.cachedInputTokens)
      if (report.aborted) {
        add(BamlMetrics.abortedOutputTokens, report.outputTokens)
        add(BamlMetrics.abortedCharacters, report.characters)
      }
      if (report.timeToFirstPartial !== undefined) {
        BamlMetrics.timeToFirstPartial.unsafeUpdate(report.timeToFirstPartial, labels)
      }
    }))

/** Sets the span attributes of one call or stream. */
export const annotate = (span: Tracer.Span, report: Report): void => {
  const set = (key: string, value: unknown) => {
    if (value !== undefined) span.attribute(key, value)
  }
  set("baml.client", report.client)
  set("baml.provider", report.provider)
  set("baml.attempts", report.attempts)
  set("baml.outcome", report.outcome)
  set("baml.error", report.error)
  set("baml.aborted", report.aborted)
  set("gen_ai.usage.input_tokens", report.inputTokens)
  set("gen_ai.usage.output_tokens", report.outputTokens)
  set("baml.usage.cached_input_tokens", report.cachedInputTokens)
  set("baml.usage.exact", report.exact)
  set("baml.received.chunks", report.chunks)
  set("baml.received.characters", report.characters)
  set(
    "baml.time_to_first_partial_ms",
    report.timeToFirstPartial === undefined ? undefined : Math.round(report.timeToFirstPartial)
  )
}

const spanOptions = (functionName: string) => ({
  kind: "client" as const,
  attributes: { "baml.function": functionName }
})

/** The span of a stream, open for the stream's life: it lives in the stream's scope (cheaper than wrapping it). */
export const streamSpan = (functionName: string) =>
  Effect.makeSpanScoped(`Baml.stream ${functionName}`, spanOptions(functionName))

/** Runs a call in its span, `Baml.call <function>`. */
export const callSpan =
  (functionName: string) =>
  <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, Exclude<R, Tracer.ParentSpan>> =>
    Effect.withSpan(self, `Baml.call ${functionName}`, spanOptions(functionName))
