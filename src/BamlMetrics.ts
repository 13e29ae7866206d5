/**
 * The metrics every `Baml.call` and `Baml.stream` records when it ends, as Effect `Metric`s: export them with
 * `@effect/opentelemetry`, or read one series with `Metric.value` (over `Metric.withAttributes` on Effect 4, over
 * `Metric.tagged` on Effect 3, where a data point is found by the same tags in the same order). Each has the attributes,
 * in this order, `baml.function`, `baml.client` (the client that answered, or the last one tried; `unknown` when none
 * was) and `baml.kind` (`call` or `stream`); `failures` also `baml.error`, the error's tag. The fiber's own metric
 * attributes (`Metric.CurrentMetricAttributes` on Effect 4, `Effect.labelMetrics` on Effect 3) are added to them.
 *
 * Each call and stream also runs in a span, `Baml.call <function>` or `Baml.stream <function>`, whose attributes say
 * the same: `baml.function`, `baml.client`, `baml.provider`, `baml.outcome` (`success`, `failure` or `interrupted`),
 * `baml.error`, `baml.attempts`, `gen_ai.usage.input_tokens`, `gen_ai.usage.output_tokens`,
 * `baml.usage.cached_input_tokens`, `baml.usage.exact` (whether the provider reported the output tokens or they are
 * estimated), `baml.received.chunks` and `baml.received.characters` (what arrived before the end or the abort),
 * `baml.aborted`, `baml.stopped_early` (`Baml.stopWhen` ended it on the partial it waited for) and
 * `baml.time_to_first_partial_ms`. No prompt, reply or credential goes into a span.
 *
 * @since 0.1.0
 */
import * as Kit from "#kit"
import { durationBoundaries, tokenBoundaries } from "./core/usage/genAi.js"

/**
 * Calls and streams that ended, however they ended.
 *
 * @example Effect 4
 * ```ts
 * import { BamlMetrics } from "effect-baml"
 * import { Metric } from "effect"
 *
 * const extractions = Metric.value(Metric.withAttributes(BamlMetrics.calls, {
 *   "baml.function": "ExtractResume", "baml.client": "OpenAI", "baml.kind": "stream"
 * }))
 * ```
 * @example Effect 3
 * ```ts
 * import { BamlMetrics } from "effect-baml"
 * import { Metric } from "effect"
 *
 * const extractions = Metric.value(BamlMetrics.calls.pipe(
 *   Metric.tagged("baml.function", "ExtractResume"),
 *   Metric.tagged("baml.client", "OpenAI"),
 *   Metric.tagged("baml.kind", "stream")
 * ))
 * ```
 * @since 0.1.0
 * @category metrics
 */
export const calls = Kit.counter("baml.calls", {
  description: "BAML calls and streams that ended",
  incremental: true
})

/**
 * Calls and streams whose consumer left before the engine finished (an interrupt, `Stream.take`, a timeout, a lost
 * race): their requests were aborted.
 *
 * @example Effect 4
 * ```ts
 * import { BamlMetrics } from "effect-baml"
 * import { Metric } from "effect"
 *
 * const cancelled = Metric.value(Metric.withAttributes(BamlMetrics.cancelled, {
 *   "baml.function": "ExtractResume", "baml.client": "OpenAI", "baml.kind": "stream"
 * }))
 * ```
 * @example Effect 3
 * ```ts
 * import { BamlMetrics } from "effect-baml"
 * import { Metric } from "effect"
 *
 * const cancelled = Metric.value(BamlMetrics.cancelled.pipe(
 *   Metric.tagged("baml.function", "ExtractResume"),
 *   Metric.tagged("baml.client", "OpenAI"),
 *   Metric.tagged("baml.kind", "stream")
 * ))
 * ```
 * @since 0.1.0
 * @category metrics
 */
export const cancelled = Kit.counter("baml.calls.cancelled", {
  description: "BAML calls and streams cancelled by their consumer, their requests aborted",
  incremental: true
})

/**
 * Calls and streams that failed, tagged with the error's tag (`baml.error`), `BudgetExceeded` included.
 *
 * @example Effect 4
 * ```ts
 * import { BamlMetrics } from "effect-baml"
 * import { Metric } from "effect"
 *
 * const httpErrors = Metric.value(Metric.withAttributes(BamlMetrics.failures, {
 *   "baml.function": "ExtractResume", "baml.client": "OpenAI", "baml.kind": "call", "baml.error": "BamlClientHttpError"
 * }))
 * ```
 * @example Effect 3
 * ```ts
 * import { BamlMetrics } from "effect-baml"
 * import { Metric } from "effect"
 *
 * const httpErrors = Metric.value(BamlMetrics.failures.pipe(
 *   Metric.tagged("baml.function", "ExtractResume"),
 *   Metric.tagged("baml.client", "OpenAI"),
 *   Metric.tagged("baml.kind", "call"),
 *   Metric.tagged("baml.error", "BamlClientHttpError")
 * ))
 * ```
 * @since 0.1.0
 * @category metrics
 */
export const failures = Kit.counter("baml.calls.failed", {
  description: "BAML calls and streams that failed",
  incremental: true
})

/**
 * Input (prompt) tokens, as the provider reported them. A request aborted before the end has no report, and adds
 * nothing.
 *
 * @example Effect 4
 * ```ts
 * import { BamlMetrics } from "effect-baml"
 * import { Metric } from "effect"
 *
 * const input = Metric.value(Metric.withAttributes(BamlMetrics.inputTokens, {
 *   "baml.function": "Summarize", "baml.client": "OpenAI", "baml.kind": "stream"
 * }))
 * ```
 * @example Effect 3
 * ```ts
 * import { BamlMetrics } from "effect-baml"
 * import { Metric } from "effect"
 *
 * const input = Metric.value(BamlMetrics.inputTokens.pipe(
 *   Metric.tagged("baml.function", "Summarize"),
 *   Metric.tagged("baml.client", "OpenAI"),
 *   Metric.tagged("baml.kind", "stream")
 * ))
 * ```
 * @since 0.1.0
 * @category metrics
 */
export const inputTokens = Kit.counter("baml.tokens.input", {
  description: "Input tokens reported by the provider",
  incremental: true
})

/**
 * Output tokens: the provider's count where it reported one, otherwise the estimate (for aborted streams, and for
 * providers that report no usage when streaming).
 *
 * @example Effect 4
 * ```ts
 * import { BamlMetrics } from "effect-baml"
 * import { Metric } from "effect"
 *
 * const output = Metric.value(Metric.withAttributes(BamlMetrics.outputTokens, {
 *   "baml.function": "Summarize", "baml.client": "OpenAI", "baml.kind": "stream"
 * }))
 * ```
 * @example Effect 3
 * ```ts
 * import { BamlMetrics } from "effect-baml"
 * import { Metric } from "effect"
 *
 * const output = Metric.value(BamlMetrics.outputTokens.pipe(
 *   Metric.tagged("baml.function", "Summarize"),
 *   Metric.tagged("baml.client", "OpenAI"),
 *   Metric.tagged("baml.kind", "stream")
 * ))
 * ```
 * @since 0.1.0
 * @category metrics
 */
export const outputTokens = Kit.counter("baml.tokens.output", {
  description: "Output tokens, as reported by the provider or estimated when it did not report them",
  incremental: true
})

/**
 * Cached input tokens, as the provider reported them (a part of the input tokens).
 *
 * @example Effect 4
 * ```ts
 * import { BamlMetrics } from "effect-baml"
 * import { Metric } from "effect"
 *
 * const cached = Metric.value(Metric.withAttributes(BamlMetrics.cachedInputTokens, {
 *   "baml.function": "Summarize", "baml.client": "OpenAI", "baml.kind": "stream"
 * }))
 * ```
 * @example Effect 3
 * ```ts
 * import { BamlMetrics } from "effect-baml"
 * import { Metric } from "effect"
 *
 * const cached = Metric.value(BamlMetrics.cachedInputTokens.pipe(
 *   Metric.tagged("baml.function", "Summarize"),
 *   Metric.tagged("baml.client", "OpenAI"),
 *   Metric.tagged("baml.kind", "stream")
 * ))
 * ```
 * @since 0.1.0
 * @category metrics
 */
export const cachedInputTokens = Kit.counter("baml.tokens.cached_input", {
  description: "Cached input tokens reported by the provider",
  incremental: true
})

/**
 * Output tokens received before an abort (a cancelled call or stream, or one cut off by a budget), estimated from the
 * events received. Together with `abortedCharacters` it says how far aborted requests got, so what cancellation saved
 * is what a full reply costs minus this.
 *
 * @example Effect 4
 * ```ts
 * import { BamlMetrics } from "effect-baml"
 * import { Metric } from "effect"
 *
 * const wasted = Metric.value(Metric.withAttributes(BamlMetrics.abortedOutputTokens, {
 *   "baml.function": "ExtractResume", "baml.client": "OpenAI", "baml.kind": "stream"
 * }))
 * ```
 * @example Effect 3
 * ```ts
 * import { BamlMetrics } from "effect-baml"
 * import { Metric } from "effect"
 *
 * const wasted = Metric.value(BamlMetrics.abortedOutputTokens.pipe(
 *   Metric.tagged("baml.function", "ExtractResume"),
 *   Metric.tagged("baml.client", "OpenAI"),
 *   Metric.tagged("baml.kind", "stream")
 * ))
 * ```
 * @since 0.1.0
 * @category metrics
 */
export const abortedOutputTokens = Kit.counter("baml.aborted.output_tokens", {
  description: "Output tokens received (estimated) before a request was aborted",
  incremental: true
})

/**
 * Characters of reply text received before an abort. A call's reply arrives whole, so an aborted call adds 0.
 *
 * @example Effect 4
 * ```ts
 * import { BamlMetrics } from "effect-baml"
 * import { Metric } from "effect"
 *
 * const received = Metric.value(Metric.withAttributes(BamlMetrics.abortedCharacters, {
 *   "baml.function": "ExtractResume", "baml.client": "OpenAI", "baml.kind": "stream"
 * }))
 * ```
 * @example Effect 3
 * ```ts
 * import { BamlMetrics } from "effect-baml"
 * import { Metric } from "effect"
 *
 * const received = Metric.value(BamlMetrics.abortedCharacters.pipe(
 *   Metric.tagged("baml.function", "ExtractResume"),
 *   Metric.tagged("baml.client", "OpenAI"),
 *   Metric.tagged("baml.kind", "stream")
 * ))
 * ```
 * @since 0.1.0
 * @category metrics
 */
export const abortedCharacters = Kit.counter("baml.aborted.characters", {
  description: "Characters of reply text received before a request was aborted",
  incremental: true
})

/**
 * Milliseconds from the start of a stream to its first partial result in user code.
 *
 * @example Effect 4
 * ```ts
 * import { BamlMetrics } from "effect-baml"
 * import { Metric } from "effect"
 *
 * const latency = Metric.value(Metric.withAttributes(BamlMetrics.timeToFirstPartial, {
 *   "baml.function": "ExtractResume", "baml.client": "OpenAI", "baml.kind": "stream"
 * }))
 * ```
 * @example Effect 3
 * ```ts
 * import { BamlMetrics } from "effect-baml"
 * import { Metric } from "effect"
 *
 * const latency = Metric.value(BamlMetrics.timeToFirstPartial.pipe(
 *   Metric.tagged("baml.function", "ExtractResume"),
 *   Metric.tagged("baml.client", "OpenAI"),
 *   Metric.tagged("baml.kind", "stream")
 * ))
 * ```
 * @since 0.1.0
 * @category metrics
 */
export const timeToFirstPartial = Kit.histogram("baml.stream.time_to_first_partial", {
  description: "Milliseconds from the start of a stream to its first partial result",
  boundaries: Kit.exponentialBoundaries({ start: 10, factor: 2, count: 12 })
})

/**
 * `gen_ai.client.token.usage` of OpenTelemetry's GenAI conventions: a histogram of the tokens of each call and
 * stream, once per token type (`gen_ai.token.type`: `input` or `output`), with `gen_ai.operation.name`,
 * `gen_ai.provider.name`, `gen_ai.request.model` and `gen_ai.response.model` (where known) as attributes, so that
 * dashboards built on the conventions see these calls. Output tokens are recorded whether reported or estimated;
 * input tokens only when the provider reported them.
 *
 * @example Effect 4
 * ```ts
 * import { BamlMetrics } from "effect-baml"
 * import { Metric } from "effect"
 *
 * const output = Metric.value(Metric.withAttributes(BamlMetrics.tokenUsage, {
 *   "gen_ai.operation.name": "chat", "gen_ai.provider.name": "anthropic", "gen_ai.token.type": "output",
 *   "gen_ai.request.model": "claude-sonnet-4-5", "gen_ai.response.model": "claude-sonnet-4-5"
 * }))
 * ```
 * @example Effect 3
 * ```ts
 * import { BamlMetrics } from "effect-baml"
 * import { Metric } from "effect"
 *
 * const output = Metric.value(BamlMetrics.tokenUsage.pipe(
 *   Metric.tagged("gen_ai.operation.name", "chat"),
 *   Metric.tagged("gen_ai.provider.name", "anthropic"),
 *   Metric.tagged("gen_ai.request.model", "claude-sonnet-4-5"),
 *   Metric.tagged("gen_ai.response.model", "claude-sonnet-4-5"),
 *   Metric.tagged("gen_ai.token.type", "output")
 * ))
 * ```
 * @since 0.2.0
 * @category metrics
 */
export const tokenUsage = Kit.histogram("gen_ai.client.token.usage", {
  description: "Number of input and output tokens used",
  boundaries: tokenBoundaries
})

/**
 * `gen_ai.client.operation.duration` of OpenTelemetry's GenAI conventions: seconds from the start of each call or
 * stream to its end, with `gen_ai.operation.name`, `gen_ai.provider.name`, `gen_ai.request.model` and, for a failure,
 * `error.type` (the error's tag) as attributes.
 *
 * @example Effect 4
 * ```ts
 * import { BamlMetrics } from "effect-baml"
 * import { Metric } from "effect"
 *
 * const duration = Metric.value(Metric.withAttributes(BamlMetrics.operationDuration, {
 *   "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o-mini"
 * }))
 * ```
 * @example Effect 3
 * ```ts
 * import { BamlMetrics } from "effect-baml"
 * import { Metric } from "effect"
 *
 * const duration = Metric.value(BamlMetrics.operationDuration.pipe(
 *   Metric.tagged("gen_ai.operation.name", "chat"),
 *   Metric.tagged("gen_ai.provider.name", "openai"),
 *   Metric.tagged("gen_ai.request.model", "gpt-4o-mini")
 * ))
 * ```
 * @since 0.2.0
 * @category metrics
 */
export const operationDuration = Kit.histogram("gen_ai.client.operation.duration", {
  description: "GenAI operation duration",
  boundaries: durationBoundaries
})
