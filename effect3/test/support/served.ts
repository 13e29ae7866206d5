/**
 * The HTTP tests' server and client, on the Effect 3 line: `app` served on a free port of 127.0.0.1, and an
 * `HttpClient` (fetch) whose requests go to that server under `/baml/`. The caller provides what the app needs
 * (a BamlRuntime and the scripted provider).
 */
import { FetchHttpClient, HttpClient, HttpClientRequest, type HttpApp, HttpServer } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import * as Http from "node:http"

export const servedAt = <E, R>(app: HttpApp.Default<E, R>) =>
  Layer.unwrapEffect(Effect.map(HttpServer.HttpServer, (server) => {
    const base = `http://127.0.0.1:${"port" in server.address ? server.address.port : 0}/baml/`
    return Layer.effect(
      HttpClient.HttpClient,
      Effect.map(HttpClient.HttpClient, HttpClient.mapRequest(HttpClientRequest.prependUrl(base)))
    ).pipe(Layer.provide(FetchHttpClient.layer))
  })).pipe(
    Layer.provideMerge(HttpServer.serve(app)),
    Layer.provideMerge(NodeHttpServer.layer(() => Http.createServer(), { port: 0, host: "127.0.0.1" }))
  )
