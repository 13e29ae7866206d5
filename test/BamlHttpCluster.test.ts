/**
 * Resumable responses across two server instances: two child processes (test/support/generationServer.ts), each a
 * runner of one cluster on one PostgreSQL, serving `BamlHttp.handler(…, { resumable })` on
 * `BamlHttpCluster.layerGenerations`, on the scripted provider of this process (whose records are the proof). A client
 * starts a generation on one instance and reconnects, or stops it, on the other.
 */
import { describe, expect, it, layer } from "@effect/vitest"
import { Effect, Fiber, Layer } from "effect"
import { ScriptedProvider } from "effect-baml/testing"
import * as Http from "node:http"
import { performance } from "node:perf_hooks"
import * as Wire from "../src/core/wire/wire.js"
import * as JobProcess from "./support/jobProcess.js"
import * as Postgres from "./support/postgres.js"
import { marker, scriptLong, settledAll } from "./shared/fixtures.js"

const shardsPerGroup = 30
// Short cluster timings, so that the two instances split the shards within seconds.
const tuning = {
  shardsPerGroup,
  refreshAssignmentsInterval: 500,
  shardLockRefreshInterval: 1000,
  shardLockExpiration: 5000,
  entityMessagePollInterval: 500,
  runnerHealthCheckInterval: 1000
}
const graceMs = 2_000

interface Instance {
  readonly port: number
  readonly process: JobProcess.JobProcess
}

/** A plain HTTP request to an instance; `body` as JSON. */
const request = (
  port: number,
  options: { readonly method: string; readonly path: string; readonly headers?: Record<string, string>; readonly body?: unknown }
) =>
  Effect.callback<Http.IncomingMessage, Error>((resume) => {
    const req = Http.request({ host: "127.0.0.1", port, method: options.method, path: options.path, headers: options.headers, agent: false }, (response) =>
      resume(Effect.succeed(response)))
    req.on("error", (error) => resume(Effect.fail(error)))
    req.end(options.body === undefined ? undefined : JSON.stringify(options.body))
    return Effect.sync(() => req.destroy())
  })

/** How many shards the instance owns. */
const shardsOf = (instance: Instance) =>
  Effect.flatMap(request(instance.port, { method: "GET", path: "/shards" }), (response) =>
    Effect.callback<number>((resume) => {
      let text = ""
      response.setEncoding("utf8").on("data", (data: string) => text += data).on("end", () => resume(Effect.succeed(Number(text))))
    }))

/** Two instances of one cluster on `url`, ready, each owning some of the shards and all of them owned. */
const twoInstances = (url: string, baseUrl: string) =>
  Effect.gen(function*() {
    const started = yield* Effect.forEach([0, 1], () =>
      Effect.flatMap(Postgres.freePort, (clusterPort) =>
        JobProcess.startScript("test/support/generationServer.ts", { url, clusterPort, baseUrl, grace: graceMs, tuning })))
    const instances = yield* Effect.forEach(started, (child) =>
      Effect.map(child.until((events) => events.some((e) => e.event === "ready")), (events): Instance => ({
        port: events.find((e) => e.event === "ready")!.port!,
        process: child
      })))
    // the second instance takes its shards from the first: a generation started before that might move
    for (let i = 0;; i++) {
      const owned = yield* Effect.forEach(instances, shardsOf)
      if (owned.every((n) => n > 0) && owned[0]! + owned[1]! === shardsPerGroup) break
      if (i > 120) return yield* Effect.die(new Error(`the shards never split: ${owned}`))
      yield* Effect.sleep("500 millis")
    }
    return instances as unknown as readonly [Instance, Instance]
  })

/** Runs `body` on two instances of a cluster on a database of its own, stopped when it ends. */
const onTwoInstances = <A, E, R>(body: (a: Instance, b: Instance) => Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const server = yield* Postgres.PostgresServer
    const provider = yield* ScriptedProvider.ScriptedProvider
    const url = yield* Postgres.createDatabase(server, "generations")
    const [a, b] = yield* twoInstances(url, provider.baseUrl)
    return yield* body(a, b)
  }).pipe(Effect.scoped)

interface Message {
  readonly event: string
  readonly id: string | undefined
}

interface Read {
  readonly status: number
  readonly generation: string | undefined
  readonly messages: ReadonlyArray<Message>
  /** Milliseconds from the request to its first message, and to its end. */
  readonly first: number
  readonly whole: number
}

/** POSTs the arguments (or reconnects with `lastEventId`) and reads SSE messages until the end, or `leaveAfter` of them. */
const read = (
  instance: Instance,
  mark: string,
  options: { readonly lastEventId?: string; readonly leaveAfter?: number; readonly user?: string } = {}
) =>
  Effect.callback<Read, Error>((resume) => {
    const startedAt = performance.now()
    let first = Number.NaN
    const headers: Record<string, string> = { accept: "text/event-stream", "content-type": "application/json" }
    if (options.lastEventId !== undefined) headers["last-event-id"] = options.lastEventId
    if (options.user !== undefined) headers["x-user"] = options.user
    const req = Http.request(
      { host: "127.0.0.1", port: instance.port, method: "POST", path: "/baml/ExtractResume", headers, agent: false },
      (response) => {
        const messages: Array<Message> = []
        const generation = response.headers[Wire.headers.generation]
        const done = () =>
          resume(Effect.succeed({
            status: response.statusCode ?? 0,
            generation: typeof generation === "string" ? generation : undefined,
            messages,
            first,
            whole: performance.now() - startedAt
          }))
        let buffer = ""
        response.setEncoding("utf8")
        response.on("data", (text: string) => {
          const frames = (buffer + text).split("\n\n")
          buffer = frames.pop()!
          for (const frame of frames) {
            const lines = frame.split("\n")
            const field = (name: string) => lines.find((line) => line.startsWith(`${name}: `))?.slice(name.length + 2)
            const event = field("event")
            if (event === undefined) continue
            if (messages.length === 0) first = performance.now() - startedAt
            messages.push({ event, id: field("id") })
            if (options.leaveAfter !== undefined && messages.length >= options.leaveAfter) {
              req.destroy()
              return done()
            }
          }
        })
        response.on("end", done)
        response.on("error", done)
      }
    )
    req.on("error", (error) => resume(Effect.fail(error)))
    req.end(JSON.stringify({ resume: `Ada Lovelace, mathematician ${mark}` }))
    return Effect.sync(() => req.destroy())
  }).pipe(Effect.timeoutOrElse({ duration: "30 seconds", orElse: () => Effect.fail(new Error("reading took too long")) }))

const stop = (instance: Instance, generation: string, user?: string) =>
  Effect.map(
    request(instance.port, {
      method: "DELETE",
      path: `/baml/ExtractResume?generation=${generation}`,
      headers: user === undefined ? {} : { "x-user": user }
    }),
    (response) => {
      response.resume()
      return response.statusCode ?? 0
    }
  )

/** The generation's ends, as the `onEnd` of either instance was told them (waits a moment for the first). */
const endsOf = (instances: ReadonlyArray<Instance>, generation: string) =>
  Effect.gen(function*() {
    const all = () =>
      instances.flatMap((instance) =>
        instance.process.events().filter((e) => e.event === "end" && e.generation === generation).map((e) => ({ ...e, port: instance.port }))
      )
    for (let i = 0; i < 100 && all().length === 0; i++) yield* Effect.sleep("50 millis")
    // and a moment more, for a second one that must not come
    yield* Effect.sleep("300 millis")
    return all()
  })

const sequences = (messages: ReadonlyArray<Message>, generation: string) =>
  messages.map((message) => {
    const position = Wire.positionOf(message.id)
    expect(position?.generation).toBe(generation)
    return position!.sequence
  })

const median = (values: ReadonlyArray<number>) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!

describe("BamlHttpCluster", () => {
  if (Postgres.missing !== undefined) {
    it.skip(`skipped: ${Postgres.missing}`, () => {})
    return
  }
  layer(Layer.merge(ScriptedProvider.layer(), Postgres.layer), { timeout: "300 seconds", excludeTestServices: true })(
    "two server instances on one PostgreSQL",
    (it) => {
      it.effect(
        "a client that drops after 3 messages and reconnects to the OTHER instance within the grace period gets every message once, in order; one LLM request, completed; onEnd once; 204 after the end, 410 for an unknown id",
        () =>
          onTwoInstances((a, b) => Effect.gen(function*() {
            const mark = marker("cluster-resume")
            yield* scriptLong(mark)
            const first = yield* read(a, mark, { leaveAfter: 3 })
            expect(first.status).toBe(200)
            const generation = first.generation!
            yield* Effect.sleep("200 millis")
            const rest = yield* read(b, mark, { lastEventId: first.messages.at(-1)!.id! })
            expect(rest.status).toBe(200)
            const all = [...first.messages, ...rest.messages]
            expect(sequences(all, generation)).toEqual(all.map((_, i) => i + 1))
            expect(all.at(-1)!.event).toBe("final")
            expect(rest.messages.length).toBeGreaterThan(3)
            expect((yield* settledAll(mark)).map((record) => record.status)).toEqual(["completed"])
            const ends = yield* endsOf([a, b], generation)
            expect(ends.map((end) => [end.port, end.outcome, end.messages])).toEqual([[a.port, "completed", all.length]])

            // after the end: 204 from the other instance, and the whole generation again from its start
            expect((yield* read(b, mark, { lastEventId: all.at(-1)!.id! })).status).toBe(204)
            const latency = { here: [] as Array<Read>, there: [] as Array<Read> }
            for (let i = 0; i < 5; i++) {
              const from = Wire.messageId({ generation, sequence: 0 })
              const here = yield* read(a, mark, { lastEventId: from })
              const there = yield* read(b, mark, { lastEventId: from })
              expect([here.status, there.status]).toEqual([200, 200])
              expect(there.messages).toEqual(all)
              latency.here.push(here)
              latency.there.push(there)
            }
            const ms = (reads: ReadonlyArray<Read>, of: "first" | "whole") => median(reads.map((r) => r[of])).toFixed(1)
            console.log(
              `a resume of ${all.length} messages, median of 5: first message ${ms(latency.here, "first")} ms on the owning instance, ${
                ms(latency.there, "first")
              } ms through the other; all of them ${ms(latency.here, "whole")} ms and ${ms(latency.there, "whole")} ms`
            )
            expect((yield* read(b, mark, { lastEventId: "00000000-0000-4000-8000-000000000000.3" })).status).toBe(410)
            expect((yield* settledAll(mark)).length).toBe(1)
          })),
        240_000
      )

      it.effect(
        "a stop sent to the other instance aborts the LLM request at once (another owner's is answered 404, its resume 410); one that reads on the other instance and never comes back is aborted about one grace period later",
        () =>
          onTwoInstances((a, b) => Effect.gen(function*() {
            const stopped = marker("cluster-stop")
            yield* scriptLong(stopped)
            const one = yield* read(a, stopped, { leaveAfter: 2 })
            // another owner, through the other instance: as for an unknown id
            expect((yield* read(b, stopped, { lastEventId: one.messages.at(-1)!.id!, user: "eve" })).status).toBe(410)
            expect(yield* stop(b, one.generation!, "eve")).toBe(404)
            const stoppedAt = performance.now()
            expect(yield* stop(b, one.generation!)).toBe(204)
            const [record] = yield* settledAll(stopped)
            expect(record!.status).toBe("closed-early")
            expect(record!.closedAt! - stoppedAt).toBeLessThan(1_000)
            expect((yield* endsOf([a, b], one.generation!)).map((end) => end.outcome)).toEqual(["stopped"])
            // a reader on the other instance is sent the rest, and last the error that says it was stopped
            const rest = yield* read(b, stopped, { lastEventId: one.messages.at(-1)!.id! })
            expect(rest.messages.at(-1)?.event).toBe("error")
            expect((yield* read(b, stopped, { lastEventId: rest.messages.at(-1)!.id! })).status).toBe(204)
            expect(yield* stop(b, one.generation!)).toBe(404)

            const left = marker("cluster-abandoned")
            yield* scriptLong(left)
            const two = yield* read(a, left, { leaveAfter: 2 })
            // read on the other instance, then gone for good
            const more = yield* read(b, left, { lastEventId: two.messages.at(-1)!.id!, leaveAfter: 2 })
            expect(sequences(more.messages, two.generation!)).toEqual([3, 4])
            const leftAt = performance.now()
            const [abandoned] = yield* settledAll(left).pipe(Effect.timeout("30 seconds"))
            expect(abandoned!.status).toBe("closed-early")
            const after = abandoned!.closedAt! - leftAt
            expect(after).toBeGreaterThan(graceMs * 0.8)
            expect(after).toBeLessThan(graceMs + 4_000)
            expect((yield* endsOf([a, b], two.generation!)).map((end) => end.outcome)).toEqual(["abandoned"])
          })),
        240_000
      )

      it.effect(
        "the owning instance killed mid-stream: a reader on the other instance sees its response end without a final, and its reconnect is answered 410, not a hang",
        () =>
          onTwoInstances((a, b) => Effect.gen(function*() {
            const mark = marker("cluster-owner-dies")
            yield* scriptLong(mark)
            const first = yield* read(a, mark, { leaveAfter: 2 })
            const reading = yield* Effect.forkChild(read(b, mark, { lastEventId: first.messages.at(-1)!.id! }))
            yield* Effect.sleep("300 millis")
            const killedAt = performance.now()
            yield* a.process.kill
            const cut = yield* Fiber.join(reading)
            expect(cut.messages.some((message) => message.event === "final")).toBe(false)
            const again = yield* read(b, mark, { lastEventId: (cut.messages.at(-1) ?? first.messages.at(-1)!).id! })
            expect(again.status).toBe(410)
            const took = performance.now() - killedAt
            console.log(`owner killed: the reader's response ended and its reconnect was answered 410 ${took.toFixed(0)} ms later`)
            expect(took).toBeLessThan(30_000)
          })),
        240_000
      )
    }
  )
})
