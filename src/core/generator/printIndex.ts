/**
 * Prints `index.ts` (every BAML function as an Effect and as a Stream, and the embedded layer) and `sources.ts` (the
 * .baml sources the layer loads).
 *
 * @since 0.3.0
 */
import { type EffectLine, libraryModule } from "./lines.js"
import { type Function, type Model, nullable, partialOf, some } from "./model.js"
import { bindings, type Names, names as namesOf } from "./names.js"
import { dynamicEnums, type Refer, tsType } from "./printTypes.js"
import { fileHeader, jsDoc } from "./text.js"

/**
 * What printing a client needs besides the model.
 *
 * @example
 * ```ts
 * const options: PrintOptions = { importPath: "./baml_client/index.js", effect: 4 }
 * ```
 * @since 0.3.0
 * @category models
 */
export interface PrintOptions {
  /** How a user imports the generated module, for the examples in its documentation. */
  readonly importPath: string
  /** The Effect line the client is for. */
  readonly effect: EffectLine
}

/**
 * A function's parameters as TypeScript parameters (bound under names that are valid and hide nothing, see
 * `bindings`), then the options parameter; and the arguments object that maps them back to their BAML names. An
 * optional parameter before a required one takes `undefined` (TypeScript allows `?` on trailing parameters only).
 *
 * @example
 * ```ts
 * declare const fn: Function
 * declare const model: Model
 * declare const refer: Refer
 * const { params, args } = parameters(fn, model, refer, ["options"], "Baml.Options", ["callAs"])
 * ```
 * @since 0.3.0
 * @category printing
 */
export const parameters = (
  f: Function,
  model: Model,
  refer: Refer,
  optionNames: ReadonlyArray<string>,
  optionsType: string,
  avoid: ReadonlyArray<string>
): {
  readonly params: ReadonlyArray<string>
  readonly bound: ReadonlyArray<string>
  readonly options: string
  readonly entries: ReadonlyArray<string>
  readonly args: string
} => {
  const bound = bindings(f.params.map((p) => p.name), avoid)
  // BAML names start with a letter: `__baml_options__` is always free.
  const options = [...optionNames, "__baml_options__"].find((name) => !bound.includes(name))!
  const optional = f.params.map((p) => nullable(p.type, model.types))
  let trailing = f.params.length
  while (trailing > 0 && optional[trailing - 1]) trailing--
  const params = [
    ...f.params.map((p, i) => {
      const type = tsType(p.type, refer)
      return !optional[i] ? `${bound[i]}: ${type}` : i >= trailing ? `${bound[i]}?: ${type}` : `${bound[i]}: ${type} | undefined`
    }),
    `${options}?: ${optionsType}`
  ]
  const entries = f.params.map((p, i) => bound[i] === p.name ? p.name : `${JSON.stringify(p.name)}: ${bound[i]}`)
  return { params, bound, options, entries, args: f.params.length === 0 ? "{}" : `{ ${entries.join(", ")} }` }
}

/**
 * How index.ts and http.ts refer to the model's types: `types.X` and `partial_types.X`.
 *
 * @example
 * ```ts
 * declare const model: Model
 * const refer = clientRefer(names(model), model)
 * ```
 * @since 0.3.0
 * @category printing
 */
export const clientRefer = (n: Names, model: Model): Refer => ({
  named: (name, partial) => partial ? `${n.own.partial_types}.${name}` : `${n.own.types}.${name}`,
  media: (media) => `${n.own.BamlMedia}.${media}`,
  checked: `${n.own.types}.${n.own.Checked}`,
  state: n.own.StreamState,
  readonly: false,
  dynamic: dynamicEnums(model)
})

const as = (name: string, binding: string) => name === binding ? name : `${name} as ${binding}`

/**
 * Prints `index.ts`: one Effect and one Stream function per BAML function, typed with `types.ts` and
 * `partial_types.ts`, and the `layer` that loads the embedded sources.
 *
 * @example
 * ```ts
 * declare const model: Model
 * const text = printIndex(model, { importPath: "./baml_client/index.js", effect: 4 })
 * ```
 * @since 0.3.0
 * @category printing
 */
export const printIndex = (model: Model, options: PrintOptions): string => {
  const n = namesOf(model)
  const o = n.own
  const functions = model.functions
  const refer = clientRefer(n, model)
  const library = JSON.stringify(libraryModule[options.effect])
  const partialTypes = functions.map((f) => partialOf(f.returns, model.types))
  const signatureTypes = functions.flatMap((f) => [f.returns, ...f.params.map((p) => p.type)])
  const usesPartial = partialTypes.some((t) => some(t, (x) => x.kind === "ref" && x.partial))
  const usesMedia = signatureTypes.some((t) => some(t, (x) => x.kind === "media"))
  const usesTypes = signatureTypes.some((t) => some(t, (x) => x.kind === "ref" || x.kind === "checked"))

  const imports = [
    `import { ${functions.length > 0 ? `type ${as("Effect", o.Effect)}, ${as("Layer", o.Layer)}, type ${as("Stream", o.Stream)}` : as("Layer", o.Layer)} } from "effect"`,
    `import { ${[
      ...(functions.length > 0 ? [as("Baml", o.Baml), `type ${as("BamlError", o.BamlError)}`] : []),
      ...(usesMedia ? [`type ${as("BamlMedia", o.BamlMedia)}`] : []),
      as("BamlRuntime", o.BamlRuntime)
    ].join(", ")} } from ${library}`,
    ...(usesPartial ? [`import type { ${o.partial_types} } from "./partial_types.js"`] : []),
    ...(usesTypes ? [`import type * as ${o.types} from "./types.js"`] : []),
    `import { ${as("files", o.files)} } from "./sources.js"`
  ]

  const effectType = (a: string) => `${o.Effect}.Effect<${a}, ${o.BamlError}.BamlError, ${o.BamlRuntime}.BamlRuntime>`
  const streamType = (a: string) => `${o.Stream}.Stream<${a}, ${o.BamlError}.BamlError, ${o.BamlRuntime}.BamlRuntime>`
  const client = options.importPath
  const declaration = (f: Function, head: string, returns: string, indent: string) => {
    const p = parameters(f, model, refer, ["options", "bamlOptions"], `${o.Baml}.Options`, [o.callAs, o.streamAs])
    const inline = `${indent}${head}(${p.params.join(", ")}): ${returns} =>`
    const signature = inline.length <= 120
      ? inline
      : `${indent}${head}(\n${p.params.map((x) => `${indent}  ${x}`).join(",\n")}\n${indent}): ${returns} =>`
    const body = (helper: string) => {
      const line = `${indent}  ${helper}(${JSON.stringify(f.name)}, ${p.args}, ${p.options})`
      if (line.length <= 120) return line
      return `${indent}  ${helper}(${JSON.stringify(f.name)}, {\n${p.entries.map((e) => `${indent}    ${e}`).join(",\n")}\n` +
        `${indent}  }, ${p.options})`
    }
    return { signature, body, bound: p.bound }
  }
  const example = (f: Function) => `${f.name}(${bindings(f.params.map((p) => p.name), [o.callAs, o.streamAs]).join(", ")})`
  const usage = (value: string, pipe: ReadonlyArray<string>): Array<string> => {
    const line = `const program = ${value}.pipe(${pipe.join(", ")})`
    if (line.length <= 110) return [line]
    return [`const program = ${value}.pipe(`, ...pipe.map((x, i) => `  ${x}${i < pipe.length - 1 ? "," : ""}`), ")"]
  }
  const calls = functions.map((f) => {
    const d = declaration(f, `export const ${f.name} = `, effectType(tsType(f.returns, refer)), "")
    return [
      jsDoc([
        `Calls the BAML function \`${f.name}\`. Interrupting the fiber aborts the LLM request.`,
        "",
        "@example",
        "```ts",
        "import { Effect } from \"effect\"",
        `import * as Client from ${JSON.stringify(client)}`,
        "",
        ...usage(`Client.${example(f)}`, [`Effect.provide(Client.${o.layer})`]),
        "```"
      ], ""),
      d.signature,
      d.body(o.callAs)
    ].join("\n")
  })
  const streams = functions.map((f, i) => {
    const event = `${o.Baml}.StreamEvent<${tsType(partialTypes[i]!, refer)}, ${tsType(f.returns, refer)}>`
    const d = declaration(f, `${f.name}: `, streamType(event), "  ")
    return [
      jsDoc([
        `Streams the BAML function \`${f.name}\`: \`Partial\` events while the LLM writes, then one \`Final\` event`,
        "with the result, typed as the function's final type (`Baml.final` returns it). Ending the stream early in",
        "any way aborts the LLM request.",
        "",
        "@example",
        "```ts",
        "import { Effect } from \"effect\"",
        `import { Baml } from ${library}`,
        `import * as Client from ${JSON.stringify(client)}`,
        "",
        ...usage(`Client.${o.stream}.${example(f)}`, ["Baml.final", `Effect.provide(Client.${o.layer})`]),
        "```"
      ], "  "),
      d.signature,
      d.body(o.streamAs)
    ].join("\n")
  })
  const first = functions[0]
  return [
    fileHeader(
      "The BAML functions of baml_src as Effects and Streams, typed as the engine returns their values\n" +
        " * (`types.ts`, `partial_types.ts`). Every function takes the same per-call `Baml.Options` as `Baml.call`."
    ),
    imports.join("\n"),
    "",
    "export * from \"./types.js\"",
    `export type { ${o.partial_types}, ${o.StreamState} } from "./partial_types.js"`,
    `export { ${o.files} }`,
    "",
    ...(functions.length > 0
      ? [
        "// The core returns `unknown`; the model of baml_src says what the engine's parser produces for each function.",
        `const ${o.callAs} = <A>(`,
        "  name: string,",
        "  args: Readonly<Record<string, unknown>>,",
        `  options: ${o.Baml}.Options | undefined`,
        `): ${effectType("A")} =>`,
        `  ${o.Baml}.call(name, args, options) as ${effectType("A")}`,
        "",
        `const ${o.streamAs} = <A>(`,
        "  name: string,",
        "  args: Readonly<Record<string, unknown>>,",
        `  options: ${o.Baml}.Options | undefined`,
        `): ${streamType("A")} =>`,
        `  ${o.Baml}.streamEvents(name, args, options) as ${streamType("A")}`,
        ""
      ]
      : []),
    ...calls.flatMap((call) => [call, ""]),
    jsDoc([
      "Every BAML function as a Stream of `Partial` events, then one `Final` event with the typed result.",
      "",
      "@example",
      "```ts",
      "import { Stream } from \"effect\"",
      `import * as Client from ${JSON.stringify(client)}`,
      "",
      `const firstThree = ${first === undefined ? "Stream.empty" : `Client.${o.stream}.${example(first)}.pipe(Stream.take(3))`}`,
      "```"
    ], ""),
    functions.length > 0 ? `export const ${o.stream} = {\n${streams.join(",\n\n")}\n}` : `export const ${o.stream} = {}`,
    "",
    jsDoc([
      "The engine loaded from the .baml sources embedded at generation time: a program needs no baml_src at run",
      "time. `env.X` in baml_src reads the process environment as it is when the layer is built (not when this",
      "module is imported); for other values use `BamlRuntime.layerFromFiles(files, { env })`.",
      "",
      "@example",
      "```ts",
      "import { Effect } from \"effect\"",
      `import * as Client from ${JSON.stringify(client)}`,
      "",
      `const program = ${first === undefined ? "Effect.void" : `Client.${example(first)}`}.pipe(Effect.provide(Client.${o.layer}))`,
      "```"
    ], ""),
    `export const ${o.layer} = ${o.Layer}.suspend(() => ${o.BamlRuntime}.layerFromFiles(${o.files}))`,
    ""
  ].join("\n")
}

/**
 * Prints `sources.ts`: the .baml sources, keyed by their path under baml_src, that the generated layer loads.
 *
 * @example
 * ```ts
 * printSources({ "resume.baml": "class Resume {\n  name string\n}\n" })
 * ```
 * @since 0.3.0
 * @category printing
 */
export const printSources = (files: Readonly<Record<string, string>>): string =>
  [
    fileHeader("The .baml sources this client was generated from, keyed by their path under baml_src."),
    "export const files: Readonly<Record<string, string>> = {",
    Object.keys(files).sort().map((path) => `  ${JSON.stringify(path)}: ${JSON.stringify(files[path])}`).join(",\n"),
    "}",
    ""
  ].join("\n")
