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
      { find: /^effect-baml\/effect3$/, replacement: here("src/index.ts") },
      // test/shared/ runs on both Effect lines: `#line` is the line under test, here the Effect 3 line
      { find: /^#line$/, replacement: here("test/line.ts") }
    ]
  },
  test: {
    include: ["effect3/test/**/*.test.ts", "test/shared/**/*.test.ts"],
    env: { EFFECT_BAML_LINE: "3" },
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks"
  }
})
