// The tests `npm run mutation:effect3` runs against each mutant of the Effect 3 line's data-path modules: the ones that
// exercise them, on effect3's own vitest (Stryker runs from effect3/, see effect3/stryker.config.json).
// `MUTATION_TESTS` (comma-separated files, from the repository root) narrows them for a scoped run, e.g.
// `MUTATION_TESTS=test/shared/Baml.test.ts,test/shared/TokenBudget.test.ts` (docs/mutation.md lists the runs made).
import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"
import base from "./vitest.config.js"

const all = [
  "test/shared/Baml.test.ts",
  "test/shared/TokenBudget.test.ts",
  "test/shared/BamlMetrics.test.ts",
  "test/shared/BamlHttp.test.ts",
  "test/shared/Soak.property.test.ts",
  "test/shared/Secrets.test.ts",
  "test/shared/Baml.options.test.ts",
  "test/shared/Baml.reports.test.ts",
  "test/shared/Baml.concurrency.test.ts",
  "test/shared/Usage.test.ts",
  "test/shared/Faults.test.ts",
  "test/shared/BamlError.test.ts",
  "test/shared/BadInput.test.ts"
]

export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: process.env.MUTATION_TESTS?.split(",").map((file) => file.trim()) ?? all,
    env: { ...base.test?.env, BAML_LOG: "error", SOAK_RUNS: "3" },
    // Stryker runs vitest from effect3/; the tests expect the repository root as their working directory
    setupFiles: [fileURLToPath(new URL("test/support/atRepositoryRoot.ts", import.meta.url))]
  }
})
