import { expect, it } from "@effect/vitest"
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import ts from "typescript"
import { root, snippets } from "./readme.js"

const dir = join(root, ".readme-check")

/**
 * What the README shows but this repository does not have: a user's own BAML function (`ReadReceipt`, with its own
 * baml_src) and the OTLP exporter packages, which a user installs. Every other diagnostic is a broken example.
 */
const expected = [
  /Property 'ReadReceipt' does not exist/,
  /Cannot find module '@opentelemetry\/exporter-(metrics|trace)-otlp-http'/
]

/** Type-checks `blocks` as files in `dir` under the project `tsconfig`; returns every diagnostic's text. */
const diagnostics = (
  blocks: ReadonlyArray<{ readonly id: string; readonly code: string; readonly tsx: boolean }>,
  dir: string,
  tsconfig: string
) => {
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  const files = blocks.map(({ code, id, tsx }) => {
    const file = join(dir, `${id}.${tsx ? "tsx" : "ts"}`)
    // the examples import the generated client as a user's project lays it out; here it is at the root
    writeFileSync(file, code.replaceAll("\"./baml_client/", "\"../baml_client/"))
    return file
  })
  const config = ts.getParsedCommandLineOfConfigFile(tsconfig, {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
      throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n"))
    }
  })!
  // examples may leave a value unused (`const firstThree = ...`) to show its type
  const program = ts.createProgram(files, { ...config.options, noUnusedLocals: false, noEmit: true })
  const problems = ts.getPreEmitDiagnostics(program).map((d) => {
    const where = d.file === undefined ? "" : `${d.file.fileName.slice(dir.length + 1)}: `
    return where + ts.flattenDiagnosticMessageText(d.messageText, " ")
  })
  rmSync(dir, { recursive: true, force: true })
  return problems
}

/** An example for the Effect 3 line imports `effect-baml/effect3`: it is checked where `effect` is Effect 3. */
const isEffect3 = (block: { readonly code: string }) => block.code.includes("\"effect-baml/effect3")

it("every TypeScript example in the README and the guides compiles against the library as it is", () => {
  const blocks = snippets()
  expect(blocks.length).toBeGreaterThanOrEqual(7)
  expect(blocks.filter(isEffect3).length).toBeGreaterThanOrEqual(1)
  const problems = [
    ...diagnostics(blocks.filter((block) => !isEffect3(block)), dir, join(root, "tsconfig.json")),
    ...diagnostics(blocks.filter(isEffect3), join(root, "effect3", ".readme-check"), join(root, "effect3", "tsconfig.json"))
  ]
  expect(problems.filter((p) => !expected.some((e) => e.test(p))), problems.join("\n")).toEqual([])
  // and the two things the README shows but this repository lacks are still what keeps those examples from compiling
  expect(expected.every((e) => problems.some((p) => e.test(p)))).toBe(true)
}, 120_000)

it("the BAML client the README's testing section shows is the one baml_src declares for the scripted provider", () => {
  const readme = readFileSync(join(root, "docs", "testing.md"), "utf8")
  const block = /```baml\n(client<llm> Scripted \{[\s\S]*?\n\})\n/.exec(readme)?.[1]
  expect(block).toBeDefined()
  const clients = readFileSync(join(root, "baml_src", "clients.baml"), "utf8")
  for (const line of block!.split("\n").map((l) => l.trim()).filter((l) => l !== "")) {
    expect(clients, line).toContain(line)
  }
})
