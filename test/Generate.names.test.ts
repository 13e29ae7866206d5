import { describe, expect, it } from "@effect/vitest"
import type * as Engine from "@boundaryml/baml"
import { Effect, Layer, Stream } from "effect"
import { Baml, BamlRuntime } from "effect-baml"
import { ScriptedProvider } from "effect-baml/testing"
import * as Fs from "node:fs/promises"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import ts from "typescript"
import * as Generate from "../src/cli/generate.js"
import { GenerateError } from "../src/cli/generate.js"

const root = fileURLToPath(new URL("../", import.meta.url))

// The generator is plain async code (it imports no Effect); these run it inside the tests' Effects.
const generate = (options: Generate.Options) =>
  Effect.tryPromise({
    try: () => Generate.generate(options),
    catch: (error) => error instanceof GenerateError ? error : new GenerateError(String(error))
  })

/**
 * A directory inside the project (so that the generated client resolves `effect` and `effect-baml` as a user's
 * would), removed with the scope.
 */
const projectDir = Effect.acquireRelease(
  Effect.promise(async () => {
    await Fs.mkdir(Path.join(root, ".scratch"), { recursive: true })
    return Fs.mkdtemp(Path.join(root, ".scratch", "generate-names-"))
  }),
  (dir) => Effect.promise(() => Fs.rm(dir, { recursive: true, force: true }))
)

const writeSources = (dir: string, files: Record<string, string>) =>
  Effect.promise(async () => {
    const from = Path.join(dir, "baml_src")
    await Fs.mkdir(from, { recursive: true })
    for (const [name, text] of Object.entries(files)) await Fs.writeFile(Path.join(from, name), text)
    return from
  })

const clients = [
  "client<llm> Scripted {",
  "  provider openai-generic",
  "  options {",
  "    base_url env.SCRIPTED_BASE_URL",
  "    model \"scripted\"",
  "    api_key \"not-needed\"",
  "  }",
  "}",
  ""
].join("\n")

/** JavaScript's reserved words, in sloppy and strict code and in modules, and the names strict code cannot bind. */
const reservedWords = [
  "break", "case", "catch", "class", "const", "continue", "debugger", "default", "delete", "do", "else", "enum",
  "export", "extends", "false", "finally", "for", "function", "if", "import", "in", "instanceof", "new", "null",
  "return", "super", "switch", "this", "throw", "true", "try", "typeof", "var", "void", "while", "with", "yield",
  "let", "static", "implements", "interface", "package", "private", "protected", "public", "await", "arguments",
  "eval"
]
/** TypeScript's contextual keywords and JavaScript's special values: legal names that a parser might mistake. */
const contextualWords = [
  "abstract", "accessor", "any", "as", "asserts", "async", "bigint", "boolean", "constructor", "declare", "get",
  "infer", "intrinsic", "is", "keyof", "module", "namespace", "never", "number", "object", "of", "out", "override",
  "readonly", "require", "satisfies", "set", "string", "symbol", "type", "unique", "unknown", "global", "undefined",
  "NaN", "Infinity"
]
/** Every name the generated client itself binds, imports or refers to. */
const helperNames = [
  "callAs", "streamAs", "stream", "layer", "files", "Streamed", "Baml", "BamlError", "BamlRuntime", "Effect", "Layer",
  "Stream", "types", "partial_types", "StreamState", "options", "bamlOptions", "Image", "Audio", "Pdf", "Video",
  "Record", "Readonly", "ReadonlyArray", "Array", "Partial", "Object", "Checked", "Check", "RecursivePartialNull"
]
/** Names whose safe form is already taken by another parameter, and names that are not JavaScript identifiers. */
const trickyNames = ["default_", "callAs_", "my-param", "my_param"]
const parameterNames = [...reservedWords, ...contextualWords, ...helperNames, ...trickyNames]

/** The arguments each native call and stream received, by a proxy over the engine. */
const recordingArgs = (seen: Array<Readonly<Record<string, unknown>>>) =>
  Layer.effect(
    BamlRuntime.BamlRuntime,
    Effect.map(BamlRuntime.BamlRuntime, (runtime) => ({
      ...runtime,
      engine: new Proxy(runtime.engine, {
        get(target, key) {
          const value = Reflect.get(target, key, target)
          if (key === "callFunction" || key === "streamFunction") {
            return (...args: Parameters<Engine.BamlRuntime["callFunction"]>) => {
              seen.push(args[1])
              return (value as (...a: typeof args) => unknown).apply(target, args)
            }
          }
          return typeof value === "function" ? value.bind(target) : value
        }
      })
    }))
  )

/** The compiler's diagnostics for `file` with the project's own options (strict, no unused locals or parameters). */
const typeErrors = (file: string): Array<string> => {
  const config = ts.getParsedCommandLineOfConfigFile(Path.join(root, "tsconfig.json"), {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
      throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n"))
    }
  })!
  const program = ts.createProgram([file], { ...config.options, noEmit: true })
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const where = d.file === undefined ? "" : `${Path.basename(d.file.fileName)}:${
      d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1
    }: `
    return where + ts.flattenDiagnosticMessageText(d.messageText, " ")
  })
}

describe("generated client and the names in baml_src", () => {
  it.live(
    "parameters named like reserved words and helper names: the client type-checks; each argument arrives by its name",
    () =>
      Effect.gen(function*() {
        const dir = yield* projectDir
        const params = parameterNames.map((name) => `${name}: string`).join(", ")
        const from = yield* writeSources(dir, {
          "clients.baml": clients,
          "names.baml": `function Names(${params}) -> string {\n  client Scripted\n  prompt #"Say ok."#\n}\n`
        })
        const to = Path.join(dir, "baml_client")
        yield* generate({ from, to, effect: 4 })
        const index = Path.join(to, "index.ts")
        expect(typeErrors(index)).toEqual([])

        // At run time: the engine receives every argument under its BAML name, for a call and for a stream.
        const client = yield* Effect.promise(() => import(index))
        const values = parameterNames.map((name) => `value of ${name}`)
        const expected = Object.fromEntries(parameterNames.map((name, i) => [name, values[i]]))
        const seen: Array<Readonly<Record<string, unknown>>> = []
        const program = Effect.gen(function*() {
          const provider = yield* ScriptedProvider.ScriptedProvider
          yield* provider.script({ script: { reply: "ok" } })
          const runtime = BamlRuntime.layerFromFiles(client.files, { env: { SCRIPTED_BASE_URL: provider.baseUrl } })
          const called = yield* (client.Names(...values) as Effect.Effect<string, unknown, BamlRuntime.BamlRuntime>)
            .pipe(Effect.provide(recordingArgs(seen).pipe(Layer.provide(runtime))))
          const streamed = yield* Baml.final(
            client.stream.Names(...values) as Stream.Stream<Baml.StreamEvent<string, string>, unknown, BamlRuntime.BamlRuntime>
          ).pipe(Effect.provide(recordingArgs(seen).pipe(Layer.provide(runtime))))
          return [called, streamed]
        })
        expect(yield* program.pipe(Effect.provide(ScriptedProvider.layer()))).toEqual(["ok", "ok"])
        expect(seen).toEqual([expected, expected])
      }).pipe(Effect.scoped),
    120_000
  )

  it.live("BAML names the generated code uses for itself keep their names; its own names and derived ones move aside", () =>
    Effect.gen(function*() {
      const dir = yield* projectDir
      // BAML names start with an uppercase letter (and BAML reserves `BamlClient`): every other such name the
      // generated files use or derive.
      const taken = [
        "Effect", "Layer", "Stream", "Schema", "Baml", "BamlError", "BamlRuntime", "BamlMedia",
        "HttpClient", "Schemas", "StreamState", "Checked", "Check", "Image", "Record", "SearchParams", "SearchFinal",
        "ImagePartial"
      ]
      const source = [
        ...taken.map((name) => `class ${name} {\n  a string\n}\n`),
        "function Search(params: SearchParams, img: Image) -> Checked {",
        "  client Scripted",
        "  prompt #\"{{ params.a }} {{ ctx.output_format }}\"#",
        "}",
        "function Streamed(text: string) -> Record[] {",
        "  client Scripted",
        "  prompt #\"{{ text }} {{ ctx.output_format }}\"#",
        "}",
        ""
      ].join("\n")
      const from = yield* writeSources(dir, { "clients.baml": clients, "names.baml": source })
      const to = Path.join(dir, "baml_client")
      yield* generate({ from, to, effect: 4 })
      for (const file of ["index.ts", "http.ts", "schemas.ts"]) expect(typeErrors(Path.join(to, file)), file).toEqual([])
      const schemas = yield* Effect.promise(() => Fs.readFile(Path.join(to, "schemas.ts"), "utf8"))
      // the BAML class keeps `SearchParams`; the function's derived names take a `_` where BAML has the name
      expect(schemas).toContain("export const SearchParams: Schema_.Codec<SearchParams> = ")
      expect(schemas).toContain("export const SearchParams_ = Schema_.Struct({")
      expect(schemas).toContain("export const SearchFinal_ = ")
      expect(schemas).toContain("export const SearchPartial = ")
      expect(schemas).toContain("export const ImagePartial_: ")
      const client = yield* Effect.promise(() => import(Path.join(to, "index.ts")))
      expect(Object.keys(client)).toEqual(expect.arrayContaining(["Search", "Streamed", "stream", "layer", "files"]))
    }).pipe(Effect.scoped), 60_000)
})
