/**
 * Prints the model's types as TypeScript: `types.ts` (every class, enum and alias as the engine returns it) and
 * `partial_types.ts` (the `partial_types` namespace: what the engine emits while each streams), and the type printer
 * the other printers share.
 *
 * @since 0.3.0
 */
import { type EffectLine, libraryModule } from "./lines.js"
import {
  hasPartial,
  type MediaKind,
  type Model,
  type Named,
  nullable,
  orNull,
  partialField,
  partialOf,
  type Type
} from "./model.js"
import { names } from "./names.js"
import { fileHeader, jsDoc, propertyKey } from "./text.js"

/**
 * How a printed type refers to what is declared elsewhere: a named type (final or partial), a media type, the checked
 * and stream-state wrappers; and whether arrays and records are printed readonly.
 *
 * @example
 * ```ts
 * const inIndex: Refer = {
 *   named: (name, partial) => partial ? `partial_types.${name}` : `types.${name}`,
 *   media: (media) => `BamlMedia.${media}`,
 *   checked: "types.Checked",
 *   state: "StreamState",
 *   readonly: false
 * }
 * ```
 * @since 0.3.0
 * @category printing
 */
export interface Refer {
  readonly named: (name: string, partial: boolean) => string
  readonly media: (media: string) => string
  readonly checked: string
  readonly state: string
  readonly readonly: boolean
  /** The `@@dynamic` enums: a `TypeBuilder` may add values, so any string may be one. */
  readonly dynamic?: ReadonlySet<string> | undefined
}

/**
 * The engine's class for each media type, as effect-baml's `BamlMedia` exports it.
 *
 * @example
 * ```ts
 * mediaClass.image // "Image"
 * ```
 * @since 0.3.0
 * @category printing
 */
export const mediaClass: { readonly [K in MediaKind]: string } = {
  image: "Image",
  audio: "Audio",
  pdf: "Pdf",
  video: "Video"
}

const union = (members: ReadonlyArray<string>): string => [...new Set(members)].join(" | ")

/** The members of a union, flattened: `T?` is `T | null`. */
const members = (type: Type): Array<Type> =>
  type.kind === "union"
    ? type.members.flatMap(members)
    : type.kind === "optional"
    ? [...members(type.type), { kind: "null" }]
    : [type]

/**
 * The TypeScript text of `type`. A map's keys are strings whatever BAML declares: the engine returns the keys the
 * model wrote. A form the model does not know is `unknown`.
 *
 * @example
 * ```ts
 * declare const refer: Refer
 * tsType({ kind: "list", element: { kind: "optional", type: { kind: "int" } } }, refer) // "(number | null)[]"
 * ```
 * @since 0.3.0
 * @category printing
 */
export const tsType = (type: Type, refer: Refer): string => {
  const array = (element: Type) => {
    const inner = tsType(element, refer)
    const wrapped = / \| /.test(inner) ? `(${inner})` : inner
    return refer.readonly ? `ReadonlyArray<${inner}>` : `${wrapped}[]`
  }
  switch (type.kind) {
    case "string":
      return "string"
    case "int":
    case "float":
      return "number"
    case "bool":
      return "boolean"
    case "null":
      return "null"
    case "unknown":
      return "unknown"
    case "media":
      return refer.media(mediaClass[type.media])
    case "literal":
      return JSON.stringify(type.value)
    case "ref":
      return refer.dynamic?.has(type.name) ? `string | ${refer.named(type.name, false)}` : refer.named(type.name, type.partial)
    case "list":
      return array(type.element)
    case "map":
      return `{ ${refer.readonly ? "readonly " : ""}[key: string]: ${tsType(type.value, refer)} }`
    case "optional":
    case "union":
      return union(members(type).map((m) => tsType(m, refer)))
    case "checked":
      return `${refer.checked}<${tsType(type.type, refer)}, ${type.checks.map((c) => JSON.stringify(c)).join(" | ")}>`
    case "state":
      return `${refer.state}<${tsType(type.type, refer)}>`
  }
}

/**
 * The module a client imports effect-baml's public names from (`BamlMedia`, `Baml`, …), for its Effect line.
 *
 * @example
 * ```ts
 * mediaImport(4, "BamlMedia") // "import type { BamlMedia } from \"effect-baml\""
 * ```
 * @since 0.3.0
 * @category printing
 */
export const mediaImport = (line: EffectLine, binding: string): string =>
  `import type { ${binding === "BamlMedia" ? "BamlMedia" : `BamlMedia as ${binding}`} } from ${
    JSON.stringify(libraryModule[line])
  }`

// Whether printed declarations refer to a namespace (`types.X`, `BamlMedia.Image`): its import is needed then only.
const refersTo = (body: ReadonlyArray<string>, namespace: string): boolean =>
  body.some((text) => text.includes(` ${namespace}.`) || text.includes(`<${namespace}.`) || text.includes(`(${namespace}.`))

/** A field of an interface: `name: T`, or `name?: T` when it may be null or absent. */
const member = (name: string, type: string, optional: boolean, indent: string) =>
  `${indent}${propertyKey(name)}${optional ? "?" : ""}: ${type}`

/**
 * The names of the `@@dynamic` enums of the model.
 *
 * @example
 * ```ts
 * declare const model: Model
 * const open = dynamicEnums(model).has("Mood")
 * ```
 * @since 0.3.0
 * @category printing
 */
export const dynamicEnums = (model: Pick<Model, "types">): ReadonlySet<string> =>
  new Set(model.types.flatMap((n) => n.kind === "enum" && n.dynamic ? [n.name] : []))

/**
 * Prints `types.ts`: every class (an interface), enum (a string enum, by value name) and type alias of the model, and
 * the `Checked` and `Check` of `@check`ed values, as the engine returns them.
 *
 * @example
 * ```ts
 * declare const model: Model
 * const text = printTypes(model, 4)
 * ```
 * @since 0.3.0
 * @category printing
 */
export const printTypes = (model: Model, line: EffectLine): string => {
  const { own } = names(model)
  const refer: Refer = {
    named: (name) => name,
    media: (media) => `${own.BamlMedia}.${media}`,
    checked: own.Checked,
    state: "never",
    readonly: false,
    dynamic: dynamicEnums(model)
  }
  const declaration = (named: Named): string => {
    switch (named.kind) {
      case "enum":
        return `export enum ${named.name} {\n${named.values.map((v) => `  ${v.name} = ${JSON.stringify(v.name)},`).join("\n")}\n}`
      case "class": {
        const fields = named.fields.map((f) =>
          member(f.name, tsType(f.type, refer), nullable(f.type, model.types), "  ")
        )
        if (named.dynamic) fields.push("  [key: string]: unknown")
        return `export interface ${named.name} {\n${fields.join("\n")}\n}`
      }
      case "alias":
        return `export type ${named.name} = ${tsType(named.type, refer)}`
    }
  }
  const body = model.types.flatMap((n) => [declaration(n), ""])
  return [
    fileHeader("The BAML classes, enums and type aliases of baml_src, typed as the engine returns them."),
    ...(refersTo(body, own.BamlMedia) ? [mediaImport(line, own.BamlMedia), ""] : []),
    jsDoc(["A value with `@check`s: the value, and the outcome of each check by its name."], ""),
    `export interface ${own.Checked}<T, CheckName extends string = string> {`,
    "  value: T",
    `  checks: { [K in CheckName]: ${own.Check} }`,
    "}",
    "",
    jsDoc(["The outcome of one `@check` of a value, as the engine reports it."], ""),
    `export interface ${own.Check} {`,
    "  name: string",
    "  expression: string",
    "  status: \"succeeded\" | \"failed\"",
    "}",
    "",
    ...body
  ].join("\n")
}

/**
 * Prints `partial_types.ts`: the `partial_types` namespace, one type for each class and alias while it streams (a
 * `@@stream.done` class streams whole: its final type), and `StreamState` for `@stream.with_state` fields.
 *
 * @example
 * ```ts
 * declare const model: Model
 * const text = printPartialTypes(model, 4)
 * ```
 * @since 0.3.0
 * @category printing
 */
export const printPartialTypes = (model: Model, line: EffectLine): string => {
  const { own } = names(model)
  const refer: Refer = {
    named: (name, partial) => partial ? name : `${own.types}.${name}`,
    media: (media) => `${own.BamlMedia}.${media}`,
    checked: `${own.types}.${own.Checked}`,
    state: own.StreamState,
    readonly: false,
    dynamic: dynamicEnums(model)
  }
  const declaration = (named: Named): string => {
    if (named.kind === "alias") {
      const type = tsType(orNull(partialOf(named.type, model.types)), refer)
      return `  export type ${named.name} = ${type}`
    }
    if (named.kind !== "class") return ""
    const fields = named.fields.map((f) => {
      const { type, optional } = partialField(f, model.types)
      return member(f.name, tsType(type, refer), optional, "    ")
    })
    if (named.dynamic) fields.push("    [key: string]: unknown")
    return `  export interface ${named.name} {\n${fields.join("\n")}\n  }`
  }
  const body = model.types.filter(hasPartial).map(declaration)
  return [
    fileHeader(
      "What the engine emits while each BAML class and type alias of baml_src streams: the `partial_types` namespace."
    ),
    ...(refersTo(body, own.types) ? [`import type * as ${own.types} from "./types.js"`] : []),
    ...(refersTo(body, own.BamlMedia) ? [mediaImport(line, own.BamlMedia)] : []),
    "",
    jsDoc(["A `@stream.with_state` field while it streams: its value so far and whether it is complete."], ""),
    `export interface ${own.StreamState}<T> {`,
    "  value: T",
    "  state: \"Pending\" | \"Incomplete\" | \"Complete\"",
    "}",
    "",
    jsDoc(["The BAML classes and type aliases of baml_src while they stream."], ""),
    `export namespace ${own.partial_types} {`,
    body.join("\n\n"),
    "}",
    ""
  ].join("\n")
}
