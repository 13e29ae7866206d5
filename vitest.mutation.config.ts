// The tests `npm run mutation` runs against each mutant of the data-path modules: the ones that exercise them. The
// package, generator, browser and README tests check other things and would only make every mutant slower.
// `MUTATION_TESTS` (comma-separated files) narrows them for a scoped run, e.g. `--mutate src/Baml.ts:291-429` with
// `MUTATION_TESTS=test/shared/Baml.test.ts,test/shared/TokenBudget.test.ts` (docs/mutation.md lists the runs made).
import { defineConfig } from "vitest/config"
import base from "./vitest.config.js"

const all = [
  "test/shared/Baml.test.ts",
  "test/shared/Baml.options.test.ts",
  "test/tripWire.test.ts",
  "test/shared/Faults.test.ts",
  "test/shared/Soak.property.test.ts",
  "test/shared/TokenBudget.test.ts",
  "test/shared/BamlMetrics.test.ts",
  "test/shared/BamlError.test.ts",
  "test/shared/BadInput.test.ts",
  "test/shared/Secrets.test.ts",
  "test/shared/BamlHttp.test.ts"
]

export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: process.env.MUTATION_TESTS?.split(",").map((file) => file.trim()) ?? all,
    env: { BAML_LOG: "error", SOAK_RUNS: "3" }
  }
})
