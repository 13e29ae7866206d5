/**
 * The packed package in a project installed as pnpm lays it out (npm's `--install-strategy=linked`: a package sees
 * only its declared dependencies): a client with media in its parameters, classes, lists and maps type-checks, because
 * generated code imports only `effect` and `effect-baml`, never the engine. Needs the npm registry (as `npm ci` does).
 */
import { describe, expect, it } from "@effect/vitest"
import { execFile } from "node:child_process"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import { promisify } from "node:util"

const exec = promisify(execFile)
const root = Path.resolve(import.meta.dirname, "..")

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

describe("the packed package, installed linked", () => {
  it("a client of every BAML type form, media included, type-checks where only declared dependencies resolve", async () => {
    const dir = await Fs.mkdtemp(Path.join(Os.tmpdir(), "effect-baml-linked-"))
    try {
      const name = (await run(root, "npm", ["pack", "--silent", "--pack-destination", dir])).trim().split("\n").pop()!
      await Fs.writeFile(Path.join(dir, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }))
      await run(dir, "npm", ["install", "--install-strategy=linked", Path.join(dir, name), "effect@4", "typescript@5.9"])
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
})
