#!/usr/bin/env node
/**
 * The `effect-baml` command. See `effect-baml generate --help`.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { run } from "./generate.js"

Effect.runPromise(run(process.argv.slice(2))).then((code) => {
  process.exitCode = code
})
