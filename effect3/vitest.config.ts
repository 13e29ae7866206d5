// The Effect 3 line's tests run on the Effect 3 toolchain installed in effect3/node_modules, from the repository root
// (they read baml_src and examples relative to it). The modules in src/ are written once for both lines: here `#kit`
// is the Effect 3 kit, and Effect's packages that the repository's own files import resolve to the Effect 3 ones, as
// effect3/register.mjs does for Node.
import { fileURLToPath } from "node:url"
import { defineConfig, type Plugin } from "vitest/config"

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url))
const src = (path: string) => here(`../src/${path}`)

const effectPackage = /^(?:effect|@effect\/[\w-]+)(?:\/|$)/

/** Resolves Effect's packages imported from this repository's files as if imported from effect3/. */
const effect3Packages: Plugin = {
  name: "effect-baml:effect3-packages",
  enforce: "pre",
  async resolveId(source, importer, options) {
    if (!effectPackage.test(source) || importer === undefined || importer.includes("/node_modules/")) return null
    return this.resolve(source, here("package.json"), { ...options, skipSelf: true })
  }
}

export default defineConfig({
  root: here(".."),
  plugins: [effect3Packages],
  resolve: {
    alias: [
      { find: /^effect-baml\/effect3\/testing$/, replacement: src("testing/index.ts") },
      { find: /^effect-baml\/effect3\/client$/, replacement: src("client/index.ts") },
      { find: /^effect-baml\/effect3\/react$/, replacement: src("react/index.ts") },
      { find: /^effect-baml\/effect3$/, replacement: src("index.effect3.ts") },
      // test/shared/ runs on both Effect lines: `#line` is the line under test, here the Effect 3 line
      { find: /^#line$/, replacement: here("test/line.ts") },
      { find: /^#kit$/, replacement: src("kit/effect3/index.ts") },
      { find: /^#kit\/(.*)$/, replacement: src("kit/effect3/$1.ts") }
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
