#!/usr/bin/env node
/**
 * The `effect-baml` command. See `effect-baml generate --help`. It imports no Effect, so it runs in a project on
 * either Effect line.
 *
 * @since 0.1.0
 */
import { readFileSync } from "node:fs"
import { run } from "./generate.js"

// The manifest is two directories up from both src/cli/bin.ts and dist/cli/bin.js.
const manifest = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
  readonly version: string
}

run(process.argv.slice(2), manifest.version).then(
  (code) => {
    process.exitCode = code
  },
  (error: unknown) => {
    console.error(error)
    process.exitCode = 1
  }
)
