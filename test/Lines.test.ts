/**
 * Both Effect lines offer the same public surface: the same modules, and in each the same exported names. (Types are
 * checked where each line is used: its own tests and the package test.)
 */
import { describe, expect, it } from "@effect/vitest"

const surface = (modules: Record<string, unknown>) =>
  Object.fromEntries(
    Object.entries(modules).map(([name, module]) => [name, Object.keys(module as object).sort()])
  )

/**
 * Modules of the Effect 4 line only: `BamlJob` and `BamlJobStore` build on `effect/workflow` and `effect/cluster`,
 * which Effect 3 has not (the Effect 3 line's docs say so).
 */
const effect4Only = ["BamlJob", "BamlJobStore"]

describe("the two Effect lines", () => {
  it("export the same modules with the same names, effect-baml and effect-baml/effect3 alike", async () => {
    const { BamlJob, BamlJobStore, ...effect4 } = surface(await import("../src/index.js"))
    const effect3 = surface(await import("../effect3/src/index.js"))
    expect(Object.keys(effect4).length).toBeGreaterThanOrEqual(7)
    expect(effect3).toEqual(effect4)
    // and the Effect 4 line has exactly these more
    expect(BamlJob).toContain("run")
    expect(BamlJobStore).toContain("layerPostgres")
    expect(effect4Only.filter((name) => name in effect3)).toEqual([])
    expect(Object.keys(surface(await import("../src/index.js"))).filter((name) => !(name in effect3))).toEqual(
      effect4Only
    )
  }, 60_000)

  it("and the same testing module", async () => {
    const effect4 = surface(await import("../src/testing/index.js"))
    const effect3 = surface(await import("../effect3/src/testing/index.js"))
    expect(effect4["ScriptedProvider"]).toContain("layer")
    expect(effect3).toEqual(effect4)
  }, 60_000)
})
