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
 * @since 0.3.0
 */
export * as BamlHttpCluster from "./BamlHttpCluster.js"

/**
 * @since 0.2.0
 */
export * as BamlJob from "./BamlJob.js"

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

/**
 * @since 0.2.0
 */
export * as BamlJobStore from "./BamlJobStore.js"
