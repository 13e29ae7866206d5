// The Effect 3 line's tests run on the Effect 3 toolchain installed in effect3/node_modules, from the repository root
// (they read baml_src and examples relative to it).
import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url))

export default defineConfig({
  root: here(".."),
  resolve: {
    alias: [
      { find: /^effect-baml\/effect3\/testing$/, replacement: here("src/testing/index.ts") },
      { find: /^effect-baml\/effect3\/client$/, replacement: here("src/client/index.ts") },
      { find: /^effect-baml\/effect3$/, replacement: here("src/index.ts") }
    ]
  },
  test: {
    include: ["effect3/test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks"
  }
})
