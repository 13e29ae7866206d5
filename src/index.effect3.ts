// The entry of the Effect 3 line, `effect-baml/effect3`: the modules of `index.ts` (the Effect 4 line), built against
// Effect 3, but `BamlJob` and `BamlJobStore`. Batch jobs are on the Effect 4 line only, by choice: Effect 3 has a
// workflow engine and a cluster too (`@effect/workflow`, `@effect/cluster`), but jobs are built on Effect 4's.

/**
 * @since 0.1.0
 */
export * as Baml from "./Baml.js"

/**
 * @since 0.1.0
 */
export * as BamlError from "./BamlError.js"

/**
 * @since 0.3.0
 */
export * as BamlHedge from "./BamlHedge.js"

/**
 * @since 0.1.0
 */
export * as BamlHttp from "./BamlHttp.js"

/**
 * @since 0.1.0
 */
export * as BamlMedia from "./BamlMedia.js"

/**
 * @since 0.1.0
 */
export * as BamlMetrics from "./BamlMetrics.js"

/**
 * @since 0.3.0
 */
export * as BamlMiddleware from "./BamlMiddleware.js"

/**
 * @since 0.1.0
 */
export * as BamlRuntime from "./BamlRuntime.js"

/**
 * @since 0.1.0
 */
export * as TokenBudget from "./TokenBudget.js"
