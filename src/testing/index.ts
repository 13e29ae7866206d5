/**
 * Test utilities for code built on effect-baml.
 *
 * @since 0.1.0
 */

/**
 * An OpenAI-compatible chat-completions server that plays scripted replies, for offline tests and demos.
 *
 * @since 0.1.0
 */
export * as ScriptedProvider from "./ScriptedProvider.js"
