// Runs before `npm run generate`, `check` and `start`: effect-baml comes from this repository (file:../..), and its
// command and modules exist only once the library is built. Without them npm would say only "effect-baml: not found".
import { existsSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"

const problem = (() => {
  let manifest
  try {
    manifest = createRequire(import.meta.url).resolve("effect-baml/package.json")
  } catch {
    return "effect-baml is not installed here: run `npm install` in examples/basic."
  }
  if (!existsSync(join(dirname(manifest), "dist", "effect4", "cli", "bin.js"))) {
    return "effect-baml is installed from this repository (file:../..) but is not built: run `npm run build` in " +
      "the repository's root, then `npm install` here again."
  }
})()
if (problem !== undefined) {
  console.error(problem)
  process.exit(1)
}
