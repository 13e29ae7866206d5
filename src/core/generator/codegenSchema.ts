/**
 * The generated client's `schemas.ts`: an Effect Schema for every BAML class, enum and type alias, and for every
 * function its parameters (`<Fn>Params`), its final result (`<Fn>Final`) and its partial results (`<Fn>Partial`).
 * Shapes are read from the engine's generated TypeScript (`types.ts`, `partial_types.ts` and the signatures), which
 * says what the engine's parser produces, also while streaming (`@stream.done`, `@stream.not_null`,
 * `@stream.with_state`). Where those types are known to be wrong the engine's values win: a recursive type alias (the
 * engine writes an index signature for it) is read from its .baml declaration, and a check's expression is in
 * `expression` (the engine's `Check` type says `expr`).
 *
 * @since 0.2.0
 */
import { codeOnly, type EffectLine, fileHeader, jsDoc, NameCollisionError, type RenderInput } from "./codegen.js"

/**
 * A type as the generated schemas see it: what the engine's TypeScript (or a .baml alias) says, parsed.
 *
 * @example
 * ```ts
 * const tags: Type = { kind: "record", value: { kind: "number" } }
 * ```
 * @since 0.2.0
 * @category models
 */
export type Type =
  | { readonly kind: "string" | "number" | "boolean" | "null" | "unknown" }
  | { readonly kind: "literal"; readonly value: string | number | boolean }
  | { readonly kind: "ref"; readonly name: string; readonly partial: boolean }
  | { readonly kind: "media"; readonly name: string }
  | { readonly kind: "array"; readonly element: Type }
  | { readonly kind: "record"; readonly value: Type }
  | { readonly kind: "union"; readonly members: ReadonlyArray<Type> }
  | { readonly kind: "checked"; readonly value: Type; readonly names: ReadonlyArray<string> }
  | { readonly kind: "state"; readonly value: Type }

/**
 * A field of a BAML class, as the engine's TypeScript declares it.
 *
 * @example
 * ```ts
 * const color: Field = { name: "color", optional: true, type: { kind: "null" } }
 * ```
 * @since 0.2.0
 * @category models
 */
export interface Field {
  readonly name: string
  readonly optional: boolean
  readonly type: Type
}

/**
 * A named BAML type: an enum (its values' names, which the engine returns whatever their `@alias`; `dynamic` for
 * `@@dynamic`, whose values a `TypeBuilder` may add to), a class (its fields; `dynamic` for `@@dynamic`, whose extra
 * fields are kept) or a type alias.
 *
 * @example
 * ```ts
 * const color: Named = { kind: "enum", name: "Color", values: ["Red", "Green"], dynamic: false }
 * ```
 * @since 0.2.0
 * @category models
 */
export type Named =
  | { readonly kind: "enum"; readonly name: string; readonly values: ReadonlyArray<string>; readonly dynamic: boolean }
  | { readonly kind: "class"; readonly name: string; readonly fields: ReadonlyArray<Field>; readonly dynamic: boolean }
  | { readonly kind: "alias"; readonly name: string; readonly type: Type }

const media = new Set(["Image", "Audio", "Pdf", "Video"])
const bamlMedia: Record<string, string> = { image: "Image", audio: "Audio", pdf: "Pdf", video: "Video" }

const tokenize = (text: string): Array<string> => {
  const tokens: Array<string> = []
  // whitespace | a string literal | a number | a (dotted) name | punctuation
  const pattern = new RegExp(
    [
      /\s+/.source,
      /("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')/.source,
      /(-?\d+(?:\.\d+)?)/.source,
      /([A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*)/.source,
      /([|[\]<>,(){}?:;])/.source
    ].join("|"),
    "gy"
  )
  let at = 0
  while (at < text.length) {
    pattern.lastIndex = at
    const match = pattern.exec(text)
    if (match === null) throw new Error(`cannot read the type \`${text}\` at \`${text.slice(at, at + 20)}\``)
    const token = match[1] ?? match[2] ?? match[3] ?? match[4]
    if (token !== undefined) tokens.push(token)
    at = pattern.lastIndex
  }
  return tokens
}

/**
 * How a bare name resolves: to the final type, or to the partial type when there is one and the text is a partial's.
 */
type Resolve = (name: string) => Type

/**
 * Parses a type written in the engine's TypeScript (`syntax: "ts"`) or in BAML (`syntax: "baml"`).
 *
 * @example
 * ```ts
 * parseType("Record<string, number> | null", "ts", (name) => ({ kind: "ref", name, partial: false }))
 * ```
 * @since 0.2.0
 * @category parsing
 */
export const parseType = (text: string, syntax: "ts" | "baml", resolve: Resolve): Type => {
  const tokens = tokenize(text)
  let i = 0
  const peek = () => tokens[i]
  const expect = (token: string) => {
    if (tokens[i] !== token) throw new Error(`cannot read the type \`${text}\`: expected \`${token}\``)
    i++
  }
  const args = (): Array<Type> => {
    expect("<")
    const out = [union()]
    while (peek() === ",") {
      i++
      out.push(union())
    }
    expect(">")
    return out
  }
  const primary = (): Type => {
    const token = tokens[i++]
    if (token === undefined) throw new Error(`cannot read the type \`${text}\`: it ends early`)
    if (token === "(") {
      const inner = union()
      expect(")")
      return inner
    }
    if (token.startsWith("\"") || token.startsWith("'")) {
      return { kind: "literal", value: JSON.parse(token.startsWith("'") ? `"${token.slice(1, -1)}"` : token) }
    }
    if (/^-?\d/.test(token)) return { kind: "literal", value: Number(token) }
    if (token === "true" || token === "false") return { kind: "literal", value: token === "true" }
    if (token === "null") return { kind: "null" }
    if (token === "string") return { kind: "string" }
    if (syntax === "ts") {
      if (token === "number") return { kind: "number" }
      if (token === "boolean") return { kind: "boolean" }
      if (token === "any" || token === "unknown") return { kind: "unknown" }
      if (media.has(token)) return { kind: "media", name: token }
      if (token === "Record") {
        const [, value] = args()
        return { kind: "record", value: value! }
      }
      if (token === "Checked" || token === "types.Checked") {
        const [value, names] = args()
        return { kind: "checked", value: value!, names: literalNames(names!) }
      }
      if (token === "StreamState") return { kind: "state", value: args()[0]! }
      if (token.startsWith("types.")) return { kind: "ref", name: token.slice(6), partial: false }
      if (token.startsWith("partial_types.")) return { kind: "ref", name: token.slice(14), partial: true }
    } else {
      if (token === "int" || token === "float") return { kind: "number" }
      if (token === "bool") return { kind: "boolean" }
      if (token in bamlMedia) return { kind: "media", name: bamlMedia[token]! }
      if (token === "map") {
        const [, value] = args()
        return { kind: "record", value: value! }
      }
    }
    if (!/^[A-Za-z_$][\w$]*$/.test(token)) throw new Error(`cannot read the type \`${text}\` at \`${token}\``)
    return resolve(token)
  }
  const postfix = (): Type => {
    let type = primary()
    for (;;) {
      if (peek() === "[" && tokens[i + 1] === "]") {
        i += 2
        type = { kind: "array", element: type }
      } else if (syntax === "baml" && peek() === "?") {
        i++
        type = { kind: "union", members: [type, { kind: "null" }] }
      } else return type
    }
  }
  const union = (): Type => {
    if (peek() === "|") i++
    const members = [postfix()]
    while (peek() === "|") {
      i++
      members.push(postfix())
    }
    return members.length === 1 ? members[0]! : { kind: "union", members }
  }
  const type = union()
  if (i !== tokens.length) throw new Error(`cannot read the type \`${text}\` at \`${tokens[i]}\``)
  return type
}

const literalNames = (type: Type): Array<string> => {
  const members = type.kind === "union" ? type.members : [type]
  return members.flatMap((m) => m.kind === "literal" && typeof m.value === "string" ? [m.value] : [])
}

/** The body of the block that opens at `open` (a `{`), without its braces. */
const block = (text: string, open: number): string => {
  let depth = 0
  for (let i = open; i < text.length; i++) {
    const c = text[i]
    if (c === "\"") {
      i++
      while (i < text.length && text[i] !== "\"") i += text[i] === "\\" ? 2 : 1
    } else if (c === "{") depth++
    else if (c === "}" && --depth === 0) return text.slice(open + 1, i)
  }
  throw new Error("a block of the engine's types has no end")
}

interface Declared {
  readonly enums: Map<string, ReadonlyArray<string>>
  readonly classes: Map<string, string>
  readonly aliases: Map<string, string>
}

/** The enums, interfaces (their bodies) and type aliases (their text) a TypeScript source declares. */
const declaredIn = (source: string): Declared => {
  const enums = new Map<string, ReadonlyArray<string>>()
  const classes = new Map<string, string>()
  const aliases = new Map<string, string>()
  for (const match of source.matchAll(/^[ \t]*export\s+enum\s+(\w+)\s*\{/gm)) {
    const body = block(source, match.index + match[0].length - 1)
    enums.set(match[1]!, Array.from(body.matchAll(/=\s*("(?:[^"\\]|\\.)*")/g), (m) => JSON.parse(m[1]!) as string))
  }
  for (const match of source.matchAll(/^[ \t]*export\s+interface\s+(\w+)\s*\{/gm)) {
    classes.set(match[1]!, block(source, match.index + match[0].length - 1))
  }
  for (const match of source.matchAll(/^[ \t]*export\s+type\s+(\w+)\s*=\s*(.+)$/gm)) {
    aliases.set(match[1]!, match[2]!.trim().replace(/;$/, ""))
  }
  return { enums, classes, aliases }
}

const fieldsOf = (body: string, resolve: Resolve): { fields: Array<Field>; dynamic: boolean } => {
  const fields: Array<Field> = []
  let dynamic = false
  for (const raw of body.split("\n")) {
    const line = raw.trim()
    if (line === "" || line.startsWith("/") || line.startsWith("*")) continue
    if (/^\[key:\s*string\]\s*:/.test(line)) {
      dynamic = true
      continue
    }
    const field = /^("(?:[^"\\]|\\.)*"|[\w$-]+)(\?)?\s*:\s*(.+?)[,;]?$/.exec(line)
    if (field === null) throw new Error(`cannot read the field \`${line}\` of the engine's types`)
    const name = field[1]!.startsWith("\"") ? JSON.parse(field[1]!) as string : field[1]!
    fields.push({ name, optional: field[2] === "?", type: parseType(field[3]!, "ts", resolve) })
  }
  return { fields, dynamic }
}

/** The enums of the .baml sources marked `@@dynamic`: a `TypeBuilder` may add values to them at run time. */
const dynamicEnums = (files: Readonly<Record<string, string>>): Set<string> => {
  const out = new Set<string>()
  for (const text of Object.values(files)) {
    const code = codeOnly(text)
    for (const match of code.matchAll(/(^|\n)[ \t]*enum[ \t]+(\w+)\s*\{/g)) {
      if (/@@dynamic\b/.test(block(code, match.index + match[0].length - 1))) out.add(match[2]!)
    }
  }
  return out
}

/** Each `type X = ...` of the .baml sources: its right-hand side, without attributes. */
const bamlAliases = (files: Readonly<Record<string, string>>): Map<string, string> => {
  const out = new Map<string, string>()
  for (const text of Object.values(files)) {
    const code = codeOnly(text)
    for (const match of code.matchAll(/(^|\n)[ \t]*type[ \t]+(\w+)\s*=/g)) {
      const start = match.index + match[0].length
      const lineEnd = (from: number) => code.indexOf("\n", from)
      let end = lineEnd(start)
      // A union may go on over lines that start with `|`.
      while (end !== -1 && /^\s*\|/.test(code.slice(end + 1, lineEnd(end + 1) === -1 ? undefined : lineEnd(end + 1)))) {
        end = lineEnd(end + 1)
      }
      const line = end === -1 ? code.slice(start) : code.slice(start, end)
      // Attributes (`@check`, `@assert`, `@description`) follow the type.
      const attribute = line.indexOf("@")
      const stop = start + (attribute === -1 ? line.length : attribute)
      // The code-only text blanks out literals: the type's text is the source's at the same place.
      out.set(match[2]!, text.slice(start, stop).replace(/\/\/.*$/gm, "").trim())
    }
  }
  return out
}

/**
 * Every named type of the engine's types, final and partial: classes from the interfaces, enums, type aliases (a
 * recursive one from its .baml declaration).
 *
 * @example
 * ```ts
 * declare const input: RenderInput
 * const { finals, partials } = namedTypes(input)
 * ```
 * @since 0.2.0
 * @category parsing
 */
export const namedTypes = (
  input: Pick<RenderInput, "types" | "partialTypes" | "files">
): { readonly finals: Array<Named>; readonly partials: Array<Named> } => {
  const final = declaredIn(input.types)
  const namespaceAt = input.partialTypes.search(/export\s+namespace\s+partial_types\s*\{/)
  const partial = namespaceAt === -1
    ? { enums: new Map(), classes: new Map(), aliases: new Map() }
    : declaredIn(block(input.partialTypes, input.partialTypes.indexOf("{", namespaceAt)))
  const baml = bamlAliases(input.files)
  const dynamic = dynamicEnums(input.files)
  const finalRef: Resolve = (name) => ({ kind: "ref", name, partial: false })
  const partialRef: Resolve = (name) => ({
    kind: "ref",
    name,
    partial: partial.classes.has(name) || partial.aliases.has(name)
  })
  const engineOwn = new Set(["Checked", "Check"])
  const read = (declared: Declared, resolve: Resolve, isPartial: boolean): Array<Named> => {
    const out: Array<Named> = []
    for (const [name, values] of declared.enums) out.push({ kind: "enum", name, values, dynamic: dynamic.has(name) })
    for (const [name, body] of declared.classes) {
      if (engineOwn.has(name)) continue
      const rhs = baml.get(name)
      if (rhs !== undefined) {
        // A recursive alias: the engine's TypeScript for it is an index signature, not the alias.
        const type = parseType(rhs, "baml", resolve)
        out.push({ kind: "alias", name, type: isPartial ? { kind: "union", members: [type, { kind: "null" }] } : type })
        continue
      }
      out.push({ kind: "class", name, ...fieldsOf(body, resolve) })
    }
    for (const [name, text] of declared.aliases) out.push({ kind: "alias", name, type: parseType(text, "ts", resolve) })
    return out.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
  }
  const partials = read(partial, partialRef, true).map((named): Named =>
    named.kind === "class"
      ? { ...named, fields: named.fields.map((field) => ({ ...field, type: pendingChecks(field.type) })) }
      : named.kind === "alias"
      ? { ...named, type: pendingChecks(named.type) }
      : named
  )
  return { finals: read(final, finalRef, false), partials }
}

/**
 * A partial result's checked values: while it streams, the engine sends a checked value's checks before the value
 * itself (`{ value: null, checks: { ... } }`), which its TypeScript (`Checked<T>`) does not say.
 *
 * @example
 * ```ts
 * pendingChecks({ kind: "checked", value: { kind: "number" }, names: ["positive"] })
 * // { kind: "checked", value: { kind: "union", members: [{ kind: "number" }, { kind: "null" }] }, names: ["positive"] }
 * ```
 * @since 0.2.0
 * @category parsing
 */
export const pendingChecks = (type: Type): Type => {
  switch (type.kind) {
    case "checked":
      return { ...type, value: { kind: "union", members: [pendingChecks(type.value), { kind: "null" }] } }
    case "array":
      return { ...type, element: pendingChecks(type.element) }
    case "record":
      return { ...type, value: pendingChecks(type.value) }
    case "union":
      return { ...type, members: type.members.map(pendingChecks) }
    case "state":
      return { ...type, value: pendingChecks(type.value) }
    default:
      return type
  }
}

/** How each Effect line spells the Schema constructors that differ between them. */
interface Dialect {
  readonly codec: (type: string) => string
  readonly union: (members: ReadonlyArray<string>) => string
  readonly literals: (values: ReadonlyArray<string | number | boolean>) => string
  readonly record: (value: string) => string
  readonly optional: (schema: string) => string
  readonly struct: (fields: string, dynamic: boolean) => string
}

const dialects: { readonly [Line in EffectLine]: Dialect } = {
  4: {
    codec: (type) => `Schema.Codec<${type}>`,
    union: (members) => `Schema.Union([${members.join(", ")}])`,
    literals: (values) =>
      values.length === 1
        ? `Schema.Literal(${JSON.stringify(values[0])})`
        : `Schema.Literals([${values.map((v) => JSON.stringify(v)).join(", ")}])`,
    record: (value) => `Schema.Record(Schema.String, ${value})`,
    optional: (schema) => `Schema.optionalKey(${schema})`,
    struct: (fields, dynamic) =>
      dynamic
        ? `Schema.StructWithRest(Schema.Struct(${fields}), [Schema.Record(Schema.String, Schema.Unknown)])`
        : `Schema.Struct(${fields})`
  },
  3: {
    codec: (type) => `Schema.Schema<${type}>`,
    union: (members) => `Schema.Union(${members.join(", ")})`,
    literals: (values) => `Schema.Literal(${values.map((v) => JSON.stringify(v)).join(", ")})`,
    record: (value) => `Schema.Record({ key: Schema.String, value: ${value} })`,
    optional: (schema) => `Schema.optionalWith(${schema}, { exact: true })`,
    struct: (fields, dynamic) =>
      dynamic
        ? `Schema.Struct(${fields}, Schema.Record({ key: Schema.String, value: Schema.Unknown }))`
        : `Schema.Struct(${fields})`
  }
}

const key = (name: string) => /^[A-Za-z_$][\w$]*$/.test(name) ? name : JSON.stringify(name)

/** The name a type's schema is exported under: its own for the final type, `<Name>Partial` for the partial one. */
const schemaName = (name: string, partial: boolean) => partial ? `${name}Partial` : name

/** The TypeScript type of the values a schema of `type` decodes to (readonly, as Schema's own types are). */
const tsType = (type: Type): string => {
  switch (type.kind) {
    case "string":
    case "number":
    case "boolean":
    case "null":
    case "unknown":
      return type.kind
    case "literal":
      return JSON.stringify(type.value)
    case "ref":
      return schemaName(type.name, type.partial)
    case "media":
      return type.name
    case "array":
      return `ReadonlyArray<${tsType(type.element)}>`
    case "record":
      return `{ readonly [key: string]: ${tsType(type.value)} }`
    case "union":
      return type.members.map(tsType).join(" | ")
    case "checked":
      return `Checked<${tsType(type.value)}, ${type.names.map((n) => JSON.stringify(n)).join(" | ") || "never"}>`
    case "state":
      return `StreamState<${tsType(type.value)}>`
  }
}

/** The schema of `type`: references to named types are suspended, so that order and recursion do not matter. */
const schema = (type: Type, d: Dialect): string => {
  switch (type.kind) {
    case "string":
      return "Schema.String"
    case "number":
      return "Schema.Number"
    case "boolean":
      return "Schema.Boolean"
    case "null":
      return "Schema.Null"
    case "unknown":
      return "Schema.Unknown"
    case "literal":
      return d.literals([type.value])
    case "ref":
      return `Schema.suspend(() => ${schemaName(type.name, type.partial)})`
    case "media":
      return `media<${type.name}>(${JSON.stringify(type.name)})`
    case "array":
      return `Schema.Array(${schema(type.element, d)})`
    case "record":
      return d.record(schema(type.value, d))
    case "union": {
      if (type.members.every((m) => m.kind === "literal")) {
        return d.literals(type.members.map((m) => (m as { readonly value: string | number | boolean }).value))
      }
      const nonNull = type.members.filter((m) => m.kind !== "null")
      if (nonNull.length === type.members.length - 1) {
        const inner = nonNull.length === 1 ? schema(nonNull[0]!, d) : schema({ kind: "union", members: nonNull }, d)
        return `Schema.NullOr(${inner})`
      }
      return d.union(type.members.map((m) => schema(m, d)))
    }
    case "checked":
      return `Schema.Struct({ value: ${schema(type.value, d)}, checks: Schema.Struct({ ${
        type.names.map((n) => `${key(n)}: Check`).join(", ")
      } }) })`
    case "state":
      return `Schema.Struct({ value: ${schema(type.value, d)}, state: ${
        d.literals(["Pending", "Incomplete", "Complete"])
      } })`
  }
}

const mediaUsed = (type: Type, into: Set<string>): void => {
  switch (type.kind) {
    case "media":
      into.add(type.name)
      return
    case "array":
      return mediaUsed(type.element, into)
    case "record":
    case "checked":
    case "state":
      return mediaUsed(type.value, into)
    case "union":
      return type.members.forEach((m) => mediaUsed(m, into))
    default:
      return
  }
}

/**
 * The JSDoc of a generated export: `what`, then an example that imports the schemas module (as a type only when the
 * example needs no `Schema`) and runs `line`.
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
const member = (field: Field, d: Dialect): string =>
  `${key(field.name)}: ${field.optional ? d.optional(schema(field.type, d)) : schema(field.type, d)}`

const namedDeclaration = (named: Named, partial: boolean, d: Dialect, importPath: string): string => {
  const name = schemaName(named.name, partial)
  const declared = `BAML ${named.kind === "alias" ? "type alias" : named.kind} \`${named.name}\``
  const what = partial
    ? `The partial results of the ${declared} while it streams, as the engine emits them.`
    : `The ${declared}, as the engine returns it.`
  const typeDoc = documented([what], importPath, `const show = (value: Schemas.${name}) => JSON.stringify(value)`)
  const doc = documented([what], importPath, `const decode = Schema.decodeUnknownSync(Schemas.${name})`)
  switch (named.kind) {
    case "enum": {
      // A dynamic enum's values are known at run time only: any string may be one.
      const values = named.dynamic ? ["string"] : named.values.map((v) => JSON.stringify(v))
      return [
        typeDoc,
        `export type ${name} = ${values.join(" | ")}`,
        doc,
        `export const ${name}: ${d.codec(name)} = ${named.dynamic ? "Schema.String" : d.literals(named.values)}`
      ].join("\n")
    }
    case "class": {
      const members = named.fields.map((f) => `  readonly ${key(f.name)}${f.optional ? "?" : ""}: ${tsType(f.type)}`)
      if (named.dynamic) members.push("  readonly [key: string]: unknown")
      const fields = named.fields.map((f) => `  ${member(f, d)}`)
      return [
        typeDoc,
        `export interface ${name} {\n${members.join("\n")}\n}`,
        doc,
        `export const ${name}: ${d.codec(name)} = ${
          d.struct(fields.length === 0 ? "{}" : `{\n${fields.join(",\n")}\n}`, named.dynamic)
        }`
      ].join("\n")
    }
    case "alias":
      return [
        typeDoc,
        `export type ${name} = ${tsType(named.type)}`,
        doc,
        `export const ${name}: ${d.codec(name)} = ${schema(named.type, d)}`
      ].join("\n")
  }
}

/**
 * Renders `schemas.ts`: the Effect Schemas of the BAML types and functions, for the Effect line of `input`. Throws a
 * {@link NameCollisionError} when two of its names would be the same (a class `A` and a class `APartial`).
 *
 * @example
 * ```ts
 * declare const input: RenderInput
 * const files = { "schemas.ts": render(input) }
 * ```
 * @since 0.2.0
 * @category rendering
 */
export const render = (input: RenderInput): string => {
  const d = dialects[input.effect]
  const { finals, partials } = namedTypes(input)
  const finalRef: Resolve = (name) => ({ kind: "ref", name, partial: false })
  const functions = input.signatures.map((f) => ({
    name: f.name,
    params: f.params.map((p) => ({ name: p.name, optional: p.optional, type: parseType(p.type, "ts", finalRef) })),
    final: parseType(f.final, "ts", finalRef),
    partial: pendingChecks(parseType(f.partial, "ts", finalRef))
  }))

  const names = new Map<string, string>()
  const problems: Array<string> = []
  const claim = (name: string, what: string) => {
    const before = names.get(name)
    if (before === undefined) names.set(name, what)
    else problems.push(`schemas.ts would declare \`${name}\` for ${before} and for ${what}; rename one`)
  }
  for (const name of ["Schema", "Check", "Checked", "StreamState", "media", ...media]) claim(name, "its own use")
  for (const n of finals) claim(n.name, `the BAML ${n.kind} ${n.name}`)
  for (const n of partials) claim(schemaName(n.name, true), `the partial type of ${n.name}`)
  for (const f of functions) {
    for (const suffix of ["Params", "Final", "Partial"]) claim(`${f.name}${suffix}`, `the function ${f.name}`)
  }
  if (problems.length > 0) throw new NameCollisionError(problems)

  const usedMedia = new Set<string>()
  for (const n of [...finals, ...partials]) {
    if (n.kind === "class") n.fields.forEach((f) => mediaUsed(f.type, usedMedia))
    if (n.kind === "alias") mediaUsed(n.type, usedMedia)
  }
  for (const f of functions) {
    for (const type of [f.final, f.partial, ...f.params.map((p) => p.type)]) mediaUsed(type, usedMedia)
  }

  const importPath = input.importPath.replace(/index\.js$/, "schemas.js")
  const functionDeclarations = functions.map((f) => {
    const params = f.params.map((p) => `  ${member(p, d)}`)
    const entry = (suffix: string, what: ReadonlyArray<string>, example: string, value: string) =>
      [
        documented(what, importPath, example),
        `export const ${f.name}${suffix} = ${value}`,
        documented(
          [`The type of {@link ${f.name}${suffix}}.`],
          importPath,
          `const show = (value: Schemas.${f.name}${suffix}) => JSON.stringify(value)`
        ),
        `export type ${f.name}${suffix} = typeof ${f.name}${suffix}.Type`
      ].join("\n")
    return [
      entry(
        "Params",
        [
          `The arguments of the BAML function \`${f.name}\`, by parameter name: a server decodes a request's body with`,
          "it (`BamlHttp.handler`'s `params`), so that arguments that do not match never reach the engine."
        ],
        `const args = Schema.decodeUnknownSync(Schemas.${f.name}Params)(JSON.parse("{}"))`,
        params.length === 0 ? "Schema.Struct({})" : `Schema.Struct({\n${params.join(",\n")}\n})`
      ),
      entry(
        "Final",
        [`The final result of the BAML function \`${f.name}\`, as the engine returns it.`],
        `const isFinal = Schema.is(Schemas.${f.name}Final)`,
        schema(f.final, d)
      ),
      entry(
        "Partial",
        [`A partial result of the BAML function \`${f.name}\` while it streams, as the engine emits it.`],
        `const isPartial = Schema.is(Schemas.${f.name}Partial)`,
        schema(f.partial, d)
      )
    ].join("\n\n")
  })

  const sorted = [...usedMedia].sort()
  return [
    fileHeader(
      "Effect Schemas of the BAML types and functions of baml_src: for every function its parameters\n" +
        " * (`<Fn>Params`), its final result (`<Fn>Final`) and its partial results while it streams\n" +
        " * (`<Fn>Partial`). A server decodes untrusted arguments with them, a client what it receives. This module\n" +
        " * loads no BAML engine."
    ),
    ...(sorted.length > 0 ? [`import type { ${sorted.join(", ")} } from "@boundaryml/baml"`] : []),
    "import { Schema } from \"effect\"",
    "",
    documented(
      ["The outcome of one `@check` of a value, as the engine reports it."],
      importPath,
      "const failed = (check: Schemas.Check) => check.status === \"failed\""
    ),
    "export interface Check {",
    "  readonly name: string",
    "  readonly expression: string",
    "  readonly status: \"succeeded\" | \"failed\"",
    "}",
    documented(["The schema of {@link Check}."], importPath, "const isCheck = Schema.is(Schemas.Check)"),
    `export const Check: ${d.codec("Check")} = Schema.Struct({`,
    "  name: Schema.String,",
    "  expression: Schema.String,",
    `  status: ${d.literals(["succeeded", "failed"])}`,
    "})",
    "",
    documented(
      ["A value with `@check`s: the value, and the outcome of each check by its name."],
      importPath,
      "const passed = (checked: Schemas.Checked<number, \"positive\">) =>\n" +
        "  checked.checks.positive.status === \"succeeded\""
    ),
    "export interface Checked<T, Name extends string> {",
    "  readonly value: T",
    "  readonly checks: { readonly [K in Name]: Check }",
    "}",
    "",
    documented(
      ["A `@stream.with_state` field while it streams: its value so far and whether it is complete."],
      importPath,
      "const done = (field: Schemas.StreamState<string | null>) => field.state === \"Complete\""
    ),
    "export interface StreamState<T> {",
    "  readonly value: T",
    "  readonly state: \"Pending\" | \"Incomplete\" | \"Complete\"",
    "}",
    ...(sorted.length > 0
      ? [
        "",
        "// A media value (an engine object) is opaque here: any object is accepted, and none travels as JSON.",
        `const media = <A>(identifier: string): ${d.codec("A")} =>`,
        "  Schema.declare((u: unknown): u is A => typeof u === \"object\" && u !== null, { identifier })"
      ]
      : []),
    "",
    ...finals.map((n) => namedDeclaration(n, false, d, importPath) + "\n"),
    ...partials.map((n) => namedDeclaration(n, true, d, importPath) + "\n"),
    functionDeclarations.join("\n\n"),
    ""
  ].join("\n").replace(/\n{3,}/g, "\n\n").replace(/\n+$/, "\n")
}
