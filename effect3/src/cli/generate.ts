/**
 * `effect-baml generate`: turns baml_src into a typed Effect client. The engine's own TypeScript generator writes the
 * types (in a temporary copy of baml_src, with a generator block of ours), and the Effect functions are rendered from
 * the signatures it declares. The output directory is replaced in one step, or not at all.
 *
 * @since 0.1.0
 */
import { Console, Data, Effect } from "effect"
import type * as Scope from "effect/Scope"
import { execFile } from "node:child_process"
import * as Fs from "node:fs/promises"
import { createRequire } from "node:module"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Codegen from "../internal/codegen.js"

/**
 * Why a generation failed: the engine's diagnostic for broken .baml sources, or a file system problem.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 *
 * const program = generate({ from: "baml_src", to: "baml_client" }).pipe(
 *   Effect.catchTag("GenerateError", (e) => Effect.logError(e.message))
 * )
 * ```
 * @since 0.1.0
 * @category errors
 */
export class GenerateError extends Data.TaggedError("GenerateError")<{ readonly message: string }> {}

/**
 * Where the .baml sources are and where the generated client goes (a directory of its own).
 *
 * @example
 * ```ts
 * const options: Options = { from: "baml_src", to: "src/baml_client" }
 * ```
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly from: string
  readonly to: string
}

const io = <A>(what: string, run: () => Promise<A>): Effect.Effect<A, GenerateError> =>
  Effect.tryPromise({
    try: run,
    catch: (cause) => new GenerateError({ message: `${what}: ${cause instanceof Error ? cause.message : cause}` })
  })

const exists = (path: string): Effect.Effect<boolean> =>
  Effect.promise(() => Fs.stat(path).then(() => true, () => false))

const temporary = (parent: string, prefix: string): Effect.Effect<string, GenerateError, Scope.Scope> =>
  Effect.acquireRelease(
    io(`cannot create a temporary directory in ${parent}`, () => Fs.mkdtemp(Path.join(parent, prefix))),
    (dir) => Effect.promise(() => Fs.rm(dir, { recursive: true, force: true }))
  )

/**
 * Reads every .baml file under `directory`, keyed by its path relative to it (with `/` separators, as the engine
 * keys them).
 *
 * @example
 * ```ts
 * const files = readSources("baml_src") // Effect of { "clients.baml": "...", "resume.baml": "..." }
 * ```
 * @since 0.1.0
 * @category sources
 */
export const readSources = (directory: string): Effect.Effect<Record<string, string>, GenerateError> =>
  Effect.gen(function*() {
    const entries = yield* io(`cannot read ${directory}`, () => Fs.readdir(directory, { recursive: true }))
    const paths = entries.filter((entry) => entry.endsWith(".baml")).map((entry) => entry.split(Path.sep).join("/"))
    if (paths.length === 0) return yield* new GenerateError({ message: `${directory} has no .baml files` })
    const files: Record<string, string> = {}
    for (const path of paths.sort()) {
      files[path] = yield* io(`cannot read ${path}`, () => Fs.readFile(Path.join(directory, path), "utf8"))
    }
    return files
  })

const engine = Effect.gen(function*() {
  // The package's exports do not include cli.js or package.json; both sit next to its main file.
  const dir = Path.dirname(createRequire(import.meta.url).resolve("@boundaryml/baml"))
  const pkg = yield* io("cannot read @boundaryml/baml's package.json", () =>
    Fs.readFile(Path.join(dir, "package.json"), "utf8"))
  return { cli: Path.join(dir, "cli.js"), version: String(JSON.parse(pkg).version) }
})

// The engine prints its diagnostic among log lines, with paths into our temporary copy: keep the diagnostic and
// point it at the user's files.
const diagnostic = (output: string, from: string): string => {
  const text = output.replace(/^\d{4}-\d\d-\d\dT[\d:.]+ \[BAML \w+\] /gm, "")
  const caused = text.indexOf("Caused by:")
  const body = (caused === -1 ? text : text.slice(caused + "Caused by:".length))
    .split(/\n\s*Stack backtrace:/)[0]!
    .replace(/^Error: Failed to build BAML runtime\s*$/m, "")
  const lines = body.split("\n")
  while (lines.length > 0 && lines[0]!.trim() === "") lines.shift()
  const indent = Math.min(...lines.filter((l) => l.trim() !== "").map((l) => /^ */.exec(l)![0].length))
  return lines
    .map((line) => line.slice(Number.isFinite(indent) ? indent : 0).trimEnd())
    .join("\n")
    .replace(/(-->\s+)baml_src\//g, `$1${from.replace(/\/+$/, "")}/`)
    .trim()
}

const runEngine = (cli: string, cwd: string, from: string): Effect.Effect<void, GenerateError> =>
  Effect.async<void, GenerateError>((resume, signal) => {
    execFile(
      process.execPath,
      [cli, "generate", "--from", "baml_src"],
      {
        cwd,
        signal,
        maxBuffer: 16 * 1024 * 1024,
        env: { ...process.env, BAML_LOG: "error", RUST_BACKTRACE: "0" }
      },
      (error, stdout, stderr) => {
        if (error === null) return resume(Effect.void)
        const detail = diagnostic(`${stdout}\n${stderr}`, from)
        resume(Effect.fail(new GenerateError({ message: `${from} has errors:\n${detail || error.message}` })))
      }
    )
  })

const attempt = <A>(what: string, f: () => A): Effect.Effect<A, GenerateError> =>
  Effect.try({
    try: f,
    catch: (cause) => new GenerateError({ message: `${what}: ${cause instanceof Error ? cause.message : cause}` })
  })

/**
 * Generates the client's files in memory: runs the engine's generator on a temporary copy of `from` and renders the
 * Effect module from what it wrote. Writes nothing outside the temporary directory, which it removes.
 *
 * @example
 * ```ts
 * const files = render({ from: "baml_src", to: "baml_client" }) // Effect of { "index.ts": "...", ... }
 * ```
 * @since 0.1.0
 * @category generation
 */
export const render = (options: Options): Effect.Effect<Record<string, string>, GenerateError> =>
  Effect.scoped(Effect.gen(function*() {
    const files = yield* readSources(options.from)
    const { cli, version } = yield* engine
    const temp = yield* temporary(Os.tmpdir(), "effect-baml-")
    for (const [path, text] of Object.entries(files)) {
      const target = Path.join(temp, "baml_src", path)
      yield* io(`cannot copy ${path}`, async () => {
        await Fs.mkdir(Path.dirname(target), { recursive: true })
        await Fs.writeFile(target, Codegen.withoutGenerators(text))
      })
    }
    const generator = Path.join(temp, "baml_src", "effect_baml_generator.baml")
    yield* io("cannot write the generator block", () =>
      Fs.writeFile(generator, Codegen.generatorBlock(version, "../engine")))
    yield* runEngine(cli, temp, options.from)
    const read = (name: string) =>
      io(`the engine did not write ${name}`, () => Fs.readFile(Path.join(temp, "engine", "baml_client", name), "utf8"))
    const asyncClient = yield* read("async_client.ts")
    const types = yield* read("types.ts")
    const partialTypes = yield* read("partial_types.ts")
    const signatures = yield* attempt("cannot read the engine's client", () => Codegen.signatures(asyncClient))
    return yield* attempt("cannot generate the client", () =>
      Codegen.render({
        signatures,
        types,
        partialTypes,
        files,
        importPath: `./${Path.basename(Path.resolve(options.to))}/index.js`
      }))
  }))

/**
 * Generates the client into `to`, replacing what is there in one step: the files are written to a sibling directory
 * first, so a failure leaves `to` as it was. Refuses to replace a directory that effect-baml did not write.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 *
 * const program = Effect.flatMap(generate({ from: "baml_src", to: "baml_client" }), (files) =>
 *   Effect.log(`wrote ${files.length} files`))
 * ```
 * @since 0.1.0
 * @category generation
 */
export const generate = (options: Options): Effect.Effect<ReadonlyArray<string>, GenerateError> =>
  Effect.scoped(Effect.gen(function*() {
    const output = yield* render(options)
    const to = Path.resolve(options.to)
    if (yield* exists(to)) {
      const entries = yield* io(`cannot read ${options.to}`, () => Fs.readdir(to))
      const index = yield* Effect.promise(() => Fs.readFile(Path.join(to, "index.ts"), "utf8").catch(() => ""))
      if (entries.length > 0 && !index.startsWith(Codegen.marker)) {
        return yield* new GenerateError({
          message: `${options.to} was not written by effect-baml generate; choose another --to, or remove it first`
        })
      }
    }
    const parent = Path.dirname(to)
    yield* io(`cannot create ${parent}`, () => Fs.mkdir(parent, { recursive: true }))
    const staging = yield* temporary(parent, `.${Path.basename(to)}-`)
    const next = Path.join(staging, "next")
    const previous = Path.join(staging, "previous")
    yield* io(`cannot write into ${parent}`, async () => {
      await Fs.mkdir(next)
      for (const [name, text] of Object.entries(output)) await Fs.writeFile(Path.join(next, name), text)
    })
    const replacing = yield* exists(to)
    if (replacing) yield* io(`cannot move ${options.to} aside`, () => Fs.rename(to, previous))
    const restore = Effect.promise(() => Fs.rename(previous, to).catch(() => undefined))
    yield* io(`cannot move the new client to ${options.to}`, () => Fs.rename(next, to)).pipe(
      Effect.tapError(() => replacing ? restore : Effect.void)
    )
    return Object.keys(output)
  }))

/**
 * Compares what `generate` would write with what is in `to`, without writing there. Returns the differences, one line
 * each; none means the client is up to date.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 *
 * const upToDate = Effect.map(check({ from: "baml_src", to: "baml_client" }), (stale) => stale.length === 0)
 * ```
 * @since 0.1.0
 * @category generation
 */
export const check = (options: Options): Effect.Effect<ReadonlyArray<string>, GenerateError> =>
  Effect.gen(function*() {
    const output = yield* render(options)
    const to = Path.resolve(options.to)
    if (!(yield* exists(to))) return [`${options.to} does not exist`]
    const present = yield* io(`cannot read ${options.to}`, () => Fs.readdir(to))
    const differences: Array<string> = []
    for (const [name, text] of Object.entries(output)) {
      const current = yield* Effect.promise(() => Fs.readFile(Path.join(to, name), "utf8").catch(() => undefined))
      if (current === undefined) differences.push(`${name} is missing`)
      else if (current !== text) differences.push(`${name} differs`)
    }
    for (const name of present.sort()) {
      if (!(name in output)) differences.push(`${name} is not generated`)
    }
    return differences
  })

const usage = [
  "Usage: effect-baml generate [--from <dir>] [--to <dir>] [--check]",
  "",
  "Generates a typed Effect client for the BAML functions in --from (default: baml_src) into --to (default:",
  "baml_client), a directory of its own. With --check, writes nothing and exits with 1 if --to is out of date."
].join("\n")

const parse = (args: ReadonlyArray<string>): { readonly options: Options; readonly check: boolean } | string => {
  const [command, ...rest] = args
  if (command !== "generate") return command === undefined ? "missing command" : `unknown command: ${command}`
  let from = "baml_src"
  let to = "baml_client"
  let checkOnly = false
  for (let i = 0; i < rest.length; i++) {
    const [flag, inline] = rest[i]!.split(/=(.*)/s, 2) as [string, string | undefined]
    if (flag === "--check" && inline === undefined) {
      checkOnly = true
      continue
    }
    if (flag !== "--from" && flag !== "--to") return `unknown option: ${rest[i]}`
    const value = inline ?? rest[++i]
    if (value === undefined || value === "") return `${flag} needs a directory`
    if (flag === "--from") from = value
    else to = value
  }
  return { options: { from, to }, check: checkOnly }
}

/**
 * The command line: runs `generate` or `generate --check` and returns the process exit code (0 done or up to date,
 * 1 failed or out of date, 2 wrong usage).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 *
 * Effect.runPromise(run(["generate", "--check"])).then((code) => (process.exitCode = code))
 * ```
 * @since 0.1.0
 * @category cli
 */
export const run = (args: ReadonlyArray<string>): Effect.Effect<number> => {
  if (args.includes("--help") || args.includes("-h")) return Effect.as(Console.log(usage), 0)
  const parsed = parse(args)
  if (typeof parsed === "string") return Effect.as(Console.error(`effect-baml: ${parsed}\n\n${usage}`), 2)
  const { options } = parsed
  const command = parsed.check
    ? Effect.flatMap(check(options), (differences) =>
      differences.length === 0
        ? Effect.as(Console.log(`${options.to} is up to date with ${options.from}`), 0)
        : Effect.as(
          Console.error(
            `${options.to} is out of date with ${options.from}:\n${differences.map((d) => `  ${d}`).join("\n")}\n` +
              `Run: effect-baml generate --from ${options.from} --to ${options.to}`
          ),
          1
        ))
    : Effect.flatMap(generate(options), (files) =>
      Effect.as(Console.log(`Generated ${options.to} (${files.join(", ")}) from ${options.from}`), 0))
  return command.pipe(
    Effect.catchTag("GenerateError", (error) => Effect.as(Console.error(`effect-baml generate: ${error.message}`), 1))
  )
}
