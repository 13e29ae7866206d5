/**
 * The web example's browser code (Effect 3): ExtractResume streamed from the server with the generated client's
 * `http.ts`, typed partials and a typed final result. Stop interrupts the generation's fiber, as does unmounting its
 * view; either aborts the request, and the server aborts the LLM request. Bundled for the browser by server.ts.
 */
import { Effect, Fiber, Layer, Stream } from "effect"
import { FetchHttpClient, HttpClient, HttpClientRequest } from "@effect/platform"
import { BamlError } from "effect-baml/effect3/client"
import * as Http from "../../test/fixtures/baml_client/http.js"
import * as View from "../../../examples/web/view.js"

// Every BAML function is served under /api/baml (server.ts).
const ClientLive = Layer.effect(
  HttpClient.HttpClient,
  Effect.map(HttpClient.HttpClient, HttpClient.mapRequest(HttpClientRequest.prependUrl("/api/baml/")))
).pipe(Layer.provide(FetchHttpClient.layer))

const errorClass = (error: unknown) =>
  Object.entries(BamlError).find(([, C]) => typeof C === "function" && error instanceof C)?.[0]

const generation = (resume: string, format: "sse" | "ndjson") =>
  Http.ExtractResume(resume, { format }).pipe(
    Stream.runForEach((message) => Effect.sync(() => View.render(message.data, message.event === "final"))),
    Effect.matchEffect({
      onSuccess: () => Effect.sync(() => View.setState("done")),
      onFailure: (error) =>
        Effect.sync(() => {
          View.showError(error._tag, error.message, errorClass(error))
          View.setState("error", `Failed with ${error._tag}.`)
        })
    }),
    Effect.provide(ClientLive)
  )

let running: Fiber.RuntimeFiber<void> | undefined

const interrupt = (state: "stopped" | "unmounted") => {
  const fiber = running
  running = undefined
  if (fiber === undefined) return
  if (state === "unmounted") View.unmount()
  Effect.runFork(Fiber.interrupt(fiber))
  View.setState(state)
}

View.controls.start().addEventListener("click", () => {
  View.mount()
  View.setState("streaming")
  const fiber = Effect.runFork(generation(View.controls.resume(), View.controls.format()))
  running = fiber
  fiber.addObserver(() => {
    if (running === fiber) running = undefined
  })
})
View.controls.stop().addEventListener("click", () => interrupt("stopped"))
View.controls.unmount().addEventListener("click", () => interrupt("unmounted"))
