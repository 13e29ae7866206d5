/**
 * The web example's browser code, bundled with esbuild when the server starts: `effect-baml/client` and
 * `effect-baml/react` (and the Effect 3 line's `effect-baml/effect3/client` and `effect-baml/effect3/react`) resolve
 * to this repository's sources, with the line's kit for `#kit` and the line's own Effect (on the Effect 3 line, Effect's packages resolve from effect3/, as the line's build and tests do).
 * A bundle for the browser platform fails to build if anything it reaches needs Node or the BAML engine.
 */
import { build, type Plugin } from "esbuild"
import { fileURLToPath } from "node:url"

const repo = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url))

const effectPackage = /^(?:effect|@effect\/[\w-]+)(?:\/|$)/

/** The Effect line's resolution of `#kit` and of Effect itself. */
const line = (effect: 3 | 4): Plugin => ({
  name: "effect-baml-line",
  setup(build) {
    const kit = repo(`src/kit/effect${effect}/`)
    build.onResolve({ filter: /^#kit(?:\/[\w-]+)?$/ }, (args) => ({
      path: `${kit}${args.path === "#kit" ? "index" : args.path.slice("#kit/".length)}.ts`
    }))
    if (effect === 3) {
      build.onResolve({ filter: effectPackage }, (args) =>
        args.importer.includes("/node_modules/") || args.pluginData === "effect3"
          ? undefined
          : build.resolve(args.path, { kind: args.kind, resolveDir: repo("effect3"), pluginData: "effect3" }))
    }
  }
})

/**
 * The browser bundle of `entry` (an app.tsx) for the Effect line `effect`, as one ES module, with React's development
 * build (whose StrictMode mounts, unmounts and mounts again), as a development server serves it.
 */
export const bundle = async (entry: string, effect: 3 | 4 = 4): Promise<string> => {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    format: "esm",
    platform: "browser",
    target: "es2022",
    logLevel: "silent",
    jsx: "automatic",
    define: { "process.env.NODE_ENV": "\"development\"" },
    plugins: [line(effect)],
    alias: {
      "effect-baml/client": repo("src/client/index.ts"),
      "effect-baml/effect3/client": repo("src/client/index.ts"),
      "effect-baml/react": repo("src/react/index.ts"),
      "effect-baml/effect3/react": repo("src/react/index.ts")
    }
  })
  return result.outputFiles[0]!.text
}
