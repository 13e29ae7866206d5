// The metrics and span attributes of one call or stream, as BamlMetrics.ts documents them.
import { Effect } from "effect"
import type * as Tracer from "effect/Tracer"
import * as BamlMetrics from "../BamlMetrics.js"
import { metricAttributes, metricKey, spanAttributes } from "../core/usage/genAi.js"
import type { Usage } from "../core/usage/usage.js"
import * as Kit from "#kit"

/**
 * The tags of one data point, made once per distinct set: a metric finds its series fastest when handed the same
 * tags each time (Effect 4 caches the key of the last attributes record, Effect 3 its data points by labels array).
 * Bounded, in case client names are made per call.
 */
const tagSets = new Map<string, Kit.MetricTags>()

const tagsOf = (report: Usage, error?: string): Kit.MetricTags => {
  const key = JSON.stringify([report.functionName, report.client, report.kind, error])
  let tags = tagSets.get(key)
  if (tags === undefined) {
    if (tagSets.size >= 1_000) tagSets.clear()
    tags = Kit.metricTags([
      ["baml.function", report.functionName],
      ["baml.client", report.client],
      ["baml.kind", report.kind],
      ...(error === undefined ? [] : [["baml.error", error] as const])
    ])
    tagSets.set(key, tags)
  }
  return tags
}

/** The GenAI conventions' tags of one call or stream's metrics, one set per distinct set (as above). */
const genAiSets = new Map<string, Kit.MetricTags>()

const genAiTagsOf = (
  usage: Usage,
  extra: { readonly tokenType?: "input" | "output"; readonly errorType?: string | undefined }
): Kit.MetricTags => {
  const key = metricKey(usage, extra)
  let tags = genAiSets.get(key)
  if (tags === undefined) {
    if (genAiSets.size >= 1_000) genAiSets.clear()
    tags = Kit.metricTags(metricAttributes(usage, extra))
    genAiSets.set(key, tags)
  }
  return tags
}

/** Updates the metrics of one call or stream, with the fiber's own metric tags beside ours. */
export const record = (report: Usage): Effect.Effect<void> =>
  Effect.flatMap(Kit.metricUpdater, (update) =>
    Effect.sync(() => {
      const tags = tagsOf(report)
      const add = (metric: Kit.Counter, n: number | undefined) => {
        if (n !== undefined && n !== 0) update(metric, n, tags)
      }
      add(BamlMetrics.calls, 1)
      if (report.outcome === "interrupted") add(BamlMetrics.cancelled, 1)
      if (report.error !== undefined) update(BamlMetrics.failures, 1, tagsOf(report, report.error))
      // Input tokens are counted where the provider counted them; output tokens, reported or estimated, always.
      if (report.reported.inputTokens) add(BamlMetrics.inputTokens, report.inputTokens)
      add(BamlMetrics.outputTokens, report.outputTokens)
      if (report.reported.cachedInputTokens) add(BamlMetrics.cachedInputTokens, report.cachedInputTokens)
      if (report.attempts > 0) {
        if (report.reported.inputTokens) {
          update(BamlMetrics.tokenUsage, report.inputTokens, genAiTagsOf(report, { tokenType: "input" }))
        }
        update(BamlMetrics.tokenUsage, report.outputTokens, genAiTagsOf(report, { tokenType: "output" }))
      }
      update(BamlMetrics.operationDuration, report.durationMs / 1000, genAiTagsOf(report, { errorType: report.error }))
      if (report.aborted) {
        add(BamlMetrics.abortedOutputTokens, report.outputTokens)
        add(BamlMetrics.abortedCharacters, report.characters)
      }
      if (report.timeToFirstPartialMs !== undefined) {
        update(BamlMetrics.timeToFirstPartial, report.timeToFirstPartialMs, tags)
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

/**
 * The span of a stream, open for the stream's life: it lives in the stream's scope (cheaper than wrapping it), without
 * the call site's stack on Effect 3 (see the kit).
 */
export const streamSpan = (functionName: string) =>
  Kit.makeSpanScoped(`Baml.stream ${functionName}`, spanOptions(functionName))

/** Runs a call in its span, `Baml.call <function>`. */
export const callSpan =
  (functionName: string) =>
  <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, Exclude<R, Tracer.ParentSpan>> =>
    Effect.withSpan(self, `Baml.call ${functionName}`, spanOptions(functionName))
