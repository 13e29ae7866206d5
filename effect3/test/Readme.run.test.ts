// The README's tests (its "Testing your own BAML code offline" section) on the Effect 3 line, as a user of
// effect-baml/effect3 writes them, each run 50 times in a row: a record read right after the effect that produced it
// must already be settled, every time.
import { describe } from "@effect/vitest"
import { mkdirSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import { forEffect3, readmeTests, root } from "../../test/readme.js"

const runs = 50
// Under effect3/, so that `effect` and `@effect/vitest` resolve to the Effect 3 line's.
const dir = join(root, "effect3", "test", ".readme-run")
rmSync(dir, { recursive: true, force: true })
mkdirSync(dir, { recursive: true })
const blocks = readmeTests()
if (blocks.length < 3) throw new Error(`expected the README's three tests, found ${blocks.length}`)
for (const { code, line } of blocks) {
  writeFileSync(join(dir, `readme-line-${line}.ts`), forEffect3(code))
  for (let run = 1; run <= runs; run++) {
    // Each import (a new query) is a new module, which registers the README's test once more.
    describe(`README line ${line}, run ${run} of ${runs}`, async () => {
      const file = `${pathToFileURL(join(dir, `readme-line-${line}.ts`)).href}?run=${run}`
      await import(/* @vite-ignore */ file)
    })
  }
}
