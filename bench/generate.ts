/**
 * The time of `effect-baml generate` against the engine's own TypeScript generator (`baml-cli generate`), on the
 * fixtures and on a generated project of 150 functions. Each is timed as a command (a fresh process: what a user and
 * `on_generate` wait for) and, for effect-baml, also in-process (`Generate.render`: the generator's own work, with the
 * engine's validation). Run: `npx tsx bench/generate.ts` (prints a Markdown table; `docs/benchmarks.md` keeps one).
 */
import { execFileSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { performance } from "node:perf_hooks"
import { buildSync } from "esbuild"
import * as Generate from "../src/cli/generate.js"

const runs = Number(process.env.RUNS ?? 7)
const bin = Path.resolve("src/cli/bin.ts")
const engineCli = Path.resolve("node_modules/@boundaryml/baml/cli.js")

// The command as an installed package runs it, compiled JavaScript (not through tsx, whose compiling would be most of
// the time): one bundle inside the package, so that it finds its own package.json as the built one does.
const bundle = Path.resolve(".scratch", "bench-generate-bin.mjs")
buildSync({
  entryPoints: [bin],
  bundle: true,
  platform: "node",
  format: "esm",
  outfile: bundle,
  external: ["@boundaryml/baml", "@boundaryml/baml/*", "effect-baml/package.json"],
  logLevel: "error"
})

const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

const timed = (f: () => void): number => {
  const start = performance.now()
  f()
  return performance.now() - start
}

const timedAsync = async (f: () => Promise<unknown>): Promise<number> => {
  const start = performance.now()
  await f()
  return performance.now() - start
}

/** A project of `n` functions, each with a class of its own (a nested list, an enum, an optional, a map). */
const project = (n: number): string =>
  [
    "client<llm> Scripted {\n  provider openai-generic\n  options {\n    base_url \"http://127.0.0.1:9\"\n    model \"m\"\n  }\n}",
    "enum Level {\n  Low\n  High @alias(\"hi\")\n}",
    ...Array.from({ length: n }, (_, i) =>
      [
        `class Item${i} {\n  name string\n  level Level?\n  tags string[]\n  scores map<string, float>\n  next Item${i}?\n}`,
        `function Fn${i}(text: string, limit: int?) -> Item${i}[] {\n  client Scripted\n  prompt #"{{ text }} {{ ctx.output_format }}"#\n}`
      ].join("\n\n")
    )
  ].join("\n\n") + "\n"

const engineBlock =
  "generator ts {\n  output_type \"typescript\"\n  output_dir \"../out\"\n  version \"0.226.2\"\n  module_format \"esm\"\n}\n"

const cases = async (name: string, sources: Readonly<Record<string, string>>) => {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-baml-bench-"))
  try {
    const from = Path.join(dir, "baml_src")
    for (const [file, text] of Object.entries(sources)) {
      Fs.mkdirSync(Path.dirname(Path.join(from, file)), { recursive: true })
      Fs.writeFileSync(Path.join(from, file), text)
    }
    // the engine's command wants a directory named baml_src
    const engineFrom = Path.join(dir, "engine", "baml_src")
    // the same sources with one generator block for the engine (a fixture's own block names another version)
    Fs.mkdirSync(engineFrom, { recursive: true })
    for (const [file, text] of Object.entries(sources)) {
      Fs.writeFileSync(Path.join(engineFrom, file), text.replace(/^generator \w+ \{[^}]*\}/gm, ""))
    }
    Fs.writeFileSync(Path.join(engineFrom, "generator.baml"), engineBlock)
    const to = Path.join(dir, "baml_client")
    const ours = [] as Array<number>
    const inProcess = [] as Array<number>
    const theirs = [] as Array<number>
    for (let i = 0; i < runs; i++) {
      ours.push(timed(() => execFileSync(process.execPath, [bundle, "generate", "--from", from, "--to", to, "--effect", "4"])))
      inProcess.push(await timedAsync(() => Generate.render({ from, to, effect: 4 })))
      theirs.push(timed(() => execFileSync(process.execPath, [engineCli, "generate", "--from", engineFrom], {
        cwd: dir,
        env: { ...process.env, BAML_LOG: "error" }
      })))
    }
    const functions = (Object.values(sources).join("\n").match(/^function /gm) ?? []).length
    return `| ${name} | ${functions} | ${median(ours).toFixed(0)} | ${median(inProcess).toFixed(0)} | ${
      median(theirs).toFixed(0)
    } |`
  } finally {
    Fs.rmSync(dir, { recursive: true, force: true })
  }
}

const read = (dir: string) =>
  Object.fromEntries(
    Fs.readdirSync(dir).filter((f) => f.endsWith(".baml")).map((f) => [f, Fs.readFileSync(Path.join(dir, f), "utf8")])
  )

const rows = [
  await cases("test/fixtures/kinds", read("test/fixtures/kinds/baml_src")),
  await cases("test/fixtures/forms", read("test/fixtures/forms/baml_src")),
  await cases("150 functions", { "project.baml": project(150) })
]
console.log(`Median of ${runs} runs, milliseconds, Node ${process.version}, ${Os.cpus().length} cores.\n`)
console.log("| sources | functions | `effect-baml generate` (command) | its work in-process | `baml-cli generate` |")
console.log("|---|---|---|---|---|")
for (const row of rows) console.log(row)
