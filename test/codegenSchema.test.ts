// The passes of schemas.ts that the kinds fixture does not reach: type syntax, names, .baml aliases over lines.
import { describe, expect, it } from "@effect/vitest"
import { NameCollisionError } from "../src/core/generator/codegen.js"
import { namedTypes, parseType, render } from "../src/core/generator/codegenSchema.js"

const ref = (name: string) => ({ kind: "ref", name, partial: false }) as const

describe("codegenSchema", () => {
  it("reads the engine's TypeScript and BAML's own type syntax into the same types", () => {
    expect(parseType("(types.Point | Circle)[] | null", "ts", ref)).toEqual({
      kind: "union",
      members: [
        { kind: "array", element: { kind: "union", members: [ref("Point"), ref("Circle")] } },
        { kind: "null" }
      ]
    })
    expect(parseType("map<string, (Point | Circle)[]>?", "baml", ref)).toEqual({
      kind: "union",
      members: [
        { kind: "record", value: { kind: "array", element: { kind: "union", members: [ref("Point"), ref("Circle")] } } },
        { kind: "null" }
      ]
    })
    expect(parseType("types.Checked<number,\"a\" | \"b\">", "ts", ref)).toEqual({
      kind: "checked",
      value: { kind: "number" },
      names: ["a", "b"]
    })
    expect(parseType("StreamState<partial_types.Tree | null>", "ts", ref)).toEqual({
      kind: "state",
      value: { kind: "union", members: [{ kind: "ref", name: "Tree", partial: true }, { kind: "null" }] }
    })
    expect(parseType("\"a, b\" | -3 | true | video", "baml", ref)).toEqual({
      kind: "union",
      members: [
        { kind: "literal", value: "a, b" },
        { kind: "literal", value: -3 },
        { kind: "literal", value: true },
        { kind: "media", name: "Video" }
      ]
    })
    expect(() => parseType("Record<string,", "ts", ref)).toThrow(/cannot read the type/)
  })

  it("a recursive alias is read from its .baml declaration, also when its union goes on over lines", () => {
    const { finals, partials } = namedTypes({
      types: "export interface Json {\n  [key: string]: Json\n}\n",
      partialTypes: "export namespace partial_types {\nexport interface Json {\n  [key: string]: Json\n}\n}\n",
      files: { "a.baml": "// a JSON value\ntype Json = int\n  | string // text\n  | Json[] @description(\"x\")\n" }
    })
    const json = { kind: "union", members: [{ kind: "number" }, { kind: "string" }, { kind: "array", element: ref("Json") }] }
    expect(finals).toEqual([{ kind: "alias", name: "Json", type: json }])
    expect(partials[0]).toMatchObject({ kind: "alias", name: "Json", type: { kind: "union" } })
  })

  it("refuses two declarations of the same name in schemas.ts, naming both", () => {
    const input = {
      signatures: [],
      types: "export interface A {\n  x: string\n}\nexport interface APartial {\n  y: string\n}\n",
      partialTypes: "export namespace partial_types {\nexport interface A {\n  x?: string | null\n}\n}\n",
      files: {},
      importPath: "./baml_client/index.js",
      effect: 4 as const
    }
    expect(() => render(input)).toThrow(NameCollisionError)
    expect(() => render(input)).toThrow(/`APartial` for the BAML class APartial and for the partial type of A/)
    expect(render({ ...input, types: "export interface A {\n  x: string\n}\n" })).toContain(
      "export const APartial: Schema.Codec<APartial> = Schema.Struct({"
    )
  })
})
