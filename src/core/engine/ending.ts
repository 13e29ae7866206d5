// How a call or stream ended, as the metrics and spans report it. No Effect here: the meter hands over how the
// engine settled and how the consumer's effect exited, as plain data.
import { isRecord } from "../isRecord.js"

/** How the engine settled a stream: with the final value, or with an error. */
export type Settled = { readonly _tag: "Success" } | { readonly _tag: "Failure"; readonly error: unknown }

/** How the effect of a call, or the consumer of a stream, exited. */
export type Exited =
  | { readonly _tag: "Success" }
  | { readonly _tag: "Failure"; readonly error: unknown }
  | { readonly _tag: "Interrupted" }
  | { readonly _tag: "Defect" }

/** The outcome reported, with the failure's tag (`Defect` when it has none). */
export interface Ending {
  readonly outcome: "success" | "failure" | "interrupted"
  readonly error: string | undefined
}

const failed = (error: unknown): Ending => ({
  outcome: "failure",
  error: isRecord(error) && typeof error._tag === "string" ? error._tag : "Defect"
})

/**
 * A stream ends with its consumer's exit, which is a success after `Stream.take` and the consumer's own error after a
 * failing downstream stage: once the native stream has started, how the engine settled says more (and a stream the
 * engine never settled was left by its consumer). A call, and a stream that never started, end as their effect does.
 */
export const endingOf = (
  kind: "call" | "stream",
  started: boolean,
  settled: Settled | undefined,
  exited: Exited
): Ending => {
  if (kind === "stream" && started) {
    if (settled === undefined) return { outcome: "interrupted", error: undefined }
    return settled._tag === "Success" ? { outcome: "success", error: undefined } : failed(settled.error)
  }
  switch (exited._tag) {
    case "Success":
      return { outcome: "success", error: undefined }
    case "Failure":
      return failed(exited.error)
    case "Interrupted":
      return { outcome: "interrupted", error: undefined }
    case "Defect":
      return failed(undefined)
  }
}
