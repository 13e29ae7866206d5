import { type ResourceMetrics, MetricReader } from "@opentelemetry/sdk-metrics"
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import {
  Baml,
  describe,
  Effect,
  Exit,
  expect,
  Fiber,
  forkChild,
  Layer,
  layer,
  ScriptedProvider,
  Stream,
  telemetryLayer,
  TokenBudget
} from "#line"
import { longResume, marker, scriptLong, settled, shortResume, TestLayer } from "./fixtures.js"

const Provider = ScriptedProvider.ScriptedProvider

/** A metric reader that collects when asked, instead of on a timer. */
class OnDemandReader extends MetricReader {
  protected override onShutdown(): Promise<void> {
    return Promise.resolve()
  }
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve()
  }
}

const spans = new InMemorySpanExporter()
const reader = new OnDemandReader()

const OtelLayer = telemetryLayer({
  serviceName: "effect-baml-test",
  spanProcessor: new SimpleSpanProcessor(spans),
  metricReader: reader
})

/** The finished span of the BAML call or stream whose prompt held `mark` (matched through its trace id). */
const spanOf = (name: string, traceId: string): ReadableSpan => {
  const found = spans.getFinishedSpans().filter((s) => s.name === name && s.spanContext().traceId === traceId)
  expect(found, `one span ${name} in trace ${traceId}`).toHaveLength(1)
  return found[0]!
}

/** Runs `effect` in a trace of its own, and returns its exit and the trace's id. */
const traced = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const parent = yield* Effect.orDie(Effect.currentSpan)
    const exit = yield* Effect.exit(effect)
    return { exit, traceId: parent.traceId }
  }).pipe(Effect.withSpan("test", { root: true }))

/** The sum of the metric `name` over the data points whose attributes include `attributes`. */
const metricValue = (
  collected: ResourceMetrics,
  name: string,
  attributes: Readonly<Record<string, string>>
): number => {
  let sum = 0
  for (const scope of collected.scopeMetrics) {
    for (const metric of scope.metrics) {
      if (metric.descriptor.name !== name) continue
      for (const point of metric.dataPoints) {
        const matches = Object.entries(attributes).every(([key, value]) => point.attributes[key] === value)
        if (matches && typeof point.value === "number") sum += point.value
      }
    }
  }
  return sum
}

/** The count and sum of the histogram `name` over the data points whose attributes include `attributes`. */
const histogramValue = (
  collected: ResourceMetrics,
  name: string,
  attributes: Readonly<Record<string, string>>
): { count: number; sum: number } => {
  const total = { count: 0, sum: 0 }
  for (const scope of collected.scopeMetrics) {
    for (const metric of scope.metrics) {
      if (metric.descriptor.name !== name) continue
      for (const point of metric.dataPoints) {
        const matches = Object.entries(attributes).every(([key, value]) => point.attributes[key] === value)
        const value = point.value as { readonly count?: number; readonly sum?: number }
        if (matches && typeof value === "object") {
          total.count += value.count ?? 0
          total.sum += value.sum ?? 0
        }
      }
    }
  }
  return total
}

const collect = Effect.promise(() => reader.collect()).pipe(Effect.map((result) => result.resourceMetrics))

/** Metric values of `names` for the given tags, read before and after `effect`: what `effect` added. */
const added = <A, E, R>(
  names: ReadonlyArray<string>,
  tags: Readonly<Record<string, string>>,
  effect: Effect.Effect<A, E, R>
) =>
  Effect.gen(function*() {
    const before = yield* collect
    const result = yield* effect
    const after = yield* collect
    const delta = Object.fromEntries(
      names.map((name) => [name, metricValue(after, name, tags) - metricValue(before, name, tags)])
    )
    return { result, delta }
  })

const names = [
  "baml.calls",
  "baml.calls.failed",
  "baml.calls.cancelled",
  "baml.tokens.input",
  "baml.tokens.output",
  "baml.aborted.output_tokens",
  "baml.aborted.characters"
]

const attributeValues = (span: ReadableSpan) => Object.values(span.attributes).map(String)

layer(Layer.merge(TestLayer, OtelLayer), { timeout: "60 seconds", excludeTestServices: true })("BamlMetrics", (it) => {
  describe("spans", () => {
    it.effect("a call runs in a client span with its function, client, outcome and the provider's token counts", () =>
      Effect.gen(function*() {
        const mark = marker("span-call")
        const provider = yield* Provider
        yield* provider.script({ match: (p) => p.includes(mark), script: ScriptedProvider.json(shortResume("Ada")) })
        const { exit, traceId } = yield* traced(Baml.call("ExtractResume", { resume: mark }))
        expect(Exit.isSuccess(exit)).toBe(true)
        const record = yield* settled(mark)
        const span = spanOf("Baml.call ExtractResume", traceId)
        expect(span.kind).toBe(2) // SpanKind.CLIENT
        expect(span.attributes).toMatchObject({
          "baml.function": "ExtractResume",
          "baml.client": "Scripted",
          "baml.provider": "openai-generic",
          "baml.outcome": "success",
          "baml.aborted": false,
          "baml.attempts": 1,
          // the scripted provider counts a token per chunk and one per four characters of prompt
          "gen_ai.usage.output_tokens": record.planned,
          "gen_ai.usage.input_tokens": Math.ceil(record.prompt.length / 4),
          "baml.usage.exact": true
        })
        expect(span.attributes["baml.error"]).toBeUndefined()
        // the prompt (which holds the marker) and the reply are not attributes
        expect(attributeValues(span).some((value) => value.includes(mark) || value.includes("Ada"))).toBe(false)
      }), 20_000)

    it.effect("a stream's span has the time to its first partial, the chunks received and the provider's usage", () =>
      Effect.gen(function*() {
        const mark = marker("span-stream")
        const provider = yield* Provider
        yield* provider.script({
          match: (p) => p.includes(mark),
          script: ScriptedProvider.json(shortResume("Grace"), { delayMs: 5 })
        })
        const { exit, traceId } = yield* traced(Stream.runLast(Baml.stream("ExtractResume", { resume: mark })))
        expect(Exit.isSuccess(exit)).toBe(true)
        const record = yield* settled(mark)
        const span = spanOf("Baml.stream ExtractResume", traceId)
        expect(span.attributes).toMatchObject({
          "baml.function": "ExtractResume",
          "baml.client": "Scripted",
          "baml.outcome": "success",
          "baml.aborted": false,
          "gen_ai.usage.output_tokens": record.planned,
          "baml.usage.exact": true
        })
        // every content chunk, plus the finish and usage events
        expect(span.attributes["baml.received.chunks"]).toBeGreaterThanOrEqual(record.planned)
        expect(span.attributes["baml.received.chunks"]).toBeLessThanOrEqual(record.planned + 3)
        const ttfp = span.attributes["baml.time_to_first_partial_ms"]
        expect(typeof ttfp).toBe("number")
        expect(ttfp).toBeGreaterThanOrEqual(0)
        expect(ttfp).toBeLessThan(10_000)
      }), 20_000)

    it.effect("a failed call's span says failure and the error's tag", () =>
      Effect.gen(function*() {
        const mark = marker("span-fail")
        const provider = yield* Provider
        yield* provider.script({
          match: (p) => p.includes(mark),
          script: { reply: "x", fault: { _tag: "HttpError", status: 500 } }
        })
        const { exit, traceId } = yield* traced(Baml.call("ExtractResume", { resume: mark }))
        expect(Exit.isFailure(exit)).toBe(true)
        const span = spanOf("Baml.call ExtractResume", traceId)
        expect(span.attributes).toMatchObject({
          "baml.outcome": "failure",
          "baml.error": "BamlClientHttpError",
          "baml.client": "Scripted"
        })
        expect(span.status.code).toBe(2) // SpanStatusCode.ERROR
      }), 20_000)
    for (
      const { client, model, operation, provider } of [
        { client: "ScriptedAnthropic", model: "scripted-claude", operation: "chat", provider: "anthropic" },
        { client: "ScriptedGemini", model: "scripted-gemini", operation: "generate_content", provider: "gcp.gemini" }
      ]
    ) {
      it.effect(`spans and metrics carry OpenTelemetry's GenAI names (${provider}): usage, token usage, duration`, () =>
        Effect.gen(function*() {
          const mark = marker(`genai-${provider}`)
          const scripted = yield* Provider
          yield* scripted.script({
            match: (p) => p.includes(mark),
            script: ScriptedProvider.json(shortResume("Ada"), { delayMs: 1, cachedInputTokens: 3 })
          })
          const before = yield* collect
          const { exit, traceId } = yield* traced(
            Stream.runLast(Baml.stream("ExtractResume", { resume: mark }, { client }))
          )
          expect(Exit.isSuccess(exit)).toBe(true)
          const after = yield* collect
          const record = yield* settled(mark)
          const inputTokens = Math.ceil(record.prompt.length / 4)
          expect(spanOf("Baml.stream ExtractResume", traceId).attributes).toMatchObject({
            "gen_ai.operation.name": operation,
            "gen_ai.provider.name": provider,
            "gen_ai.request.model": model,
            "gen_ai.response.model": model,
            "gen_ai.usage.input_tokens": inputTokens,
            "gen_ai.usage.output_tokens": record.planned,
            "gen_ai.usage.cache_read.input_tokens": 3,
            "baml.usage.exact": true,
            "baml.client": client
          })
          const attributes = {
            "gen_ai.operation.name": operation,
            "gen_ai.provider.name": provider,
            "gen_ai.request.model": model
          }
          const delta = (name: string, extra: Readonly<Record<string, string>>) => {
            const [a, b] = [histogramValue(after, name, { ...attributes, ...extra }), histogramValue(before, name, { ...attributes, ...extra })]
            return { count: a.count - b.count, sum: a.sum - b.sum }
          }
          const tokens = "gen_ai.client.token.usage"
          const responseModel = { "gen_ai.response.model": model }
          expect(delta(tokens, { ...responseModel, "gen_ai.token.type": "output" })).toEqual({ count: 1, sum: record.planned })
          expect(delta(tokens, { ...responseModel, "gen_ai.token.type": "input" })).toEqual({ count: 1, sum: inputTokens })
          const duration = delta("gen_ai.client.operation.duration", {})
          expect(duration.count).toBe(1)
          expect(duration.sum).toBeGreaterThan(0)
          expect(duration.sum).toBeLessThan(60)
        }), 20_000)
    }
  })

  describe("metrics", () => {
    it.effect("calls, failures and tokens are counted per function, client and kind", () =>
      Effect.gen(function*() {
        const mark = marker("metrics")
        const provider = yield* Provider
        const text = `A summary ${mark} that the scripted provider streams.`
        yield* provider.script(
          {
            match: (p) => p.includes(mark) && p.includes("fail"),
            script: { reply: "x", fault: { _tag: "HttpError", status: 500 } }
          },
          { match: (p) => p.includes(mark), script: { reply: text, delayMs: 1 } }
        )
        const tags = { "baml.function": "Summarize", "baml.client": "Scripted", "baml.kind": "call" }
        const { delta } = yield* added(
          names,
          tags,
          Effect.all([
            Baml.call("Summarize", { text: mark }),
            Baml.call("Summarize", { text: mark }),
            Effect.option(Baml.call("Summarize", { text: `${mark} fail` }))
          ])
        )
        const records = (yield* provider.requests).filter((r) => r.prompt.includes(mark) && !r.prompt.includes("fail"))
        expect(records).toHaveLength(2)
        expect(delta["baml.calls"]).toBe(3)
        expect(delta["baml.calls.failed"]).toBe(1)
        expect(delta["baml.calls.cancelled"]).toBe(0)
        expect(delta["baml.tokens.output"]).toBe(records[0]!.planned + records[1]!.planned)
        expect(delta["baml.tokens.input"]).toBe(
          Math.ceil(records[0]!.prompt.length / 4) + Math.ceil(records[1]!.prompt.length / 4)
        )
        const failedByTag = metricValue(yield* collect, "baml.calls.failed", {
          ...tags,
          "baml.error": "BamlClientHttpError"
        })
        expect(failedByTag).toBeGreaterThanOrEqual(1)
      }), 20_000)

    it.effect("a stream the engine refuses at once (an unknown function) counts as a failure with its tag", () =>
      Effect.gen(function*() {
        const tags = { "baml.function": "NoSuchFunction", "baml.kind": "stream" }
        const refused = Effect.flip(Stream.runDrain(Baml.stream("NoSuchFunction", {})))
        const { delta, result } = yield* added(names, tags, refused)
        expect(result._tag).toBe("BamlRuntimeError")
        expect(delta["baml.calls"]).toBe(1)
        expect(delta["baml.calls.failed"]).toBe(1)
        expect(delta["baml.calls.cancelled"]).toBe(0)
        const failedByTag = metricValue(yield* collect, "baml.calls.failed", {
          ...tags,
          "baml.error": "BamlRuntimeError"
        })
        expect(failedByTag).toBeGreaterThanOrEqual(1)
      }), 20_000)
  })

  describe("cancellation accounting", () => {
    it.effect("an interrupted stream records how far it got: chunks, characters and estimated tokens", () =>
      Effect.gen(function*() {
        const mark = marker("cancel-stream")
        const provider = yield* Provider
        yield* provider.script({
          match: (p) => p.includes(mark),
          script: ScriptedProvider.json(longResume("Ada Lovelace"), { delayMs: 5 })
        })
        const tags = { "baml.function": "ExtractResume", "baml.client": "Scripted", "baml.kind": "stream" }
        const { delta, result: traceId } = yield* added(
          names,
          tags,
          traced(Effect.gen(function*() {
            const fiber = yield* forkChild(Stream.runDrain(Baml.stream("ExtractResume", { resume: mark })))
            yield* provider.awaitRequests((rs) => rs.some((r) => r.prompt.includes(mark) && r.sent >= 40))
            yield* Fiber.interrupt(fiber)
          })).pipe(Effect.map(({ traceId }) => traceId))
        )
        const record = yield* settled(mark)
        expect(record.status).toBe("closed-early")
        const span = spanOf("Baml.stream ExtractResume", traceId)
        expect(span.attributes).toMatchObject({
          "baml.outcome": "interrupted",
          "baml.aborted": true,
          "baml.usage.exact": false
        })
        // No call-site stack: its frames would be effect-baml's own, and formatting them slowed every interrupt.
        expect(span.attributes["code.stacktrace"]).toBeUndefined()
        // The provider had written 40 chunks when the interrupt came; a few may still have been on their way.
        const chunks = span.attributes["baml.received.chunks"] as number
        const characters = span.attributes["baml.received.characters"] as number
        const tokens = span.attributes["gen_ai.usage.output_tokens"] as number
        expect(chunks).toBeGreaterThanOrEqual(20)
        expect(chunks).toBeLessThanOrEqual(record.sent)
        // The provider sends four characters a chunk, and a token is estimated per chunk or per four characters
        // (the count of events and the text read back may differ by one event that came during the abort).
        expect(characters).toBeGreaterThanOrEqual((chunks - 1) * 4)
        expect(characters).toBeLessThanOrEqual((chunks + 1) * 4)
        expect(Math.abs(tokens - chunks)).toBeLessThanOrEqual(1)
        expect(delta["baml.calls"]).toBe(1)
        expect(delta["baml.calls.cancelled"]).toBe(1)
        expect(delta["baml.calls.failed"]).toBe(0)
        expect(delta["baml.aborted.output_tokens"]).toBe(tokens)
        expect(delta["baml.aborted.characters"]).toBe(characters)
        expect(delta["baml.tokens.output"]).toBe(tokens)
        expect(delta["baml.tokens.input"]).toBe(0) // an aborted request has no usage report
      }), 20_000)

    it.effect("a stream cut off by its budget is reported as aborted, in its span and in baml.aborted.*", () =>
      Effect.gen(function*() {
        const mark = marker("budget-cut-metrics")
        yield* scriptLong(mark)
        const tags = { "baml.function": "ExtractResume", "baml.client": "Scripted", "baml.kind": "stream" }
        const { delta, result: { exit, traceId } } = yield* added(
          names,
          tags,
          traced(
            Baml.stream("ExtractResume", { resume: mark }).pipe(
              Stream.runDrain,
              TokenBudget.limit({ maxOutputTokens: 50 })
            )
          )
        )
        expect(Exit.isFailure(exit)).toBe(true)
        expect((yield* settled(mark)).status).toBe("closed-early")
        const span = spanOf("Baml.stream ExtractResume", traceId)
        expect(span.attributes).toMatchObject({ "baml.outcome": "failure", "baml.aborted": true })
        const tokens = span.attributes["gen_ai.usage.output_tokens"] as number
        const characters = span.attributes["baml.received.characters"] as number
        expect(tokens).toBeGreaterThanOrEqual(50)
        expect(delta["baml.calls.failed"]).toBe(1)
        expect(delta["baml.aborted.output_tokens"]).toBe(tokens)
        expect(delta["baml.aborted.characters"]).toBe(characters)
        expect(characters).toBeGreaterThan(0)
      }), 20_000)

    it.effect("a stream that runs to its end under a budget is not reported as aborted", () =>
      Effect.gen(function*() {
        const mark = marker("budget-under-metrics")
        const provider = yield* Provider
        yield* provider.script({
          match: (p) => p.includes(mark),
          script: ScriptedProvider.json(shortResume("Grace Hopper"), { delayMs: 2 })
        })
        const tags = { "baml.function": "ExtractResume", "baml.client": "Scripted", "baml.kind": "stream" }
        const { delta, result: { exit, traceId } } = yield* added(
          names,
          tags,
          traced(
            Baml.stream("ExtractResume", { resume: mark }).pipe(
              Stream.runDrain,
              TokenBudget.limit({ maxOutputTokens: 10_000 })
            )
          )
        )
        expect(Exit.isSuccess(exit)).toBe(true)
        const span = spanOf("Baml.stream ExtractResume", traceId)
        expect(span.attributes).toMatchObject({ "baml.outcome": "success", "baml.aborted": false })
        expect(delta["baml.aborted.output_tokens"]).toBe(0)
        expect(delta["baml.aborted.characters"]).toBe(0)
      }), 20_000)

    it.effect("an interrupted call is counted as cancelled; its reply had not arrived, so nothing was received", () =>
      Effect.gen(function*() {
        const mark = marker("cancel-call")
        const provider = yield* Provider
        yield* provider.script({
          match: (p) => p.includes(mark),
          script: ScriptedProvider.json(longResume("Ada Lovelace"), { delayMs: 5 })
        })
        const tags = { "baml.function": "ExtractResume", "baml.client": "Scripted", "baml.kind": "call" }
        const { delta, result: traceId } = yield* added(
          names,
          tags,
          traced(Effect.gen(function*() {
            const fiber = yield* forkChild(Baml.call("ExtractResume", { resume: mark }))
            yield* provider.awaitRequests((rs) => rs.some((r) => r.prompt.includes(mark) && r.sent >= 20))
            yield* Fiber.interrupt(fiber)
          })).pipe(Effect.map(({ traceId }) => traceId))
        )
        const record = yield* settled(mark)
        expect(record.status).toBe("closed-early")
        const span = spanOf("Baml.call ExtractResume", traceId)
        expect(span.attributes).toMatchObject({
          "baml.outcome": "interrupted",
          "baml.aborted": true,
          "baml.client": "Scripted",
          "baml.received.characters": 0,
          "gen_ai.usage.output_tokens": 0
        })
        expect(delta["baml.calls"]).toBe(1)
        expect(delta["baml.calls.cancelled"]).toBe(1)
      }), 20_000)
  })
})
