// The metrics and span attributes of one call or stream, as BamlMetrics.ts documents them.
import { Context, Effect, Metric } from "effect"
import type * as Tracer from "effect/Tracer"
import * as BamlMetrics from "../BamlMetrics.js"
import { metricAttributes, metricKey, spanAttributes } from "../core/usage/genAi.js"
import type { Usage } from "../core/usage/usage.js"

/**
 * The attributes of one data point, one record per distinct set: a metric caches its series key for the last
 * attributes record it was given, so handing it the same record finds the series without building a new key.
 * Bounded, in case client names are made per call.
 */
const attributeSets = new Map<string, Readonly<Record<string, string>>>()

const attributesOf = (report: Usage, error?: string): Readonly<Record<string, string>> => {
  const key = JSON.stringify([report.functionName, report.client, report.kind, error])
  let attributes = attributeSets.get(key)
  if (attributes === undefined) {
    if (attributeSets.size >= 1_000) attributeSets.clear()
    attributes = {
      "baml.function": report.functionName,
      "baml.client": report.client,
      "baml.kind": report.kind,
      ...(error === undefined ? {} : { "baml.error": error })
    }
    attributeSets.set(key, attributes)
  }
  return attributes
}

/** The GenAI conventions' attributes of one call or stream's metrics, one record per distinct set (as above). */
const genAiSets = new Map<string, Readonly<Record<string, string>>>()

const genAiAttributesOf = (
  usage: Usage,
  extra: { readonly tokenType?: "input" | "output"; readonly errorType?: string | undefined }
): Readonly<Record<string, string>> => {
  const key = metricKey(usage, extra)
  let attributes = genAiSets.get(key)
  if (attributes === undefined) {
    if (genAiSets.size >= 1_000) genAiSets.clear()
    attributes = Object.fromEntries(metricAttributes(usage, extra))
    genAiSets.set(key, attributes)
  }
  return attributes
}

/** Updates the metrics of one call or stream, with the fiber's own metric attributes under ours. */
export const record = (report: Usage): Effect.Effect<void> =>
  Effect.flatMap(Effect.context<never>(), (context) =>
    Effect.sync(() => {
      const fiberAttributes = Context.get(context, Metric.CurrentMetricAttributes)
      const withFiber = (attributes: Readonly<Record<string, string>>) =>
        Context.add(
          context,
          Metric.CurrentMetricAttributes,
          Object.keys(fiberAttributes).length === 0 ? attributes : { ...fiberAttributes, ...attributes }
        )
      const tagged = withFiber(attributesOf(report))
      const add = (metric: Metric.Counter<number>, n: number | undefined) => {
        if (n !== undefined && n !== 0) metric.updateUnsafe(n, tagged)
      }
      add(BamlMetrics.calls, 1)
      if (report.outcome === "interrupted") add(BamlMetrics.cancelled, 1)
      if (report.error !== undefined) {
        BamlMetrics.failures.updateUnsafe(1, withFiber(attributesOf(report, report.error)))
      }
      // Input tokens are counted where the provider counted them; output tokens, reported or estimated, always.
      if (report.reported.inputTokens) add(BamlMetrics.inputTokens, report.inputTokens)
      add(BamlMetrics.outputTokens, report.outputTokens)
      if (report.reported.cachedInputTokens) add(BamlMetrics.cachedInputTokens, report.cachedInputTokens)
      if (report.attempts > 0) {
        if (report.reported.inputTokens) {
          BamlMetrics.tokenUsage.updateUnsafe(
            report.inputTokens,
            withFiber(genAiAttributesOf(report, { tokenType: "input" }))
          )
        }
        BamlMetrics.tokenUsage.updateUnsafe(
          report.outputTokens,
          withFiber(genAiAttributesOf(report, { tokenType: "output" }))
        )
      }
      BamlMetrics.operationDuration.updateUnsafe(
        report.durationMs / 1000,
        withFiber(genAiAttributesOf(report, { errorType: report.error }))
      )
      if (report.aborted) {
        add(BamlMetrics.abortedOutputTokens, report.outputTokens)
        add(BamlMetrics.abortedCharacters, report.characters)
      }
      if (report.timeToFirstPartialMs !== undefined) {
        BamlMetrics.timeToFirstPartial.updateUnsafe(report.timeToFirstPartialMs, tagged)
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
