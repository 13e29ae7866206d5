/**
 * `npm run bench`: both Effect lines of effect-baml as built (Effect 4 at the root, Effect 3 through effect3/bench), the
 * official client and the bare native callback, side by side on the scripted provider, with each Effect line's own
 * floor. A full run writes bench/results.json, docs/benchmarks.md and docs/benchmarks.svg; a partial one (`--quick`:
 * fewer rounds and streams; `--only=`: some scenarios) writes its results to the temp directory.
 * `bench/profile.ts` breaks the misses down afterwards (bench/breakdown.md, included in docs/benchmarks.md).
 *
 *   npm run build && node --expose-gc --import tsx --import ./bench/built.mjs bench/run.ts [--quick]
 *     [--only=latency,exit,failure,cpu,concurrent,large,job,jobDurable,jobCluster,extras]
 */
import { execFileSync } from "node:child_process"
import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { cpus, loadavg, tmpdir } from "node:os"
import { join } from "node:path"
import { Effect } from "effect"
import { BamlRuntime } from "../src/index.js"
import { ScriptedProvider } from "../src/testing/index.js"
import { clients, runToEnd } from "./clients.js"
import { progress } from "./progress.js"
import type { Results } from "./report.js"
import { markdown, results, svg } from "./report.js"
import type { Bench, Measure, Rounds, Scenario } from "./scenario.js"
import { mark, useScript } from "./scenario.js"
import { concurrent } from "./scenarios/concurrent.js"
import { cpu } from "./scenarios/cpu.js"
import { exit } from "./scenarios/exit.js"
import { extras } from "./scenarios/extras.js"
import { failure } from "./scenarios/failure.js"
import { job } from "./scenarios/job.js"
import { jobCluster } from "./scenarios/jobCluster.js"
import { jobDurable } from "./scenarios/jobDurable.js"
import { large } from "./scenarios/large.js"
import { latency } from "./scenarios/latency.js"
import { resume } from "./replies.js"
import { makeTarget } from "./target.js"

// The engine logs every call (and every cancellation, as a warning): output and CPU time no client asked for.
process.env.BAML_LOG ??= "error"

const flags = process.argv.slice(2)
const quick = flags.includes("--quick")
const only = flags.find((f) => f.startsWith("--only="))?.slice("--only=".length).split(",")

const rounds: Rounds = quick
  ? { latency: 2, exit: 2, failure: 2, cpu: 2, layer: 2, concurrent: 1, large: 1, job: 1, extras: 1 }
  : { latency: 10, exit: 10, failure: 20, cpu: 12, layer: 8, concurrent: 2, large: 3, job: 3, extras: 4 }

const scenarios: ReadonlyArray<Scenario> = [latency, exit, failure, cpu, concurrent, large, job(quick ? 2_000 : 10_000), jobDurable(quick ? 200 : 1_000), jobCluster(quick ? 200 : 1_000), extras]
  .filter((s) => only === undefined || only.includes(s.name))

const versionOf = (pkg: string, root = "../"): string =>
  (JSON.parse(readFileSync(new URL(`${root}node_modules/${pkg}/package.json`, import.meta.url), "utf8")) as {
    readonly version: string
  }).version

/** The commit being measured, and the library files that differ from it (other work in the same checkout). */
const checkout = () => {
  const git = (...args: ReadonlyArray<string>) => {
    try {
      return execFileSync("git", args, { encoding: "utf8" }).trimEnd()
    } catch {
      return ""
    }
  }
  return {
    commit: git("rev-parse", "--short", "HEAD") || "unknown",
    uncommitted: git("status", "--porcelain", "--", "src", "effect3/src").split("\n").filter((l) => l.length > 0)
      .map((l) => l.slice(3))
  }
}

/** One short stream per client before measuring, so that no client pays for loading code or opening the pool. */
const warmUp = (bench: Bench) =>
  Effect.gen(function*() {
    yield* useScript(bench.provider, ScriptedProvider.json(resume(2), { delayMs: 1 }))
    for (const client of clients) {
      yield* runToEnd(client, bench.target, "ExtractResume", { resume: mark("warm-up") }, () => undefined)
      bench.tick(`warm-up: ${client}`)
    }
  })

const write = (report: Results) => {
  if (quick || only !== undefined) {
    const file = join(tmpdir(), "effect-baml-bench.json")
    writeFileSync(file, JSON.stringify(report, null, 2) + "\n")
    process.stderr.write(`partial run: results in ${file}\n`)
    return
  }
  const root = new URL("../", import.meta.url)
  mkdirSync(new URL("docs/", root), { recursive: true })
  writeFileSync(new URL("bench/results.json", root), JSON.stringify(report, null, 2) + "\n")
  writeFileSync(new URL("docs/benchmarks.md", root), markdown(report))
  writeFileSync(new URL("docs/benchmarks.svg", root), svg(report))
}

const main = Effect.scoped(
  Effect.gen(function*() {
    const startedAt = performance.now()
    const loadAverage = loadavg()
    const provider = yield* ScriptedProvider.make()
    const service = yield* BamlRuntime.fromDirectory("baml_src", {
      env: { ...process.env, SCRIPTED_BASE_URL: provider.baseUrl }
    })
    const bar = progress(clients.length + scenarios.reduce((n, s) => n + s.steps(rounds), 0))
    const bench: Bench = {
      provider,
      target: makeTarget(service.engine, { ...service.env }),
      rounds,
      concurrentStreams: quick ? 200 : 1000,
      tick: bar.tick
    }
    yield* warmUp(bench)
    const measures: Array<Measure> = []
    for (const scenario of scenarios) measures.push(...(yield* scenario.run(bench)))
    bar.done()

    const cpu = cpus()
    const report = results({
      date: new Date().toISOString(),
      node: process.version,
      platform: `${process.platform} ${process.arch}`,
      cpu: cpu[0]?.model ?? "unknown",
      cores: cpu.length,
      loadAverage,
      engine: versionOf("@boundaryml/baml"),
      effect: versionOf("effect"),
      effect3: versionOf("effect", "../effect3/"),
      ...checkout(),
      rounds: { ...rounds, concurrentStreams: bench.concurrentStreams },
      wallSeconds: (performance.now() - startedAt) / 1000
    }, measures)
    write(report)
    for (const t of report.targets) process.stderr.write(`${t.met ? "met   " : "MISSED"} ${t.target}: ${t.measured}\n`)
  })
)

Effect.runPromise(main).catch((error: unknown) => {
  process.stderr.write(`\nbench failed: ${String(error)}\n`)
  process.exitCode = 1
})
