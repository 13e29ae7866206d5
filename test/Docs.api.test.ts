/**
 * The API reference builds for both Effect lines (`npm run docs`: the build, then TypeDoc over each line's
 * declarations), with a page for every public module, each line's own examples in it, and no error.
 */
import { describe, expect, it } from "@effect/vitest"
import { execFile } from "node:child_process"
import { existsSync, readFileSync } from "node:fs"
import * as Path from "node:path"
import { promisify } from "node:util"

const root = Path.resolve(import.meta.dirname, "..")
const exec = promisify(execFile)

const modules = [
  "Baml",
  "BamlError",
  "BamlHedge",
  "BamlHttp",
  "BamlMedia",
  "BamlMetrics",
  "BamlMiddleware",
  "BamlRuntime",
  "TokenBudget"
]

describe("the API reference", () => {
  it("builds for both lines: a page per module, each line's examples, no error", async () => {
    const { stderr, stdout } = await exec("npm", ["run", "docs"], { cwd: root, maxBuffer: 64 * 1024 * 1024 })
    expect(`${stdout}\n${stderr}`).not.toMatch(/\[error\]/)
    const page = (line: string, entry: string, module: string) =>
      Path.join(root, "docs", "api", line, entry, "namespaces", module, "README.md")
    for (const module of modules) {
      expect(existsSync(page("effect4", "index", module)), module).toBe(true)
      expect(existsSync(page("effect3", "index.effect3", module)), module).toBe(true)
    }
    for (const line of ["effect4", "effect3"]) {
      expect(existsSync(page(line, "client", "BamlClient")), line).toBe(true)
      expect(existsSync(Path.join(root, "docs", "api", line, "react", "README.md")), line).toBe(true)
    }
    expect(existsSync(page("effect4", "index", "BamlJob"))).toBe(true)
    expect(existsSync(page("effect3", "index.effect3", "BamlJob"))).toBe(false)
    // each line's own example: Effect 3 reads a metric's data point with Metric.tagged, Effect 4 with withAttributes
    const calls = (line: string, entry: string) =>
      readFileSync(Path.join(root, "docs", "api", line, entry, "namespaces", "BamlMetrics", "variables", "calls.md"), "utf8")
    expect(calls("effect4", "index")).toContain("Metric.withAttributes")
    expect(calls("effect4", "index")).not.toContain("Metric.tagged")
    expect(calls("effect3", "index.effect3")).toContain("Metric.tagged")
    expect(calls("effect3", "index.effect3")).toContain("from \"effect-baml/effect3\"")
  }, 240_000)
})
