import {
  Baml,
  BamlError,
  BamlRuntime,
  Cause,
  Effect,
  Exit,
  expect,
  failureOf,
  failuresOf,
  Fiber,
  forkNow,
  hasDefect,
  layer,
  Option,
  promiseRunner,
  Schedule,
  Schema,
  ScriptedProvider,
  Stream,
  timeoutFail
} from "#line"
import fc from "fast-check"
import { type Observed, observedFor, observingLayer, shortResume, type Snapshot, snapshotOf } from "./fixtures.js"

const observed: Array<Observed> = []
const Observing = observingLayer(observed)

type Fault =
  | { readonly _tag: "None" }
  | { readonly _tag: "SlowFirstByte"; readonly ms: number }
  | { readonly _tag: "HttpError"; readonly status: number }
  | { readonly _tag: "DropConnection" | "MalformedSse" | "Stall"; readonly afterChunks: number }

interface Op {
  /** A call, a stream read to its end, or a stream of which only the first `take` elements are read. */
  readonly kind: "call" | "stream" | "take"
  readonly take: number
  readonly fault: Fault
  readonly delayMs: number
  readonly interruptAfterMs: number | undefined
}

const value = shortResume("Soak Test")
// 28 chunks of 16 characters; the faults strike within them
const chunkSize = 16

const faultArb: fc.Arbitrary<Fault> = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ _tag: "None" as const }) },
  fc.record({ _tag: fc.constant("SlowFirstByte" as const), ms: fc.integer({ min: 1, max: 200 }) }),
  fc.record({ _tag: fc.constant("HttpError" as const), status: fc.constantFrom(429, 500, 503) }),
  fc.record({
    _tag: fc.constantFrom("DropConnection" as const, "MalformedSse" as const, "Stall" as const),
    afterChunks: fc.integer({ min: 0, max: 20 })
  })
)

const opArb: fc.Arbitrary<Op> = fc.record({
  kind: fc.constantFrom("call" as const, "stream" as const, "take" as const),
  take: fc.integer({ min: 1, max: 3 }),
  fault: faultArb,
  delayMs: fc.integer({ min: 0, max: 4 }),
  interruptAfterMs: fc.option(fc.integer({ min: 0, max: 250 }), { nil: undefined, freq: 2 })
})

// Fewer operations at low concurrency keep every run short.
const planArb = fc.integer({ min: 1, max: 100 }).chain((concurrency) =>
  fc.record({
    concurrency: fc.constant(concurrency),
    ops: fc.array(opArb, { minLength: 1, maxLength: Math.min(150, concurrency * 3), size: "max" })
  })
)

const scriptOf = (op: Op): ScriptedProvider.Script => {
  const base = ScriptedProvider.json(value, { chunkSize, delayMs: op.delayMs })
  switch (op.fault._tag) {
    case "None":
      return base
    case "SlowFirstByte":
      return { ...base, firstByteDelayMs: op.fault.ms }
    case "HttpError":
      return { ...base, fault: { _tag: "HttpError", status: op.fault.status } }
    default:
      return { ...base, fault: { _tag: op.fault._tag, afterChunks: op.fault.afterChunks } }
  }
}

const tagOf = (i: number) => `[soak-op-${i}]`
const isBamlError = Schema.is(BamlError.BamlError)

/** Runs one op; a stall always gets an interrupt, as a user's timeout would give it. */
const runOp = (op: Op, i: number, finalized: Array<number>, atEnd: Array<Snapshot | undefined>) =>
  Effect.gen(function*() {
    const args = { resume: tagOf(i) }
    // what its native call had seen when the op was over, its scope closed (`undefined`: it never began)
    const over = Effect.sync(() => {
      const seen = observedFor(observed, args.resume)
      atEnd[i] = seen && snapshotOf(seen)
    })
    // `ensuring` runs after the stream's (and the call's) own finalizers
    const stream = Baml.stream("ExtractResume", args).pipe(
      Stream.ensuring(Effect.sync(() => finalized[i]!++)),
      Stream.ensuring(over)
    )
    const program: Effect.Effect<unknown, BamlError.BamlError, BamlRuntime.BamlRuntime> = op.kind === "call"
      ? Effect.ensuring(Baml.call("ExtractResume", args), over)
      : op.kind === "stream"
      ? Stream.runLast(stream)
      : Stream.runCollect(Stream.take(stream, op.take))
    // Started at once: Effect 4 runs a fork later, and an op interrupted before its fiber ran at all would have no
    // stream (and no finalizer), while the invariants below are about streams that began.
    const fiber = yield* forkNow(program)
    const interruptAfterMs = op.interruptAfterMs ?? (op.fault._tag === "Stall" ? 250 : undefined)
    if (interruptAfterMs !== undefined) {
      const done = yield* Fiber.await(fiber).pipe(Effect.timeoutOption(interruptAfterMs))
      if (Option.isNone(done)) yield* Fiber.interrupt(fiber)
    }
    return yield* Fiber.await(fiber)
  })

const runPlan = (plan: { readonly concurrency: number; readonly ops: ReadonlyArray<Op> }) =>
  Effect.gen(function*() {
    const provider = yield* ScriptedProvider.ScriptedProvider
    yield* provider.reset
    observed.length = 0
    yield* provider.script({
      script: (request) => scriptOf(plan.ops[Number(/\[soak-op-(\d+)\]/.exec(request.prompt)?.[1])]!)
    })
    const finalized = plan.ops.map(() => 0)
    const atEnd: Array<Snapshot | undefined> = plan.ops.map(() => undefined)
    const exits = yield* Effect.forEach(plan.ops, (op, i) => runOp(op, i, finalized, atEnd), {
      concurrency: plan.concurrency
    })

    // No error escapes as a defect: each op succeeded, was interrupted, or failed with a BamlError.
    exits.forEach((exit, i) => {
      const op = plan.ops[i]!
      if (Exit.isSuccess(exit)) return
      expect(hasDefect(exit.cause), `op ${i} died: ${Cause.pretty(exit.cause)}`).toBe(false)
      for (const error of failuresOf(exit.cause)) expect(isBamlError(error), `op ${i}: ${String(error)}`).toBe(true)
      // Without an interrupt, the outcome follows from the fault.
      if (op.interruptAfterMs !== undefined || op.fault._tag === "Stall") return
      const error = Option.getOrUndefined(failureOf(exit.cause))
      if (op.fault._tag === "None" || op.fault._tag === "SlowFirstByte") {
        expect.fail(`op ${i} (${JSON.stringify(op)}) failed: ${Cause.pretty(exit.cause)}`)
      }
      expect(error?._tag, `op ${i} (${JSON.stringify(op)})`).toBe("BamlClientHttpError")
      if (op.fault._tag === "HttpError" && error?._tag === "BamlClientHttpError") {
        expect(error.statusCode).toBe(op.fault.status)
      }
    })
    exits.forEach((exit, i) => {
      const op = plan.ops[i]!
      if (Exit.isSuccess(exit) && op.kind !== "take") {
        expect(exit.value).toEqual(op.kind === "call" ? value : Option.some(value))
      }
    })

    // Every provider request either completed or was closed by the client; the library closes one early only when
    // its consumer left (an interrupt, or a `take` that had enough).
    const records = yield* provider.awaitRequests((rs) => rs.every((r) => r.status !== "open")).pipe(
      timeoutFail("10 seconds", () => new Error("a provider request stayed open"))
    )
    expect(records.length).toBeLessThanOrEqual(plan.ops.length)
    for (const record of records) {
      const i = Number(/\[soak-op-(\d+)\]/.exec(record.prompt)?.[1])
      const op = plan.ops[i]!
      const interrupted = op.interruptAfterMs !== undefined || op.fault._tag === "Stall"
      if (record.status === "closed-early") {
        expect(interrupted || op.kind === "take", `op ${i} closed early: ${JSON.stringify(op)}`).toBe(true)
      }
      if (record.status === "failed") expect(["HttpError", "DropConnection", "MalformedSse"]).toContain(op.fault._tag)
      // And the other way: a request whose consumer left while it was still being answered was closed by the client.
      const seen = observedFor(observed, tagOf(i))
      if (record.status === "completed") expect(record.sent, `op ${i} completed`).toBe(record.planned)
      if (seen?.aborts === 1 && record.sent < record.planned && record.status !== "failed") {
        expect(record.status, `op ${i}'s wire was pulled mid-reply: ${JSON.stringify(op)}`).toBe("closed-early")
      }
      if (record.status === "closed-early") expect(seen?.aborts, `op ${i} closed early`).toBe(1)
    }

    // Zero sockets left open to the provider.
    yield* Effect.repeat(provider.openSockets, { until: (open) => open === 0, schedule: Schedule.spaced("10 millis") })
      .pipe(timeoutFail("5 seconds", () => new Error("sockets stayed open")))

    // Every stream's finalizer ran exactly once; every native stream had its callback released exactly once; a
    // trip-wire is pulled at most once, and only while its call was in flight (a settled call is disarmed), so every
    // request the client closed early had its wire pulled.
    plan.ops.forEach((op, i) => expect(finalized[i], `op ${i}`).toBe(op.kind === "call" ? 0 : 1))
    expect(observed.filter((o) => o.kind === "call").length).toBeLessThanOrEqual(
      plan.ops.filter((op) => op.kind === "call").length
    )
    for (const seen of observed) {
      expect(seen.aborts).toBeLessThanOrEqual(1)
      expect(seen.releases).toBe(seen.kind === "stream" ? 1 : 0)
      // never pulled once the engine had settled the call
      if (seen.abortedAt !== undefined && seen.settledAt !== undefined) {
        expect(seen.abortedAt).toBeLessThan(seen.settledAt)
      }
    }
    // A consumer that was done with an op (it left) before the engine settled it had pulled its wire by the time the
    // op was over, once; one that was done after the engine settled never did.
    atEnd.forEach((end, i) => {
      if (end === undefined) return
      expect(end.aborts, `op ${i}: ${JSON.stringify({ ...end, op: plan.ops[i] })}`).toBe(end.settledFirst ? 0 : 1)
    })
    const pulled = observed.filter((seen) => seen.aborts === 1).length
    expect(pulled).toBeGreaterThanOrEqual(records.filter((r) => r.status === "closed-early").length)
  })

layer(Observing, { timeout: "120 seconds", excludeTestServices: true })("Soak", (it) => {
  it.effect("random calls and streams, faults, interrupts and concurrency keep every invariant", () =>
    Effect.scoped(Effect.gen(function*() {
      const run = yield* promiseRunner<BamlRuntime.BamlRuntime | ScriptedProvider.ScriptedProvider>()
      const rejections: Array<unknown> = []
      const onRejection = (reason: unknown) => rejections.push(reason)
      yield* Effect.acquireRelease(
        Effect.sync(() => process.on("unhandledRejection", onRejection)),
        () => Effect.sync(() => process.off("unhandledRejection", onRejection))
      )
      yield* Effect.promise(() =>
        fc.assert(
          fc.asyncProperty(planArb, async (plan) => {
            await run(runPlan(plan))
            // a rejection nobody handled surfaces on a later turn of the event loop
            await new Promise((resolve) => setTimeout(resolve, 10))
            expect(rejections).toEqual([])
          }),
          { numRuns: Number(process.env.SOAK_RUNS ?? 10), endOnFailure: true }
        )
      )
    })), 100_000)
})
