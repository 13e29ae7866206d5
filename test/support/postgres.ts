/**
 * A throwaway PostgreSQL server for the tests that need one: `initdb` into a temporary directory, `pg_ctl start`
 * on a free port of 127.0.0.1, and on release `pg_ctl stop` and the directory removed. It uses Debian's
 * `postgresql` package (`apt-get install -y postgresql`; `.ci/run` installs it). PostgreSQL refuses to run as
 * root, so as root the server runs as the `postgres` user the package creates.
 */
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { execFile, execFileSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"

/** The directory of `initdb` and `pg_ctl`: Debian keeps them out of PATH, under /usr/lib/postgresql/VERSION/bin. */
export const binDir: string | undefined = (() => {
  const root = "/usr/lib/postgresql"
  const versions = Fs.existsSync(root)
    ? Fs.readdirSync(root).filter((v) => Fs.existsSync(Path.join(root, v, "bin", "pg_ctl")))
    : []
  versions.sort((a, b) => Number(b) - Number(a))
  if (versions[0] !== undefined) return Path.join(root, versions[0], "bin")
  try {
    return execFileSync("pg_config", ["--bindir"], { encoding: "utf8" }).trim()
  } catch {
    return undefined
  }
})()

/** Why there is no PostgreSQL here, or undefined when there is one. */
export const missing: string | undefined = binDir === undefined
  ? "no PostgreSQL server binaries (initdb, pg_ctl): apt-get install -y postgresql (CI installs it)"
  : undefined

const asRoot = process.getuid?.() === 0

const run = (command: string, args: ReadonlyArray<string>) =>
  Effect.callback<string, Error>((resume) => {
    const [file, argv] = asRoot
      ? ["runuser", ["-u", "postgres", "--", Path.join(binDir!, command), ...args]]
      : [Path.join(binDir!, command), [...args]]
    const child = execFile(file, argv, { encoding: "utf8", timeout: 60_000 }, (error, stdout, stderr) =>
      resume(
        error === null
          ? Effect.succeed(stdout)
          : Effect.fail(new Error(`${command} ${args.join(" ")} failed: ${error.message}\n${stdout}\n${stderr}`))
      ))
    return Effect.sync(() => child.kill("SIGKILL"))
  })

/** A port of 127.0.0.1 that was free a moment ago. */
export const freePort = Effect.callback<number, Error>((resume) => {
  const server = Net.createServer()
  server.on("error", (error) => resume(Effect.fail(error)))
  server.listen(0, "127.0.0.1", () => {
    const port = (server.address() as Net.AddressInfo).port
    server.close(() => resume(Effect.succeed(port)))
  })
})

/** A running server: `url` connects as the superuser `postgres` to the database `postgres`. */
export interface Server {
  readonly url: string
  readonly port: number
  readonly directory: string
}

/**
 * Starts a server for the scope and stops it (and removes its files) when the scope closes. Fails when the
 * binaries are missing or the server does not start.
 */
export const start: Effect.Effect<Server, Error, import("effect/Scope").Scope> = Effect.suspend(() => startWith(""))

/** {@link start}, with more server settings (`-c name=value ...`), e.g. an extension to preload. */
export const startWith = (settings: string): Effect.Effect<Server, Error, import("effect/Scope").Scope> =>
  Effect.acquireRelease(
  Effect.gen(function*() {
    if (missing !== undefined) return yield* Effect.fail(new Error(missing))
    const directory = Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-baml-pg-"))
    if (asRoot) execFileSync("chown", ["postgres:postgres", directory])
    const data = Path.join(directory, "data")
    yield* run("initdb", ["-D", data, "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8"])
    const port = yield* freePort
    yield* run("pg_ctl", [
      "-D",
      data,
      "-l",
      Path.join(directory, "server.log"),
      "-w",
      "-t",
      "60",
      "-o",
      `-p ${port} -k ${directory} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200 ${settings}`,
      "start"
    ])
    return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, port, directory }
  }),
  (server) =>
    run("pg_ctl", ["-D", Path.join(server.directory, "data"), "-m", "immediate", "-w", "stop"]).pipe(
      Effect.ignore,
      Effect.andThen(Effect.sync(() => Fs.rmSync(server.directory, { recursive: true, force: true })))
    )
)

/** The server of a test file, shared by its tests. */
export class PostgresServer extends Context.Service<PostgresServer, Server>()("test/PostgresServer") {}

/** A server for the layer's life. */
export const layer: Layer.Layer<PostgresServer, Error> = Layer.effect(PostgresServer, start)

/** Creates a database of its own for one test (a name unique in the server) and returns its URL. */
export const createDatabase = (server: Server, prefix: string) =>
  Effect.gen(function*() {
    const name = `${prefix}_${Math.random().toString(36).slice(2, 10)}`
    yield* Effect.tryPromise({
      try: () =>
        new Promise<void>((resolve, reject) =>
          execFile(Path.join(binDir!, "psql"), [server.url, "-c", `CREATE DATABASE ${name}`], (error) =>
            error === null ? resolve() : reject(error))
        ),
      catch: (cause) => new Error(`CREATE DATABASE ${name} failed`, { cause })
    })
    return server.url.replace(/\/postgres$/, `/${name}`)
  })

/** The names of the tables in the database at `url` (schema `public`), sorted. */
export const tables = (url: string) =>
  Effect.tryPromise({
    try: () =>
      new Promise<ReadonlyArray<string>>((resolve, reject) =>
        execFile(
          Path.join(binDir!, "psql"),
          [url, "-At", "-c", "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"],
          (error, stdout) => error === null ? resolve(stdout.split("\n").filter((line) => line !== "")) : reject(error)
        )
      ),
    catch: (cause) => new Error("listing the tables failed", { cause })
  })

/**
 * Where PostgreSQL is missing, the suite `title` says so: in CI (CI=true) as a failure (without PostgreSQL these
 * tests prove nothing), elsewhere as a skip.
 */
export const describeMissing = (title: string) =>
  describe(title, () => {
    if (process.env.CI === "true") {
      it(`PostgreSQL is installed`, () => {
        expect.fail(`${missing}: CI must install it`)
      }, 5_000)
    } else {
      it.skip(`skipped: ${missing}`, () => {})
    }
  })

/** Short cluster timings for the tests, so that a dead runner's shards move within seconds. */
export const clusterTuning = {
  shardsPerGroup: 30,
  refreshAssignmentsInterval: 500,
  shardLockRefreshInterval: 1000,
  shardLockExpiration: 5000,
  entityMessagePollInterval: 500,
  runnerHealthCheckInterval: 1000
}
