/**
 * The names of the generated code. A BAML name is always printed as it is: a name the generator derives or uses for
 * itself (`<Fn>Params`, `<Name>Partial`, an import such as `Effect`, an export such as `layer`) that a BAML name
 * already takes gets a `_` appended until it is free (`SearchParams_`). The generator refuses only a BAML name that
 * TypeScript cannot declare at all (a reserved word such as `default` for a class), naming its file and line.
 *
 * @since 0.3.0
 */
import type { Location, Model } from "./model.js"

// JavaScript's reserved words in a module (strict mode), and the two names strict code cannot bind.
const reservedWords: ReadonlySet<string> = new Set(
  (
    "await break case catch class const continue debugger default delete do else enum export extends false finally " +
    "for function if implements import in instanceof interface let new null package private protected public return " +
    "static super switch this throw true try typeof var void while with yield arguments eval"
  ).split(" ")
)

// Names TypeScript does not allow for an interface or a type alias.
const typeKeywords: ReadonlySet<string> = new Set(
  "any unknown never number object string symbol bigint boolean undefined void".split(" ")
)

/**
 * Whether `name` is a reserved word: no binding of the generated code may have it.
 *
 * @example
 * ```ts
 * isReserved("default") // true
 * ```
 * @since 0.3.0
 * @category names
 */
export const isReserved = (name: string): boolean => reservedWords.has(name)

/**
 * A scope of names: `take` answers the name itself when it is free, else the name with `_` appended until it is;
 * either way the name is then taken.
 *
 * @example
 * ```ts
 * const scope = Scope.of(["SearchParams"])
 * scope.take("SearchParams") // "SearchParams_"
 * ```
 * @since 0.3.0
 * @category names
 */
export class Scope {
  private readonly taken: Set<string>
  private constructor(names: Iterable<string>) {
    this.taken = new Set(names)
  }
  /**
   * A scope where `names` are taken.
   *
   * @since 0.3.0
   */
  static of(names: Iterable<string>): Scope {
    return new Scope(names)
  }
  /**
   * `name`, or `name` with `_` appended until free; taken from now on.
   *
   * @since 0.3.0
   */
  take(name: string): string {
    let free = name
    while (this.taken.has(free) || reservedWords.has(free)) free += "_"
    this.taken.add(free)
    return free
  }
}

/**
 * The names of every class, enum, type alias and function of the model.
 *
 * @example
 * ```ts
 * declare const model: Model
 * const scope = Scope.of(bamlNames(model))
 * ```
 * @since 0.3.0
 * @category names
 */
export const bamlNames = (model: Pick<Model, "types" | "functions">): Array<string> => [
  ...model.types.map((n) => n.name),
  ...model.functions.map((f) => f.name)
]

/**
 * The BAML names TypeScript cannot declare: a class, enum or alias named like a reserved word or a TypeScript type
 * keyword, a function named like a reserved word. Each with its place, for the message.
 *
 * @example
 * ```ts
 * declare const model: Model
 * for (const { at, message } of undeclarable(model)) console.error(`${at.file}:${at.line}: ${message}`)
 * ```
 * @since 0.3.0
 * @category names
 */
export const undeclarable = (
  model: Pick<Model, "types" | "functions">
): Array<{ readonly at: Location; readonly message: string }> => [
  ...model.types.filter((n) => reservedWords.has(n.name) || typeKeywords.has(n.name)).map((n) => ({
    at: n.at,
    message: `the ${n.kind} name \`${n.name}\` cannot be declared in TypeScript; rename it`
  })),
  ...model.functions.filter((f) => reservedWords.has(f.name)).map((f) => ({
    at: f.at,
    message: `the function name \`${f.name}\` is a reserved word in JavaScript; rename it`
  }))
]

/**
 * The names the generated code binds a function's parameters under: a parameter's own name when it is a JavaScript
 * identifier, not reserved and not one of `avoid`; otherwise that name with `_` for each character JavaScript does not
 * allow, and `_` appended until it is free (`default` → `default_`, `my-param` → `my_param`). The engine takes the
 * arguments by their BAML names, to which the generated code maps these back.
 *
 * @example
 * ```ts
 * bindings(["default", "text"], []) // ["default_", "text"]
 * ```
 * @since 0.2.0
 * @category names
 */
export const bindings = (names: ReadonlyArray<string>, avoid: ReadonlyArray<string>): Array<string> => {
  const avoided = new Set(avoid)
  const taken = new Set(names)
  const ok = (name: string) => /^[A-Za-z_$][\w$]*$/.test(name) && !reservedWords.has(name) && !avoided.has(name)
  return names.map((name) => {
    if (ok(name)) return name
    let binding = name.replace(/[^\w$]/g, "_")
    while (!ok(binding) || taken.has(binding)) binding += "_"
    taken.add(binding)
    return binding
  })
}

const ownNames = [
  "Effect", "Layer", "Stream", "Schema", "Baml", "BamlError", "BamlRuntime", "BamlMedia", "BamlClient", "HttpClient",
  "Schemas", "types", "partial_types", "StreamState", "Checked", "Check", "files", "callAs", "streamAs", "stream",
  "layer", "media"
] as const

/**
 * A name the generated files use for themselves: an import (`Effect`, `BamlMedia`), a declaration (`Checked`,
 * `StreamState`, `files`) or an export of index.ts (`stream`, `layer`).
 *
 * @example
 * ```ts
 * const name: OwnName = "layer"
 * ```
 * @since 0.3.0
 * @category names
 */
export type OwnName = typeof ownNames[number]

/**
 * Every name of the generated files, decided once for all of them: the generator's own names and the names it derives
 * for schemas (`<Name>Partial` for a class or alias while it streams, `<Fn>Params`, `<Fn>Final`, `<Fn>Partial`), each
 * as it is unless a BAML name (or an earlier one of these) takes it, then with `_` appended until free.
 *
 * @example
 * ```ts
 * declare const model: Model
 * const n = names(model)
 * n.params("Search") // "SearchParams_" when a BAML class is named SearchParams
 * ```
 * @since 0.3.0
 * @category names
 */
export const names = (model: Pick<Model, "types" | "functions">): Names => {
  const scope = Scope.of(bamlNames(model))
  const own = Object.fromEntries(ownNames.map((name) => [name, scope.take(name)])) as Record<OwnName, string>
  const partials = new Map(model.types.map((n) => [n.name, scope.take(`${n.name}Partial`)]))
  const fns = new Map(
    model.functions.map((f) => [f.name, {
      params: scope.take(`${f.name}Params`),
      final: scope.take(`${f.name}Final`),
      partial: scope.take(`${f.name}Partial`)
    }])
  )
  const of = (name: string) => {
    const found = fns.get(name)
    if (found === undefined) throw new Error(`no function ${name}`)
    return found
  }
  return {
    own,
    partial: (name) => partials.get(name) ?? `${name}Partial`,
    params: (name) => of(name).params,
    final: (name) => of(name).final,
    streamed: (name) => of(name).partial
  }
}

/**
 * The names of the generated files (see {@link names}).
 *
 * @example
 * ```ts
 * declare const n: Names
 * const layerName = n.own.layer
 * ```
 * @since 0.3.0
 * @category names
 */
export interface Names {
  readonly own: Readonly<Record<OwnName, string>>
  /** The schema of a class or alias while it streams. */
  readonly partial: (name: string) => string
  /** The schema of a function's arguments. */
  readonly params: (fn: string) => string
  /** The schema of a function's final result. */
  readonly final: (fn: string) => string
  /** The schema of a function's partial results. */
  readonly streamed: (fn: string) => string
}
