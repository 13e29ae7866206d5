/**
 * Both Effect lines offer the same public surface, compared by signature, not only by name: the same modules, in
 * each the same exports of the same kind, every function with the same type parameters and the same parameters
 * (names, optional or not) in every overload, every interface with the same type parameters and the same members,
 * every class constructed from the same fields. The types themselves are each line's own (`Duration.Input` on Effect 4,
 * `Duration.DurationInput` on Effect 3): those are checked where each line is used, by its own tests and the package
 * test.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Path from "node:path"
import ts from "typescript"

const root = Path.resolve(import.meta.dirname, "..")

/**
 * Modules of the Effect 4 line only: `BamlJob`, `BamlJobStore` and `BamlHttpCluster` build on Effect 4's workflow
 * engine and cluster (Effect 3 has its own, `@effect/workflow` and `@effect/cluster`; building on Effect 4's only is a
 * choice).
 */
const effect4Only = { BamlJob: 3, BamlJobStore: 3, BamlHttpCluster: 0 }

const entries = {
  main: { 4: "src/index.ts", 3: "src/index.effect3.ts" },
  testing: { 4: "src/testing/index.ts", 3: "src/testing/index.ts" },
  client: { 4: "src/client/index.ts", 3: "src/client/index.ts" },
  react: { 4: "src/react/index.ts", 3: "src/react/index.ts" }
} as const

const programOf = (config: string, rootNames: ReadonlyArray<string>) => {
  const file = ts.readConfigFile(Path.join(root, config), ts.sys.readFile)
  const parsed = ts.parseJsonConfigFileContent(file.config, ts.sys, Path.dirname(Path.join(root, config)))
  return ts.createProgram(rootNames.map((name) => Path.join(root, name)), { ...parsed.options, noEmit: true })
}

/** What of a signature must match between the lines: its type parameters, and its parameters' names and optionality. */
const signature = (checker: ts.TypeChecker, s: ts.Signature): string => {
  const typeParameters = (s.getTypeParameters() ?? []).map((p) => p.symbol.name)
  const parameters = s.getParameters().map((p) => {
    const declaration = p.valueDeclaration
    const optional = declaration !== undefined && ts.isParameter(declaration) && checker.isOptionalParameter(declaration)
    const rest = declaration !== undefined && ts.isParameter(declaration) && declaration.dotDotDotToken !== undefined
    return `${rest ? "..." : ""}${p.name}${optional ? "?" : ""}`
  })
  return `<${typeParameters.join(", ")}>(${parameters.join(", ")})`
}

const ours = (symbol: ts.Symbol): boolean =>
  (symbol.declarations ?? []).some((d) => d.getSourceFile().fileName.startsWith(Path.join(root, "src")))

const declaredHere = (s: ts.Signature): boolean => {
  const declaration = s.getDeclaration() as ts.Declaration | undefined
  return declaration !== undefined && declaration.getSourceFile().fileName.startsWith(Path.join(root, "src"))
}

/** One export, as the lines must agree on it. */
const describeSymbol = (checker: ts.TypeChecker, symbol: ts.Symbol): unknown => {
  const resolved = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol
  const declaration = resolved.declarations?.[0]
  const out: Record<string, unknown> = {}
  if (resolved.flags & (ts.SymbolFlags.Interface | ts.SymbolFlags.TypeAlias) && declaration !== undefined) {
    const node = declaration as ts.InterfaceDeclaration | ts.TypeAliasDeclaration
    out["typeParameters"] = (node.typeParameters ?? []).map((p) => p.name.text)
    if (ts.isInterfaceDeclaration(node)) {
      const type = checker.getDeclaredTypeOfSymbol(resolved)
      out["members"] = checker.getPropertiesOfType(type).filter(ours).map((p) => {
        const t = checker.getTypeOfSymbol(p)
        return `${p.name}${p.flags & ts.SymbolFlags.Optional ? "?" : ""}${
          t.getCallSignatures().map((s) => signature(checker, s)).join(" | ")
        }`
      }).sort()
      out["calls"] = type.getCallSignatures().map((s) => signature(checker, s))
    }
  }
  if (resolved.flags & ts.SymbolFlags.Value && resolved.valueDeclaration !== undefined) {
    const type = checker.getTypeOfSymbolAtLocation(resolved, resolved.valueDeclaration)
    // Only the signatures declared here: a value of one of Effect's types (a `Metric`) is that line's own
    out["calls"] = type.getCallSignatures().filter(declaredHere).map((s) => signature(checker, s))
    if (resolved.flags & ts.SymbolFlags.Class) {
      // a class is made from its fields (an error) or from nothing (a service): what it is made from must match
      // (Effect 4 takes them as a rest tuple `...args: [fields, options?]`, Effect 3 as a parameter)
      const fieldsOf = (s: ts.Signature) => {
        const first = s.getParameters()[0]
        if (first === undefined) return ""
        let type = checker.getTypeOfSymbol(first)
        if (checker.isTupleType(type)) type = checker.getTypeArguments(type as ts.TypeReference)[0] ?? type
        // Effect 4's error classes also take their `_tag`, optionally
        return checker.getPropertiesOfType(type).filter((f) => f.name !== "_tag")
          .map((f) => `${f.name}${f.flags & ts.SymbolFlags.Optional ? "?" : ""}`)
          .sort().join(", ")
      }
      out["fields"] = [...new Set(type.getConstructSignatures().map(fieldsOf))].sort()
    }
  }
  out["kind"] = [
    resolved.flags & ts.SymbolFlags.Class ? "class" : "",
    resolved.flags & ts.SymbolFlags.Function ? "function" : "",
    resolved.flags & ts.SymbolFlags.Variable ? "const" : "",
    resolved.flags & ts.SymbolFlags.Interface ? "interface" : "",
    resolved.flags & ts.SymbolFlags.TypeAlias ? "type" : ""
  ].filter(Boolean).join(" ")
  return out
}

/** Every module an entry exports (`export * as X`), each export described. */
const surface = (program: ts.Program, entry: string): Record<string, Record<string, unknown>> => {
  const checker = program.getTypeChecker()
  const source = program.getSourceFile(Path.join(root, entry))!
  const modules = checker.getExportsOfModule(checker.getSymbolAtLocation(source)!)
  return Object.fromEntries(modules.map((module) => {
    const resolved = module.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(module) : module
    const exports = checker.getExportsOfModule(resolved)
    return [
      module.name,
      Object.fromEntries(exports.map((e): [string, unknown] => [e.name, describeSymbol(checker, e)]).sort(([a], [b]) => a < b ? -1 : 1))
    ]
  }))
}

describe("the two Effect lines", () => {
  const lines = {
    4: programOf("tsconfig.json", Object.values(entries).map((e) => e[4])),
    3: programOf("effect3/tsconfig.json", Object.values(entries).map((e) => e[3]))
  }

  it.each(["index", "http", "client"])("the private kits export the same names (src/kit/effect4/%s.ts, effect3/)", (kit) => {
    const names = (line: 3 | 4) => {
      const program = lines[line]
      const checker = program.getTypeChecker()
      const source = program.getSourceFile(Path.join(root, `src/kit/effect${line}/${kit}.ts`))!
      return checker.getExportsOfModule(checker.getSymbolAtLocation(source)!).map((e) => e.name).sort()
    }
    expect(names(4).length).toBeGreaterThan(1)
    expect(names(3)).toEqual(names(4))
  }, 120_000)

  it.each(Object.keys(entries) as Array<keyof typeof entries>)(
    "%s: the same modules, exports, type parameters and parameters on effect-baml and effect-baml/effect3",
    (name) => {
      const effect4 = surface(lines[4], entries[name][4])
      const effect3 = surface(lines[3], entries[name][3])
      expect(Object.keys(effect3).length).toBeGreaterThan(0)
      for (const [only, more] of Object.entries(effect4Only)) {
        expect(effect3[only]).toBeUndefined()
        if (name === "main") expect(Object.keys(effect4[only] ?? {}).length).toBeGreaterThan(more)
        delete effect4[only]
      }
      if (process.env["LINES_DUMP"]) {
        ts.sys.writeFile(`/tmp/lines-${name}-4.json`, JSON.stringify(effect4, null, 1))
        ts.sys.writeFile(`/tmp/lines-${name}-3.json`, JSON.stringify(effect3, null, 1))
      }
      expect(effect3).toEqual(effect4)
    },
    120_000
  )
})
