/**
 * Prints `schemas.ts`: an Effect Schema for every BAML class, enum and type alias (and its partial while it streams),
 * and for every function its arguments (`<Fn>Params`), its final result (`<Fn>Final`) and its partial results
 * (`<Fn>Partial`). Each decodes what the engine returns (see `model.ts`), on the Effect line the client is for.
 *
 * @since 0.2.0
 */
import type { EffectLine } from "./lines.js"
import {
  allTypes,
  hasPartial,
  type Model,
  type Named,
  nullable,
  orNull,
  partialField,
  partialOf,
  type Type
} from "./model.js"
import { type Names, names as namesOf } from "./names.js"
import type { PrintOptions } from "./printIndex.js"
import { mediaClass, mediaImport, type Refer, tsType } from "./printTypes.js"
import { fileHeader, jsDoc, propertyKey } from "./text.js"

/** How each Effect line spells the Schema constructors that differ between them (`S` is the `Schema` binding). */
interface Dialect {
  readonly codec: (S: string, type: string) => string
  readonly union: (S: string, members: ReadonlyArray<string>) => string
  readonly literals: (S: string, values: ReadonlyArray<string | number | boolean>) => string
  readonly record: (S: string, value: string) => string
  readonly optional: (S: string, schema: string) => string
  readonly struct: (S: string, fields: string, dynamic: boolean) => string
}

const dialects: { readonly [Line in EffectLine]: Dialect } = {
  4: {
    codec: (S, type) => `${S}.Codec<${type}>`,
    union: (S, members) => `${S}.Union([${members.join(", ")}])`,
    literals: (S, values) =>
      values.length === 1
        ? `${S}.Literal(${JSON.stringify(values[0])})`
        : `${S}.Literals([${values.map((v) => JSON.stringify(v)).join(", ")}])`,
    record: (S, value) => `${S}.Record(${S}.String, ${value})`,
    optional: (S, schema) => `${S}.optionalKey(${schema})`,
    struct: (S, fields, dynamic) =>
      dynamic
        ? `${S}.StructWithRest(${S}.Struct(${fields}), [${S}.Record(${S}.String, ${S}.Unknown)])`
        : `${S}.Struct(${fields})`
  },
  3: {
    codec: (S, type) => `${S}.Schema<${type}>`,
    union: (S, members) => `${S}.Union(${members.join(", ")})`,
    literals: (S, values) => `${S}.Literal(${values.map((v) => JSON.stringify(v)).join(", ")})`,
    record: (S, value) => `${S}.Record({ key: ${S}.String, value: ${value} })`,
    optional: (S, schema) => `${S}.optionalWith(${schema}, { exact: true })`,
    struct: (S, fields, dynamic) =>
      dynamic
        ? `${S}.Struct(${fields}, ${S}.Record({ key: ${S}.String, value: ${S}.Unknown }))`
        : `${S}.Struct(${fields})`
  }
}

/** The members of a union, flattened: `T?` is `T | null`. */
const members = (type: Type): Array<Type> =>
  type.kind === "union"
    ? type.members.flatMap(members)
    : type.kind === "optional"
    ? [...members(type.type), { kind: "null" }]
    : [type]

/** The schema of `type`: references to named types are suspended, so that order and recursion do not matter. */
const schema = (type: Type, d: Dialect, n: Names): string => {
  const S = n.own.Schema
  switch (type.kind) {
    case "string":
      return `${S}.String`
    case "int":
    case "float":
      return `${S}.Number`
    case "bool":
      return `${S}.Boolean`
    case "null":
      return `${S}.Null`
    case "unknown":
      return `${S}.Unknown`
    case "literal":
      return d.literals(S, [type.value])
    case "ref":
      return `${S}.suspend(() => ${type.partial ? n.partial(type.name) : type.name})`
    case "media": {
      const name = mediaClass[type.media]
      return `${n.own.media}<${n.own.BamlMedia}.${name}>(${JSON.stringify(name)})`
    }
    case "list":
      return `${S}.Array(${schema(type.element, d, n)})`
    case "map":
      return d.record(S, schema(type.value, d, n))
    case "optional":
    case "union": {
      const all = members(type)
      const nonNull = all.filter((m) => m.kind !== "null")
      const inner = nonNull.every((m) => m.kind === "literal")
        ? d.literals(S, [...new Set(nonNull.map((m) => (m as { readonly value: string | number | boolean }).value))])
        : nonNull.length === 1
        ? schema(nonNull[0]!, d, n)
        : d.union(S, nonNull.map((m) => schema(m, d, n)))
      return nonNull.length === all.length ? inner : `${S}.NullOr(${inner})`
    }
    case "checked":
      return `${S}.Struct({ value: ${schema(type.type, d, n)}, checks: ${S}.Struct({ ${
        type.checks.map((c) => `${propertyKey(c)}: ${n.own.Check}`).join(", ")
      } }) })`
    case "state":
      return `${S}.Struct({ value: ${schema(type.type, d, n)}, state: ${
        d.literals(S, ["Pending", "Incomplete", "Complete"])
      } })`
  }
}

/**
 * The JSDoc of a generated export: `what`, then an example that imports the schemas module (as a type only when the
 * example needs no `Schema`) and runs `example`.
 */
const documented = (what: ReadonlyArray<string>, importPath: string, example: string): string => {
  const needsSchema = example.includes("Schema.")
  return jsDoc([
    ...what,
    "",
    "@example",
    "```ts",
    ...(needsSchema ? ["import { Schema } from \"effect\""] : []),
    `import ${needsSchema ? "" : "type "}* as Schemas from ${JSON.stringify(importPath)}`,
    "",
    ...example.split("\n"),
    "```"
  ], "")
}

/** A field or parameter of a struct: its key and its schema, optional if it is. */
const member = (name: string, type: Type, optional: boolean, d: Dialect, n: Names): string =>
  `${propertyKey(name)}: ${optional ? d.optional(n.own.Schema, schema(type, d, n)) : schema(type, d, n)}`

/**
 * Prints `schemas.ts` for the model, on the Effect line of `options`.
 *
 * @example
 * ```ts
 * declare const model: Model
 * const text = printSchemas(model, { importPath: "./baml_client/index.js", effect: 4 })
 * ```
 * @since 0.3.0
 * @category printing
 */
export const printSchemas = (model: Model, options: PrintOptions): string => {
  const d = dialects[options.effect]
  const n = namesOf(model)
  const o = n.own
  const S = o.Schema
  const refer: Refer = {
    named: (name, partial) => partial ? n.partial(name) : name,
    media: (media) => `${o.BamlMedia}.${media}`,
    checked: o.Checked,
    state: o.StreamState,
    readonly: true
  }
  const importPath = options.importPath.replace(/index\.js$/, "schemas.js")

  const declared = (name: string, what: string, type: string, value: string): string =>
    [
      documented([what], importPath, `const show = (value: Schemas.${name}) => JSON.stringify(value)`),
      type.startsWith("{") ? `export interface ${name} ${type}` : `export type ${name} = ${type}`,
      documented([what], importPath, `const decode = Schema.decodeUnknownSync(Schemas.${name})`),
      `export const ${name}: ${d.codec(S, name)} = ${value}`
    ].join("\n")

  const fieldsOf = (
    fields: ReadonlyArray<{ readonly name: string; readonly type: Type; readonly optional: boolean }>,
    dynamic: boolean
  ) => {
    const types = fields.map((f) => `  readonly ${propertyKey(f.name)}${f.optional ? "?" : ""}: ${tsType(f.type, refer)}`)
    if (dynamic) types.push("  readonly [key: string]: unknown")
    const schemas = fields.map((f) => `  ${member(f.name, f.type, f.optional, d, n)}`)
    return {
      type: `{\n${types.join("\n")}\n}`,
      value: d.struct(S, schemas.length === 0 ? "{}" : `{\n${schemas.join(",\n")}\n}`, dynamic)
    }
  }

  const final = (named: Named): string => {
    const kind = named.kind === "alias" ? "type alias" : named.kind
    const what = `The BAML ${kind} \`${named.name}\`, as the engine returns it.`
    switch (named.kind) {
      case "enum": {
        // A dynamic enum's values are known at run time only: any string may be one.
        const values = named.values.map((v) => v.name)
        return declared(
          named.name,
          what,
          named.dynamic ? "string" : values.map((v) => JSON.stringify(v)).join(" | "),
          named.dynamic ? `${S}.String` : d.literals(S, values)
        )
      }
      case "class": {
        const f = fieldsOf(
          named.fields.map((f) => ({ name: f.name, type: f.type, optional: nullable(f.type, model.types) })),
          named.dynamic
        )
        return declared(named.name, what, f.type, f.value)
      }
      case "alias":
        return declared(named.name, what, tsType(named.type, refer), schema(named.type, d, n))
    }
  }

  const partial = (named: Named): string => {
    const kind = named.kind === "alias" ? "type alias" : named.kind
    const what = `The partial results of the BAML ${kind} \`${named.name}\` while it streams, as the engine emits them.`
    const name = n.partial(named.name)
    if (named.kind === "class") {
      const f = fieldsOf(
        named.fields.map((field) => ({ name: field.name, ...partialField(field, model.types) })),
        named.dynamic
      )
      return declared(name, what, f.type, f.value)
    }
    const type = named.kind === "alias" ? orNull(partialOf(named.type, model.types)) : { kind: "null" as const }
    return declared(name, what, tsType(type, refer), schema(type, d, n))
  }

  const fn = model.functions.map((f) => {
    const entry = (name: string, what: ReadonlyArray<string>, example: string, value: string) =>
      [
        documented(what, importPath, example),
        `export const ${name} = ${value}`,
        documented(
          [`The type of {@link ${name}}.`],
          importPath,
          `const show = (value: Schemas.${name}) => JSON.stringify(value)`
        ),
        `export type ${name} = typeof ${name}.Type`
      ].join("\n")
    const params = f.params.map((p) => `  ${member(p.name, p.type, nullable(p.type, model.types), d, n)}`)
    return [
      entry(
        n.params(f.name),
        [
          `The arguments of the BAML function \`${f.name}\`, by parameter name: a server decodes a request's body with`,
          "it (`BamlHttp.handler`'s `params`), so that arguments that do not match never reach the engine."
        ],
        `const args = Schema.decodeUnknownSync(Schemas.${n.params(f.name)})(JSON.parse("{}"))`,
        params.length === 0 ? `${S}.Struct({})` : `${S}.Struct({\n${params.join(",\n")}\n})`
      ),
      entry(
        n.final(f.name),
        [`The final result of the BAML function \`${f.name}\`, as the engine returns it.`],
        `const isFinal = Schema.is(Schemas.${n.final(f.name)})`,
        schema(f.returns, d, n)
      ),
      entry(
        n.streamed(f.name),
        [`A partial result of the BAML function \`${f.name}\` while it streams, as the engine emits it.`],
        `const isPartial = Schema.is(Schemas.${n.streamed(f.name)})`,
        schema(partialOf(f.returns, model.types), d, n)
      )
    ].join("\n\n")
  })

  const usesMedia = allTypes(model).some((t) => t.kind === "media")
  return [
    fileHeader(
      "Effect Schemas of the BAML types and functions of baml_src: for every function its parameters\n" +
        " * (`<Fn>Params`), its final result (`<Fn>Final`) and its partial results while it streams\n" +
        " * (`<Fn>Partial`). A server decodes untrusted arguments with them, a client what it receives. This module\n" +
        " * loads no BAML engine."
    ),
    ...(usesMedia ? [mediaImport(options.effect, o.BamlMedia)] : []),
    `import { ${S === "Schema" ? "Schema" : `Schema as ${S}`} } from "effect"`,
    "",
    documented(
      ["The outcome of one `@check` of a value, as the engine reports it."],
      importPath,
      `const failed = (check: Schemas.${o.Check}) => check.status === "failed"`
    ),
    `export interface ${o.Check} {`,
    "  readonly name: string",
    "  readonly expression: string",
    "  readonly status: \"succeeded\" | \"failed\"",
    "}",
    documented([`The schema of {@link ${o.Check}}.`], importPath, `const isCheck = Schema.is(Schemas.${o.Check})`),
    `export const ${o.Check}: ${d.codec(S, o.Check)} = ${S}.Struct({`,
    `  name: ${S}.String,`,
    `  expression: ${S}.String,`,
    `  status: ${d.literals(S, ["succeeded", "failed"])}`,
    "})",
    "",
    documented(
      ["A value with `@check`s: the value, and the outcome of each check by its name."],
      importPath,
      `const passed = (checked: Schemas.${o.Checked}<number, "positive">) =>\n` +
        "  checked.checks.positive.status === \"succeeded\""
    ),
    `export interface ${o.Checked}<T, Name extends string> {`,
    "  readonly value: T",
    `  readonly checks: { readonly [K in Name]: ${o.Check} }`,
    "}",
    "",
    documented(
      ["A `@stream.with_state` field while it streams: its value so far and whether it is complete."],
      importPath,
      `const done = (field: Schemas.${o.StreamState}<string | null>) => field.state === "Complete"`
    ),
    `export interface ${o.StreamState}<T> {`,
    "  readonly value: T",
    "  readonly state: \"Pending\" | \"Incomplete\" | \"Complete\"",
    "}",
    ...(usesMedia
      ? [
        "",
        "// A media value (an engine object) is opaque here: any object is accepted, and none travels as JSON.",
        `const ${o.media} = <A>(identifier: string): ${d.codec(S, "A")} =>`,
        `  ${S}.declare((u: unknown): u is A => typeof u === "object" && u !== null, { identifier })`
      ]
      : []),
    "",
    ...model.types.map((named) => final(named) + "\n"),
    ...model.types.filter(hasPartial).map((named) => partial(named) + "\n"),
    fn.join("\n\n"),
    ""
  ].join("\n").replace(/\n{3,}/g, "\n\n").replace(/\n+$/, "\n")
}
