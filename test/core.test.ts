/**
 * The shared core is written once for both Effect lines: nothing in src/core, and nothing the `effect-baml` command
 * loads, may import Effect (a user's project has Effect 3 or Effect 4, never both).
 */
import { describe, expect, it } from "@effect/vitest"
import { readdirSync, readFileSync } from "node:fs"
import * as Path from "node:path"

const importsOf = (file: string): ReadonlyArray<string> =>
  Array.from(
    readFileSync(file, "utf8").matchAll(/^(?:(?:import|export|\})[^"\n]*from\s+|import\s+)"([^"]+)"/gm),
    (match) => match[1]!
  )

/** Every source file reachable from `entries` through relative imports. */
const graph = (entries: ReadonlyArray<string>): ReadonlyMap<string, ReadonlyArray<string>> => {
  const seen = new Map<string, ReadonlyArray<string>>()
  const visit = (file: string) => {
    if (seen.has(file)) return
    const imports = importsOf(file)
    seen.set(file, imports)
    for (const specifier of imports) {
      if (specifier.startsWith(".")) visit(Path.resolve(Path.dirname(file), specifier.replace(/\.js$/, ".ts")))
    }
  }
  entries.forEach(visit)
  return seen
}

describe("core", () => {
  const core = readdirSync("src/core", { recursive: true, encoding: "utf8" }).filter((name) => name.endsWith(".ts"))
    .map((name) => Path.resolve("src/core", name))
  const reachable = graph([...core, Path.resolve("src/cli/bin.ts")])

  it("no module of the core or of the command imports Effect, directly or through another module", () => {
    const effectImports = [...reachable].flatMap(([file, imports]) =>
      imports.filter((specifier) => /^(effect|@effect\/)/.test(specifier)).map((specifier) =>
        `${Path.relative(".", file)} imports ${specifier}`
      )
    )
    expect(core.length).toBeGreaterThan(5)
    expect(effectImports).toEqual([])
  })

  it("the core and the command stay inside src/core and src/cli", () => {
    const outside = [...reachable.keys()].map((file) => Path.relative(".", file)).filter((file) =>
      !file.startsWith("src/core/") && !file.startsWith("src/cli/")
    )
    expect(outside).toEqual([])
  })
})

describe("client", () => {
  it("the browser's entry points (effect-baml/client, effect-baml/effect3/client) never reach the BAML engine", () => {
    const entries = ["src/client/index.ts", "effect3/src/client/index.ts"].map((file) => Path.resolve(file))
    const reachable = graph(entries)
    const engineImports = [...reachable].flatMap(([file, imports]) =>
      imports.filter((specifier) => specifier.startsWith("@boundaryml/") || specifier.startsWith("node:")).map((
        specifier
      ) => `${Path.relative(".", file)} imports ${specifier}`)
    )
    expect(reachable.size).toBeGreaterThan(3)
    expect([...reachable.keys()].map((file) => Path.relative(".", file))).toContain("src/core/wire/wire.ts")
    expect(engineImports).toEqual([])
  })
})

