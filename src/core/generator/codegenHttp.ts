/**
 * The generated client's `http.ts`: every BAML function streamed from a server (`BamlHttp.handler`) with
 * `BamlClient`, typed with the engine's types. It imports `effect-baml/client` (or `effect-baml/effect3/client`) and
 * the engine's types only, never the engine itself, so a browser bundle can take it.
 *
 * @since 0.2.0
 */
import {
  bindings,
  type EffectLine,
  exportedNames,
  fileHeader,
  jsDoc,
  references,
  type RenderInput,
  type Signature
} from "./codegen.js"

/**
 * The module `http.ts` imports `BamlClient` from, and the one its `HttpClient` type comes from, for each Effect line.
 *
 * @example
 * ```ts
 * const from = clientModules[3].client // "effect-baml/effect3/client"
 * ```
 * @since 0.2.0
 * @category constants
 */
export const clientModules: {
  readonly [Line in EffectLine]: { readonly client: string; readonly http: string }
} = {
  3: { client: "effect-baml/effect3/client", http: "@effect/platform" },
  4: { client: "effect-baml/client", http: "effect/http" }
}

const media = new Set(["Image", "Audio", "Pdf", "Video"])

/** One typed function: the BAML parameters (an optional one before a required one takes `undefined`), then options. */
const declaration = (f: Signature, importPath: string): string => {
  const bound = bindings(f.params.map((p) => p.name))
  const options = ["options", "requestOptions", "__baml_options__"].find((name) => !bound.includes(name))!
  let trailing = f.params.length
  while (trailing > 0 && f.params[trailing - 1]!.optional) trailing--
  const params = [
    ...f.params.map((p, i) =>
      !p.optional ? `${bound[i]}: ${p.type}` : i >= trailing ? `${bound[i]}?: ${p.type}` : `${bound[i]}: ${p.type} | undefined`
    ),
    `${options}?: BamlClient.RequestOptions`
  ]
  const entries = f.params.map((p, i) => bound[i] === p.name ? p.name : `${JSON.stringify(p.name)}: ${bound[i]}`)
  const args = f.params.length === 0 ? "{}" : `{ ${entries.join(", ")} }`
  return [
    jsDoc([
      `Streams the BAML function \`${f.name}\` from the server: partial results, then the final result, each decoded`,
      `with the function's schema (\`Schemas.${f.name}Partial\`, \`Schemas.${f.name}Final\`): a value that does not decode`,
      "fails the stream with a `MalformedResponse`. Ending the stream early in any way aborts the request, and the",
      "server aborts the LLM request.",
      "",
      "@example",
      "```ts",
      "import { Stream } from \"effect\"",
      `import * as Http from ${JSON.stringify(importPath)}`,
      "",
      `const final = Http.${f.name}(${bound.join(", ")}).pipe(Stream.runLast)`,
      "```"
    ], ""),
    `export const ${f.name} = (`,
    params.map((p) => `  ${p}`).join(",\n"),
    `): Stream.Stream<`,
    `  BamlClient.Message<Schemas.${f.name}Partial, Schemas.${f.name}Final>,`,
    "  BamlClient.ClientError,",
    "  HttpClient.HttpClient",
    "> =>",
    `  BamlClient.stream(${JSON.stringify(f.name)}, ${args}, ${options}, {`,
    `    partial: Schemas.${f.name}Partial,`,
    `    final: Schemas.${f.name}Final`,
    "  })"
  ].join("\n")
}

/**
 * Renders `http.ts` for the signatures of `input`. A function whose types name media (`Image`, `Audio`, ...) is left
 * out: media arguments do not travel as JSON.
 *
 * @example
 * ```ts
 * declare const input: RenderInput
 * const files = { "http.ts": render(input) }
 * ```
 * @since 0.2.0
 * @category rendering
 */
export const render = (input: RenderInput): string => {
  const functions = input.signatures.filter((f) =>
    ![f.final, f.partial, ...f.params.map((p) => p.type)].flatMap(references).some((name) => media.has(name))
  )
  const used = new Set(functions.flatMap((f) => f.params.map((p) => p.type).flatMap(references)))
  const typeExports = exportedNames(input.types)
  const modules = clientModules[input.effect]
  const imports = functions.length === 0 ? [] : [
    "import type { Stream } from \"effect\"",
    `import type { HttpClient } from ${JSON.stringify(modules.http)}`,
    `import { BamlClient } from ${JSON.stringify(modules.client)}`,
    "import * as Schemas from \"./schemas.js\""
  ]
  const fromPartials = [...used].filter((name) => name === "partial_types" || name === "StreamState").sort()
  if (fromPartials.length > 0) imports.push(`import type { ${fromPartials.join(", ")} } from "./partial_types.js"`)
  const fromTypes = [...used].filter((name) => name !== "types" && typeExports.has(name)).sort()
  if (fromTypes.length > 0) imports.push(`import type { ${fromTypes.join(", ")} } from "./types.js"`)
  if (used.has("types")) imports.push("import type * as types from \"./types.js\"")
  return [
    fileHeader(
      "The BAML functions of baml_src streamed from a server that serves them with `BamlHttp.handler`, for browsers:\n" +
        " * this module loads no BAML engine. Each request is a POST of the arguments to the function's name, resolved\n" +
        " * against the page (or the `HttpClient`'s base URL); `options.url` names another."
    ),
    imports.join("\n"),
    "",
    functions.map((f) => declaration(f, input.importPath.replace(/index\.js$/, "http.js"))).join("\n\n"),
    ""
  ].join("\n")
}
