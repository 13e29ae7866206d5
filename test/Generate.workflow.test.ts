/**
 * `effect-baml generate` in BAML's own workflow: run by `baml-cli generate` from a generator block's `on_generate`, and
 * `--watch` for those without the editor extension. And the generator's first stage on its own: a type form it does
 * not know is reported with its file and line, and every file is still printed.
 */
import { describe, expect, it } from "@effect/vitest"
import { type ChildProcess, execFile, spawn } from "node:child_process"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Generate from "../src/cli/generate.js"
import { marker, render } from "../src/core/generator/codegen.js"
import { read } from "../src/core/generator/read.js"

const tsx = Path.resolve("node_modules/.bin/tsx")
const bin = Path.resolve("src/cli/bin.ts")
const engineCli = Path.resolve("node_modules/@boundaryml/baml/cli.js")

const withProject = async <A>(use: (dir: string) => Promise<A>): Promise<A> => {
  const dir = await Fs.mkdtemp(Path.join(Os.tmpdir(), "effect-baml-workflow-"))
  try {
    await Fs.cp("test/fixtures/kinds/baml_src", Path.join(dir, "baml_src"), { recursive: true })
    return await use(dir)
  } finally {
    await Fs.rm(dir, { recursive: true, force: true })
  }
}

/** Resolves with the process's output so far once `pattern` has appeared in it `times` times. */
const waitFor = (child: ChildProcess, pattern: string, times: number, ms: number): Promise<string> =>
  new Promise((resolve, reject) => {
    let text = ""
    const timer = setTimeout(() => reject(new Error(`no ${times}× "${pattern}" within ${ms} ms:\n${text}`)), ms)
    const seen = (chunk: Buffer) => {
      text += chunk.toString()
      if (text.split(pattern).length - 1 >= times) {
        clearTimeout(timer)
        child.stdout?.off("data", seen)
        resolve(text)
      }
    }
    child.stdout?.on("data", seen)
    child.stderr?.on("data", (chunk: Buffer) => (text += chunk.toString()))
  })

describe("effect-baml generate in BAML's workflow", () => {
  it("a generator block's on_generate runs it: `baml-cli generate` keeps the Effect client in step", async () => {
    await withProject(async (dir) => {
      const kinds = Path.join(dir, "baml_src", "kinds.baml")
      const source = await Fs.readFile(kinds, "utf8")
      // As the README shows it, with this repository's command in place of `npx effect-baml`. The engine runs the
      // command in <output_dir>/baml_client.
      const block = [
        "generator effect {",
        "  output_type \"typescript\"",
        "  output_dir \"../.baml\"",
        "  version \"0.226.2\"",
        `  on_generate "cd ../.. && ${tsx} ${bin} generate --from baml_src --to baml_client --effect 4"`,
        "}"
      ].join("\n")
      const edited = source.replace(/generator official \{[^}]*\}/, block)
      expect(edited).not.toBe(source)
      await Fs.writeFile(kinds, edited)
      const code = await new Promise<number>((resolve) =>
        execFile(process.execPath, [engineCli, "generate", "--from", "baml_src"], { cwd: dir }, (error) =>
          resolve(error === null ? 0 : Number(error.code)))
      )
      expect(code).toBe(0)
      const index = await Fs.readFile(Path.join(dir, "baml_client", "index.ts"), "utf8")
      expect(index.startsWith(marker)).toBe(true)
      expect(await Generate.check({ from: Path.join(dir, "baml_src"), to: Path.join(dir, "baml_client"), effect: 4 }))
        .toEqual([])
    })
  }, 60_000)

  it("--watch generates, then again after a .baml change, and stops on SIGTERM", async () => {
    await withProject(async (dir) => {
      const from = Path.join(dir, "baml_src")
      const to = Path.join(dir, "baml_client")
      const child = spawn(tsx, [bin, "generate", "--watch", "--from", from, "--to", to, "--effect", "4"], {
        stdio: ["ignore", "pipe", "pipe"]
      })
      try {
        await waitFor(child, "Generated", 1, 30_000)
        await Fs.appendFile(Path.join(from, "kinds.baml"), "\nclass Added {\n  x int\n}\n")
        await waitFor(child, "Generated", 1, 30_000)
        expect(await Fs.readFile(Path.join(to, "types.ts"), "utf8")).toContain("export interface Added {")
        const exited = new Promise<number | null>((resolve) => child.once("exit", resolve))
        child.kill("SIGTERM")
        expect(await exited).toBe(0)
      } finally {
        child.kill("SIGKILL")
      }
    })
  }, 90_000)
})

describe("the model", () => {
  it("a type form it does not know is a problem with its file and line; every file is still printed", () => {
    const sources = {
      "a.baml": "class Known {\n  x int\n}\n",
      "b.baml": "// a form from a later BAML\nclass Later {\n  ok string\n  pair tuple<int, string>\n}\n"
    }
    const output = render(sources, { importPath: "./baml_client/index.js", effect: 4 })
    expect(output.problems).toEqual([
      { at: { file: "b.baml", line: 4 }, message: "the type form `tuple` is not known to effect-baml" }
    ])
    expect(Object.keys(output.files).sort()).toEqual(
      ["http.ts", "index.ts", "partial_types.ts", "schemas.ts", "sources.ts", "types.ts"]
    )
    expect(output.files["types.ts"]).toContain("export interface Known {\n  x: number\n}")
  })

  it("reads the type forms: literals as written, maps, optionals, unions over lines, checks, file and line", () => {
    const model = read({
      "x.baml": [
        "/// docs",
        "class A {",
        "  s \"say \\\"hi\\\"\" @description(#\"a \"quoted\" }{ text\"#)",
        "  m map<\"a\" | \"b\", (int | string)[]>?",
        "  c int @check(pos, {{ this > 0 }}) @assert({{ this < 9 }})",
        "}",
        "type U = int",
        "  | string",
        "function F(a: A, b: U?) -> A[] @check(some, {{ this|length > 0 }}) {",
        "  client \"openai/gpt-4o\"",
        "  prompt #\"{{ a }} } {\"#",
        "}"
      ].join("\n")
    })
    expect(model.problems).toEqual([])
    const a = model.types.find((t) => t.name === "A")
    expect(a?.at).toEqual({ file: "x.baml", line: 2 })
    expect(a?.kind === "class" && a.fields.map((f) => [f.name, f.type, f.at.line])).toEqual([
      ["s", { kind: "literal", value: "say \\\"hi\\\"" }, 3],
      ["m", {
        kind: "optional",
        type: {
          kind: "map",
          key: { kind: "union", members: [{ kind: "literal", value: "a" }, { kind: "literal", value: "b" }] },
          value: { kind: "list", element: { kind: "union", members: [{ kind: "int" }, { kind: "string" }] } }
        }
      }, 4],
      ["c", { kind: "checked", type: { kind: "int" }, checks: ["pos"] }, 5]
    ])
    expect(model.types.find((t) => t.name === "U")).toMatchObject({
      type: { kind: "union", members: [{ kind: "int" }, { kind: "string" }] }
    })
    expect(model.functions).toEqual([{
      name: "F",
      params: [
        { name: "a", type: { kind: "ref", name: "A", partial: false } },
        { name: "b", type: { kind: "optional", type: { kind: "ref", name: "U", partial: false } } }
      ],
      returns: { kind: "checked", type: { kind: "list", element: { kind: "ref", name: "A", partial: false } }, checks: ["some"] },
      at: { file: "x.baml", line: 9 }
    }])
  })
})
