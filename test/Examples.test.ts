// The examples run as a user runs them: the demo and the observability example on the scripted provider (even with an
// API key in the environment), and examples/basic's check for a library that is not built. The web example is run by
// test/BamlHttp.browser.test.ts; examples/basic's program, on the packed package, by test/Package.test.ts.
import { describe, expect, it } from "@effect/vitest"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import { Effect } from "effect"
import { root, runNode, snippets } from "./readme.js"

const run = (args: ReadonlyArray<string>, env: Record<string, string | undefined>, cwd = process.cwd()) =>
  Effect.map(
    Effect.promise(() => runNode(args, env, cwd)),
    ({ code, stderr, stdout }) => ({ code, output: stdout + stderr })
  )

describe("examples", () => {
  it.live("the demo runs on the scripted provider even with OPENAI_API_KEY set, and says so and what it saved", () =>
    Effect.gen(function*() {
      const { code, output } = yield* run(["--import", "tsx", "examples/demo.ts"], {
        OPENAI_API_KEY: "sk-not-a-real-key",
        EFFECT_BAML_REAL_PROVIDER: undefined
      })
      expect(output, output).toContain("Provider: the scripted provider")
      expect(code).toBe(0)
      expect(output).toMatch(/provider: completed, generated all \d+ chunks/)
      expect(output).toMatch(/provider: closed-early, generated \d+ of \d+ chunks: \d+ tokens \(\d+%\) were never generated/)
      expect(output).toMatch(/at \$10 per million output tokens, that is \$\d+\.\d{4} not spent on this call/)
      // no latency claims from the engine's partial cadence, and no engine log lines
      expect(output).not.toMatch(/first partial|\[BAML/)
    }), 60_000)

  it.live("asking for a provider the examples do not know fails at once, naming the variable", () =>
    Effect.gen(function*() {
      const { code, output } = yield* run(["--import", "tsx", "examples/demo.ts"], { EFFECT_BAML_REAL_PROVIDER: "anthropic" })
      expect(code).not.toBe(0)
      expect(output).toContain("EFFECT_BAML_REAL_PROVIDER=anthropic")
    }), 60_000)

  it.live("the observability example prints its spans and metrics, offline", () =>
    Effect.gen(function*() {
      const { code, output } = yield* run(["--import", "tsx", "examples/observability.ts"], { OPENAI_API_KEY: "sk-x" })
      expect(output, output).toContain("budget: BudgetExceeded")
      expect(code).toBe(0)
      expect(output).toMatch(/Baml\.stream ExtractResume\s+interrupted/)
      expect(output).toContain("baml.calls.cancelled")
    }), 60_000)

  it.live("the job example runs 200 items on the embedded engine, retries the 500s, and reads a result by key", () =>
    Effect.gen(function*() {
      const { code, output } = yield* run(["--import", "tsx", "examples/job.ts"], {})
      expect(code, output).toBe(0)
      expect(output).toContain("200/200 done | 0 in flight")
      expect(output).toMatch(/200 succeeded, 0 failed, [1-9]\d* retried/)
      expect(output).toContain(`r7: {"_tag":"Succeeded","key":"r7","index":7,"value":{"name":"Candidate`)
    }), 60_000)

  /** Runs the README's block that contains `marker` with tsx, in the root, where its tsconfig maps effect-baml. */
  const runReadmeBlock = (marker: string) =>
    Effect.gen(function*() {
      const block = snippets().find(({ code }) => code.includes(marker))
      expect(block, marker).toBeDefined()
      const file = Path.join(root, `.readme-run-${process.pid}.ts`)
      yield* Effect.promise(() => Fs.writeFile(file, block!.code))
      return yield* run(["--import", "tsx", file], { OPENAI_API_KEY: undefined }, root).pipe(
        Effect.ensuring(Effect.promise(() => Fs.rm(file, { force: true })))
      )
    })

  it.live("the README's batch job runs as written, offline: every item succeeds, and the summary says so", () =>
    Effect.gen(function*() {
      const { code, output } = yield* runReadmeBlock("BamlJob.describeSummary(summary)")
      expect(code, output).toBe(0)
      expect(output).toContain("50 succeeded, 0 failed")
    }), 60_000)

  // the README's Example itself runs on both lines: test/shared/Readme.example.test.ts
  it.live("the README's typed client runs as written, offline: the scripted reply, typed and parsed", () =>
    Effect.gen(function*() {
      const { code, output } = yield* runReadmeBlock("Client.ExtractResume(text)")
      expect(code, output).toBe(0)
      expect(output).toContain("name: 'Ada Lovelace'")
      expect(output).toContain("experience: []")
    }), 60_000)

  it.live("examples/basic says what to run when effect-baml is not installed or not built", () =>
    Effect.gen(function*() {
      const dir = yield* Effect.promise(() => Fs.mkdtemp(Path.join(Os.tmpdir(), "effect-baml-basic-")))
      yield* Effect.promise(() => Fs.copyFile("examples/basic/check-library.mjs", Path.join(dir, "check-library.mjs")))
      const missing = yield* run(["check-library.mjs"], {}, dir)
      expect(missing.code).toBe(1)
      expect(missing.output).toContain("run `npm install` in examples/basic")
      // installed from the repository (a symlink to it), but never built
      const library = Path.join(dir, "node_modules", "effect-baml")
      yield* Effect.promise(() => Fs.mkdir(library, { recursive: true }))
      yield* Effect.promise(() =>
        Fs.writeFile(Path.join(library, "package.json"), JSON.stringify({ name: "effect-baml", version: "0.0.0" }))
      )
      const unbuilt = yield* run(["check-library.mjs"], {}, dir)
      expect(unbuilt.code).toBe(1)
      expect(unbuilt.output).toContain("not built: run `npm run build` in the repository's root")
      yield* Effect.promise(() => Fs.mkdir(Path.join(library, "dist", "effect4", "cli"), { recursive: true }))
      yield* Effect.promise(() => Fs.writeFile(Path.join(library, "dist", "effect4", "cli", "bin.js"), ""))
      expect(yield* run(["check-library.mjs"], {}, dir)).toEqual({ code: 0, output: "" })
      yield* Effect.promise(() => Fs.rm(dir, { recursive: true, force: true }))
    }), 30_000)
})
