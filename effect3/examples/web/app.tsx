/**
 * The web example's browser code (Effect 3): ExtractResume streamed from the server with `useBamlStream` over the
 * generated client's `http.ts`, typed partials and a typed final result. The `<Generation>` component (view.tsx) runs
 * it on mount; Stop, unmounting it, and StrictMode's development unmount each abort the request, and the server aborts
 * the LLM request. Bundled for the browser by server.ts.
 */
import { FetchHttpClient, HttpClient, HttpClientRequest } from "@effect/platform"
import { BamlError } from "effect-baml/effect3/client"
import { useBamlStream } from "effect-baml/effect3/react"
import { Effect, Layer } from "effect"
import * as Http from "../../test/fixtures/baml_client/http.js"
import * as View from "../../../examples/web/view.js"

// Every BAML function is served under /api/baml (server.ts).
const Api = Layer.effect(
  HttpClient.HttpClient,
  Effect.map(HttpClient.HttpClient, HttpClient.mapRequest(HttpClientRequest.prependUrl("/api/baml/")))
).pipe(Layer.provide(FetchHttpClient.layer))

const errorClass = (error: unknown) =>
  Object.entries(BamlError).find(([, C]) => typeof C === "function" && error instanceof C)?.[0]

const useExtraction: View.UseExtraction = (resume, format) => {
  const extraction = useBamlStream(Http.ExtractResume, { args: [resume, View.requestOptions(format)], layer: Api })
  return {
    ...extraction,
    errorClass: errorClass(extraction.error),
    start: (resume, format) => extraction.start(resume, View.requestOptions(format))
  }
}

View.mount(useExtraction)
