// The engine's own log lines and effect-baml's replacement for them. No Effect here: each line's meter hands the line
// to Effect's Logger.
import * as EngineLogging from "@boundaryml/baml/logging"
import type { Usage } from "../usage/usage.js"
import type { DeclaredClients } from "./declarations.js"

/**
 * The engine prints every prompt and reply to the terminal at its default level, and a warning for each cancelled
 * call, from native code that offers no callback for its lines: they cannot go through Effect's Logger. Unless
 * `BAML_LOG` chooses a level (in the runtime's env, else in the process environment), the engine is silenced: a
 * failure reaches the caller as a typed error, a cancel is no failure at all, and effect-baml logs one line per call
 * through Effect's Logger instead (`describe`). The engine's level is one for the whole process.
 */
export const quietEngineLogs = (env: Readonly<Record<string, string | undefined>>): void => {
  if (!env.BAML_LOG && !process.env.BAML_LOG) EngineLogging.setLogLevel("off")
}

/** One call or stream's log line: what it was, how it ended, what it used. No prompt, reply or argument is in it. */
export const describe = (d: Usage): string => {
  const how = d.outcome === "failure" ? `failed with ${d.error ?? "an error"}` : d.outcome
  const input = d.reported.inputTokens ? `${d.inputTokens}` : "?"
  const tokens = `${input} in, ${d.outputTokens} out${d.reported.outputTokens ? "" : " (estimated)"}`
  const chunks = d.kind === "stream" ? `, ${d.events} chunks` : ""
  const finish = d.finishReason === undefined ? "" : `, finish reason ${d.finishReason}`
  return `Baml.${d.kind} ${d.functionName} ${how} in ${Math.round(d.durationMs)} ms: client ${d.client}, tokens ${tokens}${chunks}${finish}`
}

/** One warning per client of baml_src that reads an `env.X` the runtime's environment does not set. */
export const unsetEnvWarnings = (
  clients: DeclaredClients,
  env: Readonly<Record<string, string | undefined>>
): ReadonlyArray<string> =>
  [...clients].flatMap(([name, client]) => {
    const unset = client.env.filter((variable) => env[variable] === undefined)
    if (unset.length === 0) return []
    const variables = unset.map((variable) => `env.${variable}`).join(", ")
    return [`BAML client ${name} reads ${variables}, which ${unset.length > 1 ? "are" : "is"} not set: a call that uses ${name} will fail until ${unset.length > 1 ? "they are" : "it is"} (set ${unset.length > 1 ? "them" : "it"} in the environment or in the runtime's \`env\` option)`]
  })

/** The log line's annotations, named as the span's attributes; the fiber's own annotations are kept beside them. */
export const logAnnotations = (d: Usage): Readonly<Record<string, string>> => ({
  "baml.function": d.functionName,
  "baml.client": d.client,
  "baml.kind": d.kind,
  "baml.outcome": d.outcome,
  ...(d.error === undefined ? {} : { "baml.error": d.error }),
  ...(d.finishReason === undefined ? {} : { "gen_ai.response.finish_reasons": d.finishReason })
})
