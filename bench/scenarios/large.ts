/**
 * The large-object case of the design: a ~80 KB object streamed to its end from a fast provider. The engine
 * re-parses the growing reply, which costs seconds of CPU; a client should add nothing measurable to it.
 */
import { Effect } from "effect"
import { ScriptedProvider } from "../../src/testing/index.js"
import { clients, runToEnd } from "../clients.js"
import { largeResume } from "../replies.js"
import type { Scenario } from "../scenario.js"
import { collector, cpuMsSince, mark, settled, useScript } from "../scenario.js"
import { rotate } from "../stats.js"

/**
 * The engine re-parses the reply so far for every read, so its work grows with the square of the reply over the
 * chunk size: 16-character chunks cost it ~25 s of CPU for one stream on a 2-core machine. 256-character chunks
 * (~310) keep a sample at ~2 s. The 2 ms pause makes every chunk a read of its own: without it, how many chunks
 * arrive together (and so how often the engine parses) varies from run to run.
 */
const chunkSize = 256

export const large: Scenario = {
  name: "large",
  steps: (rounds) => rounds.large * clients.length,
  run: (bench) =>
    Effect.gen(function*() {
      const script = ScriptedProvider.json(largeResume(), { delayMs: 2, chunkSize })
      yield* useScript(bench.provider, script)
      const cpu = collector()
      const wall = collector()
      for (let round = 0; round < bench.rounds.large; round++) {
        for (const client of rotate(clients, round)) {
          const label = mark("large")
          const since = process.cpuUsage()
          const startedAt = performance.now()
          yield* runToEnd(client, bench.target, "ExtractResume", { resume: label }, () => undefined)
          wall.add(client, performance.now() - startedAt)
          cpu.add(client, cpuMsSince(since))
          yield* settled(bench.provider, label)
          bench.tick(`80 KB object: ${client}`)
        }
      }
      const stream = `One stream per sample of a ${Math.round(script.reply.length / 1024)} KB reply in ` +
        `${Math.ceil(script.reply.length / chunkSize)} chunks of ${chunkSize} characters, 2 ms apart, ` +
        "to its final value"
      return [
        {
          id: "largeCpu",
          title: "~80 KB object streamed to its end: CPU time",
          unit: "ms",
          rows: cpu.rows(),
          method: `${stream}; \`process.cpuUsage()\` over the stream. Almost all of it is the engine's parsing.`
        },
        {
          id: "largeWall",
          title: "~80 KB object streamed to its end: wall time",
          unit: "ms",
          rows: wall.rows(),
          method: `${stream}: from the call to the final value in user code.`
        }
      ]
    })
}
