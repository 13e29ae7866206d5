/** A progress bar on stderr: redrawn in place on a terminal, a line per tenth otherwise (CI logs). */

export interface Progress {
  readonly tick: (label: string) => void
  readonly done: () => void
}

const width = 30

export const progress = (total: number, stream: NodeJS.WriteStream = process.stderr): Progress => {
  const startedAt = performance.now()
  let count = 0
  let lastTenth = -1
  const line = (label: string) => {
    const fraction = total === 0 ? 1 : Math.min(1, count / total)
    const filled = Math.round(fraction * width)
    const seconds = ((performance.now() - startedAt) / 1000).toFixed(0)
    const percent = String(Math.round(fraction * 100)).padStart(3)
    return `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${percent}% ${seconds}s ${label}`
  }
  const draw = (label: string) => {
    if (stream.isTTY) {
      stream.write(`\r\x1b[2K${line(label).slice(0, (stream.columns ?? 100) - 1)}`)
      return
    }
    const tenth = Math.floor((count / Math.max(1, total)) * 10)
    if (tenth !== lastTenth) {
      lastTenth = tenth
      stream.write(`${line(label)}\n`)
    }
  }
  return {
    tick: (label) => {
      count++
      draw(label)
    },
    done: () => {
      count = total
      if (stream.isTTY) stream.write(`\r\x1b[2K${line("done")}\n`)
      else stream.write(`${line("done")}\n`)
    }
  }
}
