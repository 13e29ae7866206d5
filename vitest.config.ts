import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url))
const src = (path: string) => here(`./src/${path}`)

// vitest 5 groups failures for its report with `Map.groupBy` (Node 21+): on Node 20, the floor this project supports,
// a failing test would crash the reporter and hide its own error.
if (!("groupBy" in Map)) {
  Object.defineProperty(Map, "groupBy", {
    value: <K, V>(items: Iterable<V>, key: (item: V, index: number) => K): Map<K, Array<V>> => {
      const groups = new Map<K, Array<V>>()
      let index = 0
      for (const item of items) {
        const k = key(item, index++)
        const group = groups.get(k)
        if (group === undefined) groups.set(k, [item])
        else group.push(item)
      }
      return groups
    }
  })
}

export default defineConfig({
  resolve: {
    alias: [
      { find: /^effect-baml\/testing$/, replacement: src("testing/index.ts") },
      { find: /^effect-baml\/client$/, replacement: src("client/index.ts") },
      { find: /^effect-baml\/react$/, replacement: src("react/index.ts") },
      { find: /^effect-baml$/, replacement: src("index.ts") },
      // test/shared/ runs on both Effect lines: `#line` is the line under test (effect3/vitest.config.ts maps it too)
      { find: /^#line$/, replacement: here("./test/line.ts") },
      // The modules in src/ are written once for both lines; `#kit` is the line's kit (see src/kit/effect4/index.ts)
      { find: /^#kit$/, replacement: src("kit/effect4/index.ts") },
      { find: /^#kit\/(.*)$/, replacement: src("kit/effect4/$1.ts") }
    ]
  },
  test: {
    include: ["test/**/*.test.ts"],
    env: { EFFECT_BAML_LINE: "4" },
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks"
  }
})
