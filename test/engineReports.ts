/**
 * An engine that reports more through a stream's callback than the scripted provider can make it report: the stream
 * bridge's handling of each kind of callback event is tested on it, on both lines. No Effect here.
 *
 * The engine calls a stream's `onEvent` callback with an error, or with a result that is not ok (an attempt that
 * failed, before a retry or a fallback), or with one whose value cannot be read. For a stream whose `resume` argument
 * names one of these, this proxy hands the library's callback such an event beside each real one.
 */
import type * as Engine from "@boundaryml/baml"

/** What to report beside each real event, by the word the `resume` argument contains. */
export const reports = {
  /** Before the first real event: an error. */
  error: "report-error",
  /** After each real event: a result that is not ok, whose value would read as `notOkValue`. */
  notOk: "report-not-ok",
  /** After each real event: a result that is ok but whose value cannot be read. */
  unreadable: "report-unreadable",
  /** Once the engine has settled the stream: a failure instead of its result. */
  rejected: "report-rejected"
} as const

export const callbackErrorMessage = "an error the engine reported through the stream's callback"
export const notOkValue = { name: "a partial of a failed attempt" }
export const rejectedMessage = "a stream the engine settled with a failure"

/** The abort signal each stream was handed, by its `resume` argument. */
export const signals = new Map<string, AbortSignal>()

type Callback = Parameters<ReturnType<Engine.BamlRuntime["streamFunction"]>["onEvent"]>[0]
type Result = Parameters<NonNullable<Callback>>[1]

const result = (isOk: boolean, parsed: () => unknown): Result => ({ isOk: () => isOk, parsed }) as unknown as Result

// The library's callback must not throw; if it does (as a broken bridge would), the engine must not see it here.
const quietly = (f: () => void) => {
  try {
    f()
  } catch {
    // the test sees what the stream delivered instead
  }
}

/** `engine`, with the callbacks of the streams whose `resume` names a report wrapped to deliver it. */
export const reporting = (engine: Engine.BamlRuntime): Engine.BamlRuntime =>
  new Proxy(engine, {
    get(target, key) {
      const value = Reflect.get(target, key, target)
      if (key !== "streamFunction") return typeof value === "function" ? value.bind(target) : value
      return (...args: Parameters<Engine.BamlRuntime["streamFunction"]>) => {
        const handle = target.streamFunction(...args)
        const resume = String((args[1] as Record<string, unknown>).resume ?? "")
        signals.set(resume, args[9] as AbortSignal)
        if (resume.includes(reports.rejected)) {
          const done = handle.done.bind(handle)
          handle.done = (ctx) =>
            done(ctx).then(() => {
              throw new Error(rejectedMessage)
            })
        }
        const onEvent = handle.onEvent.bind(handle)
        handle.onEvent = (callback) => {
          if (callback === undefined) return onEvent(callback)
          let first = true
          onEvent((error, event) => {
            if (resume.includes(reports.error) && first) quietly(() => callback(new Error(callbackErrorMessage), event))
            first = false
            callback(error, event)
            // after the real event, so that a bridge that took it would hand it over in place of the real one
            if (resume.includes(reports.notOk)) quietly(() => callback(null, result(false, () => notOkValue)))
            if (resume.includes(reports.unreadable)) {
              quietly(() =>
                callback(null, result(true, () => {
                  throw new Error("unreadable")
                }))
              )
            }
          })
        }
        return handle
      }
    }
  })
