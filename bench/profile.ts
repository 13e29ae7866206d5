/**
 * Where the time and memory behind the targets go, for the report's "Where the misses come
 * from". Writes bench/breakdown.md and renders docs/benchmarks.md again from bench/results.json with it.
 *
 * - Heap: V8 heap snapshots with `n` stalled streams open and after they have ended (as the concurrent scenario
 *   measures the heap), summed by constructor and divided by the streams, for the native floor, each Effect line and
 *   each line's bare bridge; then each line's objects beyond its reference.
 * - Time: how long each Effect runtime itself takes to deliver an interrupt to a fiber waiting in its queue, and a
 *   failure from a callback to user code (the floors under the close and HTTP 500 measures); and CPU profiles of a
 *   line's HTTP 500 streams and of its stream start and end (stub engine), grouped by where the code lives.
 *
 *   npm run build && node --expose-gc --import tsx --import ./bench/built.mjs bench/profile.ts [--streams=200]
 */
import { readFileSync, writeFileSync } from "node:fs"
import { Session } from "node:inspector/promises"
import { getHeapSnapshot } from "node:v8"
import { Effect, Stream } from "effect"
import { Effect3 } from "./effect3.js"
import { Floor3 } from "./effect3.js"
import { Baml, BamlRuntime } from "../src/index.js"
import { ScriptedProvider } from "../src/testing/index.js"
import type { Client } from "./clients.js"
import { lines, runManyToEnd } from "./clients.js"
import { failureDelivery, floorLabels, interruptDelivery, openFloor } from "./floor.js"
import { remoteProvider } from "./remote.js"
import { resume } from "./replies.js"
import type { Results } from "./report.js"
import { markdown } from "./report.js"
import { useScript } from "./scenario.js"
import { floorOpenThenStopped, openThenStopped, routes } from "./scenarios/concurrent.js"
import { summarize } from "./stats.js"
import { stubTarget } from "./stub.js"
import { makeTarget } from "./target.js"

process.env.BAML_LOG ??= "error"
const flag = (name: string, fallback: number) => {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`))
  return arg === undefined ? fallback : Number(arg.slice(name.length + 3))
}
const n = flag("streams", 200)

// ---------------------------------------------------------------------------------------------------------------
// Heap snapshots

type ByKind = Map<string, { count: number; bytes: number }>

interface Snapshot {
  readonly snapshot: {
    readonly meta: { readonly node_fields: ReadonlyArray<string>; readonly node_types: ReadonlyArray<unknown> }
  }
  readonly nodes: ReadonlyArray<number>
  readonly strings: ReadonlyArray<string>
}

/** The live heap after full GCs, summed by constructor (closures by function name; strings, arrays, code apart). */
const heapByKind: Effect.Effect<ByKind> = Effect.gen(function*() {
  const gc = globalThis.gc!
  for (let i = 0; i < 3; i++) {
    gc()
    yield* Effect.sleep("10 millis")
  }
  const text = yield* Effect.promise(async () => {
    const parts: Array<string> = []
    for await (const part of getHeapSnapshot()) parts.push(String(part))
    return parts.join("")
  })
  const snap = JSON.parse(text) as Snapshot
  const fields = snap.snapshot.meta.node_fields
  const types = snap.snapshot.meta.node_types[0] as ReadonlyArray<string>
  const [typeAt, nameAt, sizeAt] = ["type", "name", "self_size"].map((f) => fields.indexOf(f)) as [number, number, number]
  const out: ByKind = new Map()
  for (let i = 0; i < snap.nodes.length; i += fields.length) {
    const type = types[snap.nodes[i + typeAt]!] ?? "?"
    const name = snap.strings[snap.nodes[i + nameAt]!] ?? "?"
    const key = type === "object"
      ? name
      : type === "closure"
      ? `closure ${name || "(anonymous)"}`
      : type.includes("string")
      ? "(strings)"
      : `(${type})`
    const entry = out.get(key) ?? { count: 0, bytes: 0 }
    entry.count++
    entry.bytes += snap.nodes[i + sizeAt]!
    out.set(key, entry)
  }
  return out
})

/** Per stream: what the heap held with the streams open beyond what it held after they had ended. */
const perStream = ({ open, stopped }: { open: ByKind; stopped: ByKind }): ByKind => {
  const out: ByKind = new Map()
  for (const key of new Set([...open.keys(), ...stopped.keys()])) {
    const a = open.get(key) ?? { count: 0, bytes: 0 }
    const b = stopped.get(key) ?? { count: 0, bytes: 0 }
    out.set(key, { count: (a.count - b.count) / n, bytes: (a.bytes - b.bytes) / n })
  }
  return out
}

const minus = (a: ByKind, b: ByKind): ByKind => {
  const out: ByKind = new Map()
  for (const key of new Set([...a.keys(), ...b.keys()])) {
    const x = a.get(key) ?? { count: 0, bytes: 0 }
    const y = b.get(key) ?? { count: 0, bytes: 0 }
    out.set(key, { count: x.count - y.count, bytes: x.bytes - y.bytes })
  }
  return out
}

const total = (kinds: ByKind) => [...kinds.values()].reduce((sum, k) => sum + k.bytes, 0)

const kb = (bytes: number) => (bytes / 1024).toFixed(2)

/** The kinds that hold the most, as a markdown table. */
const topKinds = (kinds: ByKind, rows = 14): string => {
  const sorted = [...kinds].filter(([, k]) => Math.abs(k.bytes) >= 16).sort((a, b) => b[1].bytes - a[1].bytes)
  const shown = sorted.slice(0, rows)
  const rest = sorted.slice(rows).reduce((sum, [, k]) => sum + k.bytes, 0)
  return [
    "| held per stream | bytes | objects |",
    "| --- | --- | --- |",
    ...shown.map(([key, k]) => `| \`${key}\` | ${k.bytes.toFixed(0)} | ${k.count.toFixed(1)} |`),
    `| everything else | ${rest.toFixed(0)} | |`,
    `| **total** | **${total(kinds).toFixed(0)}** | |`
  ].join("\n")
}

// ---------------------------------------------------------------------------------------------------------------
// CPU profiles

interface ProfileNode {
  readonly id: number
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number }
  readonly hitCount?: number
}

/** Where a function's code lives. */
const placeOf = (url: string, fn: string): string => {
  if (url === "") return fn.startsWith("(") ? fn : "(native or builtin)"
  if (url.includes("/effect3/node_modules/effect/")) return "Effect 3 runtime"
  if (url.includes("/node_modules/effect/")) return "Effect 4 runtime"
  if (/\/(?:src|dist\/effect[34])\/core\//.test(url)) return "effect-baml shared core (core/)"
  if (url.includes("/dist/effect3/")) return "effect-baml/effect3 (dist/effect3)"
  if (url.includes("/dist/effect4/")) return "effect-baml (dist/effect4)"
  if (url.includes("/src/")) return "effect-baml (src)"
  if (url.includes("@boundaryml")) return "engine's JS (@boundaryml/baml)"
  if (url.includes("/bench/")) return "benchmark harness"
  if (url.startsWith("node:")) return "Node internals"
  return "other"
}

interface CpuProfile {
  readonly places: ReadonlyArray<readonly [string, number]>
  readonly functions: ReadonlyArray<readonly [string, number]>
  readonly totalMs: number
}

const interval = 100

/** Runs `effect` under the sampling CPU profiler; self time by place and by function, in ms. */
const profiled = <A, E>(effect: Effect.Effect<A, E>): Effect.Effect<CpuProfile, E> =>
  Effect.gen(function*() {
    const session = new Session()
    session.connect()
    yield* Effect.promise(async () => {
      await session.post("Profiler.enable")
      await session.post("Profiler.setSamplingInterval", { interval })
      await session.post("Profiler.start")
    })
    yield* effect
    const { profile } = yield* Effect.promise(() => session.post("Profiler.stop"))
    session.disconnect()
    const places = new Map<string, number>()
    const functions = new Map<string, number>()
    let totalMs = 0
    for (const node of profile.nodes as ReadonlyArray<ProfileNode>) {
      const ms = ((node.hitCount ?? 0) * interval) / 1000
      const { functionName, url, lineNumber } = node.callFrame
      if (ms === 0 || functionName === "(idle)") continue
      totalMs += ms
      const place = placeOf(url, functionName)
      places.set(place, (places.get(place) ?? 0) + ms)
      const file = url.replace(/^.*?\/(node_modules\/|effect3\/|dist\/|src\/|bench\/)/, "$1")
      const fn = `${functionName || "(anonymous)"} ${file === "" ? "" : `${file}:${lineNumber + 1}`}`.trim()
      functions.set(`${fn} — ${place}`, (functions.get(`${fn} — ${place}`) ?? 0) + ms)
    }
    const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1])
    return { places: sorted(places), functions: sorted(functions).slice(0, 10), totalMs }
  })

const profileTable = (p: CpuProfile, per: number, unit: string): string =>
  [
    `| where (self time) | ${unit} | share |`,
    "| --- | --- | --- |",
    ...p.places.map(([place, ms]) =>
      `| ${place} | ${((ms * 1000) / per).toFixed(1)} | ${((ms / p.totalMs) * 100).toFixed(0)}% |`
    ),
    "",
    `| hottest functions (self time) | ${unit} |`,
    "| --- | --- |",
    ...p.functions.map(([fn, ms]) => `| \`${fn}\` | ${((ms * 1000) / per).toFixed(1)} |`)
  ].join("\n")

// ---------------------------------------------------------------------------------------------------------------

const medianOf = (xs: ReadonlyArray<number>) => summarize(xs).median
const repeat = <E>(times: number, effect: Effect.Effect<number, E>) =>
  Effect.map(Effect.forEach(Array.from({ length: times }), () => effect), medianOf)

const main = Effect.scoped(Effect.gen(function*() {
  const sections: Array<string> = []
  const log = (line: string) => process.stderr.write(`${line}\n`)

  // Heap
  const remote = yield* remoteProvider(routes)
  const service = yield* BamlRuntime.fromDirectory("baml_src", {
    env: { ...process.env, SCRIPTED_BASE_URL: remote.baseUrl }
  })
  const target = makeTarget(service.engine, { ...service.env })
  // one short round first, so that no client pays for compiling its code inside the snapshots
  for (const client of ["native", lines.effect4, lines.effect3] as ReadonlyArray<Client>) {
    yield* runManyToEnd(client, target, "ExtractResume", 5, (i) => ({ resume: `warm ${i}` }), {
      first: () => undefined,
      end: () => undefined
    })
  }
  const heap: Record<string, ByKind> = {}
  for (const client of ["native", lines.effect4, lines.effect3] as ReadonlyArray<Client>) {
    log(`heap snapshots: ${client}`)
    heap[client] = perStream(yield* openThenStopped(client, target, n, heapByKind))
  }
  for (const [label, line] of [[floorLabels.effect4, "effect4"], [floorLabels.effect3, "effect3"]] as const) {
    log(`heap snapshots: ${label}`)
    heap[label] = perStream(yield* floorOpenThenStopped(openFloor(line, n, "bridged"), heapByKind))
  }
  const e4OverNative = minus(heap[lines.effect4]!, heap["native"]!)
  const e3OverFloor = minus(heap[lines.effect3]!, heap[floorLabels.effect3]!)
  const e4OverFloor = minus(heap[lines.effect4]!, heap[floorLabels.effect4]!)
  sections.push(
    "### Heap per open stream, by constructor",
    "",
    `From V8 heap snapshots (\`bench/profile.ts\`, ${n} stalled streams, the provider in a child process): the live ` +
    "heap with every stream open minus the heap once they have all ended, per stream, summed by constructor. " +
    "Totals per stream: " +
    Object.entries(heap).map(([label, kinds]) => `${label} ${kb(total(kinds))} KB`).join(", ") +
    ". (Snapshot totals run a little over `heapUsed` differences; compare rows of this table with each other.)",
    "",
    `**Effect 4 line beyond the native floor** (+${kb(total(e4OverNative))} KB a stream):`,
    "",
    topKinds(e4OverNative),
    "",
    `**Effect 4 line beyond a bare \`Stream.callback\` stream** (+${kb(total(e4OverFloor))} KB a stream):`,
    "",
    topKinds(e4OverFloor),
    "",
    `**Effect 3 line beyond a bare \`Stream.asyncPush\` stream** (+${kb(total(e3OverFloor))} KB a stream):`,
    "",
    topKinds(e3OverFloor),
    ""
  )

  // Time: the runtimes' own delivery of an interrupt and of a failure
  log("interrupt and failure delivery")
  const delivery = {
    interrupt4: yield* repeat(41, interruptDelivery),
    interrupt3: yield* repeat(41, Effect.promise(Floor3.interruptDelivery)),
    failure4: yield* repeat(41, failureDelivery),
    failure3: yield* repeat(41, Effect.promise(Floor3.failureDelivery))
  }
  const ms = (x: number) => x.toFixed(3)
  sections.push(
    "### What each Effect runtime itself takes (medians of 41)",
    "",
    "| step, no engine and no effect-baml | Effect 4 | Effect 3 |",
    "| --- | --- | --- |",
    `| \`Fiber.interrupt\` → the \`onInterrupt\` of a fiber waiting in its queue runs (ms) | ${
      ms(delivery.interrupt4)
    } | ${ms(delivery.interrupt3)} |`,
    `| a callback fails a bridged stream → user code's handler runs (ms) | ${ms(delivery.failure4)} | ${
      ms(delivery.failure3)
    } |`,
    ""
  )

  // CPU: HTTP 500 streams, and streams started and ended on the stub engine
  const failures = 100
  const provider = yield* ScriptedProvider.make()
  yield* useScript(provider, { ...ScriptedProvider.json(resume(2)), fault: { _tag: "HttpError", status: 500 } })
  const local = yield* BamlRuntime.fromDirectory("baml_src", {
    env: { ...process.env, SCRIPTED_BASE_URL: provider.baseUrl }
  })
  const failing = {
    [lines.effect4]: Effect.forEach(Array.from({ length: failures }), () =>
      Stream.runDrain(Baml.stream("ExtractResume", { resume: "x" })).pipe(
        Effect.catch(() => Effect.void),
        Effect.provideService(BamlRuntime.BamlRuntime, local)
      ), { discard: true }),
    [lines.effect3]: Effect.forEach(
      Array.from({ length: failures }),
      () => Effect.promise(() => Effect3.streamFailure(local, "ExtractResume", { resume: "x" })),
      { discard: true }
    )
  }
  for (const [label, run] of Object.entries(failing)) {
    yield* run // warm
    log(`cpu profile: HTTP 500 streams, ${label}`)
    const p = yield* profiled(run)
    sections.push(
      `### CPU of ${failures} HTTP 500 streams, one after another: ${label}`,
      "",
      `${p.totalMs.toFixed(0)} ms of samples in all, engine included (its parsing and HTTP run on other threads and ` +
      "do not show here):",
      "",
      profileTable(p, failures, "µs a stream"),
      ""
    )
  }
  const stub = stubTarget(1)
  const streams = 200
  for (const client of [lines.effect4, lines.effect3, "official"] as ReadonlyArray<Client>) {
    const run = runManyToEnd(client, stub, "Stub", streams, () => ({}), { first: () => undefined, end: () => undefined })
    yield* run
    log(`cpu profile: stream start and end, ${client}`)
    const p = yield* profiled(Effect.forEach(Array.from({ length: 5 }), () => run, { discard: true }))
    sections.push(
      `### CPU of starting and ending a stream (stub engine, ${streams} at once, 5 times): ${client}`,
      "",
      profileTable(p, 5 * streams, "µs a stream"),
      ""
    )
  }

  const doc = ["## Where the time and memory go", "", ...sections].join("\n")
  writeFileSync(new URL("breakdown.md", import.meta.url), doc + "\n")
  const results = JSON.parse(readFileSync(new URL("results.json", import.meta.url), "utf8")) as Results
  writeFileSync(new URL("../docs/benchmarks.md", import.meta.url), markdown(results))
  log("wrote bench/breakdown.md and docs/benchmarks.md")
}))

Effect.runPromise(main).catch((error: unknown) => {
  process.stderr.write(`profile failed: ${String(error)}\n`)
  process.exitCode = 1
})
