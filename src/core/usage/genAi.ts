// The names of the spans' and metrics' attributes (OpenTelemetry's GenAI semantic conventions where they have one,
// `baml.*` where they do not), without Effect: both lines' telemetry set these.
import type { Usage } from "./usage.js"

/** `gen_ai.provider.name`: the conventions' well-known value for a BAML provider, or the BAML provider as it is. */
export const providerName = (provider: string | undefined): string | undefined => {
  switch (provider) {
    case "openai":
    case "openai-responses":
      return "openai"
    case "azure-openai":
      return "azure.ai.openai"
    case "anthropic":
      return "anthropic"
    case "google-ai":
      return "gcp.gemini"
    case "vertex-ai":
      return "gcp.vertex_ai"
    case "aws-bedrock":
      return "aws.bedrock"
    default:
      return provider
  }
}

/** `gen_ai.operation.name`: Gemini's API is `generate_content`; every other provider the engine calls is `chat`. */
export const operationName = (provider: string | undefined): string =>
  provider === "google-ai" || provider === "vertex-ai" ? "generate_content" : "chat"

/** `gen_ai.client.token.usage`'s bucket boundaries, as the conventions advise. */
export const tokenBoundaries: ReadonlyArray<number> = [
  1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864
]

/** `gen_ai.client.operation.duration`'s bucket boundaries in seconds, as the conventions advise. */
export const durationBoundaries: ReadonlyArray<number> = [
  0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92
]

/** A span's attributes for one call or stream, as `BamlMetrics` documents them (undefined values are not set). */
export const spanAttributes = (
  usage: Usage
): ReadonlyArray<readonly [string, string | number | boolean | ReadonlyArray<string> | undefined]> => [
  ["gen_ai.operation.name", operationName(usage.provider)],
  ["gen_ai.provider.name", providerName(usage.provider)],
  ["gen_ai.request.model", usage.requestModel],
  ["gen_ai.response.model", usage.responseModel],
  // the conventions' attribute is a list, one reason per choice: the engine asks for one
  ["gen_ai.response.finish_reasons", usage.finishReason === undefined ? undefined : [usage.finishReason]],
  ["baml.client", usage.client],
  ["baml.provider", usage.provider],
  ["baml.attempts", usage.attempts],
  ["baml.outcome", usage.outcome],
  ["baml.error", usage.error],
  ["error.type", usage.error],
  ["baml.aborted", usage.aborted],
  ["baml.stopped_early", usage.stoppedEarly],
  // Input tokens the provider did not count (an aborted request) are not said; output tokens always are.
  ["gen_ai.usage.input_tokens", usage.reported.inputTokens ? usage.inputTokens : undefined],
  ["gen_ai.usage.output_tokens", usage.outputTokens],
  ["gen_ai.usage.cache_read.input_tokens", usage.reported.cachedInputTokens ? usage.cachedInputTokens : undefined],
  ["baml.usage.exact", usage.reported.outputTokens],
  ["baml.received.chunks", usage.events],
  ["baml.received.characters", usage.characters],
  [
    "baml.time_to_first_partial_ms",
    usage.timeToFirstPartialMs === undefined ? undefined : Math.round(usage.timeToFirstPartialMs)
  ]
]

/**
 * The attributes of one GenAI metric data point: `gen_ai.client.token.usage` (with a token type) or
 * `gen_ai.client.operation.duration` (with the error's tag as `error.type`, if it failed).
 */
export const metricAttributes = (
  usage: Usage,
  extra: { readonly tokenType?: "input" | "output" | undefined; readonly errorType?: string | undefined }
): ReadonlyArray<readonly [string, string]> => {
  const provider = providerName(usage.provider)
  const pairs: Array<readonly [string, string | undefined]> = [
    ["gen_ai.operation.name", operationName(usage.provider)],
    ["gen_ai.provider.name", provider],
    ["gen_ai.request.model", usage.requestModel],
    ["gen_ai.response.model", extra.tokenType === undefined ? undefined : usage.responseModel],
    ["gen_ai.token.type", extra.tokenType],
    ["error.type", extra.errorType]
  ]
  return pairs.filter((pair): pair is readonly [string, string] => pair[1] !== undefined)
}

/** The key of a set of metric attributes, for caches of them. */
export const metricKey = (
  usage: Usage,
  extra: { readonly tokenType?: "input" | "output" | undefined; readonly errorType?: string | undefined }
): string => JSON.stringify([usage.provider, usage.requestModel, usage.responseModel, extra.tokenType, extra.errorType])
