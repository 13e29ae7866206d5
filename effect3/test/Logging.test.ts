import { describe, expect, it } from "@effect/vitest"
import { execFile } from "node:child_process"
import { Effect, HashMap, Layer, Logger, LogLevel, Stream } from "effect"
import { Baml, BamlRuntime } from "effect-baml/effect3"
import { ScriptedProvider } from "effect-baml/effect3/testing"

/** Runs effect3/test/fixtures/quiet.ts (a wrong argument, a cancelled stream, a completed call); what it printed. */
const printed = (baml_log: string | undefined) =>
  Effect.async<string>((resume) => {
    const env = { ...process.env }
    delete env.BAML_LOG
    if (baml_log !== undefined) env.BAML_LOG = baml_log
    execFile(process.execPath, ["--import", "tsx", "--import", "./effect3/register.mjs", "effect3/test/fixtures/quiet.ts"], { env }, (error, stdout, stderr) => {
      resume(error ? Effect.die(error) : Effect.succeed(stdout + stderr))
    })
  })

const Live = Layer.unwrapEffect(Effect.map(ScriptedProvider.ScriptedProvider, (provider) =>
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
      const lines: Array<{ level: string; message: unknown; annotations: Record<string, unknown> }> = []
      const logger = Logger.make(({ annotations, logLevel, message }) => {
        lines.push({ level: logLevel.label, message, annotations: Object.fromEntries(HashMap.toEntries(annotations)) })
      })
      const text = (message: unknown) => String(Array.isArray(message) ? message[0] : message)
      const run = Effect.gen(function*() {
        yield* Baml.call("Summarize", { text: "one" })
        yield* Stream.runDrain(Baml.stream("Summarize", { text: "two" }).pipe(Stream.take(1)))
      }).pipe(
        Effect.annotateLogs("request", "r-42"),
        Effect.provide(Live),
        Effect.provide(Logger.replace(Logger.defaultLogger, logger))
      )
      yield* run.pipe(Logger.withMinimumLogLevel(LogLevel.Debug))
      const ours = lines.filter((line) => text(line.message).startsWith("Baml."))
      expect(ours.map((line) => [line.level, line.annotations["baml.function"], line.annotations["request"]])).toEqual([
        ["DEBUG", "Summarize", "r-42"],
        ["DEBUG", "Summarize", "r-42"]
      ])
      expect(text(ours[0]!.message)).toMatch(/^Baml\.call Summarize success in \d+ ms: client Scripted, tokens/)
      expect(text(ours[1]!.message)).toMatch(/^Baml\.stream Summarize (success|interrupted) in \d+ ms/)
      // at the default level (Info) they are not written
      lines.length = 0
      yield* run
      expect(lines.filter((line) => text(line.message).startsWith("Baml."))).toEqual([])
    }), 30_000)
})
