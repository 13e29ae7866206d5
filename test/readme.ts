// The TypeScript blocks of the README and the guides in docs/, shared by the tests that type-check them and the tests
// that run them (both lines),
// and how those tests run a file as a user does.
import { execFile } from "node:child_process"
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

/** The repository's root directory. */
export const root = fileURLToPath(new URL("../", import.meta.url))

/** The documents whose `ts` blocks are examples a user copies: the README and the guides under docs/. */
export const documents = (): ReadonlyArray<string> => [
  "README.md",
  ...readdirSync(join(root, "docs")).filter((name) => name.endsWith(".md") && !excluded.has(name)).sort()
    .map((name) => `docs/${name}`)
]

/** Pages under docs/ that are reports or for contributors, not guides: their code blocks are not examples. */
const excluded = new Set(["architecture.md", "benchmarks.md", "mutation.md"])

/** One `ts` or `tsx` block of a document. */
export interface Snippet {
  readonly document: string
  /** The line the code starts on. */
  readonly line: number
  /** `<document>-<line>`: names the block in a file. */
  readonly id: string
  readonly code: string
  readonly tsx: boolean
}

/** The `ts` and `tsx` blocks of the documents (or of one, `document`). */
export const snippets = (document?: string): ReadonlyArray<Snippet> =>
  (document === undefined ? documents() : [document]).flatMap((doc) => {
    const lines = readFileSync(join(root, doc), "utf8").split("\n")
    const out: Array<Snippet> = []
    let start: number | undefined
    let tsx = false
    lines.forEach((text, i) => {
      if (start === undefined && (text.trim() === "```ts" || text.trim() === "```tsx")) {
        start = i + 1
        tsx = text.trim() === "```tsx"
      } else if (start !== undefined && text.trim() === "```") {
        const id = `${doc.replace(/\.md$/, "").replace(/\//g, "-")}-${start + 1}`
        out.push({ document: doc, line: start + 1, id, code: lines.slice(start, i).join("\n"), tsx })
        start = undefined
      }
    })
    return out
  })

/** The README's blocks that are vitest tests. */
export const readmeTests = () => snippets().filter(({ code }) => code.includes("from \"@effect/vitest\""))

/**
 * Runs `node` with `args` in a process of its own, from `cwd` (default the root), with `env` over this process's
 * environment (`undefined` removes a variable), killed after `timeoutMs` if given: its exit code (0, or the
 * failure's) and what it wrote.
 */
export const runNode = (
  args: ReadonlyArray<string>,
  env: Readonly<Record<string, string | undefined>> = {},
  cwd: string = root,
  timeoutMs = 0
): Promise<{ readonly code: number; readonly stdout: string; readonly stderr: string }> =>
  new Promise((resolve) =>
    execFile(
      process.execPath,
      [...args],
      { cwd, env: { ...process.env, ...env }, timeout: timeoutMs },
      (error, stdout, stderr) => resolve({ code: error === null ? 0 : Number(error.code ?? 1), stdout, stderr })
    )
  )
