// The README's TypeScript blocks, shared by the tests that type-check them and the tests that run them (both lines).
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

/** The repository's root directory. */
export const root = fileURLToPath(new URL("../", import.meta.url))

/** The README's `ts` blocks, each with the line it starts on. */
export const snippets = (): ReadonlyArray<{ readonly line: number; readonly code: string }> => {
  const lines = readFileSync(join(root, "README.md"), "utf8").split("\n")
  const out: Array<{ line: number; code: string }> = []
  let start: number | undefined
  lines.forEach((text, i) => {
    if (start === undefined && text.trim() === "```ts") start = i + 1
    else if (start !== undefined && text.trim() === "```") {
      out.push({ line: start + 1, code: lines.slice(start, i).join("\n") })
      start = undefined
    }
  })
  return out
}

/** The README's blocks that are vitest tests. */
export const readmeTests = () => snippets().filter(({ code }) => code.includes("from \"@effect/vitest\""))

/** A README test, rewritten for the Effect 3 line: effect-baml's imports become effect-baml/effect3's. */
export const forEffect3 = (code: string): string =>
  code.replaceAll("from \"effect-baml\"", "from \"effect-baml/effect3\"")
    .replaceAll("from \"effect-baml/testing\"", "from \"effect-baml/effect3/testing\"")
