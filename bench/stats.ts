/** Order statistics of a sample, by the nearest-rank method. */

export interface Summary {
  readonly n: number
  readonly median: number
  readonly p95: number
  readonly min: number
  readonly max: number
}

const rank = (sorted: ReadonlyArray<number>, q: number): number =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN

export const summarize = (samples: ReadonlyArray<number>): Summary => {
  const sorted = [...samples].sort((a, b) => a - b)
  const middle = sorted.length / 2
  const median = sorted.length % 2 === 1
    ? rank(sorted, 0.5)
    : ((sorted[middle - 1] ?? Number.NaN) + (sorted[middle] ?? Number.NaN)) / 2
  return {
    n: sorted.length,
    median,
    p95: rank(sorted, 0.95),
    min: sorted[0] ?? Number.NaN,
    max: sorted[sorted.length - 1] ?? Number.NaN
  }
}

/** `xs` rotated left by `by`, so that no client always runs first in a round. */
export const rotate = <A>(xs: ReadonlyArray<A>, by: number): ReadonlyArray<A> => {
  const k = ((by % xs.length) + xs.length) % xs.length
  return [...xs.slice(k), ...xs.slice(0, k)]
}
