/**
 * Measure 4: CPU time per partial, of each client over the bare native callback.
 *
 * End to end: a batch of streams of a ~3 KB reply from a provider that does not pause between chunks, so that the
 * engine works flat out; the sample is the process CPU time (all threads: engine, provider and client) over the
 * batch divided by the partials user code received. The engine's parsing dominates that number, so each client's own
 * cost is also measured alone, per partial and per stream, on a stub engine that emits ready-made partials (`stub.ts`).
 */
import { Effect } from "effect"
import { ScriptedProvider } from "../../src/testing/index.js"
import { clients, runManyToEnd, runToEnd } from "../clients.js"
import { floorLabels, runFloor } from "../floor.js"
import { resume } from "../replies.js"
import type { Scenario } from "../scenario.js"
import { collector, cpuMsSince, mark, useScript } from "../scenario.js"
import { rotate } from "../stats.js"
import { stubTarget } from "../stub.js"

/** Concurrent streams in one end-to-end sample. */
const batch = 6
/** Partials the stub engine emits in one sample. */
const stubEvents = 5_000
/** Streams of one partial each in one sample of the fixed cost per stream. */
const stubStreams = 200
const ignore = { first: () => undefined, end: () => undefined }

export const cpu: Scenario = {
  name: "cpu",
  steps: (rounds) => (rounds.cpu + 2 * rounds.layer) * clients.length + 2 * rounds.layer,
  run: (bench) =>
    Effect.gen(function*() {
      yield* useScript(bench.provider, ScriptedProvider.json(resume(120), { delayMs: 0 }))
      const endToEnd = collector()
      for (let round = 0; round < bench.rounds.cpu; round++) {
        for (const client of rotate(clients, round)) {
          let partials = 0
          const since = process.cpuUsage()
          const delivered = yield* Effect.forEach(
            Array.from({ length: batch }, () => mark("cpu")),
            (label) => runToEnd(client, bench.target, "ExtractResume", { resume: label }, () => undefined),
            { concurrency: "unbounded" }
          )
          const cpuMs = cpuMsSince(since)
          for (const d of delivered) partials += d.partials
          endToEnd.add(client, (cpuMs * 1000) / partials)
          bench.tick(`cpu: ${client}`)
        }
      }

      const stub = stubTarget(stubEvents)
      const layerAlone = collector()
      for (let round = 0; round < bench.rounds.layer; round++) {
        for (const client of rotate(clients, round)) {
          const since = process.cpuUsage()
          yield* runToEnd(client, stub, "Stub", {}, () => undefined)
          layerAlone.add(client, (cpuMsSince(since) * 1000) / stubEvents)
          bench.tick(`cpu (stub engine): ${client}`)
        }
      }

      const short = stubTarget(1)
      const perStream = collector()
      for (let round = 0; round < bench.rounds.layer; round++) {
        for (const client of rotate(clients, round)) {
          const since = process.cpuUsage()
          yield* runManyToEnd(client, short, "Stub", stubStreams, () => ({}), ignore)
          perStream.add(client, (cpuMsSince(since) * 1000) / stubStreams)
          bench.tick(`cpu per stream (stub engine): ${client}`)
        }
        for (const line of rotate(["effect4", "effect3"] as const, round)) {
          const since = process.cpuUsage()
          yield* runFloor(line, stubStreams, 1)
          perStream.add(floorLabels[line], (cpuMsSince(since) * 1000) / stubStreams)
          bench.tick(`cpu per stream: ${floorLabels[line]}`)
        }
      }

      return [
        {
          id: "cpuPerPartial",
          title: "CPU per partial, end to end (fast provider)",
          unit: "µs",
          rows: endToEnd.rows(),
          method: `Per sample: ${batch} concurrent streams of a ~3 KB reply (~740 chunks, no pause between ` +
            "chunks); `process.cpuUsage()` over the batch (all threads) divided by the partials user code received."
        },
        {
          id: "cpuPerPartialStub",
          title: "CPU per partial, client alone (stub engine)",
          unit: "µs",
          rows: layerAlone.rows(),
          method: `Per sample: one stream of ${stubEvents} ready-made partials from a stub engine (one per ` +
            "macrotask, no HTTP, no parsing); `process.cpuUsage()` divided by the partials emitted."
        },
        {
          id: "cpuPerStreamStub",
          title: "CPU per stream, client alone (stub engine, one partial)",
          unit: "µs",
          rows: perStream.rows(),
          method: `Per sample: ${stubStreams} concurrent streams (the official iterator sleeps 100 ms when its ` +
            "queue is empty, so one after another would measure its sleeps), each of one partial and the final " +
            "value from the stub engine; `process.cpuUsage()` divided by the streams: the fixed cost of starting " +
            "and ending a stream. The floor rows are the same streams as bare callback-bridged streams (Effect 4's " +
            "`Stream.callback`, Effect 3's `Stream.asyncPush`, sliding buffer of one) fed by a callback: what any " +
            "Effect stream of this kind costs on each line before effect-baml adds its trip-wire, span, metrics " +
            "and engine call."
        }
      ]
    })
}
