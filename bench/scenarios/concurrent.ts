/**
 * Measure 5: many streams open at once, against a provider in a child process (so that only the client side is in
 * this process's heap and CPU time). Per client and round:
 *
 * - heap: `concurrentStreams` streams of a reply that stalls after a few chunks, so that every stream stays open
 *   however slowly the others start. Once each has delivered a partial, the heap is measured after full GCs; the
 *   streams are then stopped (abort signal, or interrupting the fiber), and the heap after GC once they have all
 *   ended is the baseline. (A baseline taken before they start drifts by megabytes: V8 flushes the bytecode of
 *   functions idle across several GCs, and compiles the streaming code afresh.)
 * - wall and CPU time: the same number of streams of a short reply, run to their end.
 */
import { setMaxListeners } from "node:events"
import { Effect, Fiber } from "effect"
import { BamlRuntime } from "../../src/index.js"
import { ScriptedProvider } from "../../src/testing/index.js"
import type { Client } from "../clients.js"
import { clients, runManyToEnd } from "../clients.js"
import type { Route } from "../provider-process.js"
import { remoteProvider } from "../remote.js"
import { resume } from "../replies.js"
import type { OpenFloor } from "../floor.js"
import { floorLabels, openFloor } from "../floor.js"
import type { Scenario } from "../scenario.js"
import { collector, cpuMsSince, heapAfterGc } from "../scenario.js"
import { rotate } from "../stats.js"
import type { Target } from "../target.js"
import { makeTarget } from "../target.js"

const stallMark = "[stall]"
const chunkSize = 32
const delayMs = 200
/**
 * ~12 chunks, 200 ms apart: a stream lasts ~2.5 s once it has started. Few chunks, because the engine's own work
 * per chunk, times a thousand streams, saturates a small machine.
 */
const script = ScriptedProvider.json(resume(2, 1), { chunkSize, delayMs })
export const routes: ReadonlyArray<Route> = [
  { contains: stallMark, script: { ...script, fault: { _tag: "Stall", afterChunks: 4 } } },
  { script }
]

const until = (done: () => boolean) =>
  Effect.gen(function*() {
    while (!done()) yield* Effect.sleep("20 millis")
  })

/**
 * `measure` once `n` stalled streams of `client` are open and have each delivered a partial, and again once they have
 * been stopped and have all ended.
 */
export const openThenStopped = <A>(client: Client, target: Target, n: number, measure: Effect.Effect<A>) =>
  Effect.gen(function*() {
    let started = 0
    let ended = 0
    const controller = new AbortController()
    // every stream listens on this one signal (the engine, and the official stream too)
    setMaxListeners(2 * n + 10, controller.signal)
    const fiber = yield* runManyToEnd(
      client,
      target,
      "ExtractResume",
      n,
      (i) => ({ resume: `${stallMark} stream ${i}` }),
      { first: () => started++, end: () => ended++ },
      controller.signal
    ).pipe(Effect.forkChild)
    yield* until(() => started === n)
    const open = yield* measure
    controller.abort()
    yield* Fiber.interrupt(fiber)
    yield* until(() => ended === n)
    return { open, stopped: yield* measure }
  })

/** Heap per open stream, in KB, of `n` stalled streams of `client`. */
const heapPerStream = (client: Client, target: Target, n: number) =>
  Effect.map(openThenStopped(client, target, n, heapAfterGc), ({ open, stopped }) => (open - stopped) / n / 1024)

/** `measure` with `n` fibers holding an open stream of a floor, and again once they have been stopped. */
export const floorOpenThenStopped = <A>(start: Effect.Effect<OpenFloor>, measure: Effect.Effect<A>) =>
  Effect.gen(function*() {
    const floor = yield* start
    yield* Effect.sleep("100 millis")
    const open = yield* measure
    yield* floor.stop
    return { open, stopped: yield* measure }
  })

/** Heap per fiber of `n` fibers holding an open stream, in KB: what any open Effect stream of that kind holds. */
const floorPerStream = (n: number, start: Effect.Effect<OpenFloor>) =>
  Effect.map(floorOpenThenStopped(start, heapAfterGc), ({ open, stopped }) => (open - stopped) / n / 1024)

export const floors = [
  { label: floorLabels.effect4Never, start: (n: number) => openFloor("effect4", n, "never") },
  { label: floorLabels.effect4, start: (n: number) => openFloor("effect4", n, "bridged") },
  { label: floorLabels.effect3Never, start: (n: number) => openFloor("effect3", n, "never") },
  { label: floorLabels.effect3, start: (n: number) => openFloor("effect3", n, "bridged") }
] as const

export const concurrent: Scenario = {
  name: "concurrent",
  steps: (rounds) => rounds.concurrent * (2 * clients.length + 1),
  run: (bench) =>
    Effect.scoped(Effect.gen(function*() {
      const { baseUrl } = yield* remoteProvider(routes)
      const service = yield* BamlRuntime.fromDirectory("baml_src", {
        env: { ...process.env, SCRIPTED_BASE_URL: baseUrl }
      })
      const target = makeTarget(service.engine, { ...service.env })
      const n = bench.concurrentStreams
      const heap = collector()
      const wall = collector()
      const cpu = collector()
      for (let round = 0; round < bench.rounds.concurrent; round++) {
        for (const client of rotate(clients, round)) {
          heap.add(client, yield* heapPerStream(client, target, n))
          bench.tick(`${n} open streams: ${client}`)
        }
        for (const floor of rotate(floors, round)) heap.add(floor.label, yield* floorPerStream(n, floor.start(n)))
        bench.tick(`${n} open streams: effect floors`)
        for (const client of rotate(clients, round)) {
          const since = process.cpuUsage()
          const startedAt = performance.now()
          yield* runManyToEnd(client, target, "ExtractResume", n, (i) => ({ resume: `stream ${i}` }), {
            first: () => undefined,
            end: () => undefined
          })
          wall.add(client, performance.now() - startedAt)
          cpu.add(client, cpuMsSince(since))
          bench.tick(`${n} streams to their end: ${client}`)
        }
      }
      const chunks = Math.ceil(script.reply.length / chunkSize)
      return [
        {
          id: "heapPerStream",
          title: `Heap per open stream, ${n} concurrent streams`,
          unit: "KB",
          rows: heap.rows(),
          method: `${n} streams whose reply stalls after 4 chunks. \`heapUsed\` after full GCs once every stream ` +
            "has delivered a partial, minus `heapUsed` after full GCs once they have been stopped and have all " +
            "ended, divided by the streams. The provider runs in a child process. The floor rows hold no engine " +
            `and no effect-baml, on each Effect line: ${n} fibers running \`Stream.runDrain(Stream.never)\` ` +
            `(any running Effect stream), and ${n} fibers each consuming a callback-bridged stream (Effect 4's ` +
            "`Stream.callback`, Effect 3's `Stream.asyncPush`, sliding buffer of one) that has delivered one " +
            "partial (any Effect stream fed by a callback)."
        },
        {
          id: "cpuConcurrent",
          title: `CPU time for ${n} concurrent streams`,
          unit: "ms",
          rows: cpu.rows(),
          method: `${n} streams of a ${chunks}-chunk reply (${delayMs} ms apart) started together and run to ` +
            "their end; `process.cpuUsage()` of this process (client and engine; the provider is in its own)."
        },
        {
          id: "wallConcurrent",
          title: `Wall time for ${n} concurrent streams to end`,
          unit: "ms",
          rows: wall.rows(),
          method: `The same ${n} streams: from starting them until the last one has ended.`
        }
      ]
    }))
}
