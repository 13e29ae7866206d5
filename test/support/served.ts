/**
 * The HTTP tests' server and client, on the Effect 4 line: `routes` served on a free port of 127.0.0.1, and an
 * `HttpClient` (fetch) whose requests go to that server under `/baml`. The caller provides what the routes need
 * (a BamlRuntime and the scripted provider).
 */
import { NodeHttpServer } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import { FetchHttpClient, HttpClient, HttpClientRequest, HttpRouter, HttpServer } from "effect/http"
import * as Http from "node:http"

export const servedAt = <E, R>(routes: Layer.Layer<never, E, R>) =>
  Layer.unwrap(Effect.map(HttpServer.HttpServer, (server) => {
    const base = `http://127.0.0.1:${"port" in server.address ? server.address.port : 0}/baml`
    return Layer.effect(
      HttpClient.HttpClient,
      Effect.map(HttpClient.HttpClient, HttpClient.mapRequest(HttpClientRequest.prependUrl(base)))
    ).pipe(Layer.provide(FetchHttpClient.layer))
  })).pipe(
    Layer.provideMerge(HttpRouter.serve(routes, { disableListenLog: true, disableLogger: true })),
    Layer.provideMerge(NodeHttpServer.layer(() => Http.createServer(), { port: 0, host: "127.0.0.1" }))
  )
