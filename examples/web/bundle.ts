/**
 * The web example's browser code, bundled with esbuild when the server starts: `effect-baml/client` (and its Effect 3
 * twin) resolve to this repository's sources, and `effect` to the line's own. A bundle for the browser platform fails
 * to build if anything it reaches needs Node or the BAML engine.
 */
import { build } from "esbuild"
import { fileURLToPath } from "node:url"

const repo = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url))

/** The browser bundle of `entry` (an app.ts), as one ES module. */
export const bundle = async (entry: string): Promise<string> => {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    format: "esm",
    platform: "browser",
    target: "es2022",
    logLevel: "silent",
    alias: {
      "effect-baml/client": repo("src/client/index.ts"),
      "effect-baml/effect3/client": repo("effect3/src/client/index.ts")
    }
  })
  return result.outputFiles[0]!.text
}
