// The metrics and span attributes of one call or stream, as BamlMetrics.ts documents them.
import { Context, Effect, Metric } from "effect"
import type * as Tracer from "effect/Tracer"
import * as BamlMetrics from "../BamlMetrics.js"
import type { Ending } from "../core/ending.js"
import type { Usage } from "../core/usage.js"

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
 * The attributes of one data point, one record per distinct set: a metric caches its series key for the last
 * attributes record it was given, so handing it the same record finds the series without building a new key.
 * Bounded, in case client names are made per call.
 */
const attributeSets = new Map<string, Readonly<Record<string, string>>>()

const attributesOf = (report: Report, error?: string): Readonly<Record<string, string>> => {
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

/** Updates the metrics of one call or stream, with the fiber's own metric attributes under ours. */
export const record = (report: Report): Effect.Effect<void> =>
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
      add(BamlMetrics.inputTokens, report.inputTokens)
      add(BamlMetrics.outputTokens, report.outputTokens)
      add(BamlMetrics.cachedInputTokens, report.cachedInputTokens)
      if (report.aborted) {
        add(BamlMetrics.abortedOutputTokens, report.outputTokens)
        add(BamlMetrics.abortedCharacters, report.characters)
      }
      if (report.timeToFirstPartial !== undefined) {
        BamlMetrics.timeToFirstPartial.updateUnsafe(report.timeToFirstPartial, tagged)
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
