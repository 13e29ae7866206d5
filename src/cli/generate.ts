/**
 * `effect-baml generate`: turns baml_src into a typed Effect client. The engine's own TypeScript generator writes the
 * types (in a temporary copy of baml_src, with a generator block of ours), and the Effect functions are rendered from
 * the signatures it declares. The output directory is replaced in one step, or not at all.
 *
 * This module imports no Effect: a project may have either Effect line installed, and the command serves both.
 *
 * @since 0.1.0
 */
import * as Engine from "@boundaryml/baml/native"
import { readFileSync } from "node:fs"
import * as Fs from "node:fs/promises"
import { createRequire } from "node:module"
import * as Path from "node:path"
import { parseArgs } from "node:util"
import { distance } from "fastest-levenshtein"
import * as Codegen from "../core/generator/codegen.js"
import type { Problem } from "../core/generator/model.js"

/**
 * Why a generation failed: the engine's diagnostic for broken .baml sources, or a file system problem.
 *
 * @example
 * ```ts
 * const failed = await generate({ from: "baml_src", to: "baml_client" }).catch((error: unknown) =>
 *   error instanceof GenerateError ? error.message : Promise.reject(error)
 * )
 * ```
 * @since 0.1.0
 * @category errors
 */
export class GenerateError extends Error {
  readonly _tag = "GenerateError"
  override readonly name = "GenerateError"
}

/**
 * The Effect line a generated client is written for: 4 imports from "effect-baml", 3 from "effect-baml/effect3".
 *
 * @example
 * ```ts
 * const line: EffectLine = 3
 * ```
 * @since 0.1.0
 * @category models
 */
export type EffectLine = Codegen.EffectLine

/**
 * Where the .baml sources are, where the generated client goes (a directory of its own), and the Effect line it is
 * for (by default the line of the `effect` package installed where the client goes; see {@link detectEffectLine}).
 *
 * @example
 * ```ts
 * const options: Options = { from: "baml_src", to: "src/baml_client", effect: 3 }
 * ```
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly from: string
  readonly to: string
  readonly effect?: EffectLine | undefined
}

const describe = (cause: unknown): string => cause instanceof Error ? cause.message : String(cause)

const io = async <A>(what: string, run: () => Promise<A>): Promise<A> => {
  try {
    return await run()
  } catch (cause) {
    throw new GenerateError(`${what}: ${describe(cause)}`)
  }
}

const exists = (path: string): Promise<boolean> => Fs.stat(path).then(() => true, () => false)

/** Runs `use` with a fresh directory under `parent`, and removes the directory whatever happens. */
const withTemporary = async <A>(parent: string, prefix: string, use: (dir: string) => Promise<A>): Promise<A> => {
  const dir = await io(`cannot create a temporary directory in ${parent}`, () => Fs.mkdtemp(Path.join(parent, prefix)))
  try {
    return await use(dir)
  } finally {
    await Fs.rm(dir, { recursive: true, force: true })
  }
}

/**
 * The Effect line of the `effect` package that code in `directory` would import (resolved as Node resolves it from
 * there, so a parent's node_modules counts): 3 for effect 3.x, 4 for 4.x, and 4 when none is installed or the version
 * cannot be read.
 *
 * @example
 * ```ts
 * const line = detectEffectLine("src/baml_client") // 3 in a project on effect 3.x
 * ```
 * @since 0.1.0
 * @category generation
 */
export const detectEffectLine = (directory: string): EffectLine => {
  try {
    // The directory need not exist yet: resolution starts at its path either way.
    const require = createRequire(Path.join(Path.resolve(directory), "package.json"))
    // Read rather than required: `require` would cache the first answer for the life of the process.
    const manifest = JSON.parse(readFileSync(require.resolve("effect/package.json"), "utf8")) as {
      readonly version?: unknown
    }
    const major = typeof manifest.version === "string" ? Number.parseInt(manifest.version, 10) : Number.NaN
    return major === 3 ? 3 : 4
  } catch {
    return 4
  }
}

/**
 * Whether code in `directory` is an ES module, as Node and TypeScript (`module: NodeNext`) decide it: by the `type` of
 * the nearest package.json. The generated client is ES module code (`import`, `.js` suffixes): in a CommonJS package
 * (`"type": "commonjs"`, what `npm init -y` writes, or no `type`) `tsc` fails on every file with TS1295, while `tsx`
 * runs it. `undefined` when no package.json is found above `directory`.
 *
 * @example
 * ```ts
 * const esm = isEsModule("src/baml_client") // false after `npm init -y`: `npm pkg set type=module` fixes it
 * ```
 * @since 0.3.0
 * @category generation
 */
export const isEsModule = (directory: string): boolean | undefined => {
  for (let dir = Path.resolve(directory); ; dir = Path.dirname(dir)) {
    try {
      const manifest = JSON.parse(readFileSync(Path.join(dir, "package.json"), "utf8")) as { readonly type?: unknown }
      return manifest.type === "module"
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") return undefined
    }
    if (Path.dirname(dir) === dir) return undefined
  }
}

/**
 * Reads every .baml file under `directory`, keyed by its path relative to it (with `/` separators, as the engine
 * keys them).
 *
 * @example
 * ```ts
 * const files = await readSources("baml_src") // { "clients.baml": "...", "resume.baml": "..." }
 * ```
 * @since 0.1.0
 * @category sources
 */
export const readSources = async (directory: string): Promise<Record<string, string>> => {
  const entries = await io(`cannot read ${directory}`, () => Fs.readdir(directory, { recursive: true }))
  const paths = entries.filter((entry) => entry.endsWith(".baml")).map((entry) => entry.split(Path.sep).join("/"))
  if (paths.length === 0) throw new GenerateError(`${directory} has no .baml files`)
  const files: Record<string, string> = {}
  for (const path of paths.sort()) {
    const text = await io(`cannot read ${path}`, () => Fs.readFile(Path.join(directory, path), "utf8"))
    // The same sources whatever the checkout's line endings: the embedded copy and --check do not depend on them.
    files[path] = text.replace(/\r\n?/g, "\n")
  }
  return files
}

// The engine's own report of broken sources, pointed at the user's files, without the engine's backtrace.
const diagnostic = (message: string, from: string): string =>
  message
    .replace(/^(?:Error: )?BamlError: /, "")
    .split(/\n\s*Stack backtrace:/)[0]!
    .replace(/(-->\s+)/g, `$1${from.replace(/\/+$/, "")}/`)
    .trim()

/**
 * Has the engine load the sources, as a program's runtime would: broken sources fail with the engine's own
 * diagnostic (file, line and message). Nothing is generated from sources the engine refuses.
 */
const validate = (files: Readonly<Record<string, string>>, from: string): void => {
  try {
    Engine.BamlRuntime.fromFiles("baml_src", { ...files }, {})
  } catch (cause) {
    throw new GenerateError(`${from} has errors:\n${diagnostic(describe(cause), from)}`)
  }
}

const where = (from: string, problem: Problem) =>
  `${from.replace(/\/+$/, "")}/${problem.at.file}:${problem.at.line}: ${problem.message}`

/**
 * Generates the client's files in memory: the engine validates the sources, then every file is printed from one
 * model of them (see `src/core/generator/codegen.ts`). Writes nothing. The problems are the type forms effect-baml
 * does not know, each with its file and line: the files are complete without them (such a type is `unknown`).
 *
 * @example
 * ```ts
 * const { files } = await render({ from: "baml_src", to: "baml_client" }) // { "index.ts": "...", ... }
 * ```
 * @since 0.1.0
 * @category generation
 */
export const render = async (
  options: Options
): Promise<{ readonly files: Readonly<Record<string, string>>; readonly problems: ReadonlyArray<string> }> => {
  const sources = await readSources(options.from)
  validate(sources, options.from)
  try {
    const output = Codegen.render(sources, {
      importPath: `./${Path.basename(Path.resolve(options.to))}/index.js`,
      effect: options.effect ?? detectEffectLine(options.to)
    })
    return { files: output.files, problems: output.problems.map((p) => where(options.from, p)) }
  } catch (cause) {
    throw new GenerateError(
      cause instanceof Codegen.NameCollisionError
        ? `${options.from} has names the generated client cannot use:\n${
          cause.problems.map((p) => where(options.from, p)).join("\n")
        }`
        : `cannot generate the client: ${describe(cause)}`
    )
  }
}

/**
 * Generates the client into `to`, replacing what is there in one step: the files are written to a sibling directory
 * first, so a failure leaves `to` as it was. Refuses to replace a directory that effect-baml did not write. Returns
 * the names of the files written.
 *
 * @example
 * ```ts
 * const written = await generate({ from: "baml_src", to: "baml_client" })
 * console.log(`wrote ${written.length} files`)
 * ```
 * @since 0.1.0
 * @category generation
 */
export const generate = async (options: Options): Promise<ReadonlyArray<string>> => {
  const { files: output, problems } = await render(options)
  const to = Path.resolve(options.to)
  if (await exists(to)) {
    const entries = await io(`cannot read ${options.to}`, () => Fs.readdir(to))
    const index = await Fs.readFile(Path.join(to, "index.ts"), "utf8").catch(() => "")
    if (entries.length > 0 && !index.startsWith(Codegen.marker)) {
      throw new GenerateError(
        `${options.to} was not written by effect-baml generate; choose another --to, or remove it first`
      )
    }
  }
  const parent = Path.dirname(to)
  await io(`cannot create ${parent}`, () => Fs.mkdir(parent, { recursive: true }))
  return withTemporary(parent, `.${Path.basename(to)}-`, async (staging) => {
    const next = Path.join(staging, "next")
    const previous = Path.join(staging, "previous")
    await io(`cannot write into ${parent}`, async () => {
      await Fs.mkdir(next)
      for (const [name, text] of Object.entries(output)) await Fs.writeFile(Path.join(next, name), text)
    })
    const replacing = await exists(to)
    if (replacing) await io(`cannot move ${options.to} aside`, () => Fs.rename(to, previous))
    try {
      await io(`cannot move the new client to ${options.to}`, () => Fs.rename(next, to))
    } catch (error) {
      if (replacing) await Fs.rename(previous, to).catch(() => undefined)
      throw error
    }
    if (problems.length > 0) {
      throw new GenerateError(
        `wrote ${options.to}, where these types are \`unknown\`:\n${problems.join("\n")}`
      )
    }
    return Object.keys(output)
  })
}

// Line endings are not meaning: a checkout with CRLF endings (git's `core.autocrlf`) is up to date.
const meaning = (text: string): string => text.replace(/\r\n?/g, "\n")

/**
 * Compares what `generate` would write with what is in `to`, without writing there: their meaning, so line endings do
 * not matter. Returns the differences, one line each (and the type forms effect-baml does not know); none means the
 * client is up to date.
 *
 * @example
 * ```ts
 * const upToDate = (await check({ from: "baml_src", to: "baml_client" })).length === 0
 * ```
 * @since 0.1.0
 * @category generation
 */
export const check = async (options: Options): Promise<ReadonlyArray<string>> => {
  const { files: output, problems } = await render(options)
  const to = Path.resolve(options.to)
  if (!(await exists(to))) return [`${options.to} does not exist`]
  const present = await io(`cannot read ${options.to}`, () => Fs.readdir(to))
  const differences: Array<string> = []
  for (const [name, text] of Object.entries(output)) {
    const current = await Fs.readFile(Path.join(to, name), "utf8").catch(() => undefined)
    if (current === undefined) differences.push(`${name} is missing`)
    else if (meaning(current) !== meaning(text)) differences.push(`${name} differs`)
  }
  for (const name of present.sort()) {
    if (!(name in output)) differences.push(`${name} is not generated`)
  }
  return [...differences, ...problems]
}

const usage = [
  "Usage: effect-baml generate [--from <dir>] [--to <dir>] [--effect 3|4] [--check | --watch]",
  "       effect-baml --version",
  "",
  "Generates a typed Effect client for the BAML functions in --from (default: baml_src) into --to (default:",
  "baml_client), a directory of its own. With --check, writes nothing and exits with 1 if --to is out of date.",
  "With --watch, generates again whenever a file under --from changes, until interrupted.",
  "--effect chooses the Effect line the client imports (4: \"effect-baml\", 3: \"effect-baml/effect3\"); by default",
  "it is the major version of the `effect` package installed where --to is."
].join("\n")

type Parsed =
  | { readonly _tag: "Help" }
  | { readonly _tag: "Version" }
  | { readonly _tag: "Generate"; readonly options: Options; readonly check: boolean; readonly watch: boolean }
  | { readonly _tag: "Usage"; readonly problem: string }

const parse = (args: ReadonlyArray<string>): Parsed => {
  let parsed: ReturnType<typeof parseCommandLine>
  try {
    parsed = parseCommandLine(args)
  } catch (error) {
    return { _tag: "Usage", problem: unknownOption(error) ?? describe(error) }
  }
  const { positionals, values } = parsed
  if (values.help === true) return { _tag: "Help" }
  if (values.version === true) return { _tag: "Version" }
  const [command, ...extra] = positionals
  if (command !== "generate") {
    return { _tag: "Usage", problem: command === undefined ? "missing command" : `unknown command: ${command}` }
  }
  if (extra.length > 0) return { _tag: "Usage", problem: `unexpected argument: ${extra[0]}` }
  if (values.check === true && values.watch === true) return { _tag: "Usage", problem: "--check and --watch exclude each other" }
  for (const flag of ["from", "to"] as const) {
    if (values[flag] === "") return { _tag: "Usage", problem: `--${flag} needs a directory` }
  }
  const effect = values.effect
  if (effect !== undefined && effect !== "3" && effect !== "4") {
    return { _tag: "Usage", problem: `--effect must be 3 or 4, not ${effect}` }
  }
  return {
    _tag: "Generate",
    options: {
      from: values.from ?? "baml_src",
      to: values.to ?? "baml_client",
      ...(effect === undefined ? {} : { effect: effect === "3" ? 3 : 4 })
    },
    check: values.check === true,
    watch: values.watch === true
  }
}

const commandLineOptions = {
  from: { type: "string" },
  to: { type: "string" },
  effect: { type: "string" },
  check: { type: "boolean" },
  watch: { type: "boolean" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean", short: "v" }
} as const

const parseCommandLine = (args: ReadonlyArray<string>) =>
  parseArgs({ args: [...args], allowPositionals: true, strict: true, options: commandLineOptions })

/**
 * Node's words for an unknown option (`Unknown option '--form'. To specify a positional argument starting with a '-',
 * ...`) made short, with the closest option this command has when one is a typo away.
 */
const unknownOption = (error: unknown): string | undefined => {
  if (!(error instanceof Error) || (error as { readonly code?: unknown }).code !== "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
    return undefined
  }
  const given = /'(-{1,2}[^']*)'/.exec(error.message)?.[1]
  if (given === undefined) return undefined
  const bare = given.replace(/^-+/, "").split("=")[0]!
  const closest = Object.keys(commandLineOptions)
    .map((name) => ({ name, d: distance(bare, name) }))
    .sort((a, b) => a.d - b.d)[0]
  const hint = closest !== undefined && closest.d <= 2 ? ` (did you mean --${closest.name}?)` : ""
  return `unknown option ${given}${hint}`
}

/**
 * Where the command writes: `out` for results, `err` for problems (each takes one message, without its newline).
 *
 * @example
 * ```ts
 * const lines: Array<string> = []
 * const console: Output = { out: (line) => lines.push(line), err: (line) => lines.push(line) }
 * ```
 * @since 0.1.0
 * @category cli
 */
export interface Output {
  readonly out: (message: string) => void
  readonly err: (message: string) => void
}

const processOutput: Output = { out: (message) => console.log(message), err: (message) => console.error(message) }

/**
 * The command line: `generate`, `generate --check` or `--version`. Returns the process exit code (0 done or up to
 * date, 1 failed or out of date, 2 wrong usage).
 *
 * @example
 * ```ts
 * process.exitCode = await run(["generate", "--check"], "0.1.0")
 * ```
 * @since 0.1.0
 * @category cli
 */
export const run = async (
  args: ReadonlyArray<string>,
  version: string,
  output: Output = processOutput
): Promise<number> => {
  const parsed = parse(args)
  switch (parsed._tag) {
    case "Help":
      output.out(usage)
      return 0
    case "Version":
      output.out(version)
      return 0
    case "Usage":
      output.err(`effect-baml: ${parsed.problem}\n\n${usage}`)
      return 2
    case "Generate":
      break
  }
  const { options } = parsed
  if (parsed.watch) return watch(options, output)
  return once(options, parsed.check, output)
}

const once = async (options: Options, checking: boolean, output: Output): Promise<number> => {
  try {
    if (checking) {
      const differences = await check(options)
      if (differences.length === 0) {
        output.out(`${options.to} is up to date with ${options.from}`)
        return 0
      }
      const effect = options.effect === undefined ? "" : ` --effect ${options.effect}`
      output.err(
        `${options.to} is out of date with ${options.from}:\n${differences.map((d) => `  ${d}`).join("\n")}\n` +
          `Run: effect-baml generate --from ${options.from} --to ${options.to}${effect}`
      )
      return 1
    }
    const line = options.effect ?? detectEffectLine(options.to)
    if (isEsModule(options.to) === false) {
      output.err(
        `effect-baml generate: warning: ${options.to} is in a CommonJS package (its package.json has no ` +
          `"type": "module"); the client is ES module code, which tsc rejects there (TS1295). ` +
          `Run: npm pkg set type=module`
      )
    }
    const files = await generate({ ...options, effect: line })
    const how = options.effect === undefined ? "the effect installed there" : "--effect"
    output.out(
      `Generated ${options.to} (${files.join(", ")}) from ${options.from}, ` +
        `for Effect ${line} (${how}): it imports ${line === 3 ? "effect-baml/effect3" : "effect-baml"}`
    )
    return 0
  } catch (error) {
    if (!(error instanceof GenerateError)) throw error
    output.err(`effect-baml generate: ${error.message}`)
    return 1
  }
}

/**
 * Generates, then again after every change under `from` (changes within 100 ms are one), until the process is
 * interrupted (SIGINT, SIGTERM): then it stops watching and answers 0. A failed generation is reported and the watch
 * goes on. Node's own `fs.watch` is enough: recursive on Linux, macOS and Windows since Node 20.
 */
const watch = async (options: Options, output: Output): Promise<number> => {
  let running = Promise.resolve()
  let timer: ReturnType<typeof setTimeout> | undefined
  const again = () => {
    running = running.then(() => once(options, false, output)).then(() => undefined)
  }
  const abort = new AbortController()
  const stop = () => abort.abort()
  process.once("SIGINT", stop)
  process.once("SIGTERM", stop)
  again()
  output.out(`Watching ${options.from} (Ctrl-C to stop)`)
  try {
    for await (const event of Fs.watch(options.from, { recursive: true, signal: abort.signal })) {
      if (event.filename !== null && !event.filename.endsWith(".baml")) continue
      if (timer !== undefined) clearTimeout(timer)
      timer = setTimeout(again, 100)
    }
  } catch (error) {
    if (!(error instanceof Error && error.name === "AbortError")) throw error
  } finally {
    process.off("SIGINT", stop)
    process.off("SIGTERM", stop)
    if (timer !== undefined) clearTimeout(timer)
    await running
  }
  return 0
}
