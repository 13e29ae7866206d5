/**
 * Durable storage for jobs: Effect's workflow engine (`effect/workflow`) run by its cluster
 * (`effect/cluster`) with SQL storage, so that a job whose process dies resumes where it stopped.
 *
 * Each layer provides a `WorkflowEngine`; a job needs nothing else. Without one of these layers a job
 * runs on `WorkflowEngine.layerMemory` (no durability). The SQL drivers are optional peer dependencies,
 * loaded only when a layer here is built:
 *
 * - `layerEmbedded`: one machine, no server; PGlite (PostgreSQL in WASM) keeps the store in a directory.
 *   Needs `@electric-sql/pglite` and `@effect/sql-pg`.
 * - `layerPostgres`: one runner process on a PostgreSQL server. Needs `@effect/sql-pg`.
 * - `layerPostgresCluster`: one of many runner processes sharing a PostgreSQL; the runners talk over
 *   TCP, a job's items spread over them, and a killed runner's work moves to the others. Needs `@effect/sql-pg`
 *   and `@effect/platform-node`.
 * - `layerPostgresClient`: a process of that cluster that runs no job (it starts, cancels or watches them).
 *
 * Every job's workflows run in one shard group, `shardGroup`: a cluster runner made by `layerPostgresCluster` is
 * assigned its shards (unless `hostsJobs: false`), a client never is.
 *
 * @since 0.2.0
 */
import * as ClusterWorkflowEngine from "effect/cluster/ClusterWorkflowEngine"
import * as RunnerAddress from "effect/cluster/RunnerAddress"
import type * as Sharding from "effect/cluster/Sharding"
import type * as ShardingConfig from "effect/cluster/ShardingConfig"
import * as SingleRunner from "effect/cluster/SingleRunner"
import type { ConfigError } from "effect/Config"
import * as Digest from "effect/crypto/Digest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type { SocketServerError } from "effect/socket/SocketServer"
import * as Schema from "effect/Schema"
import * as SqlClient from "effect/sql/SqlClient"
import type { SqlError } from "effect/sql/SqlError"
import type * as WorkflowEngine from "effect/workflow/WorkflowEngine"
import { shardGroup as jobsShardGroup } from "./internal/job/stored.js"

/**
 * The shard group every job's workflows run in on a cluster (`ClusterSchema.ShardGroup`): only the runners assigned
 * it run jobs. The layers here configure it; a cluster of your own lists it in `availableShardGroups` on every process,
 * and in `assignedShardGroups` on the runners that host jobs (with `BamlJob.layer`).
 *
 * @since 0.3.0
 * @category constants
 * @example
 * ```ts
 * import { BamlJobStore } from "effect-baml"
 *
 * const shardingConfig = {
 *   availableShardGroups: ["default", BamlJobStore.shardGroup],
 *   assignedShardGroups: ["default", BamlJobStore.shardGroup]
 * }
 * ```
 */
export const shardGroup: string = jobsShardGroup

const groups = (tuning: Tuning | undefined, hostsJobs: boolean): Tuning => {
  const available = tuning?.availableShardGroups ?? ["default"]
  const assigned = tuning?.assignedShardGroups ?? ["default"]
  return {
    ...tuning,
    availableShardGroups: available.includes(shardGroup) ? available : [...available, shardGroup],
    assignedShardGroups: hostsJobs
      ? assigned.includes(shardGroup) ? assigned : [...assigned, shardGroup]
      : assigned.filter((group) => group !== shardGroup)
  }
}

/**
 * Tuning passed to Effect's cluster (`ShardingConfig`): poll intervals, shard lock timings, shards per group.
 *
 * @since 0.2.0
 * @category models
 * @example
 * ```ts
 * import type { BamlJobStore } from "effect-baml"
 *
 * const tuning: BamlJobStore.Tuning = { entityMessagePollInterval: 200 }
 * ```
 */
export type Tuning = Partial<ShardingConfig.ShardingConfig["Service"]>

/**
 * Options of `layerEmbedded`.
 *
 * @since 0.2.0
 * @category models
 * @example
 * ```ts
 * import type { BamlJobStore } from "effect-baml"
 *
 * const options: BamlJobStore.EmbeddedOptions = { directory: ".jobs" }
 * ```
 */
export interface EmbeddedOptions {
  /** Where the database files live; created when missing. Jobs resume from what is there. */
  readonly directory: string
  readonly tuning?: Tuning | undefined
}

/**
 * Options of `layerPostgres` and `layerPostgresCluster`.
 *
 * @since 0.2.0
 * @category models
 * @example
 * ```ts
 * import type { BamlJobStore } from "effect-baml"
 *
 * const options: BamlJobStore.PostgresOptions = { url: "postgres://jobs@127.0.0.1:5432/jobs" }
 * ```
 */
export interface PostgresOptions {
  /** A `postgres://` connection URL (kept redacted in logs and spans). */
  readonly url: string | Redacted.Redacted<string>
  /** Most connections this process opens. Default 10. */
  readonly maxConnections?: number | undefined
  readonly tuning?: Tuning | undefined
}

/**
 * Options of `layerPostgresCluster`: where this runner listens for the other runners.
 *
 * @since 0.2.0
 * @category models
 * @example
 * ```ts
 * import type { BamlJobStore } from "effect-baml"
 *
 * const options: BamlJobStore.ClusterOptions = {
 *   url: "postgres://jobs@127.0.0.1:5432/jobs",
 *   host: "10.0.0.5",
 *   port: 34431
 * }
 * ```
 */
export interface ClusterOptions extends PostgresOptions {
  /** The host the other runners reach this one at. */
  readonly host: string
  /** The TCP port this runner listens on for the other runners. */
  readonly port: number
  /** The address to listen on, when it differs from `host` (for example `0.0.0.0`). */
  readonly listenHost?: string | undefined
  /**
   * Whether this runner runs jobs (it is assigned the shards of `shardGroup`). Default `true`; give `false` to a runner
   * that runs other entities of yours and no job.
   */
  readonly hostsJobs?: boolean | undefined
}

/**
 * The database is in use by runners of another kind: `layerPostgres` (one runner process at a time, owning every
 * shard) found another process running jobs on it, with `layerPostgres` or as a `layerPostgresCluster` runner; or a
 * `layerPostgresCluster` runner found a `layerPostgres` process there. Two such processes would both run the same
 * items. `message` says what to use instead: `layerPostgresCluster` on every runner to share the work, or
 * `layerPostgresClient` for a process that only starts, cancels or watches jobs.
 *
 * @since 0.3.0
 * @category errors
 * @example
 * ```ts
 * import { BamlJob, BamlJobStore } from "effect-baml"
 * import { Effect } from "effect"
 *
 * declare const job: BamlJob.BamlJob<{ readonly id: string }, unknown>
 * const program = BamlJob.run(job).pipe(
 *   Effect.provide(BamlJobStore.layerPostgres({ url: "postgres://jobs@127.0.0.1:5432/jobs" })),
 *   Effect.catchTag("BamlJobStoreInUse", (error) => Effect.logError(error.message))
 * )
 * ```
 */
export class BamlJobStoreInUse extends Schema.TaggedError<BamlJobStoreInUse>()("BamlJobStoreInUse", {
  message: Schema.String,
  /** The layer that found the database in use. */
  layer: Schema.Literals(["layerPostgres", "layerPostgresCluster"])
}) {}

// The advisory lock that keeps a lone runner (`layerPostgres`, exclusive) and cluster runners (`layerPostgresCluster`,
// shared) apart on one database; its key is "effect-baml" in ASCII. PostgreSQL frees it when the holding session ends,
// so a process that was killed holds nothing.
const runnersLockKey = "111550823375721"

/**
 * Takes the runners' advisory lock on a connection of its own for the layer's life (exclusive for a lone runner,
 * shared for a cluster runner), or fails with `BamlJobStoreInUse` when the other kind holds it.
 */
const runnersLock = (layer: "layerPostgres" | "layerPostgresCluster") =>
  Layer.effectDiscard(Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const connection = yield* sql.reserve
    const [lock, unlock] = layer === "layerPostgres"
      ? ["pg_try_advisory_lock", "pg_advisory_unlock"]
      : ["pg_try_advisory_lock_shared", "pg_advisory_unlock_shared"]
    yield* Effect.acquireRelease(
      Effect.flatMap(
        connection.execute(`SELECT ${lock}(${runnersLockKey}) AS locked`, [], undefined),
        (rows) =>
          rows[0]?.locked === true ? Effect.void : Effect.fail(
            new BamlJobStoreInUse({
              layer,
              message: layer === "layerPostgres"
                ? "BamlJobStore.layerPostgres: another process runs jobs on this database (layerPostgres runs one " +
                  "runner process at a time). Use BamlJobStore.layerPostgresCluster on every runner to share the work, " +
                  "or BamlJobStore.layerPostgresClient in a process that only starts, cancels or watches jobs"
                : "BamlJobStore.layerPostgresCluster: a BamlJobStore.layerPostgres process runs jobs on this database " +
                  "(it owns every shard). Stop it, or run it with layerPostgresCluster too"
            })
          )
      ),
      () => Effect.ignore(connection.execute(`SELECT ${unlock}(${runnersLockKey})`, [], undefined))
    )
  }))

const engineOn = <E, R>(
  cluster: Layer.Layer<
    import("effect/cluster/Sharding").Sharding | import("effect/cluster/MessageStorage").MessageStorage,
    E,
    R
  >
) => ClusterWorkflowEngine.layer.pipe(Layer.provide(cluster))

const pgClient = (options: PostgresOptions): Layer.Layer<SqlClient.SqlClient, SqlError> =>
  Layer.unwrap(
    Effect.promise(() => import("@effect/sql-pg/PgClient")).pipe(
      Effect.map((PgClient) =>
        PgClient.layer({
          url: typeof options.url === "string" ? Redacted.make(options.url) : options.url,
          maxConnections: options.maxConnections ?? 10,
          applicationName: "effect-baml"
        })
      )
    )
  )

/**
 * A durable workflow engine on one machine with no server: the store is a PGlite database (PostgreSQL
 * compiled to WASM) in `directory`. A job started again after its process died resumes from it.
 *
 * @since 0.2.0
 * @category layers
 * @example
 * ```ts
 * import { BamlJobStore } from "effect-baml"
 *
 * const store = BamlJobStore.layerEmbedded({ directory: ".jobs" })
 * ```
 */
export const layerEmbedded = (
  options: EmbeddedOptions
): Layer.Layer<WorkflowEngine.WorkflowEngine, SqlError | ConfigError> =>
  Layer.unwrap(
    Effect.promise(() => import("./internal/pglite.js")).pipe(
      Effect.map((Pglite) =>
        engineOn(
          SingleRunner.layer({ runnerStorage: "memory", shardingConfig: groups(options.tuning, true) }).pipe(
            Layer.provide([Pglite.layer(options.directory), Digest.layerWebCrypto])
          )
        )
      )
    )
  )

/**
 * A durable workflow engine on a PostgreSQL server, for one runner process at a time: this process owns every
 * shard (the runner itself is not registered in the database). A PostgreSQL advisory lock held for the layer's life
 * keeps it alone: a second `layerPostgres` process on the database, or one beside `layerPostgresCluster` runners,
 * fails to build with {@link BamlJobStoreInUse}. For several processes that share the work, use
 * `layerPostgresCluster`; for a process that only starts, cancels or watches jobs, `layerPostgresClient`.
 *
 * @since 0.2.0
 * @category layers
 * @example
 * ```ts
 * import { BamlJobStore } from "effect-baml"
 *
 * const store = BamlJobStore.layerPostgres({ url: "postgres://jobs@127.0.0.1:5432/jobs" })
 * ```
 */
export const layerPostgres = (
  options: PostgresOptions
): Layer.Layer<WorkflowEngine.WorkflowEngine, SqlError | ConfigError | BamlJobStoreInUse> => {
  const client = pgClient(options)
  return engineOn(
    // A lone runner has no other runner to hand shards to: it keeps them in memory rather than registering in
    // the database (SQL runner storage also logs "No healthy runners available" at start for a lone runner).
    SingleRunner.layer({ runnerStorage: "memory", shardingConfig: groups(options.tuning, true) }).pipe(
      Layer.provide([client, Digest.layerWebCrypto]),
      Layer.provide(Layer.provide(runnersLock("layerPostgres"), client))
    )
  )
}

/**
 * A durable workflow engine that is one runner of a cluster sharing a PostgreSQL: the runners split the
 * work between them, talk over TCP (this one listens on `port`), and when one dies its work moves to
 * the others. It provides the cluster's `Sharding` too, for `BamlHttpCluster.layerGenerations` (resumable
 * responses across the same instances). It fails to build with {@link BamlJobStoreInUse} while a `layerPostgres`
 * process runs jobs on the database.
 *
 * @since 0.2.0
 * @category layers
 * @example
 * ```ts
 * import { BamlJobStore } from "effect-baml"
 *
 * const runner = BamlJobStore.layerPostgresCluster({
 *   url: "postgres://jobs@127.0.0.1:5432/jobs",
 *   host: "127.0.0.1",
 *   port: 34431
 * })
 * ```
 */
export const layerPostgresCluster = (
  options: ClusterOptions
): Layer.Layer<
  WorkflowEngine.WorkflowEngine | Sharding.Sharding,
  SqlError | ConfigError | SocketServerError | BamlJobStoreInUse
> =>
  Layer.unwrap(
    Effect.promise(() => import("@effect/platform-node/NodeClusterSocket")).pipe(
      Effect.map((NodeClusterSocket) => {
        const client = pgClient(options)
        return ClusterWorkflowEngine.layer.pipe(Layer.provideMerge(
          NodeClusterSocket.layer({
            storage: "sql",
            shardingConfig: {
              ...groups(options.tuning, options.hostsJobs ?? true),
              runnerAddress: Option.some(RunnerAddress.make(options.host, options.port)),
              runnerListenAddress: Option.some(RunnerAddress.make(options.listenHost ?? options.host, options.port))
            }
          }).pipe(
            Layer.provide(client),
            Layer.provide(Layer.provide(runnersLock("layerPostgresCluster"), client))
          )
        ))
      })
    )
  )

/**
 * A workflow engine for a process of a `layerPostgresCluster` cluster that runs no job: it starts jobs, cancels them
 * and reads their results and outcomes, and the cluster's runners run them. It is never assigned a shard (it is not a
 * runner: no address, no port), so nothing can be given to it to run.
 *
 * @since 0.3.0
 * @category layers
 * @example
 * ```ts
 * import { BamlJob, BamlJobStore } from "effect-baml"
 * import { Effect } from "effect"
 *
 * declare const job: BamlJob.BamlJob<{ readonly id: string; readonly text: string }, unknown>
 * const cancelFromAnywhere = BamlJob.cancel(job).pipe(
 *   Effect.provide(BamlJobStore.layerPostgresClient({ url: "postgres://jobs@127.0.0.1:5432/jobs" }))
 * )
 * ```
 */
export const layerPostgresClient = (
  options: PostgresOptions
): Layer.Layer<WorkflowEngine.WorkflowEngine, SqlError | ConfigError> =>
  Layer.unwrap(
    Effect.promise(() => import("@effect/platform-node/NodeClusterSocket")).pipe(
      Effect.map((NodeClusterSocket) =>
        engineOn(
          NodeClusterSocket.layer({
            clientOnly: true,
            storage: "sql",
            shardingConfig: {
              ...groups(options.tuning, false),
              runnerAddress: Option.none(),
              runnerListenAddress: Option.none()
            }
          }).pipe(Layer.provide(pgClient(options)))
        )
      )
    )
  )
