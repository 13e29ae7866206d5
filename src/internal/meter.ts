// The meter of one call or stream: it is told what happened (the native stream started, a partial reached the
// consumer's queue, the engine settled, the engine received an event) and, when the call or stream's scope closes,
// reads the usage, charges the budget, and records the metrics and the span's attributes. It stands in no path: the
// stream decides what to do with what the meter answers, and the trip-wire is the stream's alone.
import * as Engine from "@boundaryml/baml"
import { Effect, Exit, Option } from "effect"
import type * as Scope from "effect/Scope"
import { BudgetExceeded } from "../BamlError.js"
import { BamlRuntime } from "../BamlRuntime.js"
import * as TokenBudget from "../TokenBudget.js"
import * as Budget from "../core/usage/budget.js"
import { endingOf, type Exited, type Settled } from "../core/engine/ending.js"
import { describe, logAnnotations } from "../core/engine/logging.js"
import { annotate, record, streamSpan } from "./telemetry.js"
import { type Counted, readUsage, type Usage } from "../core/usage/usage.js"
import * as Kit from "#kit"

/**
 * Where each call and stream run inside `Baml.withUsage` hands its usage when it ends. Internal: `withUsage` provides
 * it, the meter reads it.
 */
export class UsageSink extends Kit.Service<UsageSink, (usage: Usage) => void>()("effect-baml/UsageSink") {}

/**
 * Set by `Baml.stopWhen` around the streams it consumes: `stopped` turns true when it found the partial it waited for,
 * just before it ends the stream. A stream that ends interrupted with it set stopped early, on purpose.
 */
export class EarlyStop extends Kit.Service<EarlyStop, { stopped: boolean }>()("effect-baml/EarlyStop") {}

/** What a call or stream tells its meter. */
export interface Meter {
  /** A Collector of this call alone (a user's Collector may hold many calls, so it cannot say which is this one). */
  readonly collector: Engine.Collector
  /** The native stream has started: from now on, how the engine settles says how the stream ended. */
  readonly started: () => void
  /** A partial reached the consumer's queue; only the first one counts (the time to the first partial). */
  readonly firstPartial: () => void
  /** The engine settled the stream; the first report wins. */
  readonly settled: (settled: Settled) => void
  /**
   * The engine received one server-sent event. While the request is still wanted (`aborted` false), the event is
   * charged to the budget as one output token; the answer is the error to cut the stream off with when that went over
   * the budget.
   */
  readonly onTick: (aborted: boolean) => BudgetExceeded | undefined
}

const exitedOf = (exit: Exit.Exit<unknown, unknown>): Exited => {
  if (Exit.isSuccess(exit)) return { _tag: "Success" }
  const error = Kit.failureOption(exit.cause)
  if (Option.isSome(error)) return { _tag: "Failure", error: error.value }
  if (Kit.isInterruptedOnly(exit.cause)) return { _tag: "Interrupted" }
  return { _tag: "Defect" }
}

/**
 * Starts metering one call or stream. Acquire it before the trip-wire: its finalizer then runs after the wire is
 * tripped, and reads what the engine had received by the abort. Fails with `BudgetExceeded` when the budget in the
 * context is already spent, before anything is sent.
 */
export const meter = (
  kind: "call" | "stream",
  functionName: string,
  clientOption: string | undefined
): Effect.Effect<Meter, BudgetExceeded, Scope.Scope> =>
  Effect.gen(function*() {
    const budget = Option.getOrUndefined(yield* Effect.serviceOption(TokenBudget.TokenBudget))
    const sink = Option.getOrUndefined(yield* Effect.serviceOption(UsageSink))
    const countTokens = Option.getOrUndefined(yield* Effect.serviceOption(BamlRuntime))?.countTokens
    const stop = Option.getOrUndefined(yield* Effect.serviceOption(EarlyStop))
    // A stream's span lives in the stream's own scope; a call runs in its span (`callSpan`, which makes one with or
    // without a tracer).
    const span = kind === "stream" ? yield* streamSpan(functionName) : yield* Effect.orDie(Effect.currentSpan)
    const startedAt = performance.now()
    const collector = new Engine.Collector("effect-baml")
    let started = false
    let firstPartialAt: number | undefined
    let settled: Settled | undefined
    // server-sent events received, and those charged to the budget as they came (one output token each)
    let ticks = 0
    let charged = 0
    // whether the budget cut the stream off
    let cut = false

    yield* Effect.addFinalizer((exit) =>
      Effect.suspend(() => {
        let counted: Counted
        try {
          counted = readUsage(collector.last, clientOption, countTokens)
        } catch {
          // The engine's records are read natively; if that fails, the call's outcome still counts, without usage.
          counted = readUsage(null, clientOption, countTokens)
        }
        const ending = endingOf(kind, started, settled, exitedOf(exit))
        const usage: Usage = {
          ...counted,
          ...ending,
          kind,
          functionName,
          aborted: ending.outcome === "interrupted" || cut,
          stoppedEarly: ending.outcome === "interrupted" && stop?.stopped === true,
          events: ticks,
          timeToFirstPartialMs: firstPartialAt === undefined ? undefined : firstPartialAt - startedAt,
          durationMs: performance.now() - startedAt
        }
        // Live counting charged one token per event; the provider's count (or the estimate) replaces it.
        // Input tokens are charged once the provider has counted them (an aborted request has no count).
        budget?.unsafeAdd({
          inputTokens: usage.reported.inputTokens ? usage.inputTokens : 0,
          cachedInputTokens: usage.reported.cachedInputTokens ? usage.cachedInputTokens : 0,
          outputTokens: usage.outputTokens - charged
        })
        annotate(span, usage)
        sink?.(usage)
        // The engine keeps every event of the call until its Collectors let go of it.
        collector.clear()
        // Debug: the outcome reaches the caller as a value; the line is for reading along, at the Logger's level.
        const log = Effect.logDebug(describe(usage)).pipe(Effect.annotateLogs(logAnnotations(usage)))
        return Effect.andThen(record(usage), log)
      })
    )

    if (budget !== undefined && Budget.isSpent(budget.options, budget.unsafeUsed(), "before-start")) {
      return yield* new BudgetExceeded(Budget.exceeded(budget.options, budget.unsafeUsed(), functionName, 0))
    }

    return {
      collector,
      started: () => void (started = true),
      firstPartial: () => void (firstPartialAt ??= performance.now()),
      settled: (how) => void (settled ??= how),
      onTick: (aborted) => {
        ticks++
        if (budget === undefined || aborted || cut) return undefined
        budget.unsafeAdd({ outputTokens: 1 })
        charged++
        const used = budget.unsafeUsed()
        if (!Budget.isSpent(budget.options, used, "while-running")) return undefined
        cut = true
        return new BudgetExceeded(Budget.exceeded(budget.options, used, functionName, ticks))
      }
    }
  })
