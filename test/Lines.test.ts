/**
 * Both Effect lines offer the same public surface: the same modules, and in each the same exported names. (Types are
 * checked where each line is used: its own tests and the package test.)
 */
import { describe, expect, it } from "@effect/vitest"

const surface = (modules: Record<string, unknown>) =>
  Object.fromEntries(
    Object.entries(modules).map(([name, module]) => [name, Object.keys(module as object).sort()])
  )

describe("the two Effect lines", () => {
  it("export the same modules with the same names, effect-baml and effect-baml/effect3 alike", async () => {
    const effect4 = surface(await import("../src/index.js"))
    const effect3 = surface(await import("../effect3/src/index.js"))
    expect(Object.keys(effect4).length).toBeGreaterThanOrEqual(7)
    expect(effect3).toEqual(effect4)
  }, 60_000)

  it("and the same testing module", async () => {
    const effect4 = surface(await import("../src/testing/index.js"))
    const effect3 = surface(await import("../effect3/src/testing/index.js"))
    expect(effect4["ScriptedProvider"]).toContain("layer")
    expect(effect3).toEqual(effect4)
  }, 60_000)
})
