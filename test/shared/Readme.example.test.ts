/**
 * The README's Example, run as a user runs it (`npx tsx main.ts`, here `node --import tsx`), in a process of its own
 * on this Effect line (on the Effect 3 line with its imports made `effect-baml/effect3`'s), from the repository root,
 * whose baml_src has the README's `resume.baml`.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { asUserWrites, describe, Effect, expect, it, readmeRunDirectory, nodeImports } from "#line"
import { root, runNode, snippets } from "../readme.js"

const example = () => {
  const readme = readFileSync(join(root, "README.md"), "utf8")
  const at = readme.split("\n").findIndex((text) => text.startsWith("The program, in `main.ts`"))
  const block = snippets("README.md").find((snippet) => snippet.line > at + 1)
  if (block === undefined) throw new Error("the README's Example has no program")
  return asUserWrites(block.code)
}

describe("the README's Example", () => {
  it("baml_src/resume.baml is the one it shows", () => {
    const readme = readFileSync(join(root, "README.md"), "utf8")
    const block = /```baml\n(class Job \{[\s\S]*?\n\})\n```/.exec(readme)?.[1]
    expect(block).toBeDefined()
    expect(readFileSync(join(root, "baml_src", "resume.baml"), "utf8")).toContain(block!)
  })

  it.live("runs as written, offline: the resume, three partials, and the stream's request closed early", () =>
    Effect.gen(function*() {
      const dir = join(root, readmeRunDirectory)
      mkdirSync(dir, { recursive: true })
      const file = join(dir, "example-main.ts")
      writeFileSync(file, example())
      const { code, stderr, stdout } = yield* Effect.promise(() =>
        runNode([...nodeImports, file], {}, root, 60_000)
      ).pipe(Effect.ensuring(Effect.sync(() => rmSync(file, { force: true }))))
      expect(code, stderr).toBe(0)
      expect(stdout).toContain("name: 'Ada Lovelace'")
      expect(stdout).toContain("'skill 39'")
      // the resume, then three partials: each an object logged from its own line
      expect(stdout.match(/^\{/gm)?.length).toBe(4)
      const closed = /closed-early: (\d+) of (\d+) chunks sent/.exec(stdout)
      expect(closed, stdout).not.toBeNull()
      expect(Number(closed![1])).toBeLessThan(Number(closed![2]))
    }), 90_000)
})
