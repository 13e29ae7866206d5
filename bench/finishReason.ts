/**
 * What reading how a reply ended costs (src/core/errors/outcome.ts `settledOutcome`, which reads the last events of a
 * stream or the body of a call from the engine's Collector): measured on real engine logs of the scripted provider,
 * per settled call and per settled stream, for each provider format, against the usage read the meter already does
 * once per call (`readUsage`, which reads every event). Nothing is added per partial: the partial path does not read
 * the Collector. Run: `node --import tsx bench/finishReason.ts`.
 */
import * as Engine from "@boundaryml/baml"
import * as EngineLogging from "@boundaryml/baml/logging"
import { readFileSync } from "node:fs"
import { settledOutcome } from "../src/core/errors/outcome.js"
import { start } from "../src/core/scripted/scriptedServer.js"
import { readUsage } from "../src/core/usage/usage.js"

EngineLogging.setLogLevel("off")
const server = await start({ rules: [{ script: { reply: "word ".repeat(400), chunkSize: 4, delayMs: 0 } }] })
const env = { SCRIPTED_BASE_URL: server.baseUrl }
const files = {
  "clients.baml": readFileSync("baml_src/clients.baml", "utf8"),
  "resume.baml": readFileSync("baml_src/resume.baml", "utf8")
}
const runtime = Engine.BamlRuntime.fromFiles("baml_src", files, env)
const clients = ["Scripted", "ScriptedAnthropic", "ScriptedResponses", "ScriptedGemini"]

const cpuMicros = (f: () => void, n: number): number => {
  for (let i = 0; i < 50; i++) f()
  const before = process.cpuUsage()
  for (let i = 0; i < n; i++) f()
  const used = process.cpuUsage(before)
  return (used.user + used.system) / n
}

const rows: Array<Record<string, string | number>> = []
for (const client of clients) {
  for (const kind of ["call", "stream"] as const) {
    const registry = new Engine.ClientRegistry()
    const collector = new Engine.Collector("bench")
    const ctx = runtime.createContextManager()
    const args = { text: "a text to summarize" }
    // `client` as the engine takes it: a registry whose primary is a baml_src client
    registry.setPrimary(client)
    if (kind === "call") {
      await runtime.callFunction("Summarize", args, ctx, undefined, registry, [collector], {}, env)
    } else {
      const stream = runtime.streamFunction("Summarize", args, undefined, ctx, undefined, registry, [collector], {}, env)
      await stream.done(ctx)
    }
    const log = collector.last
    const events = kind === "stream" ? (log?.calls[0] as { sseResponses?: () => Array<unknown> | null })?.sseResponses?.()?.length ?? 0 : 0
    const n = 2_000
    const outcome = cpuMicros(() => void settledOutcome(log, () => undefined, env, args), n)
    const usage = cpuMicros(() => void readUsage(log, client), 200)
    // the engine's own cost of handing the events over, which any reading of them pays
    const handOver = kind === "stream"
      ? cpuMicros(() => void (log?.calls[0] as { sseResponses: () => unknown }).sseResponses(), n)
      : 0
    rows.push({
      client,
      kind,
      events,
      "settledOutcome µs": outcome.toFixed(1),
      "of which sseResponses() µs": handOver.toFixed(1),
      "readUsage µs (for scale)": usage.toFixed(1)
    })
  }
}
console.table(rows)
await server.close()
process.exit(0)
