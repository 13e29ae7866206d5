/**
 * Every JSDoc `@example` of the public modules type-checks against the Effect line it documents: an example written
 * for both lines against each (with `effect-baml` read as `effect-baml/effect3` on the Effect 3 line, as the build
 * writes it), an `@example Effect 4` or `@example Effect 3` against its own line only. Each example is a module of its
 * own, compiled with the line's project settings; `./baml_client/index.js` in an example is the line's generated
 * client of this repository's baml_src.
 */
import { describe, expect, it } from "@effect/vitest"
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import * as Path from "node:path"
import ts from "typescript"

const root = Path.resolve(import.meta.dirname, "..")
const work = Path.join(root, "test", ".docs-examples")

interface Example {
  readonly file: string
  readonly line: number
  readonly only: 3 | 4 | undefined
  readonly code: string
}

/** The `@example`s of a source file, with the line each starts on and the Effect line it is captioned for. */
export const examplesOf = (file: string): ReadonlyArray<Example> => {
  const lines = readFileSync(file, "utf8").split("\n")
  const out: Array<Example> = []
  for (let i = 0; i < lines.length; i++) {
    const tag = /^\s*\* @example(?: Effect ([34]))?\s*$/.exec(lines[i]!)
    if (tag === null) continue
    const open = lines.findIndex((text, j) => j > i && /^\s*\* ```ts\s*$/.test(text))
    const close = lines.findIndex((text, j) => j > open && /^\s*\* ```\s*$/.test(text))
    if (open === -1 || close === -1) throw new Error(`${file}:${i + 1}: an @example without a \`\`\`ts block`)
    const code = lines.slice(open + 1, close).map((text) => text.replace(/^\s*\* ?/, "")).join("\n")
    out.push({ file, line: i + 1, only: tag[1] === undefined ? undefined : Number(tag[1]) as 3 | 4, code })
    i = close
  }
  return out
}

/** The public modules: those a user's import reaches, and the core modules whose docs they re-export. */
const publicFiles = (): ReadonlyArray<string> =>
  readdirSync(Path.join(root, "src"), { recursive: true, encoding: "utf8" })
    .filter((name) => name.endsWith(".ts") && !name.startsWith("kit/") && !name.startsWith("cli/"))
    .map((name) => Path.join(root, "src", name))
    .filter((file) => examplesOf(file).some((example) => /from "effect-baml/.test(example.code)))

const forEffect3 = (code: string) =>
  code.replace(/from "effect-baml((?:\/testing|\/client|\/react)?)"/g, "from \"effect-baml/effect3$1\"")

const check = (line: 3 | 4) => {
  const dir = Path.join(work, `effect${line}`)
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(Path.join(dir, "baml_client"), { recursive: true })
  const client = line === 4 ? "../../../../baml_client/index.js" : "../../../../effect3/test/fixtures/baml_client/index.js"
  writeFileSync(Path.join(dir, "baml_client", "index.ts"), `export * from "${client}"\n`)
  const where = new Map<string, Example>()
  for (const file of publicFiles()) {
    for (const example of examplesOf(file)) {
      if (example.only !== undefined && example.only !== line) continue
      if (BamlJobOnly(example) && line === 3) continue
      const name = `${Path.relative(Path.join(root, "src"), file).replace(/[/.]/g, "_")}_${example.line}.ts`
      // each example is a module of its own (its names do not clash with another's)
      writeFileSync(Path.join(dir, name), `${line === 3 ? forEffect3(example.code) : example.code}\nexport {}\n`)
      where.set(Path.join(dir, name), example)
    }
  }
  const config = Path.join(root, line === 4 ? "tsconfig.json" : "effect3/tsconfig.json")
  const parsed = ts.parseJsonConfigFileContent(ts.readConfigFile(config, ts.sys.readFile).config, ts.sys, Path.dirname(config))
  // an example shows how to use a name: declared and not used again is fine
  const program = ts.createProgram([...where.keys()], {
    ...parsed.options,
    noEmit: true,
    noUnusedLocals: false,
    noUnusedParameters: false
  })
  const errors = ts.getPreEmitDiagnostics(program).filter((d) => d.file !== undefined && where.has(d.file.fileName))
    .map((d) => {
      const example = where.get(d.file!.fileName)!
      const { line: at } = d.file!.getLineAndCharacterOfPosition(d.start ?? 0)
      return `${Path.relative(root, example.file)}:${example.line} (example line ${at + 1}): ${
        ts.flattenDiagnosticMessageText(d.messageText, "\n")
      }`
    })
  return { count: where.size, errors }
}

/** Examples of the Effect 4 line's own modules (batch jobs). */
const BamlJobOnly = (example: Example) =>
  Path.basename(example.file).startsWith("BamlJob") || /\bBamlJob(?:Store)?\b/.test(example.code)

describe("the JSDoc examples", () => {
  it.each([4, 3] as const)("type-check against the Effect %s line", (line) => {
    const { count, errors } = check(line)
    expect(count).toBeGreaterThan(100)
    expect(errors).toEqual([])
  }, 240_000)
})
