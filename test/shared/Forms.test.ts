/**
 * The forms fixture (every BAML type form of BAML's documentation) against the engine's own values, on both Effect
 * lines: every final value the engine parses from a reply, and every partial value it parses from each prefix of that
 * reply (what a stream emits, and more), decodes with the generated schemas; the types say the same as the values.
 */
import { BamlRuntime as Native } from "@boundaryml/baml/native"
import { BamlMedia, decodes, describe, expect, firstIssue, Forms, FormsSchemas as Schemas, it } from "#line"
import { files } from "../fixtures/forms/baml_client/sources.js"

const runtime = Native.fromFiles("baml_src", { ...files }, { SCRIPTED_BASE_URL: "http://127.0.0.1:9" })
const context = runtime.createContextManager()
const parse = (fn: string, text: string, partial: boolean): unknown =>
  runtime.parseLlmResponse(fn, text, partial, context, null, null, {})

/** The final value of a reply, and the distinct partial values of each of its prefixes that the engine parses. */
const values = (fn: string, reply: unknown) => {
  const text = typeof reply === "string" ? reply : JSON.stringify(reply, null, 2)
  const partials = new Map<string, unknown>()
  for (let end = 1; end < text.length; end++) {
    try {
      const value = parse(fn, text.slice(0, end), true)
      partials.set(JSON.stringify(value), value)
    } catch {
      // no partial value yet: a stream emits nothing then
    }
  }
  return { final: parse(fn, text, false), partials: [...partials.values()] }
}

const quoted = {
  greeting: "say \\\"hi\\\"",
  path: "C:\\\\temp",
  unicode: "café ☕",
  answer: 42,
  negative: -1,
  yes: true
}

const everything = {
  sentiment: "happy",
  extra: "One",
  quoted,
  counts: { bySentiment: { Sad: 1, happy: 2 }, bySize: { small: 1 }, byName: { a: 1.5 }, nested: { x: [1, 2] } },
  tree: { name: "a", next: { name: "b", next: null, children: [] }, children: [{ name: "c", children: [] }] },
  json: { a: [1, "x", true, null, { b: 2.5 }], c: "d" },
  whole: { a: "w", b: 2 },
  open: { name: "o", more: 1 },
  aliased: { full_name: "Ada" },
  size: "medium",
  score: 3,
  maybe: 7,
  list: ["a", 1],
  lists: [[1, 2], [3]]
}

const cases = [
  { fn: "All", reply: everything, final: Schemas.AllFinal, partial: Schemas.AllPartial },
  { fn: "Quote", reply: quoted, final: Schemas.QuoteFinal, partial: Schemas.QuotePartial },
  {
    fn: "Count",
    reply: { bySentiment: { happy: 1, Bogus: 3 }, bySize: { small: 1, huge: 2 }, byName: { a: 1.5 }, nested: { x: [1] } },
    final: Schemas.CountFinal,
    partial: Schemas.CountPartial
  },
  {
    fn: "Stream",
    reply: { title: "Hello", body: "some body", tags: ["a", "b"], count: 3, plain: "x" },
    final: Schemas.StreamFinal,
    partial: Schemas.StreamPartial
  },
  {
    fn: "Check",
    reply: { score: 150, age: 30, name: "Ada" },
    final: Schemas.CheckFinal,
    partial: Schemas.CheckPartial
  },
  { fn: "Rate", reply: "5", final: Schemas.RateFinal, partial: Schemas.RatePartial },
  { fn: "Rate", reply: "-3", final: Schemas.RateFinal, partial: Schemas.RatePartial },
  { fn: "Keyed", reply: { happy: 1, Sad: 2, Bogus: 3 }, final: Schemas.KeyedFinal, partial: Schemas.KeyedPartial },
  { fn: "Literal", reply: "say \\\"hi\\\"", final: Schemas.LiteralFinal, partial: Schemas.LiteralPartial },
  { fn: "Literal", reply: "bye", final: Schemas.LiteralFinal, partial: Schemas.LiteralPartial },
  {
    fn: "Tree",
    reply: { name: "a", next: { name: "b", children: [] }, children: [{ name: "c", children: [] }] },
    final: Schemas.TreeFinal,
    partial: Schemas.TreePartial
  },
  {
    fn: "Search",
    reply: { query: "tea", size: "large" },
    final: Schemas.SearchFinal,
    partial: Schemas.SearchPartial
  }
] as const

describe("every BAML type form, against the engine's values", () => {
  it("every final value and every partial value of every prefix decodes with the generated schemas", () => {
    for (const c of cases) {
      const { final, partials } = values(c.fn, c.reply)
      expect(decodes(c.final, final), `${c.fn}'s final ${JSON.stringify(final)}`).toBe(true)
      for (const partial of partials) {
        expect(decodes(c.partial, partial), `${c.fn}'s partial ${JSON.stringify(partial)}`).toBe(true)
      }
    }
    // the replies were seen partway: many partials each
    expect(values("All", everything).partials.length).toBeGreaterThan(20)
  }, 60_000)

  it("the values the engine's TypeScript gets wrong: escaped literals, map keys, checks, recursive aliases", () => {
    const quote = values("Quote", quoted).final as Forms.Quoted
    // a string literal's value is its text as written in the .baml file, backslashes included
    expect(quote.greeting).toBe("say \\\"hi\\\"")
    expect(quote.path).toBe("C:\\\\temp")
    expect(decodes(Schemas.QuoteFinal, { ...quote, greeting: "say \"hi\"" })).toBe(false)
    // a map keyed by an enum or a literal union keeps the keys the model wrote
    const counts = values("Count", cases[2].reply).final as Forms.Counts
    expect(counts.bySentiment).toEqual({ happy: 1, Bogus: 3 })
    expect(counts.bySize).toEqual({ small: 1, huge: 2 })
    // a check's expression is `expression`
    const checked = values("Check", { score: 150, age: 30, name: "Ada" }).final as Forms.Checks
    expect(checked.score.checks.low).toEqual({ name: "low", expression: "this < 100", status: "failed" })
    expect(firstIssue(Schemas.CheckFinal, { ...checked, age: "30" }).path).toEqual(["age"])
    // an enum value by its name whatever its alias, a field by its name, a dynamic class keeps no unknown field
    const all = values("All", everything).final as Forms.Everything
    expect([all.sentiment, all.aliased, all.open]).toEqual(["Happy", { fullName: "Ada" }, { name: "o" }])
    expect(all.json).toEqual(everything.json)
    expect(decodes(Schemas.AllFinal, { ...all, json: { a: [undefined] } })).toBe(false)
  })

  it("derived names never take a BAML name: the class SearchParams keeps its name, the function's gets a `_`", () => {
    expect(decodes(Schemas.SearchParams, { query: "tea", size: "small" })).toBe(true)
    expect(decodes(Schemas.SearchParams_, { params: { query: "tea", size: "small" } })).toBe(true)
    expect(firstIssue(Schemas.SearchParams_, { params: { query: "tea", size: "huge" } }).path).toEqual([
      "params",
      "size"
    ])
  })

  it("media in classes, lists and maps are opaque engine objects; a function with media has no HTTP client", () => {
    const image = BamlMedia.image({ url: "https://example.com/a.png" })
    const audio = BamlMedia.audio({ url: "https://example.com/a.mp3" })
    const media = { picture: image, clips: [audio], docs: { a: BamlMedia.pdf({ url: "https://example.com/a.pdf" }) } }
    const args = { media, first: image, all: [image], named: { a: audio } }
    expect(decodes(Schemas.ShowParams, args)).toBe(true)
    expect(firstIssue(Schemas.ShowParams, { ...args, all: ["a.png"] }).path).toEqual(["all", 0])
    expect(firstIssue(Schemas.ShowParams, { ...args, media: { ...media, clips: ["a.mp3"] } }).path).toEqual([
      "media",
      "clips",
      0
    ])
  })
})
