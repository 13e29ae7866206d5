/**
 * Resumable responses served across several server instances behind a load balancer, on Effect's cluster
 * (`effect/cluster`, the Effect 4 line). A client that reconnects, or sends a stop, to another instance than the one
 * that took its request is served by that one: each generation is an entity of the cluster keyed by its id, owned by
 * the instance where its LLM request runs and keeps its messages, and the other instances reach it over the cluster's
 * runner connections. Nothing is stored in a database of its own: only the cluster's shard assignments.
 *
 * @since 0.3.0
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Sharding from "effect/cluster/Sharding"
import type { Generations } from "./BamlHttp.js"

/**
 * The generations of resumable responses across a cluster's instances, for `BamlHttp.handler(name, { resumable })`,
 * `BamlHttp.resumable` and `BamlHttp.stop` as they are. It needs the cluster's `Sharding`: every instance runs it, on
 * the same cluster (e.g. `BamlJobStore.layerPostgresCluster`, which provides it).
 *
 * A generation runs where its request arrived: its messages, and its LLM request, stay in that instance's memory. A
 * reconnect (`Last-Event-ID`) or a stop that reaches another instance is passed to it, so the grace period, the stop,
 * `204` after the end and `onEnd` (told once, on the owning instance) hold across instances; a resume from another
 * instance costs one round trip between them before its first message. When the owning instance dies, so do its
 * generations: a reader on another instance sees its response end without a `final`, and a reconnect is answered
 * `410` (a `BamlClient` then fails with `ResumeFailed`). How soon depends on the cluster's timings: a reconnect was
 * answered `410` about 10 s after a `SIGKILL` with Effect's defaults, 3 to 5 s with short ones (see the browsers guide).
 *
 * @example
 * ```ts
 * import { BamlHttp, BamlHttpCluster, BamlJobStore } from "effect-baml"
 * import { Layer } from "effect"
 * import { HttpRouter } from "effect/http"
 *
 * const Routes = Layer.mergeAll(
 *   HttpRouter.add("POST", "/api/baml/ExtractResume", BamlHttp.handler("ExtractResume", { resumable: { grace: "10 seconds" } })),
 *   HttpRouter.add("DELETE", "/api/baml/ExtractResume", BamlHttp.stop)
 * )
 * const Cluster = BamlJobStore.layerPostgresCluster({ url: "postgres://app@db:5432/app", host: "10.0.0.5", port: 34431 })
 * const Server = HttpRouter.serve(Routes).pipe(
 *   Layer.provide(BamlHttpCluster.layerGenerations),
 *   Layer.provide(Cluster)
 * )
 * ```
 * @since 0.3.0
 * @category layers
 */
export const layerGenerations: Layer.Layer<Generations, never, Sharding.Sharding> = Layer.unwrap(
  // the cluster's entity and RPC modules load with the layer, not with `effect-baml` (they cost ~150 ms to import)
  Effect.map(Effect.promise(() => import("./internal/generationsCluster.js")), (Internal) => Internal.layer)
)
