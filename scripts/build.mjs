// Builds both Effect lines from the one source in src/: `dist/effect4` (effect-baml) and `dist/effect3`
// (effect-baml/effect3), each with TypeScript against its own Effect and its own kit (`#kit`, see src/kit/). Then, in
// what each build wrote, `#kit` becomes a relative path to that line's kit, and the documentation becomes that line's:
// an `@example Effect 4` or `@example Effect 3` is kept only in its line, and in the Effect 3 line's `@example`s
// `effect-baml` reads `effect-baml/effect3`.
import { execFileSync } from "node:child_process"
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join, relative } from "node:path"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("../", import.meta.url))
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc")

const lines = [
  { name: "effect4", project: "tsconfig.build.json", other: "Effect 3", effect3: false },
  { name: "effect3", project: "effect3/tsconfig.build.json", other: "Effect 4", effect3: true }
]

const files = (dir) =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && /\.(?:js|d\.ts)$/.test(entry.name))
    .map((entry) => join(entry.parentPath, entry.name))

/** Drops the JSDoc `@example` sections captioned for the other line, up to the next tag or the end of the comment. */
const keepLine = (text, other) =>
  text.replace(
    new RegExp(String.raw`^([ \t]*)\* @example ${other}\n(?:\1\*(?! @)(?!/).*\n)*`, "gm"),
    ""
  )

/** The Effect 3 line's documentation imports from its own entry points. */
const forEffect3 = (text) =>
  text.replace(/(\* import .* from ")effect-baml((?:\/testing|\/client|\/react)?")/g, "$1effect-baml/effect3$2")

rmSync(join(root, "dist"), { recursive: true, force: true })
for (const line of lines) {
  execFileSync(process.execPath, [tsc, "-p", join(root, line.project)], { cwd: root, stdio: "inherit" })
  const out = join(root, "dist", line.name)
  const kit = join(out, "kit", line.name)
  for (const file of files(out)) {
    const before = readFileSync(file, "utf8")
    let after = before.replace(/(from |import\()"#kit(?:\/([\w-]+))?"/g, (_, lead, sub) => {
      let path = relative(dirname(file), join(kit, `${sub ?? "index"}.js`))
      if (!path.startsWith(".")) path = `./${path}`
      return `${lead}"${path}"`
    })
    after = keepLine(after, line.other)
    if (line.effect3) after = forEffect3(after)
    if (after !== before) writeFileSync(file, after)
  }
}
