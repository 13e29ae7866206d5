/**
 * Prints `http.ts`: every BAML function streamed from a server (`BamlHttp.handler`) with `BamlClient`, typed with
 * `types.ts` and decoded with `schemas.ts`. It imports `effect-baml/client` (or `effect-baml/effect3/client`) and
 * types only, never the engine, so a browser bundle can take it.
 *
 * @since 0.2.0
 */
import { clientModules } from "./lines.js"
import { type Function, type Model, some } from "./model.js"
import { type Names, names as namesOf } from "./names.js"
import { clientRefer, parameters, type PrintOptions } from "./printIndex.js"
import { fileHeader, jsDoc } from "./text.js"

/** One typed function: the BAML parameters (an optional one before a required one takes `undefined`), then options. */
const declaration = (f: Function, model: Model, n: Names, importPath: string): string => {
  const o = n.own
  const p = parameters(f, model, clientRefer(n, model), ["options", "requestOptions"], `${o.BamlClient}.RequestOptions`, [])
  return [
    jsDoc([
      `Streams the BAML function \`${f.name}\` from the server: partial results, then the final result, each decoded`,
      `with the function's schema (\`Schemas.${n.streamed(f.name)}\`, \`Schemas.${n.final(f.name)}\`): a value that`,
      "does not decode fails the stream with a `MalformedResponse`. Ending the stream early in any way aborts the",
      "request, and the server aborts the LLM request.",
      "",
      "@example",
      "```ts",
      "import { Stream } from \"effect\"",
      `import * as Http from ${JSON.stringify(importPath)}`,
      "",
      `const final = Http.${f.name}(${p.bound.join(", ")}).pipe(Stream.runLast)`,
      "```"
    ], ""),
    `export const ${f.name} = (`,
    p.params.map((x) => `  ${x}`).join(",\n"),
    `): ${o.Stream}.Stream<`,
    `  ${o.BamlClient}.Message<${o.Schemas}.${n.streamed(f.name)}, ${o.Schemas}.${n.final(f.name)}>,`,
    `  ${o.BamlClient}.ClientError,`,
    `  ${o.HttpClient}.HttpClient`,
    "> =>",
    `  ${o.BamlClient}.stream(${JSON.stringify(f.name)}, ${p.args}, ${p.options}, {`,
    `    partial: ${o.Schemas}.${n.streamed(f.name)},`,
    `    final: ${o.Schemas}.${n.final(f.name)}`,
    "  })"
  ].join("\n")
}

const as = (name: string, binding: string) => name === binding ? name : `${name} as ${binding}`

/**
 * Prints `http.ts` for the model. A function whose types hold media (`image`, `audio`, …) is left out: media
 * arguments do not travel as JSON.
 *
 * @example
 * ```ts
 * declare const model: Model
 * const text = printHttp(model, { importPath: "./baml_client/index.js", effect: 4 })
 * ```
 * @since 0.3.0
 * @category printing
 */
export const printHttp = (model: Model, options: PrintOptions): string => {
  const n = namesOf(model)
  const o = n.own
  const viaJson = (f: Function) =>
    ![f.returns, ...f.params.map((p) => p.type)].some((t) =>
      some(t, (x) =>
        x.kind === "media" ||
        (x.kind === "ref" && model.types.some((named) => named.name === x.name && usesMediaDeep(named.name, model))))
    )
  const functions = model.functions.filter(viaJson)
  const modules = clientModules[options.effect]
  const typesUsed = functions.some((f) => f.params.some((p) => some(p.type, (x) => x.kind === "ref" || x.kind === "checked")))
  const imports = functions.length === 0 ? [] : [
    `import type { ${as("Stream", o.Stream)} } from "effect"`,
    `import type { ${as("HttpClient", o.HttpClient)} } from ${JSON.stringify(modules.http)}`,
    `import { ${as("BamlClient", o.BamlClient)} } from ${JSON.stringify(modules.client)}`,
    `import * as ${o.Schemas} from "./schemas.js"`,
    ...(typesUsed ? [`import type * as ${o.types} from "./types.js"`] : [])
  ]
  return [
    fileHeader(
      "The BAML functions of baml_src streamed from a server that serves them with `BamlHttp.handler`, for browsers:\n" +
        " * this module loads no BAML engine. Each request is a POST of the arguments to the function's name, resolved\n" +
        " * against the page (or the `HttpClient`'s base URL); `options.url` names another."
    ),
    imports.join("\n"),
    "",
    functions.map((f) => declaration(f, model, n, options.importPath.replace(/index\.js$/, "http.js"))).join("\n\n"),
    ""
  ].join("\n")
}

/** Whether a named type holds media, directly or through the types it refers to. */
const usesMediaDeep = (name: string, model: Model, seen: Set<string> = new Set()): boolean => {
  if (seen.has(name)) return false
  seen.add(name)
  const named = model.types.find((n) => n.name === name)
  if (named === undefined || named.kind === "enum") return false
  const types = named.kind === "class" ? named.fields.map((f) => f.type) : [named.type]
  return types.some((t) =>
    some(t, (x) => x.kind === "media" || (x.kind === "ref" && usesMediaDeep(x.name, model, seen)))
  )
}
