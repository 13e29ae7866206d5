/**
 * Measures 1 and 2: how soon partials reach user code.
 *
 * The engine is seen through `instrumented`, which stamps each native event on entry to the native callback, so
 * for every partial user code receives we know when the engine emitted it. The provider stamps each chunk it
 * writes. Every client streams the same short reply to its end at 10 ms a chunk.
 */
import { Effect } from "effect"
import { ScriptedProvider } from "../../src/testing/index.js"
import { clients, runToEnd } from "../clients.js"
import { resume } from "../replies.js"
import type { Scenario } from "../scenario.js"
import { collector, eachRound, mark, settled, useScript } from "../scenario.js"
import { rotate } from "../stats.js"
import type { EmittedAt } from "../target.js"
import { instrumented } from "../target.js"

export const latency: Scenario = {
  name: "latency",
  steps: (rounds) => (rounds.latency + 1) * clients.length,
  run: (bench) =>
    Effect.gen(function*() {
      yield* useScript(bench.provider, ScriptedProvider.json(resume(6), { delayMs: 10 }))
      const emittedAt: EmittedAt = new WeakMap()
      const target = instrumented(bench.target, emittedAt)
      const firstPartial = collector()
      const delivery = collector()
      yield* eachRound(bench.rounds.latency, (round, recorded) =>
        Effect.forEach(rotate(clients, round), (client) =>
          Effect.gen(function*() {
            const label = mark("latency")
            let firstAt: number | undefined
            const delays: Array<number> = []
            yield* runToEnd(client, target, "ExtractResume", { resume: label }, (value) => {
              const at = performance.now()
              firstAt ??= at
              // effect-baml's final value comes from `done()`, not from a native event: it has no stamp
              const emitted = typeof value === "object" && value !== null ? emittedAt.get(value) : undefined
              if (emitted !== undefined) delays.push(at - emitted)
            })
            const record = yield* settled(bench.provider, label)
            const firstChunkAt = record.chunkTimes[0]
            if (recorded && firstAt !== undefined && firstChunkAt !== undefined) {
              firstPartial.add(client, firstAt - firstChunkAt)
            }
            if (recorded) delivery.add(client, ...delays)
            bench.tick(`latency: ${client}`)
          }), { discard: true }))
      return [
        {
          id: "firstPartial",
          title: "Provider's first chunk → first partial in user code",
          unit: "ms",
          rows: firstPartial.rows(),
          method: "One sample per stream: user code's `performance.now()` at the first partial minus the provider's " +
            "timestamp of its first content chunk (same process, same clock). Reply of ~120 chunks at 10 ms."
        },
        {
          id: "delivery",
          title: "Engine emits a partial → user code receives it",
          unit: "ms",
          rows: delivery.rows(),
          method: "One sample per partial: user code's `performance.now()` minus the moment the native `onEvent` " +
            "callback was entered for that partial (a Proxy on the engine wraps the callback; the parsed value is " +
            "the key, so a partial is matched with its own event)."
        }
      ]
    })
}
