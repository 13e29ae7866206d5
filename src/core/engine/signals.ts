/**
 * Process signals for the modules that stop work at shutdown (`BamlHttp.layerShutdown`), where there is a process:
 * in a browser or a worker there is none, and nothing is installed.
 */

/** The signals a server is asked to stop with. */
export type Signal = "SIGINT" | "SIGTERM"

interface SignalSource {
  on(signal: Signal, listener: () => void): unknown
  off(signal: Signal, listener: () => void): unknown
}

const source = (): SignalSource | undefined => {
  const process = (globalThis as { readonly process?: Partial<SignalSource> }).process
  return typeof process?.on === "function" && typeof process.off === "function"
    ? process as SignalSource
    : undefined
}

/** Calls `listener` on each of `signals` until the returned function removes it. */
export const onSignals = (signals: ReadonlyArray<Signal>, listener: () => void): () => void => {
  const process = source()
  if (process === undefined) return () => {}
  for (const signal of signals) process.on(signal, listener)
  return () => {
    for (const signal of signals) process.off(signal, listener)
  }
}
