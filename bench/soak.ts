/**
 * `npm run soak`: 10,000 streams against the scripted provider, 100 at a time, with random early exits and faults.
 * After every batch it checks that no request stayed open, no socket stayed connected, every stream's finalizer
 * ran once, and no error escaped as a defect; then it collects garbage and measures the heap. The heap must not grow
 * with the number of streams. Exits with 1 when an invariant breaks or the heap grows.
 *
 *   npm run build && node --expose-gc --import tsx --import ./bench/built.mjs bench/soak.ts [--streams=10000] [--concurrency=100] [--batch=1000] [--seed=1]
 */
import type * as EngineTypes from "@boundaryml/baml"
import { setLogLevel } from "@boundaryml/baml/logging"
import { Cause, Effect, Exit, Fiber, Layer, Option, Schema, Stream } from "effect"
import { Baml, BamlError, BamlRuntime } from "../src/index.js"
import { ScriptedProvider } from "../src/testing/index.js"

const flag = (name: string, fallback: number) => {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`))
  return arg === undefined ? fallback : Number(arg.slice(name.length + 3))
}
const streams = flag("streams", 10_000)
const concurrency = flag("concurrency", 100)
const batch = flag("batch", 1_000)
let seed = flag("seed", 1)

// Thousands of failed and aborted requests would each print an engine warning.
if (process.env.BAML_LOG === undefined) setLogLevel("error")

const gc = (globalThis as { gc?: () => void }).gc
if (gc === undefined) {
  console.error("run with node --expose-gc (npm run soak does)")
  process.exit(2)
}

/** A small deterministic PRNG, so that a failing run can be replayed with --seed. */
const random = () => {
  seed = (seed * 1103515245 + 12345) % 2147483648
  return seed / 2147483648
}

const value = {
  name: "Soak Test",
  email: "soak.test@example.com",
  skills: Array.from({ length: 6 }, (_, i) => `skill number ${i}`),
  experience: [{ company: "Analytical Engines Ltd", title: "Programmer", years: 3 }]
}

type Plan =
  | { readonly _tag: "ToTheEnd" }
  | { readonly _tag: "Interrupt"; readonly afterMs: number }
  | { readonly _tag: "Take"; readonly n: number }
  | { readonly _tag: "Fault"; readonly fault: ScriptedProvider.Fault }

const plan = (): Plan => {
  const r = random()
  if (r < 0.4) return { _tag: "ToTheEnd" }
  if (r < 0.7) return { _tag: "Interrupt", afterMs: Math.floor(random() * 100) }
  if (r < 0.85) return { _tag: "Take", n: 1 + Math.floor(random() * 3) }
  const faults: ReadonlyArray<ScriptedProvider.Fault> = [
    { _tag: "HttpError", status: 500 },
    { _tag: "DropConnection", afterChunks: Math.floor(random() * 20) },
    { _tag: "MalformedSse", afterChunks: Math.floor(random() * 20) },
    { _tag: "Stall", afterChunks: Math.floor(random() * 20) }
  ]
  return { _tag: "Fault", fault: faults[Math.floor(random() * faults.length)]! }
}

/** Per native stream: releases of its callback (the finalizer) and pulls of its trip-wire. */
interface Seen {
  releases: number
  aborts: number
}
const seen: Array<Seen> = []

const observe = (engine: EngineTypes.BamlRuntime): EngineTypes.BamlRuntime =>
  new Proxy(engine, {
    get(target, key) {
      const member = Reflect.get(target, key, target)
      if (key !== "streamFunction") return typeof member === "function" ? member.bind(target) : member
      return (...args: Parameters<EngineTypes.BamlRuntime["streamFunction"]>) => {
        const entry: Seen = { releases: 0, aborts: 0 }
        seen.push(entry)
        ;(args[9] as AbortSignal).addEventListener("abort", () => entry.aborts++)
        const handle = target.streamFunction(...args)
        const onEvent = handle.onEvent.bind(handle)
        handle.onEvent = (callback) => {
          if (callback === undefined) entry.releases++
          onEvent(callback)
        }
        return handle
      }
    }
  })

const isBamlError = Schema.is(BamlError.BamlError)

const runOne = (i: number, plans: Map<number, Plan>) =>
  Effect.gen(function*() {
    const p = plans.get(i)!
    const stream = Baml.stream("ExtractResume", { resume: `[soak-${i}]` })
    const program: Effect.Effect<unknown, BamlError.BamlError, BamlRuntime.BamlRuntime> = p._tag === "Take"
      ? Stream.runCollect(Stream.take(stream, p.n))
      : Stream.runLast(stream)
    const fiber = yield* Effect.forkChild(program)
    // a stall never ends by itself: its user gives up, as a timeout would
    const afterMs = p._tag === "Interrupt"
      ? p.afterMs
      : p._tag === "Fault" && p.fault._tag === "Stall"
      ? 150
      : undefined
    if (afterMs !== undefined) {
      const done = yield* Fiber.await(fiber).pipe(Effect.timeoutOption(afterMs))
      if (Option.isNone(done)) yield* Fiber.interrupt(fiber)
    }
    return yield* Fiber.await(fiber)
  })

const heap = () => {
  for (let i = 0; i < 4; i++) gc()
  const m = process.memoryUsage()
  return { heapUsed: m.heapUsed, rss: m.rss, external: m.external }
}
const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1)

interface Totals {
  succeeded: number
  failed: number
  interrupted: number
  completed: number
  closedEarly: number
  providerFailed: number
}

/**
 * Runs the streams `ids` and checks every invariant on them, adding to `totals` and `problems`. Nothing of the batch
 * survives it, so the heap measured afterwards holds only what the library and the engine kept.
 */
const runBatch = (
  ids: ReadonlyArray<number>,
  plans: Map<number, Plan>,
  totals: Totals,
  problems: Array<string>
) =>
  Effect.gen(function*() {
    const provider = yield* ScriptedProvider.ScriptedProvider
    for (const i of ids) plans.set(i, plan())
    seen.length = 0
    const exits = yield* Effect.forEach(ids, (i) => runOne(i, plans), { concurrency })
    for (const exit of exits) {
      if (Exit.isSuccess(exit)) totals.succeeded++
      else if (Cause.hasInterruptsOnly(exit.cause)) totals.interrupted++
      else if (Cause.hasDies(exit.cause)) problems.push(`a defect escaped: ${Cause.pretty(exit.cause)}`)
      else if (!exit.cause.reasons.filter(Cause.isFailReason).every((reason) => isBamlError(reason.error))) {
        problems.push(`a failure that is not a BamlError: ${Cause.pretty(exit.cause)}`)
      } else totals.failed++
    }
    const records = yield* provider.awaitRequests((rs) => rs.every((r) => r.status !== "open")).pipe(
      Effect.timeout("10 seconds"),
      Effect.catch(() =>
        Effect.sync((): ReadonlyArray<ScriptedProvider.RequestRecord> => {
          problems.push("a provider request stayed open")
          return []
        })
      )
    )
    totals.completed += records.filter((r) => r.status === "completed").length
    totals.closedEarly += records.filter((r) => r.status === "closed-early").length
    totals.providerFailed += records.filter((r) => r.status === "failed").length
    // sockets close a moment after their requests settle: wait up to 5 s for the last ones
    let open = yield* provider.openSockets
    for (let waited = 0; open !== 0 && waited < 5_000; waited += 10) {
      yield* Effect.sleep("10 millis")
      open = yield* provider.openSockets
    }
    if (open !== 0) problems.push(`${open} sockets stayed open to the provider`)
    const broken = seen.filter((s) => s.releases !== 1 || s.aborts > 1).length
    if (broken > 0) problems.push(`${broken} streams did not run their finalizer exactly once`)
    if (seen.length > ids.length) problems.push(`${seen.length} native streams for ${ids.length} streams`)
    // The provider keeps a record per request: dropping them keeps the measure about the library.
    yield* provider.reset
    for (const i of ids) plans.delete(i)
    seen.length = 0
  })

const main = Effect.gen(function*() {
  const provider = yield* ScriptedProvider.ScriptedProvider
  const plans = new Map<number, Plan>()
  const scriptAll = provider.script({
    script: (request) => {
      const p = plans.get(Number(/\[soak-(\d+)\]/.exec(request.prompt)?.[1]))
      const script = ScriptedProvider.json(value, { chunkSize: 16, delayMs: 2 })
      return p?._tag === "Fault" ? { ...script, fault: p.fault } : script
    }
  })

  const problems: Array<string> = []
  const totals: Totals = { succeeded: 0, failed: 0, interrupted: 0, completed: 0, closedEarly: 0, providerFailed: 0 }
  const checkpoints: Array<{ streams: number; heapUsed: number; rss: number; external: number }> = []
  const started = performance.now()
  // Yield to the event loop so that sockets and native handles closed by the last batch are gone before measuring.
  const settle = Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 50)))
  const report = (count: number) =>
    Effect.sync(() => {
      const measured = heap()
      checkpoints.push({ streams: count, ...measured })
      const rate = count === 0 ? "" : `  ${(count / ((performance.now() - started) / 1000)).toFixed(0)} streams/s`
      console.log(
        `${String(count).padStart(6)} streams  heap ${mb(measured.heapUsed).padStart(6)} MB  rss ${
          mb(measured.rss).padStart(6)
        } MB  external ${mb(measured.external).padStart(5)} MB${rate}`
      )
    })

  yield* report(0)
  for (let done = 0; done < streams; done += batch) {
    const ids = Array.from({ length: Math.min(batch, streams - done) }, (_, k) => done + k)
    yield* scriptAll
    yield* runBatch(ids, plans, totals, problems)
    yield* settle
    yield* report(done + ids.length)
  }

  // The first batch warms up code, pools and caches: growth is measured from there.
  const [before, warm] = [checkpoints[0]!, checkpoints[1] ?? checkpoints[0]!]
  const last = checkpoints[checkpoints.length - 1]!
  const perStream = (last.heapUsed - warm.heapUsed) / Math.max(1, last.streams - warm.streams)
  const rssPerStream = (last.rss - warm.rss) / Math.max(1, last.streams - warm.streams)
  console.log("")
  console.log(
    `heap after GC: ${mb(before.heapUsed)} MB before, ${mb(warm.heapUsed)} MB after ${warm.streams} streams, ${
      mb(last.heapUsed)
    } MB after ${last.streams}`
  )
  console.log(
    `growth after the first batch: ${perStream.toFixed(1)} bytes of heap and ${
      rssPerStream.toFixed(0)
    } bytes of RSS per stream`
  )
  console.log(
    `outcomes: ${totals.succeeded} succeeded, ${totals.failed} failed with a BamlError, ${totals.interrupted} interrupted`
  )
  console.log(
    `provider: ${totals.completed} completed, ${totals.closedEarly} closed early by the client, ${totals.providerFailed}`,
    "failed by a scripted fault"
  )
  // A leaked callback costs ~8 KB a stream; 200 bytes a stream leaves room for noise in a heap of a few tens of MB.
  if (checkpoints.length > 3 && perStream > 200) {
    problems.push(`the heap grows by ${perStream.toFixed(0)} bytes a stream`)
  }
  for (const problem of problems.slice(0, 20)) console.error(`FAIL: ${problem}`)
  if (problems.length > 0) process.exitCode = 1
  else console.log("every invariant held")
})

const Runtime = Layer.unwrap(
  Effect.map(
    ScriptedProvider.ScriptedProvider,
    (provider) => BamlRuntime.layerFromDirectory("baml_src", { env: { SCRIPTED_BASE_URL: provider.baseUrl } })
  )
)
const Observed = Layer.effect(
  BamlRuntime.BamlRuntime,
  Effect.map(BamlRuntime.BamlRuntime, (runtime) => ({ ...runtime, engine: observe(runtime.engine) }))
)
const Live = Observed.pipe(Layer.provide(Runtime), Layer.provideMerge(ScriptedProvider.layer()))

Effect.runPromise(Effect.provide(main, Live)).catch((error) => {
  console.error(error)
  process.exitCode = 1
})
