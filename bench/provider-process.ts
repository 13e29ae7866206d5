/**
 * The scripted provider in a child process, for the concurrency measures: its sockets, buffers and records then
 * stay out of the heap and CPU time being measured. Plays the routes given as JSON in argv[2] (a script for the
 * prompts that contain a string, the last one for all others), sends its base URL to the parent, and stops when the
 * parent disconnects.
 */
import { Effect } from "effect"
import { ScriptedProvider } from "../src/testing/index.js"

export interface Route {
  readonly contains?: string
  readonly script: ScriptedProvider.Script
}

const routes = JSON.parse(process.argv[2] ?? "[]") as ReadonlyArray<Route>
const rules = routes.map(({ contains, script }): ScriptedProvider.Rule =>
  contains === undefined ? { script } : { match: (prompt) => prompt.includes(contains), script }
)

Effect.runFork(
  Effect.scoped(
    Effect.gen(function*() {
      const provider = yield* ScriptedProvider.make({ rules })
      process.send?.({ baseUrl: provider.baseUrl })
      yield* Effect.async<void>((resume) => {
        process.once("disconnect", () => resume(Effect.void))
      })
    })
  )
)
