/**
 * The first stage of the generator: reads the .baml sources into the {@link Model}, once, for every output file.
 *
 * Why the sources, and not the engine's generated TypeScript or its reflection: the engine (0.226.2) offers no
 * reflection of its declarations, and its TypeScript differs from its values (string literals, enum-keyed maps,
 * recursive aliases, checks: see `model.ts`); the sources also give every declaration's file and line. The engine has
 * already validated the sources when this runs (`effect-baml generate` loads them first), so this reader only has to
 * know the forms of valid BAML; a form it does not know becomes an `unknown` type and a {@link Problem} naming its
 * file and line.
 *
 * @since 0.3.0
 */
import type { Field, Function, Location, Model, Named, Param, Problem, Streaming, Type } from "./model.js"

interface Token {
  /** `word`, `string` (its text between the quotes as written), `raw` (#"…"#), `jinja` ({{ … }}), `number`, or the
   * punctuation itself. */
  readonly kind: string
  readonly text: string
  readonly line: number
}

const punctuation = ["->", "@@", "{", "}", "(", ")", "[", "]", "<", ">", ",", "|", "?", ":", "=", "@", ".", ";"]

/**
 * Splits BAML text into tokens, dropping comments (`//` to the end of the line, `{// … //}`). Never throws: a
 * character it does not know is a token of its own.
 *
 * @example
 * ```ts
 * tokenize("class A {\n  x int // the x\n}").map((t) => t.text) // ["class", "A", "{", "x", "int", "}"]
 * ```
 * @since 0.3.0
 * @category reading
 */
export const tokenize = (text: string): Array<Token> => {
  const tokens: Array<Token> = []
  let line = 1
  let i = 0
  const take = (kind: string, value: string, length: number) => {
    tokens.push({ kind, text: value, line })
    for (let j = i; j < i + length; j++) if (text[j] === "\n") line++
    i += length
  }
  while (i < text.length) {
    const c = text[i]!
    if (c === "\n") {
      line++
      i++
    } else if (/\s/.test(c)) {
      i++
    } else if (text.startsWith("//", i)) {
      const end = text.indexOf("\n", i)
      i = end === -1 ? text.length : end
    } else if (text.startsWith("{//", i)) {
      const end = text.indexOf("//}", i + 3)
      take("comment", "", (end === -1 ? text.length : end + 3) - i)
      tokens.pop()
    } else if (text.startsWith("{{", i)) {
      const end = text.indexOf("}}", i + 2)
      const stop = end === -1 ? text.length : end + 2
      take("jinja", text.slice(i + 2, end === -1 ? text.length : end).trim(), stop - i)
    } else if (/^#+"/.test(text.slice(i, i + 16))) {
      const hashes = /^#+/.exec(text.slice(i))![0]
      const close = `"${hashes}`
      const end = text.indexOf(close, i + hashes.length + 1)
      const stop = end === -1 ? text.length : end + close.length
      take("raw", text.slice(i + hashes.length + 1, end === -1 ? text.length : end), stop - i)
    } else if (c === "\"") {
      let j = i + 1
      while (j < text.length && text[j] !== "\"" && text[j] !== "\n") j += text[j] === "\\" ? 2 : 1
      take("string", text.slice(i + 1, Math.min(j, text.length)), Math.min(j + 1, text.length) - i)
    } else if (/[-\d]/.test(c) && /^-?\d/.test(text.slice(i, i + 2))) {
      const number = /^-?\d+(?:\.\d+)?/.exec(text.slice(i))![0]
      take("number", number, number.length)
    } else if (/[A-Za-z_]/.test(c)) {
      const word = /^[A-Za-z_]\w*(?:-[A-Za-z_]\w*)*/.exec(text.slice(i))![0]
      take("word", word, word.length)
    } else {
      const p = punctuation.find((p) => text.startsWith(p, i)) ?? c
      take(p, p, p.length)
    }
  }
  return tokens
}

const scalars: Record<string, Type> = {
  string: { kind: "string" },
  int: { kind: "int" },
  float: { kind: "float" },
  bool: { kind: "bool" },
  null: { kind: "null" },
  image: { kind: "media", media: "image" },
  audio: { kind: "media", media: "audio" },
  pdf: { kind: "media", media: "pdf" },
  video: { kind: "media", media: "video" },
  true: { kind: "literal", value: true },
  false: { kind: "literal", value: false }
}

/** An attribute: `@name(args)` or `@@name(args)`, its name with dots (`stream.done`) and its arguments' tokens. */
interface Attribute {
  readonly name: string
  readonly args: ReadonlyArray<ReadonlyArray<Token>>
}

class Reader {
  i = 0
  readonly problems: Array<Problem> = []
  constructor(readonly tokens: ReadonlyArray<Token>, readonly file: string) {}

  peek(offset = 0): Token | undefined {
    return this.tokens[this.i + offset]
  }
  at(): Location {
    return { file: this.file, line: this.peek()?.line ?? this.tokens[this.tokens.length - 1]?.line ?? 1 }
  }
  is(text: string, offset = 0): boolean {
    return this.peek(offset)?.text === text && this.peek(offset)?.kind !== "string"
  }
  eat(text: string): boolean {
    if (!this.is(text)) return false
    this.i++
    return true
  }
  word(): string | undefined {
    const token = this.peek()
    if (token?.kind !== "word") return undefined
    this.i++
    return token.text
  }
  /** Skips a balanced group that opens here (`{`, `(`, `<` or `[`), or one token. */
  skipGroup(): void {
    const open = this.peek()?.text
    const close = open === "{" ? "}" : open === "(" ? ")" : open === "<" ? ">" : open === "[" ? "]" : undefined
    this.i++
    if (close === undefined) return
    let depth = 1
    while (this.i < this.tokens.length && depth > 0) {
      const token = this.tokens[this.i++]!
      if (token.kind === open) depth++
      else if (token.kind === close) depth--
    }
  }

  /** A type: a union of postfix types (`T[]`, `T?`), optionally starting with `|`. */
  type(): Type {
    this.eat("|")
    const members = [this.postfix()]
    while (this.is("|")) {
      this.i++
      members.push(this.postfix())
    }
    return members.length === 1 ? members[0]! : { kind: "union", members }
  }
  text(start: number): string {
    return this.tokens.slice(start, this.i).map((t) => t.kind === "string" ? JSON.stringify(t.text) : t.text).join(" ")
  }
  postfix(): Type {
    let type = this.primary()
    for (;;) {
      if (this.is("[") && this.is("]", 1)) {
        this.i += 2
        type = { kind: "list", element: type }
      } else if (this.eat("?")) {
        type = { kind: "optional", type }
      } else if (this.is("@") && this.inGroup > 0) {
        const checks = this.checks(this.attributes())
        if (checks.length > 0) type = { kind: "checked", type, checks }
      } else {
        return type
      }
    }
  }
  inGroup = 0
  primary(): Type {
    const start = this.i
    const at = this.at()
    const token = this.peek()
    const unknown = (): Type => {
      if (this.i === start) this.i++
      const problem = { at, message: `the type form \`${this.text(start)}\` is not known to effect-baml` }
      this.problems.push(problem)
      return { kind: "unknown", text: this.text(start), at }
    }
    if (token === undefined) return unknown()
    if (token.kind === "(") {
      this.i++
      this.inGroup++
      const inner = this.type()
      this.inGroup--
      return this.eat(")") ? inner : unknown()
    }
    if (token.kind === "string") {
      this.i++
      return { kind: "literal", value: token.text }
    }
    if (token.kind === "number") {
      this.i++
      return { kind: "literal", value: Number(token.text) }
    }
    if (token.kind !== "word") return unknown()
    this.i++
    if (token.text === "map" && this.eat("<")) {
      const key = this.type()
      if (!this.eat(",")) return unknown()
      const value = this.type()
      return this.eat(">") ? { kind: "map", key, value } : unknown()
    }
    if (this.is("<") || this.is(".")) return unknown()
    return scalars[token.text] ?? { kind: "ref", name: token.text, partial: false }
  }

  /** The attributes that follow (`@x`, `@x.y(args)`), or the block attributes (`@@x`) when `block`. */
  attributes(block = false): Array<Attribute> {
    const out: Array<Attribute> = []
    while (this.is(block ? "@@" : "@")) {
      this.i++
      let name = this.word() ?? ""
      while (this.is(".") && this.peek(1)?.kind === "word") {
        this.i++
        name += `.${this.word()}`
      }
      const args: Array<Array<Token>> = []
      if (this.eat("(")) {
        let current: Array<Token> = []
        let depth = 0
        while (this.i < this.tokens.length) {
          const token = this.tokens[this.i++]!
          if (token.kind === "(") depth++
          if (token.kind === ")" && depth-- === 0) break
          if (token.kind === "," && depth === 0) {
            args.push(current)
            current = []
          } else current.push(token)
        }
        args.push(current)
      }
      out.push({ name, args })
    }
    return out
  }
  /** The names of the `@check`s among `attributes` (an `@assert` leaves the value as it is). */
  checks(attributes: ReadonlyArray<Attribute>): Array<string> {
    return attributes.filter((a) => a.name === "check" && a.args.length === 2).map((a) => a.args[0]![0]?.text ?? "")
  }
  withChecks(type: Type, attributes: ReadonlyArray<Attribute>): Type {
    const checks = this.checks(attributes)
    return checks.length === 0 ? type : { kind: "checked", type, checks }
  }

  class(name: string, at: Location): Named {
    const fields: Array<Field> = []
    let dynamic = false
    let streamDone = false
    this.eat("{")
    while (this.i < this.tokens.length && !this.is("}")) {
      if (this.is("@@")) {
        for (const a of this.attributes(true)) {
          if (a.name === "dynamic") dynamic = true
          if (a.name === "stream.done") streamDone = true
        }
        continue
      }
      const fieldAt = this.at()
      const fieldName = this.peek()?.kind === "word" ? this.word()! : undefined
      if (fieldName === undefined) {
        this.skipGroup()
        continue
      }
      const type = this.type()
      const attributes = this.attributes()
      const has = (n: string) => attributes.some((a) => a.name === n)
      const streaming: Streaming = {
        done: has("stream.done"),
        notNull: has("stream.not_null"),
        withState: has("stream.with_state")
      }
      fields.push({ name: fieldName, type: this.withChecks(type, attributes), streaming, at: fieldAt })
    }
    this.eat("}")
    return { kind: "class", name, fields, dynamic, streamDone, at }
  }

  enum(name: string, at: Location): Named {
    const values: Array<{ name: string; skip: boolean }> = []
    let dynamic = false
    this.eat("{")
    while (this.i < this.tokens.length && !this.is("}")) {
      if (this.is("@@")) {
        if (this.attributes(true).some((a) => a.name === "dynamic")) dynamic = true
        continue
      }
      const value = this.word()
      if (value === undefined) {
        this.skipGroup()
        continue
      }
      values.push({ name: value, skip: this.attributes().some((a) => a.name === "skip") })
    }
    this.eat("}")
    return { kind: "enum", name, values, dynamic, at }
  }

  params(): Array<Param> {
    const params: Array<Param> = []
    this.eat("(")
    while (this.i < this.tokens.length && !this.is(")")) {
      const name = this.word()
      if (name === undefined || !this.eat(":")) {
        this.skipGroup()
        continue
      }
      const type = this.type()
      this.attributes()
      params.push({ name, type })
      this.eat(",")
    }
    this.eat(")")
    return params
  }

  /** Every declaration of the file, in order; anything else (clients, tests, generators, templates) is skipped. */
  declarations(): { types: Array<Named>; functions: Array<Function> } {
    const types: Array<Named> = []
    const functions: Array<Function> = []
    while (this.i < this.tokens.length) {
      const at = this.at()
      const keyword = this.peek()!
      const name = this.peek(1)?.kind === "word" ? this.peek(1)!.text : undefined
      if (keyword.kind === "word" && name !== undefined && keyword.text === "class" && this.is("{", 2)) {
        this.i += 2
        types.push(this.class(name, at))
      } else if (keyword.kind === "word" && name !== undefined && keyword.text === "enum" && this.is("{", 2)) {
        this.i += 2
        types.push(this.enum(name, at))
      } else if (keyword.kind === "word" && name !== undefined && keyword.text === "type" && this.is("=", 2)) {
        this.i += 3
        const type = this.type()
        types.push({ kind: "alias", name, type: this.withChecks(type, this.attributes()), at })
      } else if (keyword.kind === "word" && name !== undefined && keyword.text === "function" && this.is("(", 2)) {
        this.i += 2
        const params = this.params()
        let returns: Type = { kind: "null" }
        if (this.eat("->")) returns = this.withChecks(this.type(), this.attributes())
        if (this.is("{")) this.skipGroup()
        functions.push({ name, params, returns, at })
      } else if (keyword.kind === "word" && keyword.text === "template_string") {
        this.i++
        while (this.i < this.tokens.length && this.peek()!.kind !== "raw") this.i++
        this.i++
      } else {
        // a client, a test, a generator, a retry policy…: up to the end of its block
        this.i++
        while (this.i < this.tokens.length && !this.is("{")) {
          if (this.peek()!.kind === "word" && this.peek()!.line > keyword.line && this.is("{", 2)) break
          this.i++
        }
        if (this.is("{")) this.skipGroup()
      }
    }
    return { types, functions }
  }
}

const byName = <A extends { readonly name: string }>(a: A, b: A) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0

/**
 * Reads the .baml sources (keyed by their path under baml_src) into the model: every class, enum, type alias and
 * function, each with its file and line, sorted by name. Never throws: what it cannot read is a problem of the model.
 *
 * @example
 * ```ts
 * const model = read({ "a.baml": "class A {\n  x int\n}\n" })
 * // model.types: [{ kind: "class", name: "A", fields: [{ name: "x", type: { kind: "int" }, ... }], ... }]
 * ```
 * @since 0.3.0
 * @category reading
 */
export const read = (files: Readonly<Record<string, string>>): Model => {
  const types: Array<Named> = []
  const functions: Array<Function> = []
  const problems: Array<Problem> = []
  for (const file of Object.keys(files).sort()) {
    const reader = new Reader(tokenize(files[file]!), file)
    const found = reader.declarations()
    types.push(...found.types)
    functions.push(...found.functions)
    problems.push(...reader.problems)
  }
  return { types: types.sort(byName), functions: functions.sort(byName), problems }
}
