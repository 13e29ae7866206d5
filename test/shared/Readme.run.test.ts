// The README's tests (its "Testing your own BAML code offline" section), run as a user of this line writes them, each
// 50 times in a row: a record read right after the effect that produced it must already be settled, every time.
import { asUserWrites, describe, readmeRunDirectory } from "#line"
import { mkdirSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import { readmeTests, root } from "../readme.js"

const runs = 50
// Under this line's tests, so that `effect` and `@effect/vitest` resolve to the line's own.
const dir = join(root, readmeRunDirectory)
rmSync(dir, { recursive: true, force: true })
mkdirSync(dir, { recursive: true })
const blocks = readmeTests()
if (blocks.length < 3) throw new Error(`expected the README's three tests, found ${blocks.length}`)
for (const { code, id } of blocks) {
  writeFileSync(join(dir, `${id}.ts`), asUserWrites(code))
  for (let run = 1; run <= runs; run++) {
    // Each import (a new query) is a new module, which registers the README's test once more.
    describe(`${id}, run ${run} of ${runs}`, async () => {
      const file = `${pathToFileURL(join(dir, `${id}.ts`)).href}?run=${run}`
      await import(/* @vite-ignore */ file)
    })
  }
}
