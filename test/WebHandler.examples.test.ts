/**
 * The fetch-handler recipes of docs/browsers.md (examples/fetch/), run as their servers run them: the Next.js route
 * handler's `POST` called as Next.js calls it, the Hono app's `fetch`, and bun.ts and deno.ts under the `bun` and `deno` binaries
 * (from their npm packages), each answering a real request over the network. Every one streams a generation to its
 * end, and every one aborts the LLM request when the client leaves.
 */
import { describe, expect, it, layer } from "@effect/vitest"
import { Effect } from "effect"
import { ScriptedProvider } from "effect-baml/testing"
import { type ChildProcess, spawn } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { root } from "./readme.js"
import { longResume, marker, scriptFor, settledAll, shortResume } from "./shared/fixtures.js"

interface Message {
  readonly event: string
  readonly data: { readonly name?: string | null }
}

const body = (resume: string) => JSON.stringify({ resume })
const headers = { "content-type": "application/json", accept: "application/x-ndjson" }

/** Reads NDJSON messages until `partials` partials arrived (then leaves by `leave`), or to the end. */
const read = (response: Response, partials?: { readonly n: number; readonly leave: () => Promise<void> }) =>
  Effect.promise(async () => {
    const reader = response.body!.getReader()
    const decoder = new TextDecoder()
    let text = ""
    const messages = () => text.split("\n").slice(0, -1).map((line) => JSON.parse(line) as Message)
    for (;;) {
      if (partials !== undefined && messages().filter((m) => m.event === "partial").length >= partials.n) {
        await partials.leave()
        return messages()
      }
      const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }))
      if (done) return messages()
      text += decoder.decode(value, { stream: true })
    }
  })

/** The scripted provider's records for `mark` once all ended: each closed early, before the end of its reply. */
const expectClosedEarly = (mark: string) =>
  Effect.map(settledAll(mark), (records) => {
    expect(records.length).toBeGreaterThan(0)
    for (const record of records) {
      expect(record.status).toBe("closed-early")
      expect(record.sent).toBeLessThan(record.planned)
    }
  })

const expectCompleted = (mark: string) =>
  Effect.map(settledAll(mark), (records) => expect(records.map((r) => r.status)).toEqual(["completed"]))

/** One generation to its end and one left after two partials, through `send`. */
const endToEndAndLeft = (
  label: string,
  send: (resume: string, signal: AbortSignal) => Promise<Response>
) =>
  Effect.gen(function*() {
    const full = marker(`${label}-full`)
    yield* scriptFor(full, ScriptedProvider.json(shortResume("Grace Hopper"), { delayMs: 2 }))
    const messages = yield* read(yield* Effect.promise(() => send(`Grace Hopper ${full}`, new AbortController().signal)))
    expect(messages.at(-1)).toMatchObject({ event: "final", data: { name: "Grace Hopper" } })
    yield* expectCompleted(full)

    const left = marker(`${label}-left`)
    yield* scriptFor(left, ScriptedProvider.json(longResume("Ada Lovelace"), { delayMs: 5 }))
    const controller = new AbortController()
    const response = yield* Effect.promise(() => send(`Ada Lovelace ${left}`, controller.signal))
    yield* read(response, { n: 2, leave: async () => controller.abort() })
    yield* expectClosedEarly(left)
  })

/** A binary of a runtime: from its npm package (a devDependency), else on the PATH. */
const binary = (name: string): string | undefined => {
  const local = join(root, "node_modules", ".bin", name)
  if (existsSync(local)) return local
  return (process.env.PATH ?? "").split(":").map((dir) => join(dir, name)).find(existsSync)
}

/** Starts `command` and resolves with the address it prints (`listening on http://...`); killed with the scope. */
const serve = (command: string, args: ReadonlyArray<string>, env: Record<string, string>) =>
  Effect.acquireRelease(
    Effect.callback<{ readonly child: ChildProcess; readonly url: string }, Error>((resume) => {
      const child = spawn(command, args, { cwd: root, env: { ...process.env, ...env, PORT: "0" } })
      let output = ""
      const onData = (chunk: Buffer) => {
        output += chunk.toString()
        const url = /listening on (http:\/\/\S+?)\/?\s/.exec(output)?.[1]
        if (url !== undefined) resume(Effect.succeed({ child, url }))
      }
      child.stdout.on("data", onData)
      child.stderr.on("data", onData)
      child.on("exit", (code) => resume(Effect.fail(new Error(`${command} exited (${code}) before listening:\n${output}`))))
    }).pipe(Effect.timeout("30 seconds")),
    ({ child }) => Effect.sync(() => child.kill("SIGKILL"))
  )

const fetchOver = (url: string) => (resume: string, signal: AbortSignal) =>
  fetch(`${url}/api/baml/ExtractResume`, { method: "POST", headers, body: body(resume), signal })

/** The Effect 4 line's sources for Deno, which reads neither tsconfig paths nor `.js` imports of `.ts` files. */
const denoImportMap = (dir: string) => {
  const file = join(dir, "import-map.json")
  const src = (path: string) => join(root, "src", path)
  writeFileSync(file, JSON.stringify({
    imports: {
      "effect-baml": src("index.ts"),
      "#kit": src("kit/effect4/index.ts"),
      "#kit/http": src("kit/effect4/http.ts"),
      "#kit/client": src("kit/effect4/client.ts")
    }
  }))
  return file
}

const runtimes = [
  { name: "bun", args: () => ["examples/fetch/bun.ts"] },
  {
    name: "deno",
    args: (dir: string) => ["run", "-A", `--import-map=${denoImportMap(dir)}`, "--unstable-sloppy-imports", "examples/fetch/deno.ts"]
  }
] as const

layer(ScriptedProvider.layer(), { timeout: "90 seconds" })("the fetch-handler recipes", (it) => {
  it.effect("Next.js and Hono: a route handler's POST and a Hono app stream to the end, and abort when left", () =>
    Effect.gen(function*() {
      const provider = yield* ScriptedProvider.ScriptedProvider
      // baml.ts builds its runtime from the process environment when it loads, as a server does
      process.env.SCRIPTED_BASE_URL = provider.baseUrl
      const { web } = yield* Effect.promise(() => import("../examples/fetch/baml.js"))
      yield* Effect.addFinalizer(() => Effect.promise(() => web.dispose()))
      const route = yield* Effect.promise(() => import("../examples/fetch/next/route.js"))
      const { app } = yield* Effect.promise(() => import("../examples/fetch/hono.js"))
      expect(route.runtime).toBe("nodejs")

      const request = (resume: string, signal: AbortSignal) =>
        new Request("http://localhost/api/baml/ExtractResume", { method: "POST", headers, body: body(resume), signal })
      // Next.js calls an exported POST with the request and its route context
      const next = route.POST as (request: Request, context: { params: Promise<{ fn: string }> }) => Promise<Response>
      yield* endToEndAndLeft("next", (resume, signal) =>
        next(request(resume, signal), { params: Promise.resolve({ fn: "ExtractResume" }) }))
      yield* endToEndAndLeft("hono", async (resume, signal) => app.fetch(request(resume, signal)))
    }).pipe(Effect.scoped), 30_000)

  for (const runtime of runtimes) {
    const command = binary(runtime.name)
    if (command === undefined) {
      // in CI the runtimes are devDependencies: a missing one is a failure, not a skip
      if (process.env.CI === "true") {
        it(`${runtime.name} is installed (the ${runtime.name} npm package)`, () => {
          expect.fail(`no ${runtime.name} binary in node_modules/.bin or on the PATH`)
        })
      } else it.skip(`skipped: no ${runtime.name} binary (npm's ${runtime.name} package installs one)`, () => {})
      continue
    }
    it.effect(`${runtime.name}: the handler served over the network streams to the end, and aborts when the client leaves`, () =>
      Effect.gen(function*() {
        const provider = yield* ScriptedProvider.ScriptedProvider
        const dir = mkdtempSync(join(tmpdir(), `effect-baml-${runtime.name}-`))
        yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(dir, { recursive: true, force: true })))
        const { url } = yield* serve(command, runtime.args(dir), { SCRIPTED_BASE_URL: provider.baseUrl })
        yield* endToEndAndLeft(runtime.name, fetchOver(url))
      }).pipe(Effect.scoped), 60_000)
  }
})

/** What the browsers guide (docs/browsers.md) shows of each recipe: the file from its first import, with the imports a user's project has. */
const recipes: ReadonlyArray<readonly [string, ReadonlyArray<readonly [string, string]>]> = [
  ["baml.ts", [["\"../../baml_client/schemas.js\"", "\"@/baml_client/schemas\""]]],
  ["next/route.ts", [["\"../baml.js\"", "\"@/lib/baml\""]]],
  ["hono.ts", []],
  ["bun.ts", []],
  ["deno.ts", []]
]

describe("the recipes' files", () => {
  it.each(recipes)("the browsers guide shows examples/fetch/%s as it is", (file, imports) => {
    const readme = readFileSync(join(root, "docs", "browsers.md"), "utf8")
    const source = readFileSync(join(root, "examples", "fetch", file), "utf8")
    const code = imports.reduce((code, [from, to]) => code.replaceAll(from, to), source.slice(source.indexOf("import ")))
    expect(readme).toContain(code.trim())
  })
})
