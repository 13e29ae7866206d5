/**
 * The scripted provider in a child process. Its sockets, buffers and records stay out of the heap and CPU time being
 * measured, and it notices a closed connection as a remote provider does: without waiting for the client's JS to
 * yield. Plays the routes given as JSON in argv[2] (a script for the prompts that contain a string, the last one for
 * all others), sends its base URL to the parent, answers the parent's queries (`Query`), and stops when the parent
 * disconnects.
 */
import { Effect } from "effect"
import { ScriptedProvider } from "../src/testing/index.js"

export interface Route {
  readonly contains?: string
  readonly script: ScriptedProvider.Script
}

/** What the parent asks: this process's `performance.now()`, or the record of a request once it has settled. */
export type Query =
  | { readonly id: number; readonly op: "now" }
  | { readonly id: number; readonly op: "settled"; readonly contains: string }

export interface Answer {
  readonly id: number
  readonly now?: number
  readonly record?: ScriptedProvider.RequestRecord
}

const routes = JSON.parse(process.argv[2] ?? "[]") as ReadonlyArray<Route>
const rules = routes.map(({ contains, script }): ScriptedProvider.Rule =>
  contains === undefined ? { script } : { match: (prompt) => prompt.includes(contains), script }
)

const answer = (provider: ScriptedProvider.Service, query: Query): Effect.Effect<Answer> => {
  switch (query.op) {
    case "now":
      return Effect.sync(() => ({ id: query.id, now: performance.now() }))
    case "settled":
      return provider.awaitRequests((records) =>
        records.some((r) => r.prompt.includes(query.contains) && r.status !== "open")
      ).pipe(
        Effect.map((records) => ({ id: query.id, record: records.find((r) => r.prompt.includes(query.contains))! }))
      )
  }
}

Effect.runFork(
  Effect.scoped(
    Effect.gen(function*() {
      const provider = yield* ScriptedProvider.make({ rules })
      process.on("message", (query: Query) => {
        Effect.runFork(Effect.flatMap(answer(provider, query), (reply) => Effect.sync(() => process.send?.(reply))))
      })
      process.send?.({ baseUrl: provider.baseUrl })
      yield* Effect.callback<void>((resume) => {
        process.once("disconnect", () => resume(Effect.void))
      })
    })
  )
)
