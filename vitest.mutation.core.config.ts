// The tests `npm run mutation:core` runs against each mutant of the shared core's data-path modules: their unit tests,
// which call the modules directly (no engine stream, no provider), so that a mutant costs seconds.
import { defineConfig } from "vitest/config"
import base from "./vitest.config.js"

export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: [
      "test/tripWire.test.ts",
      "test/budget.test.ts",
      "test/redact.test.ts",
      "test/readUsage.test.ts",
      "test/engineError.test.ts",
      "test/declarations.test.ts"
    ],
    env: { BAML_LOG: "error" }
  }
})
