/**
 * A server instance of a cluster, run in a child process by the tests of resumable responses across instances
 * (test/BamlHttpCluster.test.ts): a resumable `BamlHttp.handler` on `BamlHttpCluster.layerGenerations`, on a
 * PostgreSQL cluster, its BAML client pointed at the scripted provider of the test's process.
 *
 * argv: JSON of `GenerationServerOptions`. Prints one JSON line per event on stdout: `{"event":"ready","port":…}` once
 * the HTTP server listens, `{"event":"end",…}` with each generation's end as `onEnd` is told it. `GET /shards` answers
 * how many shards of the cluster this instance owns. Generations are bound to their owner, the `x-user` header.
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as Sharding from "effect/cluster/Sharding"
import * as ShardId from "effect/cluster/ShardId"
import { Effect, Layer } from "effect"
import { HttpRouter, HttpServer, type HttpServerRequest, HttpServerResponse } from "effect/http"
import * as Http from "node:http"
import * as BamlHttp from "../../src/BamlHttp.js"
import * as BamlHttpCluster from "../../src/BamlHttpCluster.js"
import * as BamlJobStore from "../../src/BamlJobStore.js"
import * as BamlRuntime from "../../src/BamlRuntime.js"

export interface GenerationServerOptions {
  readonly url: string
  readonly clusterPort: number
  readonly baseUrl: string
  readonly grace: number
  readonly tuning: BamlJobStore.Tuning & { readonly shardsPerGroup: number }
}

const options: GenerationServerOptions = JSON.parse(process.argv[2]!)
const say = (event: Record<string, unknown>) => Effect.sync(() => process.stdout.write(JSON.stringify(event) + "\n"))

/** Generations bound to their owner: the `x-user` header (none: the owner "", whom every test request is). */
const owner = (request: HttpServerRequest.HttpServerRequest) => Effect.succeed(request.headers["x-user"] ?? "")

const Routes = Layer.mergeAll(
  HttpRouter.add("POST", "/baml/ExtractResume", BamlHttp.handler("ExtractResume", {
    resumable: {
      grace: options.grace,
      owner,
      onEnd: (end) =>
        say({ event: "end", generation: end.generation, outcome: end.outcome, messages: end.messages })
    }
  })),
  HttpRouter.add("DELETE", "/baml/ExtractResume", BamlHttp.stopWith({ owner })),
  HttpRouter.add(
    "GET",
    "/shards",
    Effect.map(Effect.service(Sharding.Sharding), (sharding) => {
      let owned = 0
      for (let i = 1; i <= options.tuning.shardsPerGroup; i++) {
        if (sharding.hasShardId(ShardId.make("default", i))) owned++
      }
      return HttpServerResponse.text(String(owned))
    })
  )
)

const Cluster = BamlJobStore.layerPostgresCluster({
  url: options.url,
  host: "127.0.0.1",
  port: options.clusterPort,
  tuning: options.tuning
})

const Server = HttpRouter.serve(Routes, { disableListenLog: true, disableLogger: true }).pipe(
  Layer.provide(BamlHttpCluster.layerGenerations),
  Layer.provideMerge(NodeHttpServer.layer(() => Http.createServer(), { port: 0, host: "127.0.0.1" })),
  Layer.provideMerge(Cluster),
  Layer.provide(BamlRuntime.layerFromDirectory("baml_src", { env: { SCRIPTED_BASE_URL: options.baseUrl } }))
)

Effect.runFork(
  Effect.gen(function*() {
    const server = yield* HttpServer.HttpServer
    yield* say({ event: "ready", port: "port" in server.address ? server.address.port : 0 })
    return yield* Effect.never
  }).pipe(
    Effect.provide(Server),
    Effect.tapCause((cause) => say({ event: "failed", cause: String(cause) })),
    Effect.ensuring(Effect.sync(() => process.exit(0)))
  )
)
