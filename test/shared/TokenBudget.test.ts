import {
  Baml,
  BamlError,
  describe,
  Effect,
  Exit,
  expect,
  layer,
  Option,
  provideScope,
  pullError,
  Schema,
  Scope,
  ScriptedProvider,
  Stream,
  TokenBudget
} from "#line"
import { marker, scriptLong, settled, shortResume, TestLayer } from "./fixtures.js"

const Provider = ScriptedProvider.ScriptedProvider

const expectBudgetExceeded = (error: unknown): BamlError.BudgetExceeded => {
  expect(error).toBeInstanceOf(BamlError.BudgetExceeded)
  return error as BamlError.BudgetExceeded
}

/** The typed error `effect` failed with (`None` when it succeeded), so that the effects beside it go on. */
const errorOf = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<Option.Option<E>, never, R> =>
  Effect.match(effect, { onFailure: Option.some, onSuccess: () => Option.none() })

layer(TestLayer, { timeout: "60 seconds", excludeTestServices: true })("TokenBudget", (it) => {
  describe("streams", () => {
    it.effect("a stream that goes over the budget is aborted as it goes, and fails with BudgetExceeded", () =>
      Effect.gen(function*() {
        const mark = marker("budget-cut")
        yield* scriptLong(mark)
        const error = expectBudgetExceeded(
          yield* Baml.stream("ExtractResume", { resume: mark }).pipe(
            Stream.runDrain,
            TokenBudget.limit({ maxOutputTokens: 50 }),
            Effect.flip
          )
        )
        // one token counted per event: the 51st went over
        expect(error).toMatchObject({ functionName: "ExtractResume", outputTokens: 51, callOutputTokens: 51 })
        expect(error.maxOutputTokens).toBe(50)
        expect(error.message).toContain("51 of 50 output tokens")
        const record = yield* settled(mark)
        expect(record.status).toBe("closed-early")
        expect(record.planned).toBeGreaterThan(300)
        // the provider had sent the 51 chunks; an abort that takes effect at once lets a few more through
        expect(record.sent).toBeGreaterThanOrEqual(51)
        expect(record.sent).toBeLessThanOrEqual(51 + 15)
      }), 20_000)

    it.effect("limitStream gives a stream a budget of its own, and cuts it off when it goes over", () =>
      Effect.gen(function*() {
        const mark = marker("budget-limitStream")
        yield* scriptLong(mark)
        const capped = Baml.stream("ExtractResume", { resume: mark }).pipe(
          TokenBudget.limitStream({ maxOutputTokens: 50 })
        )
        const error = expectBudgetExceeded(yield* Effect.flip(Stream.runDrain(capped)))
        expect(error).toMatchObject({ functionName: "ExtractResume", outputTokens: 51, callOutputTokens: 51 })
        expect(error.maxOutputTokens).toBe(50)
        const record = yield* settled(mark)
        expect(record.status).toBe("closed-early")
        expect(record.sent).toBeLessThanOrEqual(51 + 15)
      }), 20_000)

    it.effect("the budget aborts the request at once, even while the consumer is busy with a partial", () =>
      Effect.gen(function*() {
        const mark = marker("budget-busy")
        yield* scriptLong(mark)
        let first = true
        const error = yield* Baml.stream("ExtractResume", { resume: mark }).pipe(
          // the consumer takes 1.5 s over its first partial, time for ~300 more chunks at 5 ms
          Stream.tap(() =>
            Effect.suspend(() => {
              if (!first) return Effect.void
              first = false
              return Effect.sleep("1500 millis")
            })
          ),
          Stream.runDrain,
          TokenBudget.limit({ maxOutputTokens: 50 }),
          Effect.flip
        )
        expectBudgetExceeded(error)
        const record = yield* settled(mark)
        expect(record.status).toBe("closed-early")
        // without the budget pulling the wire itself, the request would run until the consumer came back
        expect(record.sent).toBeLessThanOrEqual(51 + 15)
      }), 20_000)

    it.effect("the budget aborts the request while nobody pulls, with the stream's scope still open", () =>
      Effect.gen(function*() {
        const mark = marker("budget-idle")
        yield* scriptLong(mark)
        const scope = yield* Scope.make()
        const pull = yield* Stream.toPull(Baml.stream("ExtractResume", { resume: mark })).pipe(provideScope(scope))
        yield* pull
        // the consumer holds the stream and does not pull again: only the budget can end the request
        const record = yield* settled(mark)
        expect(record.status).toBe("closed-early")
        expect(record.sent).toBeLessThanOrEqual(51 + 15)
        // the partial taken from the queue last, if any, and then the budget's error
        expectBudgetExceeded(pullError(yield* Effect.flip(Effect.forever(pull))))
        yield* Scope.close(scope, Exit.void)
      }).pipe(TokenBudget.limit({ maxOutputTokens: 50 })), 20_000)

    it.effect("a stream under the budget completes, and the budget then holds the provider's exact count", () =>
      Effect.gen(function*() {
        const mark = marker("budget-exact")
        const provider = yield* Provider
        yield* provider.script({
          match: (p) => p.includes(mark),
          script: ScriptedProvider.json(shortResume("Grace"), { delayMs: 1 })
        })
        const used = yield* Effect.gen(function*() {
          const last = yield* Stream.runLast(Baml.stream("ExtractResume", { resume: mark }))
          expect(last._tag).toBe("Some")
          return yield* TokenBudget.used
        }).pipe(TokenBudget.limit({ maxOutputTokens: 10_000 }))
        const record = yield* settled(mark)
        // counted live as events (content, finish and usage events), then replaced with the provider's report
        expect(used.outputTokens).toBe(record.planned)
        expect(used.inputTokens).toBe(Math.ceil(record.prompt.length / 4))
      }), 20_000)

    it.effect("concurrent streams share one budget: together they stop near it, and each is cut off", () =>
      Effect.gen(function*() {
        const marks = [marker("budget-shared-a"), marker("budget-shared-b")]
        for (const mark of marks) yield* scriptLong(mark)
        const results = yield* Effect.all(
          marks.map((mark) => errorOf(Stream.runDrain(Baml.stream("ExtractResume", { resume: mark })))),
          { concurrency: 2 }
        ).pipe(TokenBudget.limit({ maxOutputTokens: 100 }))
        for (const error of results) {
          expect(Option.isSome(error)).toBe(true)
          if (Option.isSome(error)) expectBudgetExceeded(error.value)
        }
        const records = yield* Effect.all(marks.map(settled))
        for (const record of records) expect(record.status).toBe("closed-early")
        const sent = records.reduce((n, r) => n + r.sent, 0)
        expect(sent).toBeGreaterThanOrEqual(100)
        expect(sent).toBeLessThanOrEqual(100 + 30)
      }), 20_000)

    it.effect("an estimated cost cap cuts a stream off like a token cap", () =>
      Effect.gen(function*() {
        const mark = marker("budget-cost")
        yield* scriptLong(mark)
        // one unit per output token: a cost of 30 is 30 tokens
        const cost = { max: 30, perMillionInputTokens: 0, perMillionOutputTokens: 1_000_000 }
        const error = expectBudgetExceeded(
          yield* Baml.stream("ExtractResume", { resume: mark }).pipe(
            Stream.runDrain,
            TokenBudget.limit({ cost }),
            Effect.flip
          )
        )
        expect(error.cost).toBe(31)
        expect(error.maxCost).toBe(30)
        expect(error.callOutputTokens).toBe(31)
        expect((yield* settled(mark)).status).toBe("closed-early")
      }), 20_000)
  })

  describe("calls", () => {
    it.effect("once the budget is spent, a call or stream is refused before anything is sent", () =>
      Effect.gen(function*() {
        const mark = marker("budget-refuse")
        const provider = yield* Provider
        yield* provider.script({ match: (p) => p.includes(mark), script: { reply: "A short summary.", delayMs: 1 } })
        const [first, second, third] = yield* Effect.all([
          errorOf(Baml.call("Summarize", { text: mark })),
          errorOf(Baml.call("Summarize", { text: mark })),
          errorOf(Stream.runDrain(Baml.stream("Summarize", { text: mark })))
        ]).pipe(TokenBudget.limit({ maxOutputTokens: 2 }))
        // a call's reply arrives whole: the first one is answered, and charged its 4 tokens
        expect(Option.isNone(first!)).toBe(true)
        for (const refused of [second!, third!]) {
          expect(Option.isSome(refused)).toBe(true)
          if (Option.isSome(refused)) {
            expect(expectBudgetExceeded(refused.value)).toMatchObject({ outputTokens: 4, callOutputTokens: 0 })
          }
        }
        const records = (yield* provider.requests).filter((r) => r.prompt.includes(mark))
        expect(records).toHaveLength(1)
      }), 20_000)

    it.effect("a layer's budget is shared by everything it is provided to", () =>
      Effect.gen(function*() {
        const mark = marker("budget-layer")
        const provider = yield* Provider
        yield* provider.script({ match: (p) => p.includes(mark), script: { reply: "One two three four.", delayMs: 1 } })
        const used = yield* Effect.gen(function*() {
          yield* Baml.call("Summarize", { text: mark })
          yield* Stream.runDrain(Baml.stream("Summarize", { text: mark }))
          return yield* TokenBudget.used
        }).pipe(Effect.provide(TokenBudget.layer({})))
        const records = (yield* provider.awaitRequests((rs) =>
          rs.filter((r) => r.prompt.includes(mark) && r.status === "completed").length === 2
        )).filter((r) => r.prompt.includes(mark))
        expect(used.outputTokens).toBe(records[0]!.planned + records[1]!.planned)
        expect(used.cost).toBe(0)
      }), 20_000)
  })

  it("BudgetExceeded is one of the BamlError schema's members, and survives encoding", () => {
    const error = new BamlError.BudgetExceeded({
      message: "Token budget exceeded",
      functionName: "ExtractResume",
      outputTokens: 51,
      callOutputTokens: 51,
      maxOutputTokens: 50
    })
    const decoded = Schema.decodeUnknownSync(BamlError.BamlError)(Schema.encodeSync(BamlError.BamlError)(error))
    expect(decoded).toBeInstanceOf(BamlError.BudgetExceeded)
    expect(decoded).toMatchObject({ outputTokens: 51, maxOutputTokens: 50 })
  }, 10_000)
})
