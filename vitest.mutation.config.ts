// The tests `npm run mutation` runs against each mutant of the data-path modules: the ones that exercise them. The
// package, generator, browser and README tests check other things and would only make every mutant slower.
import { defineConfig } from "vitest/config"
import base from "./vitest.config.js"

export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: [
      "test/Baml.test.ts",
      "test/shared/Baml.options.test.ts",
      "test/tripWire.test.ts",
      "test/shared/Faults.test.ts",
      "test/Soak.property.test.ts",
      "test/TokenBudget.test.ts",
      "test/BamlMetrics.test.ts",
      "test/shared/BamlError.test.ts",
      "test/shared/BadInput.test.ts",
      "test/Secrets.test.ts",
      "test/BamlHttp.test.ts"
    ],
    env: { BAML_LOG: "error", SOAK_RUNS: "3" }
  }
})
