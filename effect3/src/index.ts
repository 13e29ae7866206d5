// The Effect 3 line has every module of the Effect 4 line but `BamlJob` and `BamlJobStore` (batch jobs on Effect's
// workflow engine, and their durable storage): Effect 3 has no `effect/workflow` nor `effect/cluster`, so jobs are on
// the Effect 4 line only.

/**
 * @since 0.1.0
 */
export * as Baml from "./Baml.js"

/**
 * @since 0.1.0
 */
export * as BamlError from "./BamlError.js"

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
 * @since 0.1.0
 */
export * as BamlRuntime from "./BamlRuntime.js"

/**
 * @since 0.1.0
 */
export * as TokenBudget from "./TokenBudget.js"
