/**
 * Shutdown cancels: a server built with BamlHttp (the line's fixtures/shutdown/server.ts, in a child process) that
 * receives SIGINT or SIGTERM aborts its in-flight LLM requests, after the grace period it was given, rather than
 * letting them generate to their end. The provider runs here, so its records show what the child's requests did.
 */
import { Effect, expect, fixtureScript, layer, ScriptedProvider, nodeImports } from "#line"
import { type ChildProcess, spawn } from "node:child_process"
import { longResume, marker, scriptFor, sentAtLeast, settled } from "./fixtures.js"

interface Child {
  readonly process: ChildProcess
  readonly url: string
  readonly exited: Promise<number | null>
}

/** The server in a child process, killed when the test's scope closes if it is still running. */
const serve = (env: Readonly<Record<string, string>>) =>
  Effect.acquireRelease(
    Effect.flatMap(ScriptedProvider.ScriptedProvider, (provider) =>
      Effect.promise(() =>
        new Promise<Child>((resolve, reject) => {
          const child = spawn(process.execPath, [...nodeImports, fixtureScript("shutdown/server.ts")], {
            env: { ...process.env, ...env, SCRIPTED_BASE_URL: provider.baseUrl },
            stdio: ["ignore", "pipe", "inherit"]
          })
          const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)))
          let out = ""
          child.stdout!.on("data", (chunk: Buffer) => {
            out += chunk.toString()
            const url = /listening (\S+)/.exec(out)?.[1]
            if (url !== undefined) resolve({ process: child, url, exited })
          })
          child.once("exit", (code) => reject(new Error(`the server exited (${code}) before it listened: ${out}`)))
        })
      )
    ),
    (child) => Effect.sync(() => child.process.exitCode === null && child.process.kill("SIGKILL"))
  )

/** Starts a streamed request and reads it until the server ends it or drops it. */
const request = (child: Child, resume: string) => {
  const response = fetch(`${child.url}/ExtractResume`, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/x-ndjson" },
    body: JSON.stringify({ resume })
  }).then((r) => r.text()).catch((error: unknown) => `dropped: ${String(error)}`)
  return response
}

const TestProvider = ScriptedProvider.layer()

layer(TestProvider, { timeout: "120 seconds", excludeTestServices: true })("BamlHttp at shutdown", (it) => {
  it.effect.each(["SIGTERM", "SIGINT"] as const)("%s aborts the in-flight LLM request, and the server exits", (signal) =>
    Effect.gen(function*() {
      const child = yield* serve({})
      const mark = marker(`shutdown-${signal}`)
      yield* scriptFor(mark, ScriptedProvider.json(longResume("Ada Lovelace"), { delayMs: 10 }))
      const body = request(child, `Ada Lovelace ${mark}`)
      yield* sentAtLeast(mark, 10)
      child.process.kill(signal)
      const record = yield* settled(mark)
      expect(record.status).toBe("closed-early")
      expect(record.sent).toBeLessThan(record.planned)
      // the response was cut: partials, and no final
      const text = yield* Effect.promise(() => body)
      expect(text).toContain("\"event\":\"partial\"")
      expect(text).not.toContain("\"event\":\"final\"")
      const code = yield* Effect.promise(() => child.exited)
      expect(code).not.toBeNull()
    }).pipe(Effect.scoped), 60_000)

  const runsToItsEnd = [
    // about 1.5 s of chunks: well within the 20 s grace
    { name: "the grace period lets a generation that ends within it finish", env: { GRACE_MS: "20000" }, skills: 12 },
    {
      name: "without layerShutdown, the signal lets the generation run to its end (what layerShutdown changes)",
      env: { SHUTDOWN: "off" },
      skills: 30
    }
  ]

  it.effect.each(runsToItsEnd)("$name", ({ env, skills }) =>
    Effect.gen(function*() {
      const child = yield* serve(env)
      const mark = marker("shutdown-completes")
      yield* scriptFor(mark, ScriptedProvider.json(longResume("Ada Lovelace", skills), { delayMs: 10 }))
      const body = request(child, `Ada Lovelace ${mark}`)
      yield* sentAtLeast(mark, 5)
      child.process.kill("SIGTERM")
      const record = yield* settled(mark)
      expect(record.status).toBe("completed")
      expect(yield* Effect.promise(() => body)).toContain("\"event\":\"final\"")
    }).pipe(Effect.scoped), 60_000)
})
