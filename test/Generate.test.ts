import { describe, expect, expectTypeOf, it, layer } from "@effect/vitest"
import { Effect, Layer, Option, Stream } from "effect"
import type { Audio, Image, Pdf } from "@boundaryml/baml"
import { Baml, type BamlError, BamlRuntime } from "effect-baml"
import { ScriptedProvider } from "effect-baml/testing"
import { execFile } from "node:child_process"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Client from "../baml_client/index.js"
import * as Generate from "../src/cli/generate.js"
import { GenerateError } from "../src/cli/generate.js"
import * as Kinds from "./fixtures/kinds/baml_client/index.js"
import { marker, shortResume, TestLayer } from "./shared/fixtures.js"

const Provider = ScriptedProvider.ScriptedProvider
type Success<F extends (...args: never) => Effect.Effect<unknown, unknown, unknown>> = Effect.Success<ReturnType<F>>
type Element<F extends (...args: never) => Stream.Stream<unknown, unknown, unknown>> = Stream.Success<ReturnType<F>>

// The generator is plain async code (it imports no Effect); these run it inside the tests' Effects.
const check = (options: Generate.Options) => Effect.promise(() => Generate.check(options))
const generate = (options: Generate.Options) =>
  Effect.tryPromise({
    try: () => Generate.generate(options),
    catch: (error) => error instanceof GenerateError ? error : new GenerateError(String(error))
  })

/** A temporary directory (under the OS's), removed with the scope. */
const tempDir = Effect.acquireRelease(
  Effect.promise(() => Fs.mkdtemp(Path.join(Os.tmpdir(), "effect-baml-test-"))),
  (dir) => Effect.promise(() => Fs.rm(dir, { recursive: true, force: true }))
)

/** A copy of the project's baml_src and its generated client in a temporary directory. */
const projectCopy = Effect.gen(function*() {
  const dir = yield* tempDir
  yield* Effect.promise(() => Fs.cp("baml_src", Path.join(dir, "baml_src"), { recursive: true }))
  yield* Effect.promise(() => Fs.cp("baml_client", Path.join(dir, "baml_client"), { recursive: true }))
  return { dir, from: Path.join(dir, "baml_src"), to: Path.join(dir, "baml_client") }
})

const snapshot = (dir: string) =>
  Effect.promise(async () => {
    const names = (await Fs.readdir(dir)).sort()
    const texts = await Promise.all(names.map((name) => Fs.readFile(Path.join(dir, name), "utf8")))
    return Object.fromEntries(names.map((name, i) => [name, texts[i]]))
  })

/** Runs the real command line, as `npx effect-baml` would. */
const cli = (args: ReadonlyArray<string>) =>
  Effect.callback<{ readonly code: number; readonly stdout: string; readonly stderr: string }>((resume) => {
    execFile(
      Path.resolve("node_modules/.bin/tsx"),
      [Path.resolve("src/cli/bin.ts"), ...args],
      (error, stdout, stderr) =>
        resume(Effect.succeed({ code: error === null ? 0 : Number(error.code), stdout, stderr }))
    )
  })

describe("generated types", () => {
  it("a call succeeds with the engine's class type; a stream's partials have the partial type, its final the final type", () => {
    expectTypeOf(Client.ExtractResume).returns.toEqualTypeOf<
      Effect.Effect<Client.Resume, BamlError.BamlError, BamlRuntime.BamlRuntime>
    >()
    expectTypeOf<Element<typeof Client.stream.ExtractResume>>().toEqualTypeOf<
      Baml.StreamEvent<Client.partial_types.Resume, Client.Resume>
    >()
    expectTypeOf<Extract<Element<typeof Client.stream.ExtractResume>, { _tag: "Final" }>["value"]>()
      .toEqualTypeOf<Client.Resume>()
    expectTypeOf<Extract<Element<typeof Client.stream.ExtractResume>, { _tag: "Partial" }>["value"]>()
      .toEqualTypeOf<Client.partial_types.Resume>()
    // Baml.final: the final value, as the function's final type, not its partial type
    expectTypeOf(Baml.final(Client.stream.ExtractResume("text"))).toEqualTypeOf<
      Effect.Effect<Client.Resume, BamlError.BamlError, BamlRuntime.BamlRuntime>
    >()
    expectTypeOf<Success<typeof Client.Summarize>>().toEqualTypeOf<string>()
    expectTypeOf<Element<typeof Client.stream.Summarize>>().toEqualTypeOf<Baml.StreamEvent<string, string>>()
  })

  it("arguments keep the BAML declaration's names, order and types, and options are Baml.Options", () => {
    expectTypeOf(Client.ExtractResume).parameters.toEqualTypeOf<[resume: string, options?: Baml.Options]>()
    expectTypeOf(Client.stream.ExtractResume).parameters.toEqualTypeOf<[resume: string, options?: Baml.Options]>()
    expectTypeOf(Kinds.Describe).parameters.toEqualTypeOf<
      [
        profile: Kinds.Profile,
        colors: Array<Kinds.Color>,
        note: string | null | undefined, // optional in BAML, but a required parameter follows it
        limits: Record<string, number>,
        choice: "a, b" | "c",
        options?: Baml.Options
      ]
    >()
    expectTypeOf(Kinds.Look).parameters.toEqualTypeOf<[img: Image, sound: Audio, doc: Pdf, options?: Baml.Options]>()
    expectTypeOf(Kinds.Answer).parameters.toEqualTypeOf<[options?: Baml.Options]>()
  })

  it("wrong arguments and unknown options do not compile", () => {
    // Only built, never run: the assertions are the compiler's.
    // @ts-expect-error a number is not a string
    Client.ExtractResume(42)
    // @ts-expect-error the argument is missing
    Client.stream.ExtractResume()
    // @ts-expect-error one argument too many
    Client.Summarize("a", "b")
    // @ts-expect-error `clientName` is not an option
    Client.ExtractResume("resume", { clientName: "OpenAI" })
    // @ts-expect-error `client` is a name, not a number
    Client.ExtractResume("resume", { client: 1 })
    // @ts-expect-error "d" is not one of the literal's values
    Kinds.Describe({} as Kinds.Profile, [], "note", {}, "d")
    // @ts-expect-error a colour is an enum value, not any string
    Kinds.Describe({} as Kinds.Profile, ["Purple"], "note", {}, "c")
    expectTypeOf(Client.ExtractResume).toBeCallableWith("resume", { client: "OpenAI", tags: { run: "1" } })
  })

  it("every kind of BAML type gets the engine's own TypeScript type", () => {
    expectTypeOf<Success<typeof Kinds.Classify>>().toEqualTypeOf<Kinds.Color>()
    expectTypeOf<Success<typeof Kinds.Grow>>().toEqualTypeOf<Kinds.Tree | Kinds.Point | null>()
    expectTypeOf<Element<typeof Kinds.stream.Grow>>().toEqualTypeOf<
      Baml.StreamEvent<Kinds.partial_types.Tree | Kinds.partial_types.Point | null, Kinds.Tree | Kinds.Point | null>
    >()
    expectTypeOf<Success<typeof Kinds.Look>>().toEqualTypeOf<Kinds.JsonValue>()
    expectTypeOf<Success<typeof Kinds.Count>>().toEqualTypeOf<Array<number>>()
    expectTypeOf<Success<typeof Kinds.Measure>["radius"]>().toEqualTypeOf<Kinds.Checked<number, "positive">>()
    expectTypeOf<Success<typeof Kinds.Extend>>().toEqualTypeOf<Kinds.Dyn>()
    expectTypeOf<Success<typeof Kinds.Answer>>().toEqualTypeOf<"yes" | "no" | 3 | true>()
    expectTypeOf<Kinds.Profile["shape"]>().toEqualTypeOf<Kinds.Point | Kinds.Circle>()
    expectTypeOf<Kinds.Tree["children"]>().toEqualTypeOf<Array<Kinds.Tree>>()
    // `@stream.with_state` wraps a field of the partial type, so the final result is not a partial: the event says.
    expectTypeOf<Kinds.partial_types.Profile["status"]>().toEqualTypeOf<Kinds.StreamState<string | null>>()
    expectTypeOf<Element<typeof Kinds.stream.Describe>>().toEqualTypeOf<
      Baml.StreamEvent<Kinds.partial_types.Profile, Kinds.Profile>
    >()
  })

})

layer(TestLayer, { timeout: "60 seconds", excludeTestServices: true })("generated client at run time", (it) => {
  it.effect("a typed call and a typed stream return what the untyped core returns", () =>
    Effect.gen(function*() {
      const mark = marker("typed")
      yield* Effect.flatMap(Provider, (p) =>
        p.script({
          match: (prompt) => prompt.includes(mark),
          script: ScriptedProvider.json(shortResume("Grace Hopper"), { delayMs: 2 })
        }))
      const typed = yield* Client.ExtractResume(mark)
      const untyped = yield* Baml.call("ExtractResume", { resume: mark })
      const streamed = yield* Stream.runCollect(Client.stream.ExtractResume(mark))
      const final: Client.Resume = yield* Baml.final(Client.stream.ExtractResume(mark))
      expect(typed).toEqual(shortResume("Grace Hopper"))
      expect(typed).toEqual(untyped)
      expect(streamed.length).toBeGreaterThan(1)
      // partials, then exactly one final, last
      expect(streamed.map((event) => event._tag)).toEqual([...streamed.slice(1).map(() => "Partial"), "Final"])
      expect(streamed[streamed.length - 1]?.value).toEqual(untyped)
      expect(final).toEqual(untyped)
      expect(typed.experience[0]?.company).toBe("Analytical Engines Ltd")
    }), 20_000)

  it.effect("per-call options reach the engine: `client` picks another client", () =>
    Effect.gen(function*() {
      const mark = marker("options")
      const provider = yield* Provider
      yield* provider.script({ match: (prompt) => prompt.includes(mark), script: { reply: `summary ${mark}` } })
      const result = yield* Client.Summarize(mark, { client: "ScriptedStrict", tags: { test: "options" } })
      expect(result).toBe(`summary ${mark}`)
      const error = yield* Client.Summarize(mark, { client: "NoSuchClient" }).pipe(Effect.flip)
      expect(error.message).toContain("NoSuchClient")
    }), 20_000)

  it.effect("arguments reach their BAML parameters by name, whatever their kind", () =>
    Effect.gen(function*() {
      const provider = yield* Provider
      const profile: Kinds.Profile = {
        kind: "company",
        tags: { founded: 1843 },
        color: Kinds.Color.Blue,
        shape: { center: { x: 1, y: 2 }, radius: 3 },
        settled: "yes",
        status: "active",
        labels: ["engines", "looms"],
        extra: {}
      }
      yield* provider.script({
        match: (prompt) => prompt.includes("note=the note"),
        script: ScriptedProvider.json(profile, { delayMs: 2 })
      })
      yield* provider.script({
        match: (prompt) => prompt.includes("count=3 exact=true"),
        script: { reply: "[1, 2, 3]" }
      })
      const runtime = BamlRuntime.layerFromFiles(Kinds.files, { env: { SCRIPTED_BASE_URL: provider.baseUrl } })
      const [typed, untyped, last, counted] = yield* Effect.all([
        Kinds.Describe(profile, [Kinds.Color.Red], "the note", { a: 1.5 }, "a, b"),
        Baml.call("Describe", { profile, colors: ["Red"], note: "the note", limits: { a: 1.5 }, choice: "a, b" }),
        Stream.runLast(Kinds.stream.Describe(profile, [Kinds.Color.Red], "the note", { a: 1.5 }, "a, b")),
        Kinds.Count(3, true)
      ]).pipe(Effect.provide(runtime))
      expect(typed).toEqual(profile)
      expect(untyped).toEqual(typed)
      expect(Option.getOrThrow(last)).toMatchObject({ _tag: "Final", value: typed })
      expect(counted).toEqual([1, 2, 3])
      const prompts = (yield* provider.requests).map((r) => r.prompt)
      expect(prompts.filter((p) => p.includes("note=the note choice=a, b first=Red kind=company"))).toHaveLength(3)
    }), 20_000)

  it.effect("the embedded layer works from a directory with no baml_src", () =>
    Effect.gen(function*() {
      const provider = yield* Provider
      const mark = marker("embedded")
      yield* provider.script({ match: (prompt) => prompt.includes(mark), script: { reply: `embedded ${mark}` } })
      const elsewhere = yield* tempDir
      yield* Effect.acquireRelease(
        Effect.sync(() => {
          const cwd = process.cwd()
          const env = process.env.SCRIPTED_BASE_URL
          process.chdir(elsewhere)
          process.env.SCRIPTED_BASE_URL = provider.baseUrl
          return { cwd, env }
        }),
        ({ cwd, env }) =>
          Effect.sync(() => {
            process.chdir(cwd)
            if (env === undefined) delete process.env.SCRIPTED_BASE_URL
            else process.env.SCRIPTED_BASE_URL = env
          })
      )
      expect(yield* Effect.promise(() => Fs.readdir("."))).toEqual([])
      // the directory layer fails here: the embedded one is what works
      const missing = yield* Layer.build(BamlRuntime.layerFromDirectory("baml_src")).pipe(Effect.scoped, Effect.flip)
      expect(missing._tag).toBe("BamlRuntimeError")
      const result = yield* Client.Summarize(mark).pipe(Effect.provide(Client.layer))
      expect(result).toBe(`embedded ${mark}`)
    }).pipe(Effect.scoped), 20_000)
})

describe("effect-baml generate", () => {
  it.live("--check passes on the committed clients", () =>
    Effect.gen(function*() {
      expect(yield* check({ from: "baml_src", to: "baml_client" })).toEqual([])
      expect(yield* check({ from: "test/fixtures/kinds/baml_src", to: "test/fixtures/kinds/baml_client" })).toEqual([])
      expect(yield* check({ from: "examples/basic/baml_src", to: "examples/basic/src/baml_client" })).toEqual([])
      // the Effect 3 line's clients: no flag, the line is read from the effect installed where they are
      expect(yield* check({ from: "baml_src", to: "effect3/test/fixtures/baml_client" })).toEqual([])
      expect(yield* check({ from: "test/fixtures/kinds/baml_src", to: "effect3/test/fixtures/kinds/baml_client" }))
        .toEqual([])
    }), 20_000)

  it.live("--check fails after a .baml edit, and passes again once generated", () =>
    Effect.gen(function*() {
      const { dir, from, to } = yield* projectCopy
      expect(yield* check({ from, to })).toEqual([])
      const resume = Path.join(from, "resume.baml")
      const text = yield* Effect.promise(() => Fs.readFile(resume, "utf8"))
      const edited = text.replace("  email string?\n", "  email string?\n  phone string?\n")
      expect(edited).not.toBe(text)
      yield* Effect.promise(() => Fs.writeFile(resume, edited))
      const before = yield* snapshot(to)
      const stale = yield* check({ from, to })
      expect(stale).toEqual(
        expect.arrayContaining(["sources.ts differs", "types.ts differs", "partial_types.ts differs"])
      )
      expect(yield* snapshot(to)).toEqual(before) // --check writes nothing

      const run = yield* cli(["generate", "--check", "--from", from, "--to", to])
      expect(run.code).toBe(1)
      expect(run.stderr).toContain("is out of date")
      expect(run.stderr).toContain("types.ts differs")

      yield* generate({ from, to })
      expect(yield* check({ from, to })).toEqual([])
      const types = yield* Effect.promise(() => Fs.readFile(Path.join(to, "types.ts"), "utf8"))
      expect(types).toContain("phone?: string | null")
      expect((yield* Effect.promise(() => Fs.readdir(dir))).sort()).toEqual(["baml_client", "baml_src"])
    }).pipe(Effect.scoped), 30_000)

  it.live("in a CommonJS package it warns, naming the fix, and still writes the client; in an ES module package it does not", () =>
    Effect.gen(function*() {
      const { dir, from, to } = yield* projectCopy
      const manifest = (type: string) =>
        Effect.promise(() => Fs.writeFile(Path.join(dir, "package.json"), JSON.stringify({ name: "app", type })))
      yield* manifest("commonjs")
      const commonjs = yield* cli(["generate", "--from", from, "--to", to])
      expect(commonjs.code).toBe(0)
      expect(commonjs.stderr).toContain("CommonJS package")
      expect(commonjs.stderr).toContain("npm pkg set type=module")
      expect(commonjs.stdout).toContain("Generated")
      yield* manifest("module")
      const esm = yield* cli(["generate", "--from", from, "--to", to])
      expect(esm.code).toBe(0)
      expect(esm.stderr).toBe("")
    }).pipe(Effect.scoped), 30_000)

  it.live("a .baml error exits non-zero with the engine's file, line and message, and writes nothing", () =>
    Effect.gen(function*() {
      const { dir, from, to } = yield* projectCopy
      const before = yield* snapshot(to)
      const broken = "class Broken {\n  name string\n  age\n}\n"
      yield* Effect.promise(() => Fs.writeFile(Path.join(from, "broken.baml"), broken))
      const run = yield* cli(["generate", "--from", from, "--to", to])
      expect(run.code).toBe(1)
      expect(run.stderr).toContain(`${from}/broken.baml:3`)
      expect(run.stderr).toContain("No type specified for field `age`")
      expect(run.stderr).not.toContain("Stack backtrace")
      const error = yield* generate({ from, to }).pipe(Effect.flip)
      expect(error).toBeInstanceOf(GenerateError)
      expect(yield* snapshot(to)).toEqual(before)
      expect((yield* Effect.promise(() => Fs.readdir(dir))).sort()).toEqual(["baml_client", "baml_src"])
    }).pipe(Effect.scoped), 30_000)

  it.live("refuses to replace a directory it did not write", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const to = Path.join(dir, "baml_client")
      yield* Effect.promise(() => Fs.mkdir(to))
      yield* Effect.promise(() => Fs.writeFile(Path.join(to, "index.ts"), "export const mine = 1\n"))
      const error = yield* generate({ from: "baml_src", to }).pipe(Effect.flip)
      expect(error.message).toContain("was not written by effect-baml generate")
      expect(yield* snapshot(to)).toEqual({ "index.ts": "export const mine = 1\n" })
    }).pipe(Effect.scoped), 20_000)

  it.live("--effect 3 writes a client for the Effect 3 line, importing effect-baml/effect3; the rest is the same", () =>
    Effect.gen(function*() {
      const { from, to } = yield* projectCopy
      const effect4 = yield* snapshot(to)
      const run = yield* cli(["generate", "--effect", "3", "--from", from, "--to", to])
      expect(run.code, run.stderr).toBe(0)
      expect(run.stdout).toContain("for Effect 3 (--effect): it imports effect-baml/effect3")
      const effect3 = yield* snapshot(to)
      expect(effect3["index.ts"]).toContain("import { Baml, type BamlError, BamlRuntime } from \"effect-baml/effect3\"")
      expect(effect3["index.ts"]).not.toContain("from \"effect-baml\"")
      expect(effect3["index.ts"]!.replaceAll("\"effect-baml/effect3\"", "\"effect-baml\"")).toBe(effect4["index.ts"])
      // http.ts, the browser's client, imports the line's client module and its HttpClient; nothing else differs
      expect(effect3["http.ts"]).toContain("import { BamlClient } from \"effect-baml/effect3/client\"")
      expect(effect3["http.ts"]).toContain("import type { HttpClient } from \"@effect/platform\"")
      expect(
        effect3["http.ts"]!.replace("\"effect-baml/effect3/client\"", "\"effect-baml/client\"").replace(
          "\"@effect/platform\"",
          "\"effect/http\""
        )
      ).toBe(effect4["http.ts"])
      // schemas.ts differs where the Schema API does (a schema's type, optional keys, unions, literals, records)
      expect(effect4["schemas.ts"]).toContain(": Schema.Codec<Resume> = Schema.Struct(")
      expect(effect3["schemas.ts"]).toContain(": Schema.Schema<Resume> = Schema.Struct(")
      expect(effect3["schemas.ts"]).not.toContain("Schema.Codec<")
      expect(effect3["schemas.ts"]).toContain("Schema.optionalWith(")
      expect(effect3["schemas.ts"]).not.toContain("Schema.optionalKey(")
      expect({ ...effect3, "index.ts": "", "http.ts": "", "schemas.ts": "" }).toEqual({
        ...effect4,
        "index.ts": "",
        "http.ts": "",
        "schemas.ts": ""
      })
      // a client for the other line is out of date for this one, and --check says how to regenerate it
      const stale = yield* cli(["generate", "--check", "--from", from, "--to", to])
      expect(stale.code).toBe(1)
      expect(stale.stderr).toContain("index.ts differs")
      expect((yield* cli(["generate", "--check", "--effect", "3", "--from", from, "--to", to])).code).toBe(0)
    }).pipe(Effect.scoped), 30_000)

  it.live("the default Effect line is the major version of the effect package installed where the client goes", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const install = (version: string) =>
        Effect.promise(async () => {
          await Fs.mkdir(Path.join(dir, "node_modules", "effect"), { recursive: true })
          const manifest = { name: "effect", version, exports: { "./package.json": "./package.json" } }
          await Fs.writeFile(Path.join(dir, "node_modules", "effect", "package.json"), JSON.stringify(manifest))
        })
      const to = Path.join(dir, "src", "baml_client")
      yield* install("3.19.0")
      expect(Generate.detectEffectLine(to)).toBe(3)
      yield* install("4.1.0")
      expect(Generate.detectEffectLine(to)).toBe(4)
      expect(Generate.detectEffectLine(".")).toBe(4) // this repository is on Effect 4
    }).pipe(Effect.scoped), 10_000)

  it.live("--version prints the package's version; unknown flags and a bad --effect are usage errors", () =>
    Effect.gen(function*() {
      const manifest = JSON.parse(yield* Effect.promise(() => Fs.readFile("package.json", "utf8")))
      const version = yield* cli(["--version"])
      expect(version).toMatchObject({ code: 0, stdout: `${manifest.version}\n` })
      const unknown = yield* cli(["generate", "--frm", "x"])
      expect(unknown.code).toBe(2)
      expect(unknown.stderr).toContain("effect-baml: unknown option --frm (did you mean --from?)")
      const far = yield* cli(["generate", "--output", "x"])
      expect(far.code).toBe(2)
      expect(far.stderr).toContain("effect-baml: unknown option --output\n")
      const line = yield* cli(["generate", "--effect", "5"])
      expect(line.code).toBe(2)
      expect(line.stderr).toContain("--effect must be 3 or 4")
      const help = yield* cli(["--help"])
      expect(help.code).toBe(0)
      expect(help.stdout).toContain("--effect 3|4")
    }), 20_000)

  it.live("--check compares meaning: CRLF line endings in the sources and the client are up to date", () =>
    Effect.gen(function*() {
      const { from, to } = yield* projectCopy
      const crlf = (dir: string) =>
        Effect.promise(async () => {
          for (const name of await Fs.readdir(dir)) {
            const file = Path.join(dir, name)
            await Fs.writeFile(file, (await Fs.readFile(file, "utf8")).replace(/\n/g, "\r\n"))
          }
        })
      yield* crlf(from)
      yield* crlf(to)
      expect(yield* check({ from, to })).toEqual([])
      yield* Effect.promise(() => Fs.rm(Path.join(to, "http.ts")))
      expect(yield* check({ from, to })).toEqual(["http.ts is missing"])
    }).pipe(Effect.scoped), 30_000)
})
