import {
  Baml,
  type BamlRuntime,
  Cause,
  currentFiberIds,
  describe,
  Effect,
  Exit,
  expect,
  Fiber,
  flattenIterable,
  forkChild,
  forkNow,
  interruptorsOf,
  interruptUnnamed,
  isInterrupted,
  isPullEnd,
  layer,
  Option,
  provideScope,
  Schedule,
  Scope,
  ScriptedProvider,
  Stream,
  timeoutErrorTag,
  timeoutFail
} from "#line"
import {
  longResume,
  marker,
  type Observed,
  observedFor,
  observingLayer,
  providerClients,
  scriptFor,
  scriptLong,
  sentAtLeast,
  settled,
  shortResume
} from "./fixtures.js"

const Provider = ScriptedProvider.ScriptedProvider
const observed: Array<Observed> = []

/** The native call or stream of the request marked `mark`. */
const nativeOf = (mark: string): Observed => {
  const seen = observedFor(observed, mark)
  expect(seen, `a native call for ${mark}`).toBeDefined()
  return seen!
}

/** Waits until the engine has settled the native call or stream marked `mark`, and the library has been told. */
const engineSettled = (mark: string) =>
  Effect.repeat(Effect.sync(() => observedFor(observed, mark)?.settledAt), {
    until: (at) => at !== undefined,
    schedule: Schedule.spaced("10 millis")
  }).pipe(
    Effect.andThen(Effect.sleep("20 millis")),
    timeoutFail("10 seconds", () => new Error(`${mark} never settled`))
  )

/** A pull of a stream (`Stream.toPull`). */
type Pull = Effect.Effect<unknown, unknown, BamlRuntime.BamlRuntime>

/**
 * A stream on a reply that stalls after 60 chunks, pulled through `Stream.toPull` in a scope of its own, each pull
 * under a deadline set by `deadline` (which answers `None` when the deadline passed), until a pull has to wait for a
 * partial that will not come and is left. Returns the scope, still open, and when the last pull began.
 */
const leaveWaitingPull = (
  mark: string,
  deadline: (pull: Pull) => Effect.Effect<Option.Option<unknown>, unknown, BamlRuntime.BamlRuntime>
) =>
  Effect.gen(function*() {
    yield* scriptFor(
      mark,
      ScriptedProvider.json(longResume("Ada Lovelace"), { delayMs: 2, fault: { _tag: "Stall", afterChunks: 60 } })
    )
    const scope = yield* Scope.make()
    const pull = yield* Stream.toPull(Baml.stream("ExtractResume", { resume: mark })).pipe(provideScope(scope))
    yield* pull
    yield* sentAtLeast(mark, 60)
    // take what arrived before the stall, until a pull has to wait for a partial that will not come
    let startedAt = performance.now()
    while (Option.isSome(yield* deadline(pull))) startedAt = performance.now()
    return { pull, scope, startedAt }
  })

/** Waits 300 ms for a pull in a fiber of its own, and interrupts it if it is still waiting. */
const interruptAfter = (pull: Pull) =>
  Effect.gen(function*() {
    const fiber = yield* forkNow(pull)
    const done = yield* Fiber.await(fiber).pipe(Effect.timeoutOption("300 millis"))
    if (Option.isNone(done)) yield* Fiber.interrupt(fiber)
    return done
  })

/** The facts every early exit must show: the provider saw the client close early, and few chunks followed. */
const expectAborted = (mark: string, exitedAt: number) =>
  Effect.gen(function*() {
    const record = yield* settled(mark)
    expect(record.status).toBe("closed-early")
    expect(record.closedEarly).toBe(true)
    expect(record.sent).toBeLessThan(record.planned)
    // generous: at 5 ms pacing an abort that takes effect at once lets one or two chunks through
    expect(ScriptedProvider.chunksAfter(record, exitedAt)).toBeLessThanOrEqual(10)
    return record
  })

/**
 * The early exits a consumer of a long reply can take: each leaves in its own way, checks what it saw, and returns
 * when it left (the chunks sent after that are counted). Every one must end with the request aborted.
 */
const earlyExits: ReadonlyArray<{
  readonly name: string
  readonly label: string
  readonly leave: (
    mark: string,
    options: Baml.Options
  ) => Effect.Effect<number, unknown, BamlRuntime.BamlRuntime | ScriptedProvider.ScriptedProvider | Scope.Scope>
}> = [
  {
    name: "Fiber.interrupt on a call",
    label: "interrupt-call",
    leave: (mark, options) =>
      Effect.gen(function*() {
        const fiber = yield* forkChild(Baml.call("ExtractResume", { resume: mark }, options))
        yield* sentAtLeast(mark, 20)
        const exitedAt = performance.now()
        yield* Fiber.interrupt(fiber)
        const exit = yield* Fiber.await(fiber)
        expect(isInterrupted(exit)).toBe(true)
        return exitedAt
      })
  },
  {
    name: "Fiber.interrupt on a stream",
    label: "interrupt-stream",
    leave: (mark, options) =>
      Effect.gen(function*() {
        const fiber = yield* forkChild(Stream.runDrain(Baml.stream("ExtractResume", { resume: mark }, options)))
        yield* sentAtLeast(mark, 20)
        const exitedAt = performance.now()
        yield* Fiber.interrupt(fiber)
        const exit = yield* Fiber.await(fiber)
        expect(isInterrupted(exit)).toBe(true)
        return exitedAt
      })
  },
  {
    name: "Stream.take",
    label: "take",
    leave: (mark, options) =>
      Effect.gen(function*() {
        let exitedAt = 0
        const taken = yield* Baml.stream("ExtractResume", { resume: mark }, options).pipe(
          Stream.take(2),
          Stream.tap(() => Effect.sync(() => (exitedAt = performance.now()))),
          Stream.runCollect
        )
        expect(Array.from(taken).length).toBe(2)
        return exitedAt
      })
  },
  {
    name: "Stream.interruptWhen",
    label: "interruptWhen",
    leave: (mark, options) =>
      Effect.gen(function*() {
        let exitedAt = 0
        const stop = sentAtLeast(mark, 20).pipe(Effect.tap(() => Effect.sync(() => (exitedAt = performance.now()))))
        const received = yield* Baml.stream("ExtractResume", { resume: mark }, options).pipe(
          Stream.interruptWhen(stop),
          Stream.runCount
        )
        expect(received).toBeGreaterThan(0)
        return exitedAt
      })
  },
  {
    name: "Effect.timeout on a call",
    label: "timeout-call",
    leave: (mark, options) =>
      Effect.gen(function*() {
        const startedAt = performance.now()
        const result = yield* Baml.call("ExtractResume", { resume: mark }, options).pipe(
          Effect.timeout("300 millis"),
          Effect.flip
        )
        expect(result._tag).toBe(timeoutErrorTag)
        return startedAt + 300
      })
  },
  {
    name: "Effect.timeout on a stream",
    label: "timeout-stream",
    leave: (mark, options) =>
      Effect.gen(function*() {
        const startedAt = performance.now()
        const result = yield* Baml.stream("ExtractResume", { resume: mark }, options).pipe(
          Stream.runDrain,
          Effect.timeout("300 millis"),
          Effect.flip
        )
        expect(result._tag).toBe(timeoutErrorTag)
        return startedAt + 300
      })
  },
  {
    name: "Effect.race: the loser is aborted",
    label: "race",
    leave: (mark, options) =>
      Effect.gen(function*() {
        let exitedAt = 0
        const winner = sentAtLeast(mark, 20).pipe(
          Effect.tap(() => Effect.sync(() => (exitedAt = performance.now()))),
          Effect.as("winner")
        )
        const result = yield* Effect.race(Baml.call("ExtractResume", { resume: mark }, options), winner)
        expect(result).toBe("winner")
        return exitedAt
      })
  },
  {
    name: "a failing downstream stage (Stream.mapEffect)",
    label: "mapEffect",
    leave: (mark, options) =>
      Effect.gen(function*() {
        let exitedAt = 0
        const error = yield* Baml.stream("ExtractResume", { resume: mark }, options).pipe(
          Stream.zipWithIndex,
          Stream.mapEffect(([partial, i]) =>
            i < 2 ? Effect.succeed(partial) : Effect.sync(() => (exitedAt = performance.now())).pipe(
              Effect.andThen(Effect.fail("downstream says no" as const))
            )
          ),
          Stream.runDrain,
          Effect.flip
        )
        expect(error).toBe("downstream says no")
        return exitedAt
      })
  },
  {
    name: "a defect thrown in user code",
    label: "defect",
    leave: (mark, options) =>
      Effect.gen(function*() {
        let exitedAt = 0
        const exit = yield* Baml.stream("ExtractResume", { resume: mark }, options).pipe(
          Stream.map(() => {
            exitedAt = performance.now()
            throw new Error("bug in user code")
          }),
          Stream.runDrain,
          Effect.exit
        )
        expect(Exit.isFailure(exit)).toBe(true)
        expect(String(Exit.isFailure(exit) ? Cause.squash(exit.cause) : "")).toContain("bug in user code")
        return exitedAt
      })
  },
  {
    name: "a closed Scope",
    label: "scope",
    leave: (mark, options) =>
      Effect.gen(function*() {
        const scope = yield* Scope.make()
        const pull = yield* Stream.toPull(Baml.stream("ExtractResume", { resume: mark }, options)).pipe(
          provideScope(scope)
        )
        yield* pull
        yield* sentAtLeast(mark, 20)
        const exitedAt = performance.now()
        yield* Scope.close(scope, Exit.void)
        return exitedAt
      })
  }
]

layer(observingLayer(observed), { timeout: "60 seconds", excludeTestServices: true })("Baml", (it) => {
  describe("early exits abort the LLM request", () => {
    // every early exit, through a client of each provider format the scripted provider speaks
    for (const { client, format } of providerClients) {
      for (const { label, leave, name } of earlyExits) {
        it.effect(format === "chat-completions" ? name : `${name} (${format})`, () =>
          Effect.scoped(Effect.gen(function*() {
            const mark = marker(`${label}-${format}`)
            yield* scriptLong(mark)
            const exitedAt = yield* leave(mark, { client })
            const record = yield* expectAborted(mark, exitedAt)
            expect(record.format).toBe(format)
            // the consumer left before the engine settled: the wire was pulled once, and the callback released once
            const seen = nativeOf(mark)
            expect([seen.aborts, seen.releases]).toEqual([1, seen.kind === "stream" ? 1 : 0])
            if (seen.settledAt !== undefined) expect(seen.abortedAt!).toBeLessThan(seen.settledAt)
          })), 20_000)
      }
    }

    it.effect("a call and a stream that run to their end are never aborted: the engine settled them first", () =>
      Effect.gen(function*() {
        const mark = marker("to-the-end")
        yield* scriptFor(mark, ScriptedProvider.json(shortResume("Grace Hopper"), { delayMs: 2 }))
        const final = yield* Baml.call("ExtractResume", { resume: `${mark} call` })
        const last = yield* Stream.runLast(Baml.stream("ExtractResume", { resume: `${mark} stream` }))
        expect(final).toEqual(shortResume("Grace Hopper"))
        expect(Option.getOrThrow(last)).toEqual(shortResume("Grace Hopper"))
        for (const kind of ["call", "stream"] as const) {
          const seen = nativeOf(`${mark} ${kind}`)
          expect(seen.settledAt, kind).toBeDefined()
          expect([kind, seen.aborts, seen.abortedAt, seen.releases]).toEqual([
            kind,
            0,
            undefined,
            kind === "stream" ? 1 : 0
          ])
        }
        const records = yield* Effect.forEach(["call", "stream"], (kind) => settled(`${mark} ${kind}`))
        expect(records.map((r) => [r.stream, r.status, r.sent === r.planned])).toEqual([
          [false, "completed", true],
          [true, "completed", true]
        ])
      }), 20_000)

    it.effect("an interrupted pull aborts at once, with the scope still open; the stream has then ended", () =>
      Effect.gen(function*() {
        const mark = marker("pull")
        const { pull, scope, startedAt } = yield* leaveWaitingPull(mark, interruptAfter)
        yield* expectAborted(mark, startedAt)
        const next = yield* pull.pipe(Effect.exit, Effect.timeout("5 seconds"))
        expect(isInterrupted(next)).toBe(true)
        // the later pull's interrupt names the fiber that interrupted the waiting one: this test's
        expect(interruptorsOf(next)).toEqual(yield* currentFiberIds)
        yield* Scope.close(scope, Exit.void)
      }), 20_000)

    it.effect("a waiting pull interrupted by no fiber in particular ends the stream in an interrupt as well", () =>
      Effect.gen(function*() {
        const mark = marker("pull-anonymous")
        // an interrupt from outside any fiber (plain code holding the fiber) names no interruptor
        const { pull, scope, startedAt } = yield* leaveWaitingPull(mark, (pull) =>
          Effect.gen(function*() {
            const fiber = yield* forkNow(pull)
            const done = yield* Fiber.await(fiber).pipe(Effect.timeoutOption("300 millis"))
            if (Option.isNone(done)) yield* interruptUnnamed(fiber)
            return done
          }))
        yield* expectAborted(mark, startedAt)
        const next = yield* pull.pipe(Effect.exit, Effect.timeout("5 seconds"))
        expect(isInterrupted(next)).toBe(true)
        yield* Scope.close(scope, Exit.void)
      }), 20_000)

    it.effect("a stream left by an interrupted pull is reported as interrupted, however late its scope closes", () =>
      Effect.gen(function*() {
        const mark = marker("pull-usage")
        const [, usages] = yield* Baml.withUsage(Effect.gen(function*() {
          const { scope, startedAt } = yield* leaveWaitingPull(mark, interruptAfter)
          yield* expectAborted(mark, startedAt)
          // the engine has long reported the abort by now: nobody is there to take it
          yield* engineSettled(mark)
          yield* Scope.close(scope, Exit.void)
        }))
        expect(usages.map((usage) => [usage.kind, usage.outcome, usage.error, usage.aborted])).toEqual([
          ["stream", "interrupted", undefined, true]
        ])
      }), 20_000)

    // With the scope still open, the stream's finalizer has not run (its callback is not released yet): the abort can
    // only be the waiting pull's own.
    const deadlines: ReadonlyArray<{
      readonly name: string
      readonly deadline: (pull: Pull) => Effect.Effect<Option.Option<unknown>, unknown, BamlRuntime.BamlRuntime>
    }> = [
      { name: "Fiber.interrupt", deadline: interruptAfter },
      { name: "Effect.timeout", deadline: (pull) => Effect.timeoutOption(pull, "300 millis") },
      {
        name: "Effect.race (the pull loses)",
        deadline: (pull) => Effect.race(Effect.map(pull, Option.some), Effect.as(Effect.sleep("300 millis"), Option.none()))
      }
    ]
    for (const { deadline, name } of deadlines) {
      it.effect(`a waiting pull left by ${name} aborts the request itself, before the stream's finalizer runs`, () =>
        Effect.gen(function*() {
          const mark = marker("waiting")
          const { scope, startedAt } = yield* leaveWaitingPull(mark, deadline)
          yield* expectAborted(mark, startedAt)
          const seen = nativeOf(mark)
          expect([seen.aborts, seen.releases]).toEqual([1, 0])
          yield* Scope.close(scope, Exit.void)
          expect([seen.aborts, seen.releases]).toEqual([1, 1])
        }), 20_000)
    }
  })

  describe("slow readers", () => {
    it.effect("a reader that comes back after the engine has settled gets the final value alone, then the end", () =>
      Effect.gen(function*() {
        const mark = marker("slow-final")
        yield* scriptFor(mark, ScriptedProvider.json(shortResume("Grace Hopper"), { delayMs: 5 }))
        const scope = yield* Scope.make()
        const pull = yield* Stream.toPull(Baml.stream("ExtractResume", { resume: mark })).pipe(provideScope(scope))
        yield* pull
        // every partial after the first, and the final value, arrive while nobody reads
        yield* engineSettled(mark)
        expect(Array.from(yield* pull)).toEqual([shortResume("Grace Hopper")])
        const end = yield* Effect.exit(pull)
        expect(isPullEnd(end)).toBe(true)
        yield* Scope.close(scope, Exit.void)
        expect((yield* settled(mark)).status).toBe("completed")
      }), 20_000)

    it.effect("a reader that comes back mid-stream gets only the newest partial, not the ones it missed", () =>
      Effect.gen(function*() {
        const mark = marker("slow-partial")
        yield* scriptLong(mark)
        const scope = yield* Scope.make()
        const pull = yield* Stream.toPull(Baml.stream("ExtractResume", { resume: mark })).pipe(provideScope(scope))
        const first = Array.from(yield* pull)
        // ~100 chunks (half a second, ten partials or so) go by while nobody reads
        yield* sentAtLeast(mark, 150)
        yield* Effect.sleep("200 millis")
        const next = Array.from(yield* pull)
        expect(first.length).toBe(1)
        expect(next.length).toBe(1)
        // the newest partial, not the one after the first: it holds most of what was sent meanwhile
        expect(JSON.stringify(next[0]).length - JSON.stringify(first[0]).length).toBeGreaterThan(150)
        yield* Scope.close(scope, Exit.void)
      }), 20_000)
  })

  describe("results", () => {
    it.effect("a stream's partials keep every field already seen, and its last element is the call's result", () =>
      Effect.gen(function*() {
        const mark = marker("collect")
        const provider = yield* Provider
        yield* provider.script({
          match: (prompt) => prompt.includes(mark),
          script: ScriptedProvider.json(shortResume("Grace Hopper"), { delayMs: 5 })
        })
        const elements = Array.from(
          yield* Stream.runCollect(Baml.stream("ExtractResume", { resume: mark }))
        ) as ReadonlyArray<Record<string, unknown>>
        const final = yield* Baml.call("ExtractResume", { resume: mark })

        expect(elements.length).toBeGreaterThan(1)
        expect(elements[elements.length - 1]).toEqual(final)
        expect(final).toEqual(shortResume("Grace Hopper"))
        for (let i = 1; i < elements.length; i++) {
          const before = elements[i - 1]!
          const after = elements[i]!
          for (const [key, value] of Object.entries(before)) {
            if (value === null || value === undefined) continue
            expect(after[key], `field ${key} of partial ${i}`).not.toBeNull()
            if (Array.isArray(value)) expect((after[key] as Array<unknown>).length).toBeGreaterThanOrEqual(value.length)
          }
        }
        // the client may have read the whole reply a moment before the server sees the response finish
        const records = (yield* provider.awaitRequests((rs) =>
          rs.filter((r) => r.prompt.includes(mark) && r.status !== "open").length === 2
        )).filter((r) => r.prompt.includes(mark))
        expect(records.map((r) => [r.stream, r.status])).toEqual([[true, "completed"], [false, "completed"]])
      }), 20_000)

    it.effect("combinators that time their upstream (groupedWithin, debounce) leave the request running", () =>
      Effect.gen(function*() {
        const runs = {
          groupedWithin: (mark: string) =>
            Baml.stream("ExtractResume", { resume: mark }).pipe(
              Stream.groupedWithin(100, "15 millis"),
              flattenIterable,
              Stream.runLast
            ),
          debounce: (mark: string) =>
            Baml.stream("ExtractResume", { resume: mark }).pipe(Stream.debounce("15 millis"), Stream.runLast)
        }
        for (const [name, run] of Object.entries(runs)) {
          const mark = marker(name)
          yield* scriptFor(mark, ScriptedProvider.json(shortResume("Grace Hopper"), { delayMs: 5 }))
          const last = yield* run(mark)
          expect(Option.getOrUndefined(last), name).toEqual(shortResume("Grace Hopper"))
          const record = yield* settled(mark)
          expect([name, record.status, record.sent]).toEqual([name, "completed", record.planned])
        }
      }), 20_000)

    it.effect("streamEvents: Partial events, then one Final; Baml.final returns it; stream's last element is the same", () =>
      Effect.gen(function*() {
        const mark = marker("events")
        yield* scriptFor(mark, ScriptedProvider.json(shortResume("Grace Hopper"), { delayMs: 5 }))
        const events = Array.from(yield* Stream.runCollect(Baml.streamEvents("ExtractResume", { resume: mark })))
        expect(events.length).toBeGreaterThan(2)
        expect(events.map((e) => e._tag)).toEqual([...events.slice(1).map(() => "Partial"), "Final"])
        expect(events.every(Baml.isStreamEvent)).toBe(true)
        expect(events[events.length - 1]!.value).toEqual(shortResume("Grace Hopper"))
        const final = yield* Baml.final(Baml.streamEvents("ExtractResume", { resume: mark }))
        expect(final).toEqual(shortResume("Grace Hopper"))
        const last = yield* Stream.runLast(Baml.stream("ExtractResume", { resume: mark }))
        expect(Option.getOrThrow(last)).toEqual(final)
        expect(Baml.isStreamEvent(final)).toBe(false)
      }), 20_000)

    it.effect("Baml.final on a stream cut short before its final event dies saying so; the request is aborted", () =>
      Effect.gen(function*() {
        const mark = marker("no-final")
        yield* scriptLong(mark)
        const exit = yield* Effect.exit(Baml.final(Baml.streamEvents("ExtractResume", { resume: mark }).pipe(Stream.take(2))))
        expect(Exit.isFailure(exit) && Cause.pretty(exit.cause)).toContain("ended without its final value")
        const record = yield* settled(mark)
        expect(record.status).toBe("closed-early")
      }), 20_000)

    it.effect("a string function streams text and returns it", () =>
      Effect.gen(function*() {
        const mark = marker("summary")
        const provider = yield* Provider
        const text = `A short summary ${mark} of a long text, written slowly.`
        yield* provider.script({ match: (prompt) => prompt.includes(mark), script: { reply: text, delayMs: 10 } })
        const result = yield* Stream.runLast(Baml.stream("Summarize", { text: mark }))
        expect(Option.getOrThrow(result)).toBe(text)
      }), 20_000)
  })
})
