import {
  Baml,
  BamlRuntime,
  callback,
  captureLogs,
  describe,
  Effect,
  expect,
  fixtureScript,
  it,
  nodeImports,
  Layer,
  ScriptedProvider,
  Stream,
  unwrapLayer,
  withMinimumLogLevel
} from "#line"
import { execFile } from "node:child_process"

/** Runs this line's fixtures/quiet.ts (a wrong argument, a cancelled stream, a completed call); what it printed. */
const printed = (baml_log: string | undefined) =>
  callback<string>((resume) => {
    const env = { ...process.env }
    delete env.BAML_LOG
    if (baml_log !== undefined) env.BAML_LOG = baml_log
    execFile(process.execPath, [...nodeImports, fixtureScript("quiet.ts")], { env }, (error, stdout, stderr) => {
      resume(error ? Effect.die(error) : Effect.succeed(stdout + stderr))
    })
  })

const Live = unwrapLayer(Effect.map(ScriptedProvider.ScriptedProvider, (provider) =>
  BamlRuntime.layerFromDirectory("baml_src", { env: { ...process.env, SCRIPTED_BASE_URL: provider.baseUrl } }))).pipe(
    Layer.provideMerge(ScriptedProvider.layer({ rules: [{ script: { reply: "Fine." } }] }))
  )

describe("engine logs", () => {
  it.live("without BAML_LOG the engine prints nothing: not a failed call, not a cancel, not a prompt", () =>
    Effect.gen(function*() {
      expect(yield* printed(undefined)).toBe("")
      // and BAML_LOG still chooses the engine's level: at info it prints the failure, the cancel and the prompt
      const loud = yield* printed("info")
      expect(loud).toContain("[BAML ERROR]")
      expect(loud).toContain("[BAML WARN]")
      expect(loud).toContain("---PROMPT---")
    }), 60_000)

  it.live("each call and stream logs one line through Effect's Logger, at Debug, with the fiber's annotations", () =>
    Effect.gen(function*() {
      const lines: Array<{ level: string; message: unknown; annotations: Readonly<Record<string, unknown>> }> = []
      const logs = captureLogs(({ annotations, level, message }) => lines.push({ level, message, annotations }))
      // a message logged as several values comes as their array
      const text = (message: unknown) => String(Array.isArray(message) ? message[0] : message)
      const run = Effect.gen(function*() {
        yield* Baml.call("Summarize", { text: "one" })
        yield* Stream.runDrain(Baml.stream("Summarize", { text: "two" }).pipe(Stream.take(1)))
      }).pipe(Effect.annotateLogs("request", "r-42"), Effect.provide(Live), Effect.provide(logs))
      yield* run.pipe(withMinimumLogLevel("Debug"))
      const ours = lines.filter((line) => text(line.message).startsWith("Baml."))
      expect(ours.map((line) => [line.level, line.annotations["baml.function"], line.annotations["request"]])).toEqual([
        ["Debug", "Summarize", "r-42"],
        ["Debug", "Summarize", "r-42"]
      ])
      expect(text(ours[0]!.message)).toMatch(/^Baml\.call Summarize success in \d+ ms: client Scripted, tokens/)
      expect(text(ours[1]!.message)).toMatch(/^Baml\.stream Summarize (success|interrupted) in \d+ ms/)
      // at the default level (Info) they are not written
      lines.length = 0
      yield* run
      expect(lines.filter((line) => text(line.message).startsWith("Baml."))).toEqual([])
    }), 30_000)
})
