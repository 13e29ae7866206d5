/**
 * The parent's side of `provider-process.ts`: starts the provider in a child process for the length of a scope, and
 * reads its records back with their times on this process's `performance.now()` clock.
 */
import { fork } from "node:child_process"
import { fileURLToPath } from "node:url"
import { Effect } from "effect"
import type { ScriptedProvider } from "../src/testing/index.js"
import type { Answer, Query, Route } from "./provider-process.js"

export interface RemoteProvider {
  readonly baseUrl: string
  /** The record of the request whose prompt contains `contains`, once its connection has closed. */
  readonly settled: (contains: string) => Effect.Effect<ScriptedProvider.RequestRecord, Error>
}

type QueryBody = Query extends infer Q ? Q extends Query ? Omit<Q, "id"> : never : never

/**
 * The child's clock minus this one's: of several round trips, the one that took least time, whose midpoint is the
 * best guess of when the child read its clock. Both clocks count from their own process's start.
 */
const clockOffset = (ask: (query: QueryBody) => Promise<Answer>) =>
  Effect.promise(async () => {
    let best = { roundTrip: Infinity, offset: 0 }
    for (let i = 0; i < 20; i++) {
      const sentAt = performance.now()
      const { now } = await ask({ op: "now" })
      const receivedAt = performance.now()
      const roundTrip = receivedAt - sentAt
      if (roundTrip < best.roundTrip) best = { roundTrip, offset: now! - (sentAt + receivedAt) / 2 }
    }
    return best.offset
  })

/** Moves a child's record onto this process's clock. */
const shifted = (record: ScriptedProvider.RequestRecord, offset: number): ScriptedProvider.RequestRecord => ({
  ...record,
  startedAt: record.startedAt - offset,
  chunkTimes: record.chunkTimes.map((at) => at - offset),
  ...(record.closedAt === undefined ? {} : { closedAt: record.closedAt - offset })
})

/** The provider in a child process, playing `routes`, stopped when the scope closes. */
export const remoteProvider = (routes: ReadonlyArray<Route>) =>
  Effect.gen(function*() {
    const { baseUrl, child } = yield* Effect.acquireRelease(
      Effect.callback<{ readonly baseUrl: string; readonly child: ReturnType<typeof fork> }, Error>((resume) => {
        const child = fork(fileURLToPath(new URL("provider-process.ts", import.meta.url)), [JSON.stringify(routes)], {
          execArgv: ["--import", "tsx"],
          stdio: ["ignore", "inherit", "inherit", "ipc"]
        })
        child.once("message", (message) => {
          resume(Effect.succeed({ baseUrl: (message as { readonly baseUrl: string }).baseUrl, child }))
        })
        child.once("exit", (code) => resume(Effect.fail(new Error(`provider process exited with ${code}`))))
      }),
      ({ child }) => Effect.sync(() => child.disconnect())
    )
    const pending = new Map<number, (answer: Answer) => void>()
    let ids = 0
    child.on("message", (message: Answer | { readonly baseUrl: string }) => {
      if ("id" in message) pending.get(message.id)?.(message)
    })
    const ask = (query: QueryBody) =>
      new Promise<Answer>((resolve) => {
        const id = ++ids
        pending.set(id, (answer) => {
          pending.delete(id)
          resolve(answer)
        })
        child.send({ ...query, id })
      })
    const offset = yield* clockOffset(ask)
    const provider: RemoteProvider = {
      baseUrl,
      settled: (contains) =>
        Effect.promise(() => ask({ op: "settled", contains })).pipe(
          Effect.map((answer) => shifted(answer.record!, offset)),
          Effect.timeoutOrElse({
            duration: "30 seconds",
            orElse: () => Effect.fail(new Error(`request ${contains} never settled`))
          })
        )
    }
    return provider
  })
