/**
 * The generator, stage by stage: the .baml sources are read once into the model (`read.ts` → `model.ts`), and each
 * output file is printed from that model by a printer of its own (`printTypes.ts`, `printIndex.ts`,
 * `printSchemas.ts`, `printHttp.ts`). Nothing here runs the engine: the command has it validate the sources first.
 *
 * @since 0.1.0
 */
import type { EffectLine } from "./lines.js"
import type { Model, Problem } from "./model.js"
import { undeclarable } from "./names.js"
import { printHttp } from "./printHttp.js"
import { printIndex, type PrintOptions, printSources } from "./printIndex.js"
import { printSchemas } from "./printSchemas.js"
import { printPartialTypes, printTypes } from "./printTypes.js"
import { read } from "./read.js"

export type { EffectLine }
export { libraryModule } from "./lines.js"
export { marker } from "./text.js"

/**
 * The BAML names that TypeScript cannot declare, each with its file and line: the one case the generator refuses.
 *
 * @example
 * ```ts
 * try {
 *   render(files, { importPath: "./baml_client/index.js", effect: 4 })
 * } catch (error) {
 *   if (error instanceof NameCollisionError) console.error(error.problems)
 * }
 * ```
 * @since 0.1.0
 * @category names
 */
export class NameCollisionError extends Error {
  constructor(readonly problems: ReadonlyArray<Problem>) {
    super(problems.map((p) => `${p.at.file}:${p.at.line}: ${p.message}`).join("\n"))
    this.name = "NameCollisionError"
  }
}

/**
 * The generated files, and the problems found in the sources: a type form the model does not know, printed as
 * `unknown` (its schema decodes anything) so that every file is still written, and reported with its file and line.
 *
 * @example
 * ```ts
 * declare const output: Output
 * for (const problem of output.problems) console.error(`${problem.at.file}:${problem.at.line}: ${problem.message}`)
 * ```
 * @since 0.3.0
 * @category models
 */
export interface Output {
  readonly files: Readonly<Record<string, string>>
  readonly problems: ReadonlyArray<Problem>
  readonly model: Model
}

/**
 * Generates the client's files from the .baml sources (keyed by their path under baml_src), which the engine has
 * validated: `index.ts`, `sources.ts`, `types.ts`, `partial_types.ts`, `schemas.ts` and `http.ts`, all printed from
 * one model. Throws a {@link NameCollisionError} for a BAML name TypeScript cannot declare.
 *
 * @example
 * ```ts
 * const { files } = render({ "a.baml": "class A {\n  x int\n}\n" }, { importPath: "./baml_client/index.js", effect: 4 })
 * ```
 * @since 0.1.0
 * @category generation
 */
export const render = (sources: Readonly<Record<string, string>>, options: PrintOptions): Output => {
  const model = read(sources)
  const refused = undeclarable(model)
  if (refused.length > 0) throw new NameCollisionError(refused)
  return {
    model,
    problems: model.problems,
    files: {
      "index.ts": printIndex(model, options),
      "sources.ts": printSources(sources),
      "types.ts": printTypes(model, options.effect),
      "partial_types.ts": printPartialTypes(model, options.effect),
      "schemas.ts": printSchemas(model, options),
      "http.ts": printHttp(model, options)
    }
  }
}
