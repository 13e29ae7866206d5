/**
 * `BamlHedge`: a call or stream that has delivered nothing after a delay is started again on another client; the first
 * to deliver wins, the other's request is aborted at once, and the usage of both is counted.
 */
import {
  Baml,
  BamlHedge,
  BamlMiddleware,
  Client,
  describe,
  Effect,
  expect,
  layer,
  recordingTracer,
  ScriptedProvider,
  Stream,
  type Tracer
} from "#line"
import { marker, scriptFor, settledAll, shortResume, TestLayer } from "./fixtures.js"

const resume = shortResume("Ada Lovelace")
const other = shortResume("Grace Hopper")
// ScriptedPrimary and ScriptedSecondary (baml_src/reliability.baml) ask for these models: each is scripted apart.
const primary = "scripted-primary"
const secondary = "scripted-secondary"

/** The primary stalls before its first byte; the secondary answers with `other` at once. */
const stalledPrimary = (mark: string) =>
  Effect.andThen(
    scriptFor(mark, ScriptedProvider.json(resume, { firstByteDelayMs: 10_000, chunkSize: 16, delayMs: 1 }), primary),
    scriptFor(mark, ScriptedProvider.json(other, { chunkSize: 16, delayMs: 1 }), secondary)
  )

/** Both answer at once; only the secondary's reply is `other`. */
const bothFast = (mark: string) =>
  Effect.andThen(
    scriptFor(mark, ScriptedProvider.json(resume, { chunkSize: 16, delayMs: 1 }), primary),
    scriptFor(mark, ScriptedProvider.json(other, { chunkSize: 16, delayMs: 1 }), secondary)
  )

const onPrimary = { client: "ScriptedPrimary" }
const onSecondary = { client: "ScriptedSecondary" }

/** The provider's records of `mark`, by model. */
const byModel = (mark: string) =>
  Effect.map(settledAll(mark), (records) => Object.fromEntries(records.map((record) => [record.model, record])))

layer(TestLayer, { timeout: "60 seconds", excludeTestServices: true })("BamlHedge", (it) => {
  describe("BamlHedge.effect", () => {
    it.effect("a call still silent after the delay is hedged: the hedge wins, the first request is aborted", () =>
      Effect.gen(function*() {
        const mark = marker("hedge-call")
        yield* stalledPrimary(mark)
        const started = performance.now()
        const [value, usages] = yield* Baml.call("ExtractResume", { resume: mark }, onPrimary).pipe(
          BamlHedge.effect({ after: "200 millis", hedge: Baml.call("ExtractResume", { resume: mark }, onSecondary) }),
          Baml.withUsage
        )
        expect(value).toEqual(other)
        expect(performance.now() - started).toBeLessThan(5_000)
        const records = yield* byModel(mark)
        expect(records[primary]).toMatchObject({ status: "closed-early", sent: 0 })
        expect(records[secondary]).toMatchObject({ status: "completed" })
        // both requests are counted: the winner's whole, the loser's as aborted
        expect(usages.map((usage) => [usage.client, usage.outcome, usage.aborted]).sort()).toEqual([
          ["ScriptedPrimary", "interrupted", true],
          ["ScriptedSecondary", "success", false]
        ])
      }), 20_000)

    it.effect("a call that answers within the delay is never hedged", () =>
      Effect.gen(function*() {
        const mark = marker("hedge-call-fast")
        yield* bothFast(mark)
        const value = yield* Client.ExtractResume(mark, onPrimary).pipe(
          BamlHedge.effect({ after: "3 seconds", hedge: Client.ExtractResume(mark, onSecondary) })
        )
        expect(value).toEqual(resume)
        expect(Object.keys(yield* byModel(mark))).toEqual([primary])
      }), 20_000)
    it.effect("its span says which request won and whether the hedge was started", () =>
      Effect.gen(function*() {
        const spans: Array<Tracer.Span> = []
        const base = yield* Effect.tracer
        const tracer = recordingTracer(base, (span) => {
          spans.push(span)
          return span
        })
        const hedged = marker("hedge-span-hedged")
        const fast = marker("hedge-span-fast")
        yield* stalledPrimary(hedged)
        yield* bothFast(fast)
        const hedge = (mark: string, after: number) =>
          Baml.call("ExtractResume", { resume: mark }, onPrimary).pipe(
            BamlHedge.effect({ after, hedge: Baml.call("ExtractResume", { resume: mark }, onSecondary) }),
            Effect.withTracer(tracer)
          )
        yield* hedge(hedged, 200)
        yield* hedge(fast, 3_000)
        const attributes = spans
          .filter((span) => span.name === "BamlHedge.effect")
          .map((span) => [span.attributes.get("baml.hedge.winner"), span.attributes.get("baml.hedge.started")])
        expect(attributes).toEqual([["hedge", true], ["primary", false]])
      }), 20_000)
  })

  describe("BamlHedge.stream", () => {
    it.effect("a stream with no first partial after the delay is hedged: the stream goes on with the hedge's alone", () =>
      Effect.gen(function*() {
        const mark = marker("hedge-stream")
        yield* stalledPrimary(mark)
        const [events, usages] = yield* Client.stream.ExtractResume(mark, onPrimary).pipe(
          BamlHedge.stream({ after: "200 millis", hedge: Client.stream.ExtractResume(mark, onSecondary) }),
          Stream.runCollect,
          Baml.withUsage
        )
        const all = Array.from(events)
        expect(all.at(-1)).toMatchObject({ _tag: "Final", value: other })
        // every partial is the hedge's: a prefix of its reply, never of the stalled one
        for (const event of all) expect(other.name.startsWith(event.value.name ?? "")).toBe(true)
        const records = yield* byModel(mark)
        expect(records[primary]).toMatchObject({ status: "closed-early", sent: 0 })
        expect(records[secondary]).toMatchObject({ status: "completed" })
        expect(usages.map((usage) => [usage.client, usage.outcome]).sort()).toEqual([
          ["ScriptedPrimary", "interrupted"],
          ["ScriptedSecondary", "success"]
        ])
      }), 20_000)

    it.effect("a stream whose first partial comes within the delay is never hedged, however slow the rest", () =>
      Effect.gen(function*() {
        const mark = marker("hedge-stream-fast")
        yield* scriptFor(mark, ScriptedProvider.json(resume, { chunkSize: 8, delayMs: 15 }), primary)
        yield* scriptFor(mark, ScriptedProvider.json(other, { chunkSize: 16, delayMs: 1 }), secondary)
        const final = yield* Client.stream.ExtractResume(mark, onPrimary).pipe(
          BamlHedge.stream({ after: "1 second", hedge: Client.stream.ExtractResume(mark, onSecondary) }),
          Baml.final
        )
        expect(final).toEqual(resume)
        expect(Object.keys(yield* byModel(mark))).toEqual([primary])
      }), 20_000)

    it.effect("when the first stream delivers after the hedge started, the hedge is aborted at once", () =>
      Effect.gen(function*() {
        const mark = marker("hedge-stream-race")
        // the primary's first byte comes 300 ms in; the hedge starts at 100 ms and its first byte would come at 2.1 s
        yield* scriptFor(mark, ScriptedProvider.json(resume, { firstByteDelayMs: 300, chunkSize: 16, delayMs: 1 }), primary)
        yield* scriptFor(mark, ScriptedProvider.json(other, { firstByteDelayMs: 2_000, chunkSize: 16, delayMs: 1 }), secondary)
        const final = yield* Baml.streamEvents("ExtractResume", { resume: mark }, onPrimary).pipe(
          BamlHedge.stream({ after: "100 millis", hedge: Baml.streamEvents("ExtractResume", { resume: mark }, onSecondary) }),
          Baml.final
        )
        expect(final).toEqual(resume)
        const records = yield* byModel(mark)
        expect(records[primary]).toMatchObject({ status: "completed" })
        expect(records[secondary]).toMatchObject({ status: "closed-early", sent: 0 })
        // closed long before its first byte was due
        expect(records[secondary]!.closedAt! - records[secondary]!.startedAt).toBeLessThan(1_500)
      }), 20_000)
  })

  describe("BamlHedge.layer and BamlHedge.middleware", () => {
    it.effect("hedge every call and stream of a program, generated clients included, on the client given", () =>
      Effect.gen(function*() {
        const mark = marker("hedge-layer")
        yield* stalledPrimary(mark)
        const program = Effect.gen(function*() {
          const called = yield* Client.ExtractResume(mark)
          const streamed = yield* Baml.final(Client.stream.ExtractResume(mark))
          return [called, streamed]
        })
        const [called, streamed] = yield* program.pipe(
          Effect.provide(BamlHedge.layer({ after: "200 millis", options: onSecondary })),
          Baml.withOptions(onPrimary)
        )
        expect(called).toEqual(other)
        expect(streamed).toEqual(other)
        const records = yield* settledAll(mark)
        expect(records.map((record) => [record.model, record.status]).sort()).toEqual([
          [primary, "closed-early"],
          [primary, "closed-early"],
          [secondary, "completed"],
          [secondary, "completed"]
        ])
      }), 20_000)

    it.effect("with no other client, the hedge is the same request again", () =>
      Effect.gen(function*() {
        const mark = marker("hedge-same")
        // the first request stalls, the second answers
        yield* scriptFor(mark, (request) =>
          request.index === 0
            ? ScriptedProvider.json(resume, { firstByteDelayMs: 10_000 })
            : ScriptedProvider.json(other, { chunkSize: 16, delayMs: 1 }))
        const value = yield* Baml.call("ExtractResume", { resume: mark }).pipe(
          BamlMiddleware.withMiddleware(BamlHedge.middleware({ after: "200 millis" }))
        )
        expect(value).toEqual(other)
        const records = yield* settledAll(mark)
        expect(records.map((record) => record.status)).toEqual(["closed-early", "completed"])
      }), 20_000)
  })
})
