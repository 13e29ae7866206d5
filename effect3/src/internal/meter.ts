// Usage, metrics, span attributes and the token budget of one call or stream, kept out of Baml.ts's data path: the
// data path only hands the engine a Collector and an onTick callback, and lets the meter watch what it emits.
import * as Engine from "@boundaryml/baml"
import type { FunctionLog, LlmCall, LlmStreamCall } from "@boundaryml/baml/native"
import { Array as Arr, Cause, Effect, Exit, FiberRef, MetricLabel, Option } from "effect"
import type { Metric } from "effect"
import type * as Scope from "effect/Scope"
import type * as Tracer from "effect/Tracer"
import type { BamlError } from "../BamlError.js"
import { BudgetExceeded } from "../BamlError.js"
import * as BamlMetrics from "../BamlMetrics.js"
import * as TokenBudget from "../TokenBudget.js"

type Kind = "call" | "stream"

/** Where a stream's results go. */
export interface Emit {
  readonly partial: (value: unknown) => void
  readonly final: (value: unknown) => void
  readonly fail: (error: BamlError) => void
}

/** The part of a call or stream that the meter needs to see. */
export interface Meter {
  /** A Collector of this call alone (a user's Collector may hold many calls, so it cannot say which is this one). */
  readonly collector: Engine.Collector
  /**
   * For streams: an `emit` that also notes the first partial and how the engine ended, and the engine's `onTick`,
   * called once per server-sent event, which counts each against the budget and pulls the wire when it is spent.
   */
  readonly watch: (emit: Emit, wire: AbortController) => { readonly emit: Emit; readonly onTick: () => void }
}

interface State {
  watched: boolean
  // server-sent events received, and those charged to the budget as they came (one output token each)
  ticks: number
  charged: number
  // whether the budget pulled the wire
  cut: boolean
  firstPartialAt: number | undefined
  // how the engine ended a stream: undefined while it runs, and for good when the consumer left first
  settled: { readonly _tag: "Success" } | { readonly _tag: "Failure"; readonly error: unknown } | undefined
}

/** What one call or stream used and how it ended. */
interface Report {
  readonly client: string
  readonly provider: string | undefined
  readonly attempts: number
  readonly outcome: "success" | "failure" | "interrupted"
  readonly error: string | undefined
  readonly aborted: boolean
  readonly inputTokens: number | undefined
  readonly cachedInputTokens: number | undefined
  readonly outputTokens: number
  readonly exact: boolean
  readonly chunks: number
  readonly characters: number
}

const isStreamCall = (call: LlmCall | LlmStreamCall): call is LlmStreamCall => "sseResponses" in call

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null

const str = (u: unknown): string => typeof u === "string" ? u : ""

/** The reply text in one server-sent event, for the providers' streaming formats the engine speaks. */
const textOfEvent = (event: unknown): string => {
  if (!isRecord(event)) return ""
  let text = ""
  if (Array.isArray(event.choices)) {
    // OpenAI chat completions (and every openai-generic server)
    for (const choice of event.choices) {
      if (isRecord(choice) && isRecord(choice.delta)) text += str(choice.delta.content)
    }
  }
  // Anthropic messages
  if (event.type === "content_block_delta" && isRecord(event.delta)) text += str(event.delta.text)
  // OpenAI responses
  if (event.type === "response.output_text.delta") text += str(event.delta)
  if (Array.isArray(event.candidates)) {
    // Google AI and Vertex
    for (const candidate of event.candidates) {
      if (isRecord(candidate) && isRecord(candidate.content) && Array.isArray(candidate.content.parts)) {
        for (const part of candidate.content.parts) if (isRecord(part)) text += str(part.text)
      }
    }
  }
  return text
}

/** Events with reply text, and its characters, over every attempt of a stream. */
const received = (calls: ReadonlyArray<LlmCall | LlmStreamCall>) => {
  let contentEvents = 0
  let characters = 0
  for (const call of calls) {
    if (!isStreamCall(call)) continue
    for (const event of call.sseResponses() ?? []) {
      let text = ""
      try {
        text = textOfEvent(event.json())
      } catch {
        // a line that is not JSON (`[DONE]`, a malformed event) carries no reply text
      }
      if (text.length > 0) contentEvents++
      characters += text.length
    }
  }
  return { contentEvents, characters }
}

/**
 * Output tokens from what arrived, when the provider did not count them: one per event with text (OpenAI streams one
 * token per event), or one per four characters (English text averages about four characters a token) when that is
 * more, as with providers that send several tokens per event.
 */
const estimate = (contentEvents: number, characters: number): number =>
  Math.max(contentEvents, Math.ceil(characters / 4))

const nullable = (n: number | null | undefined): number | undefined => n === null || n === undefined ? undefined : n

const outcomeOf = (
  kind: Kind,
  state: State,
  exit: Exit.Exit<unknown, unknown>
): Pick<Report, "outcome" | "error"> => {
  const failed = (error: unknown) => ({
    outcome: "failure" as const,
    error: isRecord(error) && typeof error._tag === "string" ? error._tag : "Defect"
  })
  // A stream ends with the consumer's exit, which is a success after `Stream.take` and the consumer's own error after
  // a failing downstream stage: how the engine ended says more, once the stream has started.
  if (kind === "stream" && state.watched) {
    if (state.settled === undefined) return { outcome: "interrupted", error: undefined }
    return state.settled._tag === "Success" ? { outcome: "success", error: undefined } : failed(state.settled.error)
  }
  if (Exit.isSuccess(exit)) return { outcome: "success", error: undefined }
  const failure = Cause.failureOption(exit.cause)
  if (Option.isSome(failure)) return failed(failure.value)
  if (Cause.isInterruptedOnly(exit.cause)) return { outcome: "interrupted", error: undefined }
  return failed(undefined)
}

const reportOf = (
  kind: Kind,
  state: State,
  log: FunctionLog | null,
  exit: Exit.Exit<unknown, unknown>,
  clientOption: string | undefined
): Report => {
  const { error, outcome } = outcomeOf(kind, state, exit)
  const calls = log?.calls ?? []
  const chosen = calls.find((call) => call.selected) ?? calls[calls.length - 1]
  const usage = log?.usage
  const reported = nullable(usage?.outputTokens)
  const raw = log?.rawLlmResponse ?? undefined
  // Reading the events back is linear in their number, so it is done once, and only when needed.
  const got = reported !== undefined && raw !== undefined
    ? { contentEvents: 0, characters: raw.length }
    : received(calls)
  const characters = raw?.length ?? got.characters
  return {
    client: chosen?.clientName ?? clientOption ?? "unknown",
    provider: chosen?.provider,
    attempts: calls.length,
    outcome,
    error,
    aborted: outcome === "interrupted" || state.cut,
    inputTokens: nullable(usage?.inputTokens),
    cachedInputTokens: nullable(usage?.cachedInputTokens),
    outputTokens: reported ?? estimate(got.contentEvents, characters),
    exact: reported !== undefined,
    chunks: state.ticks,
    characters
  }
}

/**
 * The labels of one data point, one array per distinct set: a metric keeps a cache of its data points keyed by the
 * labels array, so handing it the same array each time finds the point without hashing a new key. Bounded, in case
 * client names are made per call.
 */
const labelSets = new Map<string, ReadonlyArray<MetricLabel.MetricLabel>>()

const labelsOf = (kind: Kind, functionName: string, client: string, error?: string) => {
  const key = JSON.stringify([functionName, client, kind, error])
  let labels = labelSets.get(key)
  if (labels === undefined) {
    if (labelSets.size >= 1_000) labelSets.clear()
    labels = [
      MetricLabel.make("baml.function", functionName),
      MetricLabel.make("baml.client", client),
      MetricLabel.make("baml.kind", kind),
      ...(error === undefined ? [] : [MetricLabel.make("baml.error", error)])
    ]
    labelSets.set(key, labels)
  }
  return labels
}

/** Updates the metrics of one call or stream, with the fiber's own metric labels (`Effect.labelMetrics`) after ours. */
const record = (kind: Kind, functionName: string, report: Report, ttfp: number | undefined) =>
  Effect.flatMap(FiberRef.get(FiberRef.currentMetricLabels), (fiberLabels) =>
    Effect.sync(() => {
      const withFiber = (labels: ReadonlyArray<MetricLabel.MetricLabel>) =>
        fiberLabels.length === 0 ? labels : Arr.union(labels, fiberLabels)
      const labels = withFiber(labelsOf(kind, functionName, report.client))
      const add = (metric: Metric.Metric.Counter<number>, n: number | undefined) => {
        if (n !== undefined && n !== 0) metric.unsafeUpdate(n, labels)
      }
      add(BamlMetrics.calls, 1)
      if (report.outcome === "interrupted") add(BamlMetrics.cancelled, 1)
      if (report.error !== undefined) {
        BamlMetrics.failures.unsafeUpdate(1, withFiber(labelsOf(kind, functionName, report.client, report.error)))
      }
      add(BamlMetrics.inputTokens, report.inputTokens)
      add(BamlMetrics.outputTokens, report.outputTokens)
      add(BamlMetrics.cachedInputTokens, report.cachedInputTokens)
      if (report.aborted) {
        add(BamlMetrics.abortedOutputTokens, report.outputTokens)
        add(BamlMetrics.abortedCharacters, report.characters)
      }
      if (ttfp !== undefined) BamlMetrics.timeToFirstPartial.unsafeUpdate(ttfp, labels)
    }))

const annotate = (span: Tracer.Span, report: Report, ttfp: number | undefined) => {
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
  set("baml.time_to_first_partial_ms", ttfp === undefined ? undefined : Math.round(ttfp))
}

const spent = (options: TokenBudget.Options, used: TokenBudget.Used, strictly: boolean): boolean => {
  const over = (value: number, max: number | undefined) => max !== undefined && (strictly ? value > max : value >= max)
  return over(used.outputTokens, options.maxOutputTokens) || over(used.cost, options.cost?.max)
}

const budgetExceeded = (budget: TokenBudget.Service, functionName: string, callOutputTokens: number) => {
  const used = budget.unsafeUsed()
  const { cost, maxOutputTokens } = budget.options
  const limits = [
    maxOutputTokens === undefined ? undefined : `${used.outputTokens} of ${maxOutputTokens} output tokens used`,
    cost === undefined ? undefined : `an estimated cost of ${used.cost.toFixed(6)} of ${cost.max}`
  ].filter((part) => part !== undefined).join(", ")
  const what = callOutputTokens === 0
    ? `${functionName} was not started`
    : `${functionName} was cut off after ${callOutputTokens} output tokens`
  return new BudgetExceeded({
    message: `Token budget exceeded (${limits}): ${what}`,
    functionName,
    outputTokens: used.outputTokens,
    callOutputTokens,
    ...(maxOutputTokens === undefined ? {} : { maxOutputTokens }),
    ...(cost === undefined ? {} : { cost: used.cost, maxCost: cost.max })
  })
}

const spanOptions = (functionName: string) => ({
  kind: "client" as const,
  attributes: { "baml.function": functionName }
})

/**
 * Starts metering one call or stream. Acquire it before the trip-wire: its finalizer then runs after the wire is
 * pulled, and reads what the engine had received by the abort. Fails with `BudgetExceeded` when the budget in the
 * context is already spent, before anything is sent.
 */
export const meter = (
  kind: Kind,
  functionName: string,
  clientOption: string | undefined
): Effect.Effect<Meter, BudgetExceeded, Scope.Scope> =>
  Effect.gen(function*() {
    const budget = Option.getOrUndefined(yield* Effect.serviceOption(TokenBudget.TokenBudget))
    // A stream's span lives in the stream's own scope (cheaper than wrapping the stream); a call runs in its span.
    const span = kind === "stream"
      ? yield* Effect.makeSpanScoped(`Baml.stream ${functionName}`, spanOptions(functionName))
      : Option.getOrUndefined(yield* Effect.option(Effect.currentSpan))
    const startedAt = performance.now()
    const collector = new Engine.Collector("effect-baml")
    const state: State = {
      watched: false,
      ticks: 0,
      charged: 0,
      cut: false,
      firstPartialAt: undefined,
      settled: undefined
    }

    yield* Effect.addFinalizer((exit) =>
      Effect.suspend(() => {
        let report: Report
        try {
          report = reportOf(kind, state, collector.last, exit, clientOption)
        } catch {
          // The engine's records are read natively; if that fails, the call's outcome still counts, without usage.
          report = reportOf(kind, state, null, exit, clientOption)
        }
        // Live counting charged one token per event; the provider's count (or the estimate) replaces it.
        budget?.unsafeAdd({
          inputTokens: report.inputTokens,
          cachedInputTokens: report.cachedInputTokens,
          outputTokens: report.outputTokens - state.charged
        })
        const ttfp = state.firstPartialAt === undefined ? undefined : state.firstPartialAt - startedAt
        if (span !== undefined) annotate(span, report, ttfp)
        // The engine keeps every event of the call until its Collectors let go of it.
        collector.clear()
        return record(kind, functionName, report, ttfp)
      })
    )

    if (budget !== undefined && spent(budget.options, budget.unsafeUsed(), false)) {
      return yield* Effect.fail(budgetExceeded(budget, functionName, 0))
    }

    return {
      collector,
      watch: (emit, wire) => {
        state.watched = true
        return {
          emit: {
            partial: (value) => {
              state.firstPartialAt ??= performance.now()
              emit.partial(value)
            },
            final: (value) => {
              state.settled ??= { _tag: "Success" }
              emit.final(value)
            },
            fail: (error) => {
              state.settled ??= { _tag: "Failure", error }
              emit.fail(error)
            }
          },
          onTick: () => {
            state.ticks++
            if (budget === undefined || wire.signal.aborted) return
            budget.unsafeAdd({ outputTokens: 1 })
            state.charged++
            if (spent(budget.options, budget.unsafeUsed(), true)) {
              const error = budgetExceeded(budget, functionName, state.ticks)
              state.cut = true
              state.settled = { _tag: "Failure", error }
              emit.fail(error)
              wire.abort()
            }
          }
        }
      }
    }
  })

/** Runs a call in its span, `Baml.call <function>`. */
export const callSpan =
  (functionName: string) =>
  <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, Exclude<R, Tracer.ParentSpan>> =>
    Effect.withSpan(self, `Baml.call ${functionName}`, spanOptions(functionName))
