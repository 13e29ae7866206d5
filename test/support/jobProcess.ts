/**
 * Runs `jobChild.ts` (or another child script, `generationServer.ts`) in a child process and reads its events, for
 * the tests that run several processes or kill one.
 */
import { Effect } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import type { ChildOptions } from "./jobChild.js"

export type { ChildOptions }

export interface ChildEvent {
  readonly event:
    | "ready"
    | "requested"
    | "stored"
    | "finished"
    | "failed"
    | "cancelled"
    | "ended-cancelled"
    | "ended-budget"
    | "stopped"
    | "running"
    | "end"
  readonly key?: string
  /** `ended-budget`: the output tokens the job's run counted. */
  readonly outputTokens?: number
  /** `generationServer.ts`: its HTTP port (`ready`), a generation's end (`end`). */
  readonly port?: number
  readonly generation?: string
  readonly outcome?: string
  readonly messages?: number
  readonly results?: Readonly<Record<string, string>>
  readonly cause?: string
}

export interface JobProcess {
  readonly pid: number
  /** Every event so far, in order. */
  readonly events: () => ReadonlyArray<ChildEvent>
  /** Waits until the events satisfy `predicate`; fails if the process exits first. */
  readonly until: (predicate: (events: ReadonlyArray<ChildEvent>) => boolean) => Effect.Effect<ReadonlyArray<ChildEvent>>
  /** Sends one command line to the process (`cancel`, `stop`). */
  readonly send: (command: string) => Effect.Effect<void>
  /** SIGKILL, and waits for the process to be gone. */
  readonly kill: Effect.Effect<void>
  /** What the process wrote on stderr, for failure messages. */
  readonly stderr: () => string
}

/** Starts the job's child; the scope kills it if it is still running. */
export const start = (options: ChildOptions) => startScript("test/support/jobChild.ts", options)

/** Starts `script` with `options` (as JSON) as its argument; the scope kills it if it is still running. */
export const startScript = (script: string, options: unknown) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const child: ChildProcess = spawn(
        process.execPath,
        ["--import", "tsx", script, JSON.stringify(options)],
        { stdio: ["pipe", "pipe", "pipe"] }
      )
      const events: Array<ChildEvent> = []
      const listeners = new Set<() => void>()
      let exited = false
      let stderr = ""
      let buffered = ""
      const notify = () => listeners.forEach((listener) => listener())
      child.stdout!.setEncoding("utf8").on("data", (data: string) => {
        buffered += data
        const lines = buffered.split("\n")
        buffered = lines.pop()!
        for (const line of lines) {
          if (line.startsWith("{")) events.push(JSON.parse(line))
        }
        notify()
      })
      child.stderr!.setEncoding("utf8").on("data", (data: string) => {
        stderr = (stderr + data).slice(-20_000)
      })
      const gone = new Promise<void>((resolve) =>
        child.on("exit", () => {
          exited = true
          notify()
          resolve()
        })
      )
      const until = (predicate: (events: ReadonlyArray<ChildEvent>) => boolean) =>
        Effect.callback<ReadonlyArray<ChildEvent>>((resume) => {
          const check = () => {
            if (predicate(events)) resume(Effect.succeed([...events]))
            else if (exited) {
              resume(Effect.die(new Error(`job process exited early; events ${JSON.stringify(events)}\n${stderr}`)))
            } else return
            listeners.delete(check)
          }
          listeners.add(check)
          check()
          return Effect.sync(() => listeners.delete(check))
        }).pipe(
          Effect.timeoutOrElse({
            duration: "120 seconds",
            orElse: () => Effect.die(new Error(`job process: no such event in 120 s; events ${JSON.stringify(events)}\n${stderr}`))
          })
        )
      const handle: JobProcess = {
        pid: child.pid!,
        events: () => [...events],
        until,
        send: (command) => Effect.sync(() => child.stdin!.write(command + "\n")),
        kill: Effect.suspend(() => {
          if (!exited) child.kill("SIGKILL")
          return Effect.promise(() => gone)
        }),
        stderr: () => stderr
      }
      return handle
    }),
    (handle) => handle.kill
  )

/** The keys of the items whose result the process reported stored. */
export const storedKeys = (events: ReadonlyArray<ChildEvent>): ReadonlySet<string> =>
  new Set(events.filter((e) => e.event === "stored").map((e) => e.key!))

/** The keys of the items the process requested (an item requested twice there counts once). */
export const requestedKeys = (events: ReadonlyArray<ChildEvent>): ReadonlySet<string> =>
  new Set(events.filter((e) => e.event === "requested").map((e) => e.key!))
