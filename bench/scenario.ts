/** What every scenario shares: the run's setup, its results, and the provider helpers. */
import { Effect } from "effect"
import { ScriptedProvider } from "../src/testing/index.js"
import type { Target } from "./target.js"

/** Samples of one client (or one way of leaving a stream) for one measure. */
export interface Row {
  readonly label: string
  readonly samples: ReadonlyArray<number>
}

export interface Measure {
  readonly id: string
  readonly title: string
  readonly unit: string
  readonly rows: ReadonlyArray<Row>
  /** How the samples were taken, for the report. */
  readonly method: string
}

export interface Rounds {
  readonly latency: number
  readonly exit: number
  readonly failure: number
  readonly cpu: number
  readonly layer: number
  readonly concurrent: number
  readonly large: number
  readonly job: number
  readonly extras: number
}

export interface Bench {
  readonly provider: ScriptedProvider.Service
  /** The engine, loaded once with `BamlRuntime.fromDirectory` and pointed at `provider`. */
  readonly target: Target
  readonly rounds: Rounds
  readonly concurrentStreams: number
  /** Advances the progress bar by one step. */
  readonly tick: (label: string) => void
}

export interface Scenario {
  readonly name: string
  /** Progress steps the scenario will tick. */
  readonly steps: (rounds: Rounds) => number
  readonly run: (bench: Bench) => Effect.Effect<ReadonlyArray<Measure>, unknown>
}

/** Collects samples per label, in first-seen order. */
export const collector = () => {
  const rows = new Map<string, Array<number>>()
  return {
    add: (label: string, ...samples: ReadonlyArray<number>) => {
      const row = rows.get(label) ?? []
      row.push(...samples)
      rows.set(label, row)
    },
    rows: (): ReadonlyArray<Row> => [...rows].map(([label, samples]) => ({ label, samples }))
  }
}

/**
 * Runs `body` for each of `rounds` rounds, after one warm-up round (`recorded` false) so that the code paths being
 * measured have been run, and compiled, once before.
 */
export const eachRound = <E>(
  rounds: number,
  body: (round: number, recorded: boolean) => Effect.Effect<void, E>
): Effect.Effect<void, E> =>
  Effect.forEach(Array.from({ length: rounds + 1 }, (_, i) => i - 1), (round) => body(round, round >= 0), {
    discard: true
  })

let counter = 0
/** A marker unique to one stream, put in its input so that its provider record can be found. */
export const mark = (label: string) => `[bench-${label}-${++counter}]`

/** Makes `script` the provider's answer to every request, and forgets earlier records. */
export const useScript = (provider: ScriptedProvider.Service, script: ScriptedProvider.Script) =>
  Effect.andThen(provider.reset, provider.script({ script }))

/** The provider's record of the request marked `label`, once its connection has closed. */
export const settled = (provider: ScriptedProvider.Service, label: string) =>
  provider.awaitRequests((records) => records.some((r) => r.prompt.includes(label) && r.status !== "open")).pipe(
    Effect.map((records) => records.find((r) => r.prompt.includes(label))!),
    Effect.timeoutOrElse({
      duration: "30 seconds",
      orElse: () => Effect.fail(new Error(`request ${label} never settled`))
    })
  )

/**
 * The heap in use after full garbage collections (the bench runs with --expose-gc). The pauses between them let the
 * engine's native objects run their finalizers, which free more JS objects for the next collection.
 */
export const heapAfterGc: Effect.Effect<number> = Effect.gen(function*() {
  const gc = globalThis.gc
  if (gc === undefined) return yield* Effect.die(new Error("run with node --expose-gc"))
  for (let i = 0; i < 3; i++) {
    gc()
    yield* Effect.sleep("10 millis")
  }
  gc()
  return process.memoryUsage().heapUsed
})

/** Process CPU time (user + system, all threads, including the engine's) in milliseconds since `since`. */
export const cpuMsSince = (since: NodeJS.CpuUsage): number => {
  const used = process.cpuUsage(since)
  return (used.user + used.system) / 1000
}
