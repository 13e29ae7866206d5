/**
 * Where a durable job's cost per item goes, on PostgreSQL: the SQL statements each item costs (by statement, from
 * `pg_stat_statements` on a throwaway server), and this process's CPU per item by where the code lives (a CPU profile).
 * A 1,000-item job of `ExtractResume` (a short reply, not streamed) at concurrency 50 on `BamlJobStore.layerPostgres`,
 * after a 100-item warm-up job; the provider in a child process. Prints a Markdown report on stdout.
 *
 *   node --import tsx bench/jobCost.ts [--items=1000]
 */
import { execFileSync } from "node:child_process"
import { Session } from "node:inspector/promises"
import * as Path from "node:path"
import { Effect, Layer } from "effect"
import { BamlJob, BamlJobStore, BamlRuntime } from "../src/index.js"
import * as Postgres from "../test/support/postgres.js"
import { remoteProvider } from "./remote.js"
import { resume } from "./replies.js"

process.env.BAML_LOG ??= "error"
const items = Number(process.argv.find((a) => a.startsWith("--items="))?.slice("--items=".length) ?? 1000)
const concurrency = 50

const psql = (url: string, sql: string) =>
  execFileSync(Path.join(Postgres.binDir!, "psql"), [url, "-At", "-F", "\t", "-c", sql], { encoding: "utf8" })

/** Self time of a CPU profile's nodes, by where their code lives. */
const byPlace = (profile: { nodes: ReadonlyArray<any>; samples: ReadonlyArray<number>; timeDeltas: ReadonlyArray<number> }) => {
  const self = new Map<number, number>()
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)))
  const places = new Map<string, number>()
  for (const node of profile.nodes) {
    const url: string = node.callFrame.url ?? ""
    const place = url === ""
      ? `(${node.callFrame.functionName || "native"})`
      : /node_modules\/effect\/(dist|src)\/([^/]+)/.exec(url)?.[2]?.replace(/\.js$|\.ts$/, "")
          .replace(/^/, "effect/") ??
        /node_modules\/((@[^/]+\/)?[^/]+)/.exec(url)?.[1] ??
        (url.includes("/src/") ? `effect-baml ${url.slice(url.indexOf("/src/") + 1)}` : url.startsWith("node:") ? url : "other")
    places.set(place, (places.get(place) ?? 0) + (self.get(node.id) ?? 0))
  }
  return [...places].sort((a, b) => b[1] - a[1])
}

const main = Effect.scoped(Effect.gen(function*() {
  const server = yield* Postgres.startWith("-c shared_preload_libraries=pg_stat_statements")
  const url = yield* Postgres.createDatabase(server, "cost")
  psql(url, "CREATE EXTENSION pg_stat_statements")
  const { baseUrl } = yield* remoteProvider([{ script: { reply: JSON.stringify(resume(2, 1), null, 2), chunkSize: 64, delayMs: 0 } }])
  const context = yield* Layer.build(Layer.merge(
    BamlJobStore.layerPostgres({ url }),
    BamlRuntime.layerFromDirectory("baml_src", { env: { ...process.env, SCRIPTED_BASE_URL: baseUrl } })
  ))
  const job = (name: string, n: number) =>
    BamlJob.make({
      name,
      function: "ExtractResume",
      inputs: Array.from({ length: n }, (_, i) => `resume ${i}`),
      key: (resume) => resume,
      args: (resume) => ({ resume }),
      concurrency
    })
  yield* BamlJob.run(job("warm-up", 100)).pipe(Effect.provideContext(context))
  psql(url, "SELECT pg_stat_statements_reset()")
  const session = new Session()
  session.connect()
  yield* Effect.promise(() => session.post("Profiler.enable"))
  yield* Effect.promise(() => session.post("Profiler.start"))
  const since = process.cpuUsage()
  const startedAt = performance.now()
  yield* BamlJob.run(job("measured", items)).pipe(Effect.provideContext(context))
  const wallMs = performance.now() - startedAt
  const cpu = process.cpuUsage(since)
  const { profile } = yield* Effect.promise(() => session.post("Profiler.stop"))
  session.disconnect()
  yield* Effect.sleep("1 second")
  const rows = psql(
    url,
    "SELECT calls, round(total_exec_time::numeric, 1), regexp_replace(left(query, 110), '\\s+', ' ', 'g') " +
      "FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) " +
      "ORDER BY calls DESC LIMIT 20"
  ).trim().split("\n").map((line) => line.split("\t"))
  const total = rows.reduce((n, [calls]) => n + Number(calls), 0)
  const out: Array<string> = []
  out.push(`${items} items: ${(items / (wallMs / 1000)).toFixed(0)} items/s, ` +
    `${((cpu.user + cpu.system) / 1000 / items).toFixed(2)} ms CPU per item in this process`, "")
  out.push(`| statements per item | server time per item (ms) | statement |`, "| --- | --- | --- |")
  for (const [calls, ms, query] of rows) {
    out.push(`| ${(Number(calls) / items).toFixed(2)} | ${(Number(ms) / items).toFixed(3)} | \`${query!.replace(/\|/g, "\\|")}\` |`)
  }
  out.push(`| ${(total / items).toFixed(2)} | | (the 20 most called, together) |`, "")
  const places = byPlace(profile as any)
  const sampled = places.reduce((n, [, us]) => n + us, 0)
  out.push("| CPU per item (ms) | share | where |", "| --- | --- | --- |")
  for (const [place, us] of places.slice(0, 18)) {
    out.push(`| ${(us / 1000 / items).toFixed(3)} | ${((100 * us) / sampled).toFixed(0)}% | ${place} |`)
  }
  process.stdout.write(out.join("\n") + "\n")
}))

Effect.runPromise(main).catch((error: unknown) => {
  process.stderr.write(`jobCost failed: ${String(error)}\n`)
  process.exitCode = 1
})
