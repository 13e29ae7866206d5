/**
 * The generated schemas.ts, against what the engine really returns on the scripted provider: every partial and final
 * value of every kind of BAML type decodes, a mangled one does not and names its path, and a browser's arguments decode
 * with `<Fn>Params`. Over HTTP (a server's 400, a client's decoding): `Schemas.http.test.ts`.
 */
import {
  Baml, BamlMedia, decodes, Effect, expect, firstIssue as failure, KindsSchemas as Schemas, layer, Schema,
  ScriptedProvider, Stream
} from "#line"
import { describeArgs as argsOf, KindsLayer, kindsProfile as profile, marker } from "./fixtures.js"

const Provider = ScriptedProvider.ScriptedProvider

/** Every event of a stream, split into its partial values and its final value. */
const run = (name: string, args: Readonly<Record<string, unknown>>) =>
  Effect.map(Stream.runCollect(Baml.streamEvents(name, args)), (events) => {
    const all = Array.from(events)
    const final = all.find((e) => e._tag === "Final")
    return { partials: all.filter((e) => e._tag === "Partial").map((e) => e.value), final: final?.value }
  })

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

  it.effect("the other attributes: a class streamed whole, @alias, @assert, @skip, a @check on the result, video", () =>
    Effect.gen(function*() {
      const provider = yield* Provider
      const mark = marker("schemas-attributes")
      const script = (needle: string, script: ScriptedProvider.Rule["script"]) =>
        provider.script({ match: (prompt) => prompt.includes(`${needle} ${mark}`), script })
      const reply = (reply: string) => ({ reply, chunkSize: 3, delayMs: 2 })
      yield* script("digest", ScriptedProvider.json({ title: "Tea", count: 3 }, { chunkSize: 3, delayMs: 2 }))
      // the model writes a field's alias; the engine returns the field's name
      yield* script("rename adult", reply("{\n  \"full_name\": \"Ada Lovelace\",\n  \"age\": 36\n}"))
      yield* script("rename child", reply("{\n  \"full_name\": \"Ada\",\n  \"age\": 12\n}"))
      yield* script("rank shown", reply("High"))
      yield* script("rank skipped", reply("Hidden"))
      yield* script("score small", reply("3"))
      yield* script("score large", reply("12"))

      // @@stream.done: the engine sends no partial of the class until it is whole, so its partial type is the class
      const digest = yield* run("Sum", { topic: mark })
      expect(digest.final).toEqual({ title: "Tea", count: 3 })
      expect(decodes(Schemas.SumFinal, digest.final)).toBe(true)
      for (const partial of digest.partials) {
        expect(partial).toEqual(digest.final)
        expect(decodes(Schemas.SumPartial, partial)).toBe(true)
      }
      expect(failure(Schemas.SumPartial, { title: "Tea", count: null }).path).toEqual(["count"])

      const renamed = yield* run("Rename", { who: `adult ${mark}` })
      expect(renamed.final).toEqual({ fullName: "Ada Lovelace", age: 36 })
      expect(decodes(Schemas.RenameFinal, renamed.final)).toBe(true)
      for (const partial of renamed.partials) expect(decodes(Schemas.RenamePartial, partial)).toBe(true)
      expect(failure(Schemas.RenameFinal, { full_name: "Ada Lovelace", age: 36 }).path).toEqual(["fullName"])
      // a failed @assert fails the call: no value to decode
      const child = yield* Effect.flip(run("Rename", { who: `child ${mark}` }))
      expect(child._tag).toBe("BamlValidationError")

      const ranked = yield* run("Rank", { text: `shown ${mark}` })
      expect(ranked.final).toBe("High")
      expect(decodes(Schemas.RankFinal, ranked.final)).toBe(true)
      // a value marked @skip is not one the engine returns
      expect((yield* Effect.flip(run("Rank", { text: `skipped ${mark}` })))._tag).toBe("BamlValidationError")

      // a @check on the function's result: the result is a checked value, passed or failed
      const check = (status: string) => ({ small: { name: "small", expression: "this < 10", status } })
      const small = yield* run("Score", { text: `small ${mark}` })
      const large = yield* run("Score", { text: `large ${mark}` })
      expect([small.final, large.final]).toEqual([
        { value: 3, checks: check("succeeded") },
        { value: 12, checks: check("failed") }
      ])
      expect(decodes(Schemas.ScoreFinal, small.final)).toBe(true)
      expect(decodes(Schemas.ScoreFinal, large.final)).toBe(true)
      expect(failure(Schemas.ScoreFinal, 3).path).toEqual([])
      expect(failure(Schemas.ScoreFinal, { value: 3, checks: {} }).path).toEqual(["checks", "small"])
      expect(decodes(Schemas.ScorePartial, { value: null, checks: check("failed") })).toBe(true)

      // a video argument is opaque, like the other media
      const clip = BamlMedia.video({ url: "https://example.com/clip.mp4" })
      expect(decodes(Schemas.WatchParams, { clip })).toBe(true)
      expect(failure(Schemas.WatchParams, { clip: "clip.mp4" }).path).toEqual(["clip"])
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
      // while it streams, a checked value's checks come before the value itself, which is null until then
      const pending = { value: null, checks: { positive: { name: "positive", expression: "this > 0", status: "failed" } } }
      expect(decodes(Schemas.MeasurePartial, { radius: pending })).toBe(true)
      expect(decodes(Schemas.MeasureFinal, { radius: pending })).toBe(false)
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
      // an enum's values are fixed, unless it is @@dynamic: a TypeBuilder may add values at run time
      expect(decodes(Schemas.Color, "Purple")).toBe(false)
      expect(decodes(Schemas.Mood, "Calm")).toBe(true)
      expect(decodes(Schemas.Mood, "Added at run time")).toBe(true)
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

