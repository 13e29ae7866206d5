// The tests in test/shared/ run once per Effect line, importing the line under test from `#line`. This one proves the
// mapping: if a configuration sent the Effect 3 run to Effect 4 (or to the Effect 4 build of the library), every other
// shared test could pass there while the Effect 3 line went untested.
import { Baml, describe, Effect, expect, it, line } from "#line"

describe("the line under test", () => {
  it("is the Effect major its run says, and its effect-baml is built on that same Effect", () => {
    // Effect 3 forks with `fork`, Effect 4 with `forkChild`
    expect("forkChild" in Effect).toBe(line === 4)
    expect("fork" in Effect).toBe(line === 3)
    // an effect from the line's effect-baml is an Effect to the line's Effect (each major brands its own)
    expect(Effect.isEffect(Baml.call("ExtractResume", { resume: "" }))).toBe(true)
  })

  it("is the line the run was started for (each Vitest configuration names its line)", () => {
    expect(line).toBe(Number(process.env.EFFECT_BAML_LINE))
  })
})
