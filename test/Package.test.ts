/**
 * The package as a new user gets it: packed, installed from the tarball into an empty project next to the Effect line
 * that project chose, the client generated, the program type-checked with declarations on by TypeScript 5.9 and
 * TypeScript 7, then run on the scripted provider. Needs the npm registry (as `npm ci` does).
 */
import { describe, expect, it } from "@effect/vitest"
import { execFile } from "node:child_process"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import { promisify } from "node:util"
import { beforeAll } from "vitest"

const exec = promisify(execFile)
const root = Path.resolve(import.meta.dirname, "..")
const fixtures = Path.join(import.meta.dirname, "fixtures", "package")

const run = async (cwd: string, command: string, args: ReadonlyArray<string>) => {
  try {
    const { stdout } = await exec(command, [...args], {
      cwd,
      env: { ...process.env, npm_config_fund: "false", npm_config_audit: "false", npm_config_update_notifier: "false" },
      maxBuffer: 64 * 1024 * 1024
    })
    return stdout
  } catch (cause) {
    const error = cause as { stdout?: string; stderr?: string; message: string }
    throw new Error(`${command} ${args.join(" ")} failed in ${cwd}:\n${error.stdout ?? ""}\n${error.stderr ?? error.message}`)
  }
}

/** Every version of `name` in the project's tree. */
const versionsOf = async (cwd: string, name: string): Promise<Set<string>> => {
  interface Node {
    readonly version?: string
    readonly dependencies?: Record<string, Node>
  }
  const tree = JSON.parse(await run(cwd, "npm", ["ls", name, "--all", "--json"])) as Node
  const found = new Set<string>()
  const walk = (node: Node) => {
    for (const [key, child] of Object.entries(node.dependencies ?? {})) {
      if (key === name && child.version !== undefined) found.add(child.version)
      walk(child)
    }
  }
  walk(tree)
  return found
}

const lines = [
  {
    line: "effect4",
    major: "4",
    // What `npm i effect` and the Effect 4 platform and test packages install today (the platform's minor named, as
    // the README says: on Node 20 a plain `@effect/platform-node@4` is 4.0.6, which the peer range refuses)
    install: ["effect@4", "@effect/platform-node@^4.1", "@effect/vitest@4"],
    imports: `from "effect-baml"`
  },
  {
    line: "effect3",
    major: "3",
    install: ["effect@3", "@effect/platform@0.97", "@effect/platform-node@0.108", "@effect/vitest@0.30"],
    imports: `from "effect-baml/effect3"`
  }
] as const

describe("the packed package in a new project", () => {
  let tarball = ""
  beforeAll(async () => {
    const out = await Fs.mkdtemp(Path.join(Os.tmpdir(), "effect-baml-pack-"))
    const name = (await run(root, "npm", ["pack", "--silent", "--pack-destination", out])).trim().split("\n").pop()!
    tarball = Path.join(out, name)
  }, 300_000)

  it("ships the built code, the command and the sources, and no tests", async () => {
    const files = (await run(root, "tar", ["tzf", tarball])).split("\n")
    for (const file of ["dist/effect4/index.js", "dist/effect4/index.d.ts", "dist/effect4/cli/bin.js", "dist/effect3/index.effect3.js"]) {
      expect(files).toContain(`package/${file}`)
    }
    expect(files.filter((file) => file.includes("/test/") || file.includes("node_modules"))).toEqual([])
  })

  it("runs no script when a project installs it (npm would warn about it): the build runs when it is packed", async () => {
    const manifest = JSON.parse(await run(root, "tar", ["xzOf", tarball, "package/package.json"]))
    const scripts: Record<string, string> = manifest.scripts ?? {}
    for (const hook of ["preinstall", "install", "postinstall", "prepare"]) expect(scripts[hook]).toBeUndefined()
    expect(scripts.prepack).toBe("npm run build")
  })

  it("is ready to publish: publint and Are the Types Wrong find nothing, and npm publish --dry-run passes", async () => {
    const bin = (name: string) => Path.join(root, "node_modules", ".bin", name)
    const lint = await run(root, bin("publint"), ["run", tarball, "--strict"])
    expect(lint).not.toMatch(/error|warning/i)
    // an ES module package: no CommonJS entry to check
    await run(root, bin("attw"), [tarball, "--profile", "esm-only", "--format", "table-flipped"])
    const dryRun = await run(root, "npm", ["publish", "--dry-run", "--ignore-scripts", tarball])
    expect(dryRun).toBe(dryRun)
  }, 300_000)

  it("installed linked (as pnpm lays it out): a client of every BAML type form, media included, type-checks", async () => {
    // generated code imports only `effect` and `effect-baml`, never the engine, which the project does not see here
    const dir = await Fs.mkdtemp(Path.join(Os.tmpdir(), "effect-baml-linked-"))
    try {
      await Fs.writeFile(Path.join(dir, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }))
      await run(dir, "npm", ["install", "--install-strategy=linked", tarball, "effect@4", "typescript@5.9"])
      // linked: the engine is effect-baml's dependency, not the project's
      await expect(Fs.stat(Path.join(dir, "node_modules", "@boundaryml"))).rejects.toThrow()
      await Fs.cp(Path.join(root, "test", "fixtures", "forms", "baml_src"), Path.join(dir, "baml_src"), { recursive: true })
      await run(dir, "npx", ["effect-baml", "generate", "--from", "baml_src", "--to", "src/baml_client"])
      const generated = await Fs.readdir(Path.join(dir, "src", "baml_client"))
      for (const file of generated) {
        const text = await Fs.readFile(Path.join(dir, "src", "baml_client", file), "utf8")
        const modules = [...text.matchAll(/^import .* from "([^".][^"]*)"$/gm)].map((m) => m[1]!)
        for (const module of modules) expect(module, file).toMatch(/^(effect|effect-baml)(\/|$)/)
      }
      await Fs.writeFile(
        Path.join(dir, "tsconfig.json"),
        JSON.stringify({
          compilerOptions: {
            target: "ES2022",
            module: "NodeNext",
            moduleResolution: "NodeNext",
            strict: true,
            skipLibCheck: true,
            noEmit: true,
            types: []
          },
          include: ["src"]
        })
      )
      await run(dir, "node", ["node_modules/typescript/bin/tsc", "-p", "."])
    } finally {
      await Fs.rm(dir, { recursive: true, force: true })
    }
  }, 600_000)

  it("examples/basic as its README runs it, on the packed package: check, then start; no lock file is written", async () => {
    const dir = await Fs.mkdtemp(Path.join(Os.tmpdir(), "effect-baml-basic-"))
    await Fs.cp(Path.join(root, "examples", "basic"), dir, {
      recursive: true,
      filter: (source) => !source.includes("node_modules") && !source.endsWith("package-lock.json")
    })
    // The example installs effect-baml from the repository (file:../..); here, from the packed package.
    const manifest = JSON.parse(await Fs.readFile(Path.join(dir, "package.json"), "utf8"))
    manifest.dependencies["effect-baml"] = tarball
    await Fs.writeFile(Path.join(dir, "package.json"), JSON.stringify(manifest, null, 2))
    await run(dir, "npm", ["install"])
    await expect(Fs.access(Path.join(dir, "package-lock.json"))).rejects.toThrow()
    await run(dir, "npm", ["run", "check"])
    // and it type-checks by itself, with its own TypeScript and its own Effect
    await run(dir, "npm", ["run", "typecheck"])
    // An API key in the environment does not make it call OpenAI.
    const out = await run(dir, "env", ["OPENAI_API_KEY=sk-not-a-real-key", "npm", "start"])
    expect(out).toContain("Provider: the scripted provider")
    expect(out).toMatch(/Sunday pancakes, serves 4: 7 ingredients,/)
    expect(out).toMatch(/the provider sent \d+ of \d+ chunks: the request was closed-early/)
  }, 600_000)

  it.each(lines)(
    "$line: one Effect in the tree, the generated client type-checks with TS 5.9 and TS 7, a call and a left stream run",
    async ({ imports, install, line, major }) => {
      const dir = await Fs.mkdtemp(Path.join(Os.tmpdir(), `effect-baml-${line}-`))
      await Fs.writeFile(Path.join(dir, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }))
      await run(dir, "npm", ["install", tarball, ...install, "typescript@5.9", "typescript7@npm:typescript@7"])
      expect([...(await versionsOf(dir, "effect"))].map((version) => version.split(".")[0])).toEqual([major])

      await Fs.mkdir(Path.join(dir, "baml_src"))
      await Fs.copyFile(Path.join(fixtures, "baml_src.baml"), Path.join(dir, "baml_src", "resume.baml"))
      expect(await run(dir, "npx", ["effect-baml", "--version"])).toContain(
        JSON.parse(await Fs.readFile(Path.join(root, "package.json"), "utf8")).version
      )
      // No flag: the generator reads which Effect the project has.
      await run(dir, "npx", ["effect-baml", "generate", "--from", "baml_src", "--to", "src/baml_client"])
      expect(await Fs.readFile(Path.join(dir, "src", "baml_client", "index.ts"), "utf8")).toContain(imports)
      // and a client of every kind of BAML type, whose schemas.ts must type-check with declarations too
      await Fs.mkdir(Path.join(dir, "kinds_src"))
      await Fs.copyFile(
        Path.join(import.meta.dirname, "fixtures", "kinds", "baml_src", "kinds.baml"),
        Path.join(dir, "kinds_src", "kinds.baml")
      )
      await run(dir, "npx", ["effect-baml", "generate", "--from", "kinds_src", "--to", "src/kinds_client"])
      await Fs.copyFile(Path.join(fixtures, `${line}.ts`), Path.join(dir, "src", "main.ts"))
      await Fs.writeFile(
        Path.join(dir, "tsconfig.json"),
        JSON.stringify({
          compilerOptions: {
            target: "ES2022",
            module: "NodeNext",
            moduleResolution: "NodeNext",
            strict: true,
            declaration: true,
            skipLibCheck: true,
            types: [],
            rootDir: "src",
            outDir: "out"
          },
          include: ["src"]
        })
      )
      await run(dir, "node", ["node_modules/typescript7/bin/tsc", "-p", ".", "--noEmit"])
      await run(dir, "node", ["node_modules/typescript/bin/tsc", "-p", "."])
      expect(await Fs.readFile(Path.join(dir, "out", "main.d.ts"), "utf8")).toContain("AppLayer")
      if (line === "effect4") {
        // Without skipLibCheck and without @types/node, effect-baml's declarations check (BamlJob's included): the
        // errors are in the engine's own declarations only, as the README says.
        await Fs.writeFile(Path.join(dir, "src", "job.ts"), `import { BamlJob } from "effect-baml"\nexport const bar = BamlJob.progressBar\n`)
        const strict = await run(dir, "node", [
          "node_modules/typescript/bin/tsc",
          "-p",
          ".",
          "--noEmit",
          "--skipLibCheck",
          "false"
        ]).then(() => "", (error: Error) => error.message)
        const files = new Set([...strict.matchAll(/^(\S+?)\(\d+,\d+\): error/gm)].map((match) => match[1]!))
        for (const file of files) expect(file).toMatch(/^node_modules\/@boundaryml\/baml\//)
      }

      // The documented modules are importable one by one; the internals are closed.
      const prefix = line === "effect4" ? "effect-baml" : "effect-baml/effect3"
      const importable = async (specifier: string) =>
        (await run(dir, "node", [
          "--input-type=module",
          "-e",
          `import(${JSON.stringify(specifier)}).then(() => console.log("yes"), (e) => console.log(e.code))`
        ])).trim()
      expect(await importable(`${prefix}/BamlError`)).toBe("yes")
      for (const internal of ["internal/meter", "core/engine/engine", `kit/${line}/index`, "client/BamlError"]) {
        expect(await importable(`${prefix}/${internal}`)).toBe("ERR_PACKAGE_PATH_NOT_EXPORTED")
      }

      const result = JSON.parse((await run(dir, "node", ["out/main.js"])).trim().split("\n").pop()!)
      expect(result).toEqual({ name: "Ada Lovelace", partials: 2, statuses: ["completed", "closed-early"] })
    },
    600_000
  )
})
