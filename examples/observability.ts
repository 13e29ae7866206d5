/**
 * Spans, metrics and a token budget, offline: the scripted provider from effect-baml/testing answers, and
 * OpenTelemetry keeps what effect-baml reports in memory, to print it at the end.
 *
 * 1. A call and a stream that complete: their spans carry the provider's token counts.
 * 2. A stream interrupted after 300 ms: its span and the metrics say how far it got before the abort.
 * 3. A stream under a 60-token budget: cut off as it goes over, failing with BudgetExceeded.
 *
 *   npx tsx examples/observability.ts
 */
import * as OtelMetrics from "@effect/opentelemetry/OtelMetrics"
import * as OtelTracer from "@effect/opentelemetry/OtelTracer"
import * as Resource from "@effect/opentelemetry/Resource"
import { MetricReader } from "@opentelemetry/sdk-metrics"
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { Console, Effect, Layer, Stream } from "effect"
import { BamlRuntime, TokenBudget } from "effect-baml"
import { ScriptedProvider } from "effect-baml/testing"
import * as Client from "../baml_client/index.js"

// A metric reader that collects when asked; a real service would export periodically (OTLP, Prometheus).
class OnDemandReader extends MetricReader {
  protected override onShutdown() {
    return Promise.resolve()
  }
  protected override onForceFlush() {
    return Promise.resolve()
  }
}
const spans = new InMemorySpanExporter()
const metrics = new OnDemandReader()

// The base SDK's tracer provider; a Node service would rather use NodeSdk.layer from @effect/opentelemetry/NodeSdk
// (with @opentelemetry/sdk-trace-node installed), which sets up the same from one configuration.
const TracerProvider = Layer.effect(
  OtelTracer.OtelTracerProvider,
  Effect.map(Effect.service(Resource.Resource), (resource) =>
    new BasicTracerProvider({ resource, spanProcessors: [new SimpleSpanProcessor(spans)] }))
)
const Telemetry = Layer.mergeAll(
  Layer.provide(OtelTracer.layer, TracerProvider),
  OtelMetrics.layer(() => metrics)
).pipe(Layer.provideMerge(Resource.layer({ serviceName: "observability-example" })))

const reply = {
  name: "Maya Okafor",
  email: "maya.okafor@example.com",
  skills: Array.from({ length: 40 }, (_, i) => `skill ${i + 1}`),
  experience: [{ company: "Northwind Labs", title: "Staff Software Engineer", years: 3 }]
}

const Live = Layer.unwrap(Effect.map(ScriptedProvider.ScriptedProvider, (provider) =>
  BamlRuntime.layerFromFiles(Client.files, {
    env: { SCRIPTED_BASE_URL: provider.baseUrl }
  }))).pipe(
    Layer.provideMerge(ScriptedProvider.layer({
      rules: [
        { match: (prompt) => prompt.includes("Summarize"), script: { reply: "A staff engineer.", delayMs: 5 } },
        { script: ScriptedProvider.json(reply, { delayMs: 5 }) }
      ]
    }))
  )

const program = Effect.gen(function*() {
  yield* Client.Summarize("Maya Okafor, staff engineer at Northwind Labs")
  yield* Stream.runLast(Client.stream.ExtractResume("Maya Okafor <maya.okafor@example.com>"))

  // Interrupted by the timeout: the request is aborted, and what it received is recorded.
  yield* Stream.runDrain(Client.stream.ExtractResume("Maya Okafor, again")).pipe(
    Effect.timeout("300 millis"),
    Effect.ignore
  )

  const capped = yield* Stream.runLast(Client.stream.ExtractResume("Maya Okafor, on a budget")).pipe(
    TokenBudget.limit({ maxOutputTokens: 60 }),
    Effect.flip
  )
  yield* Console.log(`budget: ${capped._tag}: ${capped.message}\n`)

  yield* Console.log("spans:")
  for (const span of spans.getFinishedSpans()) {
    const a = span.attributes
    yield* Console.log(
      `  ${span.name.padEnd(26)} ${String(a["baml.outcome"]).padEnd(11)} ${String(a["baml.error"] ?? "").padEnd(15)}` +
        ` output tokens ${a["gen_ai.usage.output_tokens"]} (${a["baml.usage.exact"] ? "reported" : "estimated"}),` +
        ` chunks ${a["baml.received.chunks"]}, first partial ${a["baml.time_to_first_partial_ms"] ?? "-"} ms`
    )
  }

  const { resourceMetrics } = yield* Effect.promise(() => metrics.collect())
  yield* Console.log("\nmetrics:")
  for (const metric of resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics)) {
    if (!metric.descriptor.name.startsWith("baml.") || metric.descriptor.name.includes("time_to")) continue
    for (const point of metric.dataPoints) {
      const tags = Object.entries(point.attributes).map(([key, value]) => `${key.replace("baml.", "")}=${value}`)
      yield* Console.log(`  ${metric.descriptor.name.padEnd(26)} ${String(point.value).padStart(5)}  ${tags.join(" ")}`)
    }
  }
})

program.pipe(Effect.provide(Layer.merge(Live, Telemetry)), Effect.runPromise).catch((error) => {
  console.error(error)
  process.exitCode = 1
})
