/**
 * `effect-baml/client`: what a browser (or any client of a `BamlHttp` server) needs, without the BAML engine.
 *
 * @since 0.2.0
 */

/**
 * @since 0.2.0
 */
export * as BamlClient from "../BamlClient.js"

/**
 * The error classes of `effect-baml`'s `BamlError`, the same classes (so `instanceof` and `catchTag` work across
 * both), without `fromEngine`, which needs the engine.
 *
 * @since 0.2.0
 */
export * as BamlError from "./BamlError.js"
