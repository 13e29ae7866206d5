/**
 * What effect-baml does beyond the other clients, on the Effect 4 line (the features are the same on Effect 3, from
 * the same source; no other client has them to compare with):
 *
 * - hedging on a slow tail: most replies are fast, one in ten stalls before its first byte; the same calls with and
 *   without `BamlHedge.layer`, for their latency and the output tokens all their requests used;
 * - early stop on a list: `Baml.stopWhen` at the fourth skill of a long resume against reading it to its end, for the
 *   time and the output tokens;
 * - the cost of asking for reasoning: CPU time of `Baml.streamWithReasoning` against `Baml.streamEvents` on one long
 *   reply with reasoning.
 */
import { Effect, Stream } from "effect"
import { Baml, BamlHedge, BamlRuntime } from "../../src/index.js"
import { ScriptedProvider } from "../../src/testing/index.js"
import { resume } from "../replies.js"
import type { Measure, Scenario } from "../scenario.js"
import { collector, mark } from "../scenario.js"

/** Calls per hedging round, this many at a time; one in `stallEvery` stalls for `stallMs`. */
const calls = 50
const concurrency = 10
const stallEvery = 10
const stallMs = 1_500
const hedgeAfterMs = 250

const percentile = (samples: ReadonlyArray<number>, q: number) => {
  const sorted = [...samples].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN
}

const sumOutput = (usages: ReadonlyArray<Baml.Usage>) => usages.reduce((n, usage) => n + usage.outputTokens, 0)

export const extras: Scenario = {
  name: "extras",
  steps: (rounds) => 6 * rounds.extras,
  run: (bench) =>
    Effect.gen(function*() {
      const provide = Effect.provideService(BamlRuntime.BamlRuntime, bench.target.service)
      const { provider } = bench

      // Hedging. The primary (ScriptedPrimary) stalls on every tenth request it gets; the secondary never does.
      const hedgeLatency = collector()
      const hedgeP99 = collector()
      const hedgeTokens = collector()
      const short = ScriptedProvider.json(resume(6), { chunkSize: 8, delayMs: 2 })
      for (let round = 0; round < bench.rounds.extras; round++) {
        for (const hedged of [false, true]) {
          yield* provider.reset
          yield* provider.script(
            {
              model: "scripted-primary",
              script: (request) =>
                request.index % stallEvery === stallEvery - 1 ? { ...short, firstByteDelayMs: stallMs } : short
            },
            { model: "scripted-secondary", script: short }
          )
          const one = (i: number) => {
            const started = performance.now()
            return Effect.map(
              Baml.call("ExtractResume", { resume: mark(`hedge-${i}`) }, { client: "ScriptedPrimary" }),
              () => performance.now() - started
            )
          }
          const all = Effect.forEach(Array.from({ length: calls }, (_, i) => i), one, { concurrency })
          const [durations, usages] = yield* (hedged
            ? Effect.provide(all, BamlHedge.layer({ after: `${hedgeAfterMs} millis`, options: { client: "ScriptedSecondary" } }))
            : all).pipe(Baml.withUsage, provide)
          const label = hedged ? `hedged after ${hedgeAfterMs} ms` : "not hedged"
          hedgeLatency.add(label, ...durations)
          hedgeP99.add(label, percentile(durations, 0.99))
          hedgeTokens.add(label, sumOutput(usages))
          bench.tick(`extras: hedging (${label})`)
        }
      }

      // Early stop on a list: 120 skills at 5 ms a chunk, stopped at the fourth or read to the end.
      const stopTime = collector()
      const stopTokens = collector()
      yield* provider.reset
      yield* provider.script({ script: ScriptedProvider.json(resume(120), { chunkSize: 8, delayMs: 5 }) })
      for (let round = 0; round < bench.rounds.extras; round++) {
        for (const early of [true, false]) {
          const started = performance.now()
          const events = Baml.streamEvents("ExtractResume", { resume: mark("stop") })
          const [, usages] = yield* (early
            ? Baml.stopWhen(events, (partial) => (partial as { readonly skills: ReadonlyArray<string> }).skills.length > 3)
            : Baml.final(events)).pipe(Baml.withUsage, provide)
          const label = early ? "Baml.stopWhen (4th skill)" : "read to the end"
          stopTime.add(label, performance.now() - started)
          stopTokens.add(label, sumOutput(usages))
          bench.tick(`extras: early stop (${label})`)
        }
      }

      // The cost of asking for reasoning: one long reply (reasoning, then 400 skills, ~1,900 events) at 1 ms a chunk, so
      // that the stream lasts long enough for the reads every 50 ms to add up.
      const reasoningCpu = collector()
      yield* provider.reset
      yield* provider.script({
        script: ScriptedProvider.json(resume(400), {
          reasoning: "Weighing each line of the resume before writing it. ".repeat(20),
          chunkSize: 4,
          delayMs: 1
        })
      })
      for (let round = 0; round < bench.rounds.extras; round++) {
        for (const asked of [false, true]) {
          const args = { resume: mark("reasoning") }
          const stream = asked ? Baml.streamWithReasoning("ExtractResume", args) : Baml.streamEvents("ExtractResume", args)
          const before = process.cpuUsage()
          yield* provide(Stream.runDrain(stream as Stream.Stream<unknown, unknown, BamlRuntime.BamlRuntime>))
          const used = process.cpuUsage(before)
          reasoningCpu.add(asked ? "Baml.streamWithReasoning" : "Baml.streamEvents", (used.user + used.system) / 1000)
          bench.tick("extras: reasoning")
        }
      }

      const measures: ReadonlyArray<Measure> = [
        {
          id: "hedgeLatency",
          title: "Slow tail: call latency with and without hedging",
          unit: "ms",
          rows: hedgeLatency.rows(),
          method: `${calls} calls of a short reply per round, ${concurrency} at a time; the primary client stalls ` +
            `${stallMs} ms before its first byte on one request in ${stallEvery}. Hedged: BamlHedge.layer starts the ` +
            `same call on a second client after ${hedgeAfterMs} ms without a result.`
        },
        {
          id: "hedgeP99",
          title: "Slow tail: p99 call latency per round",
          unit: "ms",
          rows: hedgeP99.rows(),
          method: "One sample per round: the 99th percentile of that round's call latencies (nearest rank)."
        },
        {
          id: "hedgeTokens",
          title: "Slow tail: output tokens of all requests per round",
          unit: "tokens",
          rows: hedgeTokens.rows(),
          method: "One sample per round: the output tokens of every request of the round, the hedges and the " +
            "aborted ones included (Baml.withUsage)."
        },
        {
          id: "stopTime",
          title: "Early stop on a list: time",
          unit: "ms",
          rows: stopTime.rows(),
          method: "A resume with 120 skills at 5 ms a chunk of 8 characters: Baml.stopWhen at the first partial with " +
            "four skills, against Baml.final (every partial read, to the end)."
        },
        {
          id: "stopTokens",
          title: "Early stop on a list: output tokens",
          unit: "tokens",
          rows: stopTokens.rows(),
          method: "The output tokens Baml.withUsage reports for the same streams (estimated from what arrived when " +
            "the request was aborted)."
        },
        {
          id: "reasoningCpu",
          title: "Asking for reasoning: CPU time of one long stream",
          unit: "ms",
          rows: reasoningCpu.rows(),
          method: "process.cpuUsage() around one stream run to its end: ~1,900 events (a reasoning text, then a " +
            "400-skill resume, 4 characters a chunk, 1 ms apart), read as events or with the reasoning."
        }
      ]
      return measures
    })
}
