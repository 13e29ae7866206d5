/** The run's results as JSON, as a markdown page with tables, and as one SVG chart. */
import { readFileSync } from "node:fs"
import { floorLabels } from "./floor.js"
import type { Measure } from "./scenario.js"
import type { Summary } from "./stats.js"
import { summarize } from "./stats.js"

export interface Meta {
  readonly date: string
  readonly node: string
  readonly platform: string
  readonly cpu: string
  readonly cores: number
  readonly loadAverage: ReadonlyArray<number>
  readonly engine: string
  readonly effect: string
  readonly effect3: string
  /** The commit measured, and the library's files (src/, effect3/src/) that differed from it. */
  readonly commit: string
  readonly uncommitted: ReadonlyArray<string>
  readonly rounds: Readonly<Record<string, number>>
  readonly wallSeconds: number
}

export interface RowResult {
  readonly label: string
  readonly summary: Summary
  readonly samples: ReadonlyArray<number>
}

export interface MeasureResult extends Omit<Measure, "rows"> {
  readonly rows: ReadonlyArray<RowResult>
}

export interface TargetResult {
  readonly target: string
  readonly measured: string
  readonly met: boolean
}

export interface Results {
  readonly meta: Meta
  readonly targets: ReadonlyArray<TargetResult>
  readonly measures: ReadonlyArray<MeasureResult>
}

const round = (x: number, digits: number) => Number.isFinite(x) ? Number(x.toFixed(digits)) : x

/** Three significant figures, at most three decimals: enough for a table. */
const fmt = (x: number): string => {
  if (!Number.isFinite(x)) return "–"
  const abs = Math.abs(x)
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3
  return x.toFixed(digits)
}

const medianOf = (measures: ReadonlyArray<MeasureResult>, id: string, label: string): number =>
  measures.find((m) => m.id === id)?.rows.find((r) => r.label === label)?.summary.median ?? Number.NaN

/** A target, the numbers it is judged on (a missing measure makes them NaN), and the verdict. */
const target = (name: string, values: ReadonlyArray<number>, measured: string, met: boolean) =>
  values.every(Number.isFinite) ? [{ target: name, measured, met }] : []

const lineNames = { "effect-baml": "Effect 4 line", "effect-baml/effect3": "Effect 3 line" } as const
const lineLabels = ["effect-baml", "effect-baml/effect3"] as const

/** The issue's targets, evaluated on the medians of this run; targets whose measures did not run are left out. */
const evaluate = (measures: ReadonlyArray<MeasureResult>): ReadonlyArray<TargetResult> => {
  const median = (id: string, label: string) => medianOf(measures, id, label)
  const perLine = (f: (label: typeof lineLabels[number], name: string) => ReadonlyArray<TargetResult>) =>
    lineLabels.flatMap((label) => f(label, lineNames[label]))
  const heapNative = median("heapPerStream", "native")
  const unaborted = median("chunksAfterExit", "official: break, no abort")
  const official = median("cpuPerStreamStub", "official")
  return [
    ...perLine((label, name) => {
      const first = { native: median("firstPartial", "native"), official: median("firstPartial", "official") }
      const mine = median("firstPartial", label)
      return [
        ...target(
          `${name}: first partial within 1 ms of the bare native callback (median)`,
          [mine, first.native],
          `${fmt(mine)} ms vs ${fmt(first.native)} ms (+${fmt(mine - first.native)} ms)`,
          mine - first.native <= 1
        ),
        ...target(
          `${name}: first partial at least 5× sooner than the official BamlStream (median)`,
          [mine, first.official],
          `${fmt(first.official)} ms / ${fmt(mine)} ms = ${fmt(first.official / mine)}×`,
          first.official / mine >= 5
        )
      ]
    }),
    ...perLine((label, name) => {
      const native = median("closeAfterExit", "native: abort signal")
      const interrupt = median("closeAfterExit", `${label}: Fiber.interrupt`)
      return [
        ...target(
          `${name}: Fiber.interrupt → provider (in its own process) sees the close ≤ 0.5 ms over the native abort (median)`,
          [interrupt, native],
          `${fmt(interrupt)} ms vs ${fmt(native)} ms (+${fmt(interrupt - native)} ms)`,
          interrupt - native <= 0.5
        ),
        ...["Fiber.interrupt", "Stream.take"].flatMap((way) => {
          const close = median("closeAfterExit", `${label}: ${way}`)
          const wasted = median("chunksAfterExit", `${label}: ${way}`)
          return [
            ...target(
              `${name}: ${way}: provider (in its own process) sees the close ≤ 5 ms (median)`,
              [close],
              `${fmt(close)} ms`,
              close <= 5
            ),
            ...target(
              `${name}: ${way}: ≤ 1 chunk sent after leaving (median)`,
              [wasted],
              `${fmt(wasted)} chunks`,
              wasted <= 1
            )
          ]
        })
      ]
    }),
    ...target(
      "official `for await` left with break and no abort: the rest of the reply is still generated (shown)",
      [unaborted],
      `${fmt(unaborted)} chunks sent after leaving`,
      true
    ),
    ...perLine((label, name) =>
      (["stream", "call"] as const).flatMap((kind) => {
        const id = kind === "stream" ? "streamFailure" : "callFailure"
        const mine = median(id, label)
        const native = median(id, "native")
        return target(
          `${name}: an HTTP 500 on a ${kind} reaches user code ≤ 2 ms after the engine hands it to JS (median)`,
          [mine, native],
          `${fmt(mine)} ms (native ${fmt(native)} ms)`,
          mine <= 2
        )
      })
    ),
    ...perLine((label, name) => {
      const native = median("cpuPerPartial", "native")
      const mine = median("cpuPerPartial", label)
      const layer = median("cpuPerPartialStub", label) - median("cpuPerPartialStub", "native")
      return [
        ...target(
          `${name}: CPU per partial ≤ 10% over the bare native callback (end to end, median)`,
          [mine, native],
          `${fmt(mine)} µs vs ${fmt(native)} µs (${fmt((mine / native - 1) * 100)}%)`,
          mine <= native * 1.1
        ),
        ...target(
          `${name}: the same, from the layer's own cost (stub engine) over the engine's CPU per partial`,
          [layer, native],
          `${fmt(layer)} µs over ${fmt(native)} µs (${fmt((layer / native) * 100)}%)`,
          layer <= native * 0.1
        )
      ]
    }),
    ...perLine((label, name) => {
      const mine = median("cpuPerStreamStub", label)
      const floor = median("cpuPerStreamStub", label === "effect-baml" ? floorLabels.effect4 : floorLabels.effect3)
      return label === "effect-baml"
        ? target(
          `${name}: CPU per stream (stub engine) ≤ 3× the official client's (median)`,
          [mine, official, floor],
          `${fmt(mine)} µs vs ${fmt(official)} µs = ${fmt(mine / official)}× (its Effect floor: ${fmt(floor)} µs)`,
          mine <= official * 3
        )
        : target(
          `${name}: CPU per stream (stub engine) against the official client's (shown)`,
          [mine, official, floor],
          `${fmt(mine)} µs vs ${fmt(official)} µs = ${fmt(mine / official)}× (its Effect floor: ${fmt(floor)} µs)`,
          true
        )
    }),
    ...perLine((label, name) => {
      const mine = median("heapPerStream", label)
      if (label === "effect-baml") {
        const floor = median("heapPerStream", floorLabels.effect4)
        return target(
          `${name}: heap per open stream ≤ 8 KB over the native floor (1,000 streams, median)`,
          [mine, heapNative, floor],
          `${fmt(mine)} KB vs ${fmt(heapNative)} KB (+${fmt(mine - heapNative)} KB; bare Stream.callback: ` +
            `${fmt(floor)} KB)`,
          mine - heapNative <= 8
        )
      }
      const floor = median("heapPerStream", floorLabels.effect3)
      return target(
        `${name}: heap per open stream, its own share over a bare Stream.asyncPush stream ≤ 8 KB (median)`,
        [mine, floor],
        `${fmt(mine)} KB vs ${fmt(floor)} KB (+${fmt(mine - floor)} KB; native ${fmt(heapNative)} KB)`,
        mine - floor <= 8
      )
    }),
    ...perLine((label, name) => {
      const mine = median("largeCpu", label)
      const native = median("largeCpu", "native")
      return target(
        `${name}: ~80 KB object to its end: CPU ≤ 10% over the bare native callback (median)`,
        [mine, native],
        `${fmt(mine)} ms vs ${fmt(native)} ms (${fmt((mine / native - 1) * 100)}%)`,
        mine <= native * 1.1
      )
    })
  ]
}

export const results = (meta: Meta, measures: ReadonlyArray<Measure>): Results => {
  const summarized: ReadonlyArray<MeasureResult> = measures.map((m) => ({
    ...m,
    rows: m.rows.map((r) => ({
      label: r.label,
      summary: summarize(r.samples),
      samples: r.samples.map((x) => round(x, 4))
    }))
  }))
  return { meta, targets: evaluate(summarized), measures: summarized }
}

// ---------------------------------------------------------------------------------------------------------------
// SVG: medians of the measures in milliseconds as horizontal bars on a log scale, a whisker to the p95.

const colors: Record<string, string> = {
  native: "#8a8a8a",
  official: "#e08a2c",
  "effect-baml": "#2f6fd6",
  "effect-baml/effect3": "#7a3fc4"
}
const colorOf = (label: string) => colors[label.split(":")[0] ?? ""] ?? "#555"
const escape = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")

export const chartIds: ReadonlyArray<string> = ["firstPartial", "delivery", "closeAfterExit", "streamFailure"]

export const svg = (r: Results): string => {
  const measures = chartIds.flatMap((id) => r.measures.filter((m) => m.id === id))
  const width = 860
  const left = 250
  const plot = 520
  const bar = 14
  const gap = 5
  const [lo, hi] = [0.01, 10_000]
  const x = (v: number) => left + (Math.log10(Math.min(hi, Math.max(lo, v)) / lo) / Math.log10(hi / lo)) * plot
  const parts: Array<string> = []
  let y = 40
  for (const m of measures) {
    parts.push(`<text x="10" y="${y + 12}" font-weight="bold">${escape(m.title)} (ms)</text>`)
    y += 22
    for (const row of m.rows) {
      const { median, p95 } = row.summary
      const color = colorOf(row.label)
      parts.push(
        `<text x="${left - 8}" y="${y + bar - 3}" text-anchor="end">${escape(row.label)}</text>`,
        `<rect x="${left}" y="${y}" width="${(x(median) - left).toFixed(1)}" height="${bar}" fill="${color}"/>`,
        `<line x1="${x(median).toFixed(1)}" x2="${x(p95).toFixed(1)}" y1="${y + bar / 2}" y2="${y + bar / 2}" ` +
          `stroke="${color}" stroke-width="2"/>`,
        `<line x1="${x(p95).toFixed(1)}" x2="${x(p95).toFixed(1)}" y1="${y + 2}" y2="${y + bar - 2}" ` +
          `stroke="${color}" stroke-width="2"/>`,
        `<text x="${(x(p95) + 6).toFixed(1)}" y="${y + bar - 3}">${fmt(median)} (p95 ${fmt(p95)})</text>`
      )
      y += bar + gap
    }
    y += 12
  }
  const ticks = [0.01, 0.1, 1, 10, 100, 1000, 10_000]
  const grid = ticks.map((t) =>
    `<line x1="${x(t).toFixed(1)}" x2="${x(t).toFixed(1)}" y1="30" y2="${y}" stroke="#ddd"/>` +
    `<text x="${x(t).toFixed(1)}" y="${y + 14}" text-anchor="middle" fill="#666">${t >= 1 ? t : t.toString()}</text>`
  )
  const height = y + 30
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
    `font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="10" y="18" font-size="14" font-weight="bold">Latency, median with a whisker to p95 ` +
    `(log scale, ms; lower is better)</text>`,
    ...grid,
    ...parts,
    `</svg>`,
    ""
  ].join("\n")
}

// ---------------------------------------------------------------------------------------------------------------
// Markdown

const table = (head: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): string =>
  [`| ${head.join(" | ")} |`, `| ${head.map(() => "---").join(" | ")} |`, ...rows.map((r) => `| ${r.join(" | ")} |`)]
    .join("\n")

/** The side-by-side table: one line per measure, the medians of every client and the lines' ratios to the floor. */
const sideBySide = (r: Results): string => {
  const columns = ["native", "official", "effect-baml", "effect-baml/effect3"]
  const rows = r.measures.filter((m) => columns.some((c) => m.rows.some((row) => row.label === c)))
  const cell = (m: MeasureResult, label: string) => {
    const row = m.rows.find((x) => x.label === label)
    return row === undefined ? "–" : fmt(row.summary.median)
  }
  const ratio = (m: MeasureResult, label: string) => {
    const mine = m.rows.find((x) => x.label === label)?.summary.median
    const native = m.rows.find((x) => x.label === "native")?.summary.median
    return mine === undefined || native === undefined || native === 0 ? "–" : `${fmt(mine / native)}×`
  }
  return table(
    ["measure", "native", "official", "Effect 4 line", "Effect 3 line", "Effect 4 / native", "Effect 3 / native"],
    rows.map((m) => [
      `${m.title} (${m.unit})`,
      ...columns.map((c) => cell(m, c)),
      ratio(m, "effect-baml"),
      ratio(m, "effect-baml/effect3")
    ])
  )
}

/**
 * The reading of the misses (bench/findings.md, written from this run's numbers), what a later profiling run found
 * (bench/profile.ts writes bench/breakdown.md), and the batch-job run (bench/jobs.md), when there are.
 */
const breakdown = (): ReadonlyArray<string> =>
  ["findings.md", "breakdown.md", "jobs.md"].flatMap((file) => {
    try {
      return ["", readFileSync(new URL(file, import.meta.url), "utf8").trimEnd()]
    } catch {
      return []
    }
  })

export const markdown = (r: Results): string => {
  const { meta } = r
  const rounds = Object.entries(meta.rounds).map(([k, v]) => `${k} ${v}`).join(", ")
  return [
    "# Benchmarks",
    "",
    "Both Effect lines of effect-baml side by side with the official client and with the engine's bare native",
    "callback, measured in one process (both Effect runtimes loaded side by side) against the scripted provider",
    "(`effect-baml/testing`, in the same process or, where said, in a child process as a real provider is",
    "elsewhere), clients interleaved round by round on one shared engine. Run it with `npm run bench` (about",
    `${Math.max(1, Math.round(meta.wallSeconds / 60))} minutes on this machine); it rewrites \`bench/results.json\`, ` +
    "this page and `benchmarks.svg`. The machine's load shows in every number: compare rows of the same run, not runs.",
    "Both lines run as users get them, built (`npm run build`: `dist/effect4`, `dist/effect3`), not compiled as they",
    "load (tsx gives every named function a `name` property of its own: 2.5 KB more heap per open stream).",
    "",
    "- **native**: `runtime.streamFunction(...).onEvent(cb)` and `done()`, the floor: nothing between the engine and",
    "  user code.",
    "- **official**: what a generated client's `b.stream.F(args, { signal })` builds, a `BamlStream`, consumed with",
    "  `for await`.",
    "- **effect-baml**: the Effect 4 line (`import { Baml } from \"effect-baml\"`), `Baml.stream(F, args)` consumed",
    "  with `Stream.runForEach` (or left as named).",
    "- **effect-baml/effect3**: the Effect 3 line (`\"effect-baml/effect3\"`), the same code on Effect 3; its",
    "  programs live in `effect3/bench/` and run in their own Effect 3 runtime, which hands the harness Promises.",
    "- **effect 4 floor / effect 3 floor**: no engine and no effect-baml, what each Effect line costs by itself (below).",
    "",
    `Run on ${meta.date}: Node ${meta.node}, ${meta.platform}, ${meta.cores} × ${meta.cpu} ` +
    `(load average ${meta.loadAverage.map((l) => l.toFixed(1)).join(" / ")} at the start), ` +
    `@boundaryml/baml ${meta.engine}, effect ${meta.effect} and ${meta.effect3}; ${Math.round(meta.wallSeconds)} s ` +
    `in all. Commit ${meta.commit}` +
    (meta.uncommitted.length === 0
      ? "."
      : `, with uncommitted changes in ${meta.uncommitted.map((f) => `\`${f}\``).join(", ")}.`) +
    ` Rounds: ${rounds}.`,
    "",
    "![Latency chart](benchmarks.svg)",
    "",
    "## Targets",
    "",
    table(["target", "this run", "met"], r.targets.map((t) => [t.target, t.measured, t.met ? "yes" : "**no**"])),
    ...breakdown(),
    "",
    "## Both lines side by side (medians)",
    "",
    sideBySide(r),
    "",
    "## Results",
    "",
    table(
      ["measure", "client", "median", "p95", "n"],
      r.measures.flatMap((m) =>
        m.rows.map((row) => [
          `${m.title} (${m.unit})`,
          row.label,
          fmt(row.summary.median),
          fmt(row.summary.p95),
          String(row.summary.n)
        ])
      )
    ),
    "",
    "## How each measure is taken",
    "",
    ...r.measures.map((m) => `- **${m.title}.** ${m.method}`),
    "",
    "Medians and 95th percentiles use the nearest-rank method. CPU times come from `process.cpuUsage()`, which counts",
    "every thread of the process: the engine's native threads and the in-process provider as well as the client.",
    "",
    "## Floors",
    "",
    "The **native** rows are what the engine itself allows; no client can do better. The engine emits a partial at",
    "most about every 50 ms however fast chunks arrive, so any client's first partial sometimes waits up to ~50 ms",
    "for that tick (a p95 near 50 ms). The official `BamlStream` iterator sleeps 100 ms whenever its queue is empty,",
    "which sets its first-partial time, its delivery delay and how late it reports a failure. Aborting is the",
    "engine's too: after the signal fires it drops the HTTP request within a millisecond or two, so at most one chunk",
    "is in flight.",
    "",
    "The **effect floor** rows are what each Effect line itself costs, with no engine and no effect-baml: a fiber",
    "running `Stream.runDrain(Stream.never)`, and a callback-bridged stream (Effect 4's `Stream.callback`, Effect 3's",
    "`Stream.asyncPush`, sliding buffer of one: the bridge each line builds on) fed by a callback. Every open Effect",
    "stream holds a fiber, its stream machinery and a scope, against the few KB of a promise-based iterator: what",
    "effect-baml adds over its line's floor (its trip-wire, span, metrics and engine call) is the difference.",
    "",
    "The in-process provider notices a closed connection only when the client's JS yields the event loop. After",
    "pulling the wire, Effect still unwinds the consumer's fiber and closes the stream's scope, so the in-process",
    "close rows show that work too; a provider elsewhere, like the child-process one, sees the close as soon as the",
    "engine's native side drops the connection.",
    ""
  ].join("\n")
}
