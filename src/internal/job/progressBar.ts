/**
 * A job's progress in words, and as a bar on the terminal.
 */
import { Effect, Stream } from "effect"
import type { Progress, Summary } from "./models.js"

/**
 * Where {@link progressBar} draws: any stream with `write` (`process.stdout`, `process.stderr`, a Node `Writable`),
 * and whether it is a terminal and how wide it is. A structural type, so that the declarations need no `@types/node`.
 *
 * @example
 * ```ts
 * import type { BamlJob } from "effect-baml"
 *
 * const lines: Array<string> = []
 * const memory: BamlJob.ProgressOutput = { write: (chunk) => lines.push(String(chunk)) > 0, isTTY: false }
 * ```
 * @since 0.2.0
 * @category models
 */
export interface ProgressOutput {
  readonly write: (chunk: string) => boolean
  readonly isTTY?: boolean | undefined
  readonly columns?: number | undefined
}

/**
 * Options of {@link progressBar}: where to draw (default `process.stdout`), and whether to draw when it is not a
 * terminal.
 *
 * @example
 * ```ts
 * import type { BamlJob } from "effect-baml"
 *
 * const toStderr: BamlJob.ProgressBarOptions = { output: process.stderr }
 * ```
 * @since 0.2.0
 * @category models
 */
export interface ProgressBarOptions {
  /** Where to draw (default `process.stdout`). */
  readonly output?: ProgressOutput | undefined
  /** Draw even when `output` is not a TTY (default false: then nothing is drawn). */
  readonly force?: boolean | undefined
}

/**
 * The progress in one line of words (what {@link progressBar} draws after the bar), for a log line.
 *
 * @example
 * ```ts
 * import { BamlJob } from "effect-baml"
 * import { Effect, Stream } from "effect"
 *
 * declare const handle: BamlJob.Handle<unknown>
 * const logEverySecond = handle.progress.pipe(
 *   Stream.throttle({ cost: () => 1, units: 1, duration: "1 second", strategy: "enforce" }),
 *   Stream.runForEach((p) => Effect.log(BamlJob.describeProgress(p)))
 * )
 * ```
 * @since 0.2.0
 * @category progress
 */
export const describeProgress = (p: Progress): string => {
  const parts = [
    `${p.done}${p.total === undefined ? "" : `/${p.total}`} done`,
    `${p.inFlight} in flight`,
    ...(p.failed > 0 ? [`${p.failed} failed`] : []),
    ...(p.stored > 0 ? [`${p.stored} stored`] : []),
    `${p.inputTokens} in / ${p.outputTokens} out tokens`,
    ...(p.cost === undefined ? [] : [`~${p.cost.toFixed(4)}`]),
    ...(p.etaMs === undefined || p.state !== "running" ? [] : [`${Math.ceil(p.etaMs / 1000)}s left`]),
    ...(p.state === "running" ? [] : [p.state])
  ]
  return parts.join(" | ")
}

/**
 * A finished job's summary in one line of words, with why items failed: the count of each error's tag, and the first
 * failed item's key and message.
 *
 * @example
 * ```ts
 * import { BamlJob } from "effect-baml"
 * import { Effect } from "effect"
 *
 * declare const job: BamlJob.BamlJob<{ readonly resume: string }, unknown>
 * const program = Effect.flatMap(BamlJob.run(job), (summary) => Effect.log(BamlJob.describeSummary(summary)))
 * // "48 succeeded, 2 failed (BamlClientHttpError: 2; first: r7: ...)"
 * ```
 * @since 0.2.0
 * @category progress
 */
export const describeSummary = <A>(summary: Summary<A>): string => {
  const line = `${summary.succeeded} succeeded, ${summary.failed} failed`
  const failures = summary.results.flatMap((result) => result._tag === "Failed" ? [result] : [])
  if (failures.length === 0) return line
  const byTag = new Map<string, number>()
  for (const failure of failures) byTag.set(failure.error._tag, (byTag.get(failure.error._tag) ?? 0) + 1)
  const tags = [...byTag].sort((a, b) => b[1] - a[1]).map(([tag, count]) => `${tag}: ${count}`).join(", ")
  const first = failures[0]!
  const message = first.error.message.split("\n")[0]!
  return `${line} (${tags}; first: ${first.key}: ${message.length > 200 ? `${message.slice(0, 200)}…` : message})`
}

/** Whether the warning that `cli-progress` is not installed has been logged (once per process). */
let warnedNoCliProgress = false

/**
 * Draws a job's progress as a bar on the terminal until the progress stream ends (the job ends), with the
 * `cli-progress` package (an optional peer dependency: `npm i cli-progress`). When the output is not a TTY, it only
 * waits for the end of the stream. Without `cli-progress` installed, it logs a warning once and writes a
 * {@link describeProgress} line instead, each time an item ends and when the job ends.
 *
 * @example
 * ```ts
 * import { BamlJob } from "effect-baml"
 * import { Effect } from "effect"
 *
 * declare const job: BamlJob.BamlJob<{ readonly resume: string }, unknown>
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const handle = yield* BamlJob.start(job)
 *   yield* Effect.forkScoped(BamlJob.progressBar(handle.progress))
 *   return yield* handle.await
 * }))
 * ```
 * @since 0.2.0
 * @category progress
 */
export const progressBar = (
  progress: Stream.Stream<Progress>,
  options: ProgressBarOptions = {}
): Effect.Effect<void> => {
  const output: ProgressOutput = options.output ?? process.stdout
  const force = options.force === true
  if (!output.isTTY && !force) return Stream.runDrain(progress)
  const bar = (cli: typeof import("cli-progress")) =>
    Effect.acquireUseRelease(
      Effect.sync(() => {
        const bar = new cli.SingleBar({
          // cli-progress reads only write, isTTY and columns (and cursor moves when isTTY)
          stream: output as NodeJS.WritableStream,
          format: "{bar} {percentage}% | {line}",
          hideCursor: true,
          clearOnComplete: false,
          noTTYOutput: force,
          fps: 10
        }, cli.Presets.shades_classic)
        bar.start(1, 0, { line: "" })
        return bar
      }),
      (bar) =>
        Stream.runForEach(progress, (p) =>
          Effect.sync(() => {
            bar.setTotal(Math.max(1, p.total ?? p.done + p.inFlight))
            bar.update(p.done, { line: describeProgress(p) })
          })),
      (bar) => Effect.sync(() => bar.stop())
    )
  // Without cli-progress: a line when an item ends and when the job ends.
  const lines = Effect.andThen(
    Effect.suspend(() => {
      if (warnedNoCliProgress) return Effect.void
      warnedNoCliProgress = true
      return Effect.logWarning(
        "BamlJob.progressBar: the optional package cli-progress is not installed (npm i cli-progress); " +
          "writing the progress as lines instead"
      )
    }),
    progress.pipe(
      Stream.changesWith((a, b) => a.done === b.done && a.state === b.state),
      Stream.runForEach((p) => Effect.sync(() => output.write(`${describeProgress(p)}\n`)))
    )
  )
  return Effect.tryPromise(() => import("cli-progress")).pipe(
    Effect.matchEffect({ onFailure: () => lines, onSuccess: (cli) => bar(cli.default) })
  )
}
