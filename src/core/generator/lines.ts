/**
 * What a generated client imports for each Effect line: the only place where the two lines' outputs differ, besides
 * the Schema dialects of `printSchemas.ts`.
 *
 * @since 0.3.0
 */

/**
 * The Effect line a generated client is for.
 *
 * @example
 * ```ts
 * const line: EffectLine = 4
 * ```
 * @since 0.1.0
 * @category models
 */
export type EffectLine = 3 | 4

/**
 * The module a generated client imports `Baml`, `BamlRuntime` and `BamlMedia` from, for each Effect line.
 *
 * @example
 * ```ts
 * const from = libraryModule[3] // "effect-baml/effect3"
 * ```
 * @since 0.1.0
 * @category constants
 */
export const libraryModule: { readonly [Line in EffectLine]: string } = {
  3: "effect-baml/effect3",
  4: "effect-baml"
}

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
