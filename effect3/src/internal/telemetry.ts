// The metrics and span attributes of one call or stream, as BamlMetrics.ts documents them.
import { Array as Arr, Effect, FiberRef, MetricLabel } from "effect"
import type { Metric } from "effect"
import type * as Tracer from "effect/Tracer"
import { metricAttributes, metricKey, spanAttributes } from "../../../src/core/usage/genAi.js"
import type { Usage } from "../../../src/core/usage/usage.js"
import * as BamlMetrics from "../BamlMetrics.js"

/**
 * The labels of one data point, one array per distinct set: a metric keeps a cache of its data points keyed by the
 * labels array, so handing it the same array each time finds the point without hashing a new key. Bounded, in case
 * client names are made per call.
 */
const labelSets = new Map<string, ReadonlyArray<MetricLabel.MetricLabel>>()

const labelsOf = (report: Usage, error?: string): ReadonlyArray<MetricLabel.MetricLabel> => {
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

/** The GenAI conventions' labels of one call or stream's metrics, one array per distinct set (as above). */
const genAiSets = new Map<string, ReadonlyArray<MetricLabel.MetricLabel>>()

const genAiLabelsOf = (
  usage: Usage,
  extra: { readonly tokenType?: "input" | "output"; readonly errorType?: string | undefined }
): ReadonlyArray<MetricLabel.MetricLabel> => {
  const key = metricKey(usage, extra)
  let labels = genAiSets.get(key)
  if (labels === undefined) {
    if (genAiSets.size >= 1_000) genAiSets.clear()
    labels = metricAttributes(usage, extra).map(([key, value]) => MetricLabel.make(key, value))
    genAiSets.set(key, labels)
  }
  return labels
}

/** Updates the metrics of one call or stream, with the fiber's own metric labels (`Effect.labelMetrics`) after ours. */
export const record = (report: Usage): Effect.Effect<void> =>
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
      // Input tokens are counted where the provider counted them; output tokens, reported or estimated, always.
      if (report.reported.inputTokens) add(BamlMetrics.inputTokens, report.inputTokens)
      add(BamlMetrics.outputTokens, report.outputTokens)
      if (report.reported.cachedInputTokens) add(BamlMetrics.cachedInputTokens, report.cachedInputTokens)
      if (report.attempts > 0) {
        if (report.reported.inputTokens) {
          BamlMetrics.tokenUsage.unsafeUpdate(report.inputTokens, withFiber(genAiLabelsOf(report, { tokenType: "input" })))
        }
        BamlMetrics.tokenUsage.unsafeUpdate(
          report.outputTokens,
          withFiber(genAiLabelsOf(report, { tokenType: "output" }))
        )
      }
      BamlMetrics.operationDuration.unsafeUpdate(
        report.durationMs / 1000,
        withFiber(genAiLabelsOf(report, { errorType: report.error }))
      )
      if (report.aborted) {
        add(BamlMetrics.abortedOutputTokens, report.outputTokens)
        add(BamlMetrics.abortedCharacters, report.characters)
      }
      if (report.timeToFirstPartialMs !== undefined) {
        BamlMetrics.timeToFirstPartial.unsafeUpdate(report.timeToFirstPartialMs, labels)
      }
    }))

/** Sets the span attributes of one call or stream. */
export const annotate = (span: Tracer.Span, report: Usage): void => {
  const set = (key: string, value: unknown) => {
    if (value !== undefined) span.attribute(key, value)
  }
  for (const [key, value] of spanAttributes(report)) set(key, value)
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
