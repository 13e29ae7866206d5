/**
 * The generated schemas over HTTP: a server decodes a browser's arguments with `<Fn>Params` (a 400 naming the path,
 * and the engine is never called), and the generated client decodes what it receives with `<Fn>Partial` and
 * `<Fn>Final`. The schemas against the engine's own values: `Schemas.test.ts`.
 */
import {
  BamlClient,
  BamlHttp,
  ClientErrors as BamlError,
  describe,
  Effect,
  Exit,
  expect,
  failureOf,
  HttpClient,
  HttpClientRequest,
  HttpServerResponse,
  Kinds,
  KindsHttp,
  KindsSchemas as Schemas,
  Layer,
  layer,
  Option,
  route,
  ScriptedProvider,
  serve,
  Stream,
  withJsonBody
} from "#line"
import { describeArgs as argsOf, KindsLayer, kindsProfile as profile, marker, servedAt } from "./fixtures.js"

const Provider = ScriptedProvider.ScriptedProvider

/** A server of the kinds fixture's Describe, its arguments decoded with the generated schema. */
const Routes = serve(
  route("POST", "/baml/Describe", BamlHttp.handler("Describe", { params: Schemas.DescribeParams })),
  route(
    "POST",
    "/baml/BadFinal",
    HttpServerResponse.text(`event: final\ndata: ${JSON.stringify({ ...profile("bad"), kind: "robot" })}\n\n`, {
      contentType: "text/event-stream"
    })
  ),
  route(
    "POST",
    "/baml/BadPartial",
    HttpServerResponse.text("event: partial\ndata: {\"tags\":{},\"labels\":[],\"status\":\"active\"}\n\n", {
      contentType: "text/event-stream"
    })
  )
)

const AppLayer = servedAt(Routes).pipe(Layer.provideMerge(KindsLayer))

describe("schemas over HTTP", () => {
  layer(AppLayer, { timeout: "60 seconds", excludeTestServices: true })((it) => {
    it.effect("a server answers arguments that do not decode with a 400 naming the path; the engine is never called", () =>
      Effect.gen(function*() {
        const provider = yield* Provider
        const args = argsOf("bad")
        // as a browser sends it: a POST of JSON with fetch
        const response = yield* HttpClient.execute(
          HttpClientRequest.post("/Describe").pipe(
            withJsonBody({ ...args, profile: { ...args.profile, kind: "robot" } })
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
        const messages = Array.from(
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
          KindsHttp.Describe({} as Kinds.Profile, [], null, {}, "c", { url: `/${url}` })
        ).pipe(Effect.exit)
        expect(Exit.isFailure(exit)).toBe(true)
        const error = Exit.isFailure(exit) ? Option.getOrThrow(failureOf(exit.cause)) : undefined
        expect(error).toBeInstanceOf(BamlClient.MalformedResponse)
        expect(error?.message).toContain(url === "BadFinal" ? "final" : "partial")
        expect(error?.message).toContain(url === "BadFinal" ? "kind" : "status")
      }), 20_000)
  })
})
