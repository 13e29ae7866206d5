// The BAML functions that .baml sources declare, with their parameters' BAML types as written: what an error names
// when a call asks for a function that does not exist or passes an argument of the wrong type. No Effect here.
import { readdirSync, readFileSync } from "node:fs"
import { join, relative } from "node:path"

/**
 * Splits at the commas that are not inside brackets or string literals (TypeScript or BAML type text, parameter lists).
 *
 * @example
 * ```ts
 * splitTopLevel("a: map<string, int>, b: \"x, y\"") // ["a: map<string, int>", "b: \"x, y\""]
 * ```
 * @since 0.2.0
 * @category sources
 */
export const splitTopLevel = (text: string): Array<string> => {
  const parts: Array<string> = []
  let depth = 0
  let start = 0
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!
    if (c === "\"" || c === "'") {
      i++
      while (i < text.length && text[i] !== c) i += text[i] === "\\" ? 2 : 1
    } else if (c === "(" || c === "[" || c === "{" || c === "<") depth++
    else if (c === ")" || c === "]" || c === "}" || c === ">") depth--
    else if (c === "," && depth === 0) {
      parts.push(text.slice(start, i))
      start = i + 1
    }
  }
  parts.push(text.slice(start))
  return parts.map((part) => part.trim()).filter((part) => part !== "")
}

/** A parameter as baml_src declares it (`n: int`, `note: string?`). */
export interface DeclaredParam {
  readonly name: string
  readonly type: string
}

/** Every function of a baml_src, by name, with its parameters in order. */
export type Declarations = ReadonlyMap<string, ReadonlyArray<DeclaredParam>>

// Blanks comments and #"raw strings"# (prompts), which may mention `function X(`, keeping plain "strings": a literal
// type can hold any character.
const code = (text: string): string =>
  text.replace(/\/\/[^\n]*|(#+)"[\s\S]*?"\1/g, (m) => m.replace(/[^\n]/g, " "))

/** Where the bracket opened just before `from` closes: the index after its closing bracket. */
const closing = (source: string, from: number, open: string, close: string): number => {
  let depth = 1
  let i = from
  for (; i < source.length && depth > 0; i++) {
    if (source[i] === open) depth++
    else if (source[i] === close) depth--
  }
  return i
}

/** The functions the sources declare. A source the scan cannot read only leaves its functions out. */
export const declarations = (files: Readonly<Record<string, string>>): Declarations => {
  const found = new Map<string, ReadonlyArray<DeclaredParam>>()
  for (const text of Object.values(files)) {
    const source = code(text)
    const header = /(?:^|\n)\s*function\s+([A-Za-z_]\w*)\s*\(/g
    for (let match = header.exec(source); match !== null; match = header.exec(source)) {
      const i = closing(source, header.lastIndex, "(", ")")
      const params = splitTopLevel(source.slice(header.lastIndex, i - 1)).map((param) => {
        const colon = param.indexOf(":")
        return { name: param.slice(0, colon).trim(), type: param.slice(colon + 1).trim().replace(/\s+/g, " ") }
      })
      found.set(match[1]!, params)
    }
  }
  return found
}

/** The .baml files under `directory`, keyed by their path under it; nothing when it cannot be read. */
export const readDirectory = (directory: string): Record<string, string> => {
  const files: Record<string, string> = {}
  try {
    for (const entry of readdirSync(directory, { recursive: true, withFileTypes: true })) {
      if (!entry.isFile() || !entry.name.endsWith(".baml")) continue
      const path = join(entry.parentPath, entry.name)
      files[relative(directory, path)] = readFileSync(path, "utf8")
    }
  } catch {
    // the engine reports a missing or unreadable directory itself
  }
  return files
}

/** What a client of baml_src (or of a ClientRegistry) says about its replies and its environment. */
export interface DeclaredClient {
  /** `finish_reason_deny_list`: the finish reasons that make a reply an error. */
  readonly denyList?: ReadonlyArray<string> | undefined
  /** `finish_reason_allow_list`: the only finish reasons that make a reply a value. */
  readonly allowList?: ReadonlyArray<string> | undefined
  /** The variables it reads as `env.X`. */
  readonly env: ReadonlyArray<string>
}

/** Every client of a baml_src, by name. */
export type DeclaredClients = ReadonlyMap<string, DeclaredClient>

const stringList = (block: string, option: string): ReadonlyArray<string> | undefined => {
  const match = new RegExp(`\\b${option}\\s*\\[([^\\]]*)\\]`).exec(block)
  if (match === null) return undefined
  return [...match[1]!.matchAll(/"((?:[^"\\]|\\.)*)"|([A-Za-z_][\w-]*)/g)].map((m) => m[1] ?? m[2]!)
}

/** The clients the sources declare (`client<llm> Name { ... }`), with their finish-reason lists and variables. */
export const declaredClients = (files: Readonly<Record<string, string>>): DeclaredClients => {
  const found = new Map<string, DeclaredClient>()
  for (const text of Object.values(files)) {
    const source = code(text)
    const header = /(?:^|\n)\s*client\s*<\s*llm\s*>\s+([A-Za-z_]\w*)\s*\{/g
    for (let match = header.exec(source); match !== null; match = header.exec(source)) {
      const block = source.slice(header.lastIndex, closing(source, header.lastIndex, "{", "}") - 1)
      found.set(match[1]!, {
        denyList: stringList(block, "finish_reason_deny_list"),
        allowList: stringList(block, "finish_reason_allow_list"),
        env: [...new Set([...block.matchAll(/\benv\.([A-Za-z_]\w*)/g)].map((m) => m[1]!))]
      })
    }
  }
  return found
}

/** A ClientRegistry client's lists, from the options it was added with. */
export const registryClient = (options: Readonly<Record<string, unknown>>): DeclaredClient => {
  const list = (value: unknown) =>
    Array.isArray(value) ? value.filter((item): item is string => typeof item === "string") : undefined
  return {
    denyList: list(options.finish_reason_deny_list),
    allowList: list(options.finish_reason_allow_list),
    env: []
  }
}
