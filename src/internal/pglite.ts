/**
 * A `SqlClient` over PGlite (PostgreSQL compiled to WASM, in this process, files in one directory).
 *
 * Effect's cluster storage speaks the "pg" dialect and knows a "pglite" driver: it runs every
 * statement on one session and uses table leases instead of advisory locks. The published
 * `@effect/sql-pglite` imports `effect/unstable/sql/*`, which effect 4.1 does not export, so this is
 * the small part of it the job store needs: statements serialised on the single session (effect's own
 * single-connection acquirers), PostgreSQL's statement compiler from `@effect/sql-pg`.
 *
 * Loaded only by `BamlJobStore.layerEmbedded`, through a dynamic import, so that neither package is
 * needed by a program that does not ask for the embedded store.
 */
import type { PGlite } from "@electric-sql/pglite"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Reactivity from "effect/reactivity/Reactivity"
import * as Semaphore from "effect/Semaphore"
import * as SqlClient from "effect/sql/SqlClient"
import type * as SqlConnection from "effect/sql/SqlConnection"
import * as SqlError from "effect/sql/SqlError"
import * as Stream from "effect/Stream"

const toSqlError = (message: string) => (cause: unknown) =>
  new SqlError.SqlError({ reason: new SqlError.UnknownError({ cause, message }) })

const rowsOf = (pglite: PGlite, sql: string, params: ReadonlyArray<unknown>, rowMode: "object" | "array") =>
  Effect.tryPromise({
    try: () => pglite.query<object>(sql, params as Array<unknown>, { rowMode }),
    catch: toSqlError("PGlite query failed")
  }).pipe(Effect.map((result) => result.rows))

const connection = (pglite: PGlite): SqlConnection.Connection => {
  const execute = (
    sql: string,
    params: ReadonlyArray<unknown>,
    transformRows: (<A extends object>(rows: ReadonlyArray<A>) => ReadonlyArray<A>) | undefined
  ) =>
    rowsOf(pglite, sql, params, "object").pipe(
      Effect.map((rows) => transformRows === undefined ? rows : transformRows(rows))
    )
  return {
    execute,
    executeRaw: (sql, params) =>
      Effect.tryPromise({
        try: () => pglite.query(sql, params as Array<unknown>),
        catch: toSqlError("PGlite query failed")
      }),
    executeStream: (sql, params, transformRows) =>
      Stream.fromIterableEffect(execute(sql, params, transformRows)),
    executeValues: (sql, params) =>
      rowsOf(pglite, sql, params, "array") as Effect.Effect<ReadonlyArray<ReadonlyArray<unknown>>, SqlError.SqlError>,
    executeValuesUnprepared: (sql, params) =>
      rowsOf(pglite, sql, params, "array") as Effect.Effect<ReadonlyArray<ReadonlyArray<unknown>>, SqlError.SqlError>,
    executeUnprepared: (sql, params, transformRows) =>
      params.length > 0
        ? execute(sql, params, transformRows)
        // Migrations send several statements at once; only the simple protocol accepts that.
        : Effect.tryPromise({ try: () => pglite.exec(sql), catch: toSqlError("PGlite exec failed") }).pipe(
          Effect.map((results) => {
            const rows = (results.at(-1)?.rows ?? []) as ReadonlyArray<object>
            return transformRows === undefined ? rows : transformRows(rows)
          })
        )
  }
}

/**
 * A `SqlClient` over a PGlite database kept in `directory`, closed with the layer.
 */
export const layer = (directory: string): Layer.Layer<SqlClient.SqlClient, SqlError.SqlError> =>
  Layer.effect(SqlClient.SqlClient)(
    Effect.gen(function*() {
      const { PGlite } = yield* Effect.promise(() => import("@electric-sql/pglite"))
      const pglite = yield* Effect.acquireRelease(
        Effect.tryPromise({ try: () => PGlite.create(directory), catch: toSqlError("PGlite could not open") }),
        (db) => Effect.promise(() => db.close())
      )
      const conn = connection(pglite)
      const acquirers = SqlClient.makeSqliteAcquirers({
        connection: Effect.succeed(conn),
        semaphore: Semaphore.makeUnsafe(1)
      })
      return yield* SqlClient.make({
        ...acquirers,
        driver: "pglite",
        compiler: PgClient.makeCompiler(),
        spanAttributes: [["db.system.name", "postgresql"]]
      })
    })
  ).pipe(Layer.provide(Reactivity.layer))
