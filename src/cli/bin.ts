#!/usr/bin/env node
/**
 * The `effect-baml` command. See `effect-baml generate --help`. It imports no Effect, so it runs in a project on
 * either Effect line.
 *
 * @since 0.1.0
 */
import { createRequire } from "node:module"
import { run } from "./generate.js"

// The package's own manifest, by its exported name: the same from src/cli/bin.ts and from the built dist.
const manifest = createRequire(import.meta.url)("effect-baml/package.json") as { readonly version: string }

run(process.argv.slice(2), manifest.version).then(
  (code) => {
    process.exitCode = code
  },
  (error: unknown) => {
    console.error(error)
    process.exitCode = 1
  }
)
