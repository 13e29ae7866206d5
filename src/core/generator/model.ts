/**
 * The one model of a baml_src's types that every generated file is printed from: the BAML declarations as the
 * engine's values have them (not as its TypeScript declares them), and the rules for what the engine emits while a
 * value streams. `read.ts` builds it from the .baml sources; each `print*.ts` prints one output file from it.
 *
 * Measured with @boundaryml/baml 0.226.2, and checked on every generation by `test/shared/Forms.test.ts`:
 * - a string literal's value is its text between the quotes as written, backslashes included (`"say \"hi\""` is
 *   returned as `say \"hi\"`; the engine's TypeScript says `say "hi"`);
 * - a map keyed by an enum or a literal union returns whatever keys the model wrote (an alias, an unknown word), so
 *   every map's keys are strings;
 * - an enum value is returned by its name whatever its `@alias`; a class field by its name whatever its `@alias`;
 * - a `@check` makes the value `{ value, checks: { [name]: { name, expression, status } } }` (`expression`, where the
 *   engine's TypeScript says `expr`); while it streams the checks may come before the value (`value: null`);
 * - a recursive alias is a value of its right-hand side (the engine's TypeScript writes an index signature).
 *
 * @since 0.3.0
 */

/**
 * Where a declaration or a type is written: the file (its path under baml_src) and the line (from 1).
 *
 * @example
 * ```ts
 * const at: Location = { file: "resume.baml", line: 12 }
 * ```
 * @since 0.3.0
 * @category models
 */
export interface Location {
  readonly file: string
  readonly line: number
}

/**
 * A BAML media type: its values are the engine's objects, which do not travel as JSON.
 *
 * @example
 * ```ts
 * const media: MediaKind = "image"
 * ```
 * @since 0.3.0
 * @category models
 */
export type MediaKind = "image" | "audio" | "pdf" | "video"

/**
 * A BAML type. `ref` names a class, an enum or a type alias (`partial` for the partial type of a class or an alias,
 * which only {@link partialOf} makes); `state` is a `@stream.with_state` field while it streams; `unknown` is a form
 * this model does not know, kept with its text and place so that it is reported, never guessed.
 *
 * @example
 * ```ts
 * const tags: Type = { kind: "map", key: { kind: "string" }, value: { kind: "int" } }
 * ```
 * @since 0.3.0
 * @category models
 */
export type Type =
  | { readonly kind: "string" | "int" | "float" | "bool" | "null" }
  | { readonly kind: "media"; readonly media: MediaKind }
  | { readonly kind: "literal"; readonly value: string | number | boolean }
  | { readonly kind: "ref"; readonly name: string; readonly partial: boolean }
  | { readonly kind: "list"; readonly element: Type }
  | { readonly kind: "map"; readonly key: Type; readonly value: Type }
  | { readonly kind: "optional"; readonly type: Type }
  | { readonly kind: "union"; readonly members: ReadonlyArray<Type> }
  | { readonly kind: "checked"; readonly type: Type; readonly checks: ReadonlyArray<string> }
  | { readonly kind: "state"; readonly type: Type }
  | { readonly kind: "unknown"; readonly text: string; readonly at: Location }

/**
 * How a class field streams: `@stream.done` (whole or absent), `@stream.not_null` (the class is not emitted before
 * it), `@stream.with_state` (wrapped with its state).
 *
 * @example
 * ```ts
 * const streaming: Streaming = { done: true, notNull: false, withState: false }
 * ```
 * @since 0.3.0
 * @category models
 */
export interface Streaming {
  readonly done: boolean
  readonly notNull: boolean
  readonly withState: boolean
}

/**
 * A field of a class: its name (the engine's values use it, never its `@alias`), its type and how it streams.
 *
 * @example
 * ```ts
 * const field: Field = {
 *   name: "email",
 *   type: { kind: "optional", type: { kind: "string" } },
 *   streaming: { done: false, notNull: false, withState: false },
 *   at: { file: "resume.baml", line: 3 }
 * }
 * ```
 * @since 0.3.0
 * @category models
 */
export interface Field {
  readonly name: string
  readonly type: Type
  readonly streaming: Streaming
  readonly at: Location
}

/**
 * A named BAML type: a class (`dynamic` for `@@dynamic`, `streamDone` for `@@stream.done`), an enum (its values by
 * name; `skip` for `@skip`, a value the engine never returns) or a type alias.
 *
 * @example
 * ```ts
 * const color: Named = {
 *   kind: "enum",
 *   name: "Color",
 *   values: [{ name: "Red", skip: false }],
 *   dynamic: false,
 *   at: { file: "kinds.baml", line: 3 }
 * }
 * ```
 * @since 0.3.0
 * @category models
 */
export type Named =
  | {
    readonly kind: "class"
    readonly name: string
    readonly fields: ReadonlyArray<Field>
    readonly dynamic: boolean
    readonly streamDone: boolean
    readonly at: Location
  }
  | {
    readonly kind: "enum"
    readonly name: string
    readonly values: ReadonlyArray<{ readonly name: string; readonly skip: boolean }>
    readonly dynamic: boolean
    readonly at: Location
  }
  | { readonly kind: "alias"; readonly name: string; readonly type: Type; readonly at: Location }

/**
 * A parameter of a BAML function.
 *
 * @example
 * ```ts
 * const param: Param = { name: "resume", type: { kind: "string" } }
 * ```
 * @since 0.3.0
 * @category models
 */
export interface Param {
  readonly name: string
  readonly type: Type
}

/**
 * A BAML function: its parameters in order and its result type (with the result's `@check`s).
 *
 * @example
 * ```ts
 * const fn: Function = {
 *   name: "Summarize",
 *   params: [{ name: "text", type: { kind: "string" } }],
 *   returns: { kind: "string" },
 *   at: { file: "summarize.baml", line: 1 }
 * }
 * ```
 * @since 0.3.0
 * @category models
 */
export interface Function {
  readonly name: string
  readonly params: ReadonlyArray<Param>
  readonly returns: Type
  readonly at: Location
}

/**
 * A problem with the sources that the model cannot represent: where, and what.
 *
 * @example
 * ```ts
 * const problem: Problem = { at: { file: "a.baml", line: 4 }, message: "the type form `tuple` is not known" }
 * ```
 * @since 0.3.0
 * @category models
 */
export interface Problem {
  readonly at: Location
  readonly message: string
}

/**
 * The model of a baml_src: its named types and functions, each sorted by name, and the problems found reading it.
 *
 * @example
 * ```ts
 * const empty: Model = { types: [], functions: [], problems: [] }
 * ```
 * @since 0.3.0
 * @category models
 */
export interface Model {
  readonly types: ReadonlyArray<Named>
  readonly functions: ReadonlyArray<Function>
  readonly problems: ReadonlyArray<Problem>
}

/**
 * Whether `null` is a value of `type` (an optional type, a union with `null`, or an alias of one).
 *
 * @example
 * ```ts
 * nullable({ kind: "optional", type: { kind: "string" } }, []) // true
 * ```
 * @since 0.3.0
 * @category models
 */
export const nullable = (type: Type, types: ReadonlyArray<Named>, seen: ReadonlySet<string> = new Set()): boolean => {
  switch (type.kind) {
    case "null":
    case "optional":
      return true
    case "union":
      return type.members.some((m) => nullable(m, types, seen))
    case "ref": {
      const named = types.find((n) => n.name === type.name)
      return named?.kind === "alias" && !seen.has(named.name) && nullable(named.type, types, new Set([...seen, named.name]))
    }
    default:
      return false
  }
}

/** A list or a map (also behind a non-recursive alias): while a class streams, such a field is never null. */
const collection = (type: Type, types: ReadonlyArray<Named>, seen: ReadonlySet<string> = new Set()): boolean => {
  if (type.kind === "list" || type.kind === "map") return true
  if (type.kind !== "ref" || seen.has(type.name)) return false
  const named = types.find((n) => n.name === type.name)
  return named?.kind === "alias" && collection(named.type, types, new Set([...seen, named.name]))
}

/**
 * The type of the values the engine emits for `type` while it streams: a class's partial (unless it is
 * `@@stream.done`), an alias's partial, the elements and values of lists and maps partial, and a checked value whose
 * checks may come before it (`value: null`). Enums, literals, media and scalars are as they are.
 *
 * @example
 * ```ts
 * partialOf({ kind: "list", element: { kind: "ref", name: "Tree", partial: false } }, types)
 * // { kind: "list", element: { kind: "ref", name: "Tree", partial: true } }
 * ```
 * @since 0.3.0
 * @category streaming
 */
export const partialOf = (type: Type, types: ReadonlyArray<Named>): Type => {
  switch (type.kind) {
    case "ref": {
      const named = types.find((n) => n.name === type.name)
      if (named === undefined || named.kind === "enum") return type
      if (named.kind === "class" && named.streamDone) return type
      return { ...type, partial: true }
    }
    case "list":
      return { ...type, element: partialOf(type.element, types) }
    case "map":
      return { ...type, value: partialOf(type.value, types) }
    case "optional":
      return { ...type, type: partialOf(type.type, types) }
    case "union":
      return { ...type, members: type.members.map((m) => partialOf(m, types)) }
    case "checked":
      return { ...type, type: orNull(partialOf(type.type, types)) }
    case "state":
      return { ...type, type: partialOf(type.type, types) }
    default:
      return type
  }
}

/**
 * `type` or `null` (as it is when `null` is already one of its values).
 *
 * @example
 * ```ts
 * orNull({ kind: "string" }) // { kind: "optional", type: { kind: "string" } }
 * ```
 * @since 0.3.0
 * @category streaming
 */
export const orNull = (type: Type): Type =>
  type.kind === "null" || type.kind === "optional" ? type : { kind: "optional", type }

/**
 * A class field while the class streams: its type (whole if `@stream.done`, wrapped if `@stream.with_state`) and
 * whether it may be null or absent (not if `@stream.not_null`; not a list or a map, which start empty).
 *
 * @example
 * ```ts
 * declare const field: Field
 * declare const types: ReadonlyArray<Named>
 * const { type, optional } = partialField(field, types)
 * ```
 * @since 0.3.0
 * @category streaming
 */
export const partialField = (field: Field, types: ReadonlyArray<Named>): { readonly type: Type; readonly optional: boolean } => {
  const { done, notNull, withState } = field.streaming
  const value = done ? field.type : partialOf(field.type, types)
  if (withState) return { type: { kind: "state", type: orNull(value) }, optional: false }
  if (notNull || (!done && collection(field.type, types))) return { type: value, optional: false }
  return { type: orNull(value), optional: true }
}

/**
 * The partial type of a named class or alias (a `@@stream.done` class has none: it streams whole).
 *
 * @example
 * ```ts
 * declare const model: Model
 * const partials = model.types.filter(hasPartial)
 * ```
 * @since 0.3.0
 * @category streaming
 */
export const hasPartial = (named: Named): boolean =>
  named.kind === "alias" || (named.kind === "class" && !named.streamDone)

/**
 * Calls `f` on every type inside `type`, `type` included.
 *
 * @example
 * ```ts
 * const media = new Set<string>()
 * visit({ kind: "list", element: { kind: "media", media: "image" } }, (t) => t.kind === "media" && media.add(t.media))
 * ```
 * @since 0.3.0
 * @category models
 */
export const visit = (type: Type, f: (type: Type) => void): void => {
  f(type)
  switch (type.kind) {
    case "list":
      return visit(type.element, f)
    case "map":
      visit(type.key, f)
      return visit(type.value, f)
    case "optional":
    case "checked":
    case "state":
      return visit(type.type, f)
    case "union":
      return type.members.forEach((m) => visit(m, f))
    default:
      return
  }
}

/**
 * Whether `type`, or a type inside it, satisfies `predicate`.
 *
 * @example
 * ```ts
 * some({ kind: "list", element: { kind: "media", media: "pdf" } }, (t) => t.kind === "media") // true
 * ```
 * @since 0.3.0
 * @category models
 */
export const some = (type: Type, predicate: (type: Type) => boolean): boolean => {
  let found = false
  visit(type, (t) => {
    found ||= predicate(t)
  })
  return found
}

/**
 * Every type of the model: fields, aliases, parameters and results.
 *
 * @example
 * ```ts
 * declare const model: Model
 * const usesMedia = allTypes(model).some((t) => t.kind === "media")
 * ```
 * @since 0.3.0
 * @category models
 */
export const allTypes = (model: Pick<Model, "types" | "functions">): Array<Type> => {
  const out: Array<Type> = []
  const add = (type: Type) => visit(type, (t) => out.push(t))
  for (const named of model.types) {
    if (named.kind === "class") named.fields.forEach((f) => add(f.type))
    if (named.kind === "alias") add(named.type)
  }
  for (const f of model.functions) {
    f.params.forEach((p) => add(p.type))
    add(f.returns)
  }
  return out
}
