/**
 * The generated schemas.ts, against what the engine really returns on the scripted provider: every partial and final
 * value of every kind of BAML type decodes, a mangled one does not; a server decodes a browser's arguments with them
 * (a 400 naming the path, and the engine is never called), and a client decodes what it receives.
 */
import {
  FetchHttpClient,
  HttpClient,
  HttpClientRequest,
  HttpRouter,
  HttpServer,
  HttpServerResponse
} from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { describe, expect, layer } from "@effect/vitest"
import { Cause, Chunk, Effect, Either, Exit, Layer, Option, Schema, Stream } from "effect"
import { Baml, BamlHttp, BamlMedia, BamlRuntime } from "effect-baml/effect3"
import { BamlClient, BamlError } from "effect-baml/effect3/client"
import { ScriptedProvider } from "effect-baml/effect3/testing"
import * as Http from "node:http"
import * as Kinds from "./fixtures/kinds/baml_client/index.js"
import * as KindsHttp from "./fixtures/kinds/baml_client/http.js"
import * as Schemas from "./fixtures/kinds/baml_client/schemas.js"
import { marker } from "./fixtures.js"

const Provider = ScriptedProvider.ScriptedProvider

/** A runtime of the kinds fixture, pointed at the scripted provider. */
const KindsLayer = Layer.unwrapEffect(
  Effect.map(Provider, (provider) =>
    BamlRuntime.layerFromFiles(Kinds.files, { env: { SCRIPTED_BASE_URL: provider.baseUrl } }))
).pipe(Layer.provideMerge(ScriptedProvider.layer()))

const profile = (mark: string) => ({
  kind: "company",
  tags: { founded: 1843 },
  color: "verde",
  shape: { center: { x: 1, y: 2 }, radius: 3 },
  settled: `settled ${mark}`,
  status: "active",
  labels: ["engines", "looms"],
  extra: { a: [1, "b", true, { c: { d: [] } }] }
})

const argsOf = (mark: string) => ({
  profile: { ...profile(mark), color: "Blue" },
  colors: ["Red", "Green"],
  note: mark,
  limits: { a: 1.5 },
  choice: "a, b"
})

/** Every event of a stream, split into its partial values and its final value. */
const run = (name: string, args: Readonly<Record<string, unknown>>) =>
  Effect.map(Stream.runCollect(Baml.streamEvents(name, args)), (events) => {
    const all = Chunk.toReadonlyArray(events)
    const final = all.find((e) => e._tag === "Final")
    return { partials: all.filter((e) => e._tag === "Partial").map((e) => e.value), final: final?.value }
  })

const decodes = (schema: Schema.Schema.AnyNoContext, value: unknown) =>
  Either.isRight(Schema.decodeUnknownEither(schema)(value))

/** The path and message of the first issue of a value that does not decode. */
const failure = (schema: Schema.Schema.AnyNoContext, value: unknown) => {
  const result = Schema.decodeUnknownEither(schema)(value)
  if (Either.isRight(result)) throw new Error(`${JSON.stringify(value)} decoded`)
  return BamlHttp.invalidArguments("test", result.left).issues![0]!
}

const PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="

layer(KindsLayer, { timeout: "60 seconds" })("generated schemas", (it) => {
  it.effect("decode every partial and final value the engine streams, for every kind of BAML type", () =>
    Effect.gen(function*() {
      const provider = yield* Provider
      const mark = marker("schemas-kinds")
      const script = (needle: string, script: ScriptedProvider.Rule["script"]) =>
        provider.script({ match: (prompt) => prompt.includes(needle), script })
      yield* script(`note=${mark}`, ScriptedProvider.json(profile(mark), { delayMs: 2 }))
      yield* script(`classify ${mark}`, { reply: "verde" })
      yield* script("4242", ScriptedProvider.json({ value: 1, children: [{ value: 2, children: [] }] }, { delayMs: 2 }))
      yield* script("count=7", { reply: "[1, 2, 3]" })
      yield* script("9001", { reply: "{\n  \"radius\": -2\n}" })
      yield* script("9002", { reply: "{\n  \"radius\": 2\n}" })
      yield* script(`extend ${mark}`, { reply: "{\n  \"name\": \"Ada\",\n  \"age\": 36\n}" })
      // Answer's and Look's prompts carry no argument to match: 3 is a value of both their result types.
      yield* provider.script({ match: (prompt) => !prompt.includes(mark) && !/4242|count=|900\d/.test(prompt), script: { reply: "3" } })

      const cases = [
        { name: "Describe", args: argsOf(mark), final: Schemas.DescribeFinal, partial: Schemas.DescribePartial },
        { name: "Classify", args: { text: `classify ${mark}` }, final: Schemas.ClassifyFinal, partial: Schemas.ClassifyPartial },
        { name: "Grow", args: { seed: { value: 4242, children: [] } }, final: Schemas.GrowFinal, partial: Schemas.GrowPartial },
        { name: "Count", args: { n: 7, exact: true }, final: Schemas.CountFinal, partial: Schemas.CountPartial },
        { name: "Measure", args: { x: 9001 }, final: Schemas.MeasureFinal, partial: Schemas.MeasurePartial },
        { name: "Measure", args: { x: 9002 }, final: Schemas.MeasureFinal, partial: Schemas.MeasurePartial },
        { name: "Extend", args: { x: { name: `extend ${mark}` } }, final: Schemas.ExtendFinal, partial: Schemas.ExtendPartial },
        { name: "Answer", args: {}, final: Schemas.AnswerFinal, partial: Schemas.AnswerPartial },
        {
          name: "Look",
          args: {
            img: BamlMedia.image({ base64: PNG, mediaType: "image/png" }),
            sound: BamlMedia.audio({ base64: "AAAA", mediaType: "audio/mp3" }),
            doc: BamlMedia.pdf({ base64: "AAAA" })
          },
          final: Schemas.LookFinal,
          partial: Schemas.LookPartial
        }
      ] as const
      const results = yield* Effect.forEach(cases, (c) => run(c.name, c.args), { concurrency: "unbounded" })
      cases.forEach((c, i) => {
        const { final, partials } = results[i]!
        expect(decodes(c.final, final), `${c.name}'s final ${JSON.stringify(final)}`).toBe(true)
        for (const partial of partials) {
          expect(decodes(c.partial, partial), `${c.name}'s partial ${JSON.stringify(partial)}`).toBe(true)
        }
      })
      const [describe, classify, grow, , failedCheck, passedCheck, extend] = results
      // the stream was seen partway: a partial with the @stream.with_state field still pending
      expect(describe!.partials.length).toBeGreaterThan(1)
      expect(describe!.partials.some((p) => (p as Schemas.ProfilePartial).status.state !== "Complete")).toBe(true)
      // what the engine returns, and the schemas take: the enum's value for its alias, a check by its expression
      expect(classify!.final).toBe("Green")
      expect((describe!.final as Schemas.Profile).color).toBe("Green")
      expect(failedCheck!.final).toEqual({
        radius: { value: -2, checks: { positive: { name: "positive", expression: "this > 0", status: "failed" } } }
      })
      expect((passedCheck!.final as Schemas.Measured).radius.checks.positive.status).toBe("succeeded")
      expect(grow!.final).toEqual({ value: 1, children: [{ value: 2, children: [] }] })
      // @@dynamic: the engine returns the declared fields (a TypeBuilder adds others), and the schema keeps any others
      expect(extend!.final).toEqual({ name: "Ada" })
      expect(Schema.decodeUnknownSync(Schemas.ExtendFinal)({ name: "Ada", age: 36 })).toEqual({ name: "Ada", age: 36 })
      // the final value is not a partial (`status` is a plain string), and a partial is not a final value
      expect(decodes(Schemas.DescribePartial, describe!.final)).toBe(false)
      expect(decodes(Schemas.DescribeFinal, describe!.partials[0])).toBe(false)
    }), 30_000)

  it.effect("a mangled value does not decode, and the failure names its path", () =>
    Effect.sync(() => {
      const final = { ...profile("m"), color: "Green" }
      expect(decodes(Schemas.DescribeFinal, final)).toBe(true)
      expect(failure(Schemas.DescribeFinal, { ...final, kind: "robot" }).path).toEqual(["kind"]) // literal
      expect(failure(Schemas.DescribeFinal, { ...final, color: "verde" }).path).toEqual(["color"]) // an alias is not a value
      expect(failure(Schemas.DescribeFinal, { ...final, tags: { a: "1" } }).path).toEqual(["tags", "a"]) // map
      expect(failure(Schemas.DescribeFinal, { ...final, shape: { x: 1 } }).path[0]).toBe("shape") // union
      expect(failure(Schemas.DescribeFinal, { ...final, extra: { a: [null] } }).path[0]).toBe("extra") // recursive alias
      expect(failure(Schemas.DescribeFinal, { ...final, status: { state: "Complete", value: "x" } }).path).toEqual(["status"])
      expect(decodes(Schemas.DescribeFinal, { ...final, color: null })).toBe(true) // optional
      const { color: _, ...withoutColor } = final
      expect(decodes(Schemas.DescribeFinal, withoutColor)).toBe(true)
      expect(failure(Schemas.GrowFinal, { value: 1, children: [{ value: "2", children: [] }] }).path).toEqual([
        "children",
        0,
        "value"
      ])
      const checked = { value: 1, checks: { positive: { name: "positive", expr: "this > 0", status: "succeeded" } } }
      expect(failure(Schemas.MeasureFinal, { radius: checked }).path).toEqual(["radius", "checks", "positive", "expression"])
      expect(failure(Schemas.MeasurePartial, { radius: { value: 1, checks: {} } }).path).toEqual([
        "radius",
        "checks",
        "positive"
      ])
      expect(failure(Schemas.DescribePartial, { tags: {}, labels: [], status: "active" }).path).toEqual(["status"])
      expect(failure(Schemas.DescribePartial, { tags: {}, status: { state: "Pending", value: null } }).path).toEqual([
        "labels"
      ]) // @stream.not_null
      expect(decodes(Schemas.AnswerFinal, "maybe")).toBe(false)
      expect(decodes(Schemas.CountFinal, [1, "2"])).toBe(false)
    }))

  it.effect("parameters: a browser's JSON arguments decode, wrong ones name their path, media is opaque", () =>
    Effect.sync(() => {
      const args = argsOf("p")
      expect(Schema.decodeUnknownSync(Schemas.DescribeParams)(args)).toEqual(args)
      const { note: _, ...withoutNote } = args
      expect(decodes(Schemas.DescribeParams, withoutNote)).toBe(true) // an optional parameter
      expect(failure(Schemas.DescribeParams, { ...args, choice: "d" }).path).toEqual(["choice"])
      expect(failure(Schemas.DescribeParams, { ...args, colors: ["Purple"] }).path).toEqual(["colors", 0])
      expect(failure(Schemas.DescribeParams, { ...args, profile: { ...args.profile, kind: "robot" } }).path).toEqual([
        "profile",
        "kind"
      ])
      expect(failure(Schemas.DescribeParams, { ...args, limits: undefined }).path).toEqual(["limits"])
      const media = {
        img: BamlMedia.image({ base64: PNG, mediaType: "image/png" }),
        sound: BamlMedia.audio({ base64: "AAAA", mediaType: "audio/mp3" }),
        doc: BamlMedia.pdf({ base64: "AAAA" })
      }
      expect(decodes(Schemas.LookParams, media)).toBe(true)
      expect(failure(Schemas.LookParams, { ...media, img: "cat.png" }).path).toEqual(["img"])
    }))
})

/** A server of the kinds fixture's Describe, its arguments decoded with the generated schema. */
const router = HttpRouter.empty.pipe(
  HttpRouter.post("/baml/Describe", BamlHttp.handler("Describe", { params: Schemas.DescribeParams })),
  HttpRouter.post(
    "/baml/BadFinal",
    HttpServerResponse.text(`event: final\ndata: ${JSON.stringify({ ...profile("bad"), kind: "robot" })}\n\n`, {
      contentType: "text/event-stream"
    })
  ),
  HttpRouter.post(
    "/baml/BadPartial",
    HttpServerResponse.text("event: partial\ndata: {\"tags\":{},\"labels\":[],\"status\":\"active\"}\n\n", {
      contentType: "text/event-stream"
    })
  )
)

const AppLayer = Layer.unwrapEffect(Effect.map(HttpServer.HttpServer, (server) => {
  const base = `http://127.0.0.1:${"port" in server.address ? server.address.port : 0}/baml/`
  return Layer.effect(
    HttpClient.HttpClient,
    Effect.map(HttpClient.HttpClient, HttpClient.mapRequest(HttpClientRequest.prependUrl(base)))
  ).pipe(Layer.provide(FetchHttpClient.layer))
})).pipe(
  Layer.provideMerge(HttpServer.serve(router)),
  Layer.provideMerge(NodeHttpServer.layer(() => Http.createServer(), { port: 0, host: "127.0.0.1" })),
  Layer.provideMerge(KindsLayer)
)

describe("schemas over HTTP", () => {
  layer(AppLayer, { timeout: "60 seconds", excludeTestServices: true })((it) => {
    it.effect("a server answers arguments that do not decode with a 400 naming the path; the engine is never called", () =>
      Effect.gen(function*() {
        const provider = yield* Provider
        const args = argsOf("bad")
        // as a browser sends it: a POST of JSON with fetch
        const response = yield* HttpClient.execute(
          HttpClientRequest.post("Describe").pipe(
            HttpClientRequest.bodyUnsafeJson({ ...args, profile: { ...args.profile, kind: "robot" } })
          )
        )
        expect(response.status).toBe(400)
        const body = (yield* response.json) as { _tag: string; message: string; issues: ReadonlyArray<unknown> }
        expect(body._tag).toBe("BamlInvalidArgumentError")
        expect(body.issues[0]).toMatchObject({ path: ["profile", "kind"] })
        expect(body.message).toContain("profile.kind")
        // the generated client gets the same refusal as the typed error
        const error = yield* Effect.flip(Stream.runDrain(KindsHttp.Describe(
          args.profile as unknown as Kinds.Profile,
          ["Purple" as Kinds.Color],
          "note",
          args.limits,
          "a, b"
        )))
        expect(error).toBeInstanceOf(BamlError.BamlInvalidArgumentError)
        expect(error._tag === "BamlInvalidArgumentError" && error.issues?.[0]?.path).toEqual(["colors", 0])
        expect((yield* provider.requests).length).toBe(0)
      }), 20_000)

    it.effect("the generated client decodes what the server streams: typed partials, then the final value", () =>
      Effect.gen(function*() {
        const provider = yield* Provider
        const mark = marker("schemas-http")
        yield* provider.script({
          match: (prompt) => prompt.includes(`note=${mark}`),
          script: ScriptedProvider.json(profile(mark), { delayMs: 2 })
        })
        const args = argsOf(mark)
        const messages = Chunk.toReadonlyArray(
          yield* Stream.runCollect(
            KindsHttp.Describe(args.profile as unknown as Kinds.Profile, [Kinds.Color.Red], mark, args.limits, "a, b")
          )
        )
        const last = messages.at(-1)!
        expect(last.event).toBe("final")
        expect(last.data).toEqual({ ...profile(mark), color: "Green" })
        expect(messages.slice(0, -1).every((m) => m.event === "partial")).toBe(true)
        // partials went through their schema: `status` is a StreamState in each, a string in the final value
        expect(messages.slice(0, -1).every((m) => typeof m.data.status === "object")).toBe(true)
      }), 20_000)

    it.effect.each(["BadFinal", "BadPartial"])("a %s value that does not decode fails the stream with a typed error", (url) =>
      Effect.gen(function*() {
        const exit = yield* Stream.runDrain(
          KindsHttp.Describe({} as Kinds.Profile, [], null, {}, "c", { url })
        ).pipe(Effect.exit)
        expect(Exit.isFailure(exit)).toBe(true)
        const error = Exit.isFailure(exit) ? Option.getOrThrow(Cause.failureOption(exit.cause)) : undefined
        expect(error).toBeInstanceOf(BamlClient.MalformedResponse)
        expect(error?.message).toContain(url === "BadFinal" ? "final" : "partial")
        expect(error?.message).toContain(url === "BadFinal" ? "kind" : "status")
      }), 20_000)
  })
})
