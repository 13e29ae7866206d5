// The README's TypeScript blocks, shared by the tests that type-check them and the tests that run them (both lines),
// and how those tests run a file as a user does.
import { execFile } from "node:child_process"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

/** The repository's root directory. */
export const root = fileURLToPath(new URL("../", import.meta.url))

/** The README's `ts` and `tsx` blocks, each with the line it starts on. */
export const snippets = (): ReadonlyArray<{ readonly line: number; readonly code: string; readonly tsx: boolean }> => {
  const lines = readFileSync(join(root, "README.md"), "utf8").split("\n")
  const out: Array<{ line: number; code: string; tsx: boolean }> = []
  let start: number | undefined
  let tsx = false
  lines.forEach((text, i) => {
    if (start === undefined && (text.trim() === "```ts" || text.trim() === "```tsx")) {
      start = i + 1
      tsx = text.trim() === "```tsx"
    } else if (start !== undefined && text.trim() === "```") {
      out.push({ line: start + 1, code: lines.slice(start, i).join("\n"), tsx })
      start = undefined
    }
  })
  return out
}

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
