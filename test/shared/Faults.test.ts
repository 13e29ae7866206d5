import {
  Baml, BamlError, BamlRuntime, Cause, describe, DurationInput, Effect, Exit, expect, failureOf, Fiber, forkChild,
  isInterrupted, layer, Option, ScriptedProvider, Stream, TimeoutError, timeoutErrorTag
} from "#line"
import * as Engine from "@boundaryml/baml"
import { marker, scriptFor, settledAll, shortResume, TestLayer } from "./fixtures.js"

const Provider = ScriptedProvider.ScriptedProvider

type Kind = "call" | "stream"
const kinds: ReadonlyArray<Kind> = ["call", "stream"]

/** Runs `f` for a call and for a stream side by side: each uses its own marker, so their records stay apart. */
const forBoth = <E, R>(f: (kind: Kind) => Effect.Effect<void, E, R>) =>
  Effect.forEach(kinds, f, { concurrency: "unbounded", discard: true })

interface Outcome {
  readonly exit: Exit.Exit<unknown, BamlError.BamlError | TimeoutError>
  /** What user code received: the call's result, or every element of the stream (also when it then failed). */
  readonly elements: ReadonlyArray<unknown>
  /** The provider's records of this attempt, once none of them is open any more. */
  readonly records: ReadonlyArray<ScriptedProvider.RequestRecord>
}

/** Runs ExtractResume on `mark` as a call or a stream, optionally under `Effect.timeout(timeout)`. */
const attempt = (kind: Kind, mark: string, options: Baml.Options = {}, timeout?: DurationInput) =>
  Effect.gen(function*() {
    const elements: Array<unknown> = []
    const push = (value: unknown) => Effect.sync(() => elements.push(value))
    const program: Effect.Effect<unknown, BamlError.BamlError, BamlRuntime.BamlRuntime> = kind === "call"
      ? Effect.tap(Baml.call("ExtractResume", { resume: mark }, options), push)
      : Stream.runDrain(Stream.tap(Baml.stream("ExtractResume", { resume: mark }, options), push))
    const exit = yield* Effect.exit(timeout === undefined ? program : Effect.timeout(program, timeout))
    const records = yield* settledAll(mark)
    return { exit, elements, records } satisfies Outcome
  })

/** The error a failed attempt failed with: a failure, never a defect or an interruption. */
const errorOf = (outcome: Outcome) => {
  const error = Exit.isFailure(outcome.exit) ? failureOf(outcome.exit.cause) : Option.none()
  expect(Option.isSome(error), `expected a typed failure, got ${JSON.stringify(outcome.exit)}`).toBe(true)
  return Option.getOrThrow(error)
}

const expectHttpError = (outcome: Outcome, statusCode: number): BamlError.BamlClientHttpError => {
  const error = errorOf(outcome)
  expect(error._tag).toBe("BamlClientHttpError")
  if (error._tag !== "BamlClientHttpError") throw new Error(`expected a BamlClientHttpError, got ${error._tag}`)
  expect(error.statusCode).toBe(statusCode)
  return error
}

const expectTimeout = (outcome: Outcome, clientName: string, reason: RegExp) => {
  const error = errorOf(outcome)
  expect(error._tag).toBe("BamlTimeoutError")
  if (error._tag !== "BamlTimeoutError") return
  expect(error.clientName).toBe(clientName)
  expect(error.message).toMatch(reason)
  // the engine's own timeout closes the connection, as an interrupt does
  expect(outcome.records.map((r) => r.status)).toEqual(["closed-early"])
}

const expectValue = (outcome: Outcome, value: unknown) => {
  expect(Exit.isSuccess(outcome.exit), `expected a success, got ${JSON.stringify(outcome.exit)}`).toBe(true)
  expect(outcome.elements[outcome.elements.length - 1]).toEqual(value)
}

const resume = shortResume("Fault Tolerant")
// Large chunks at a quick pace keep the whole file to a few seconds; the faults that need partials slow it down.
const reply = (options: Omit<ScriptedProvider.Script, "reply"> = {}) =>
  ScriptedProvider.json(resume, { delayMs: 2, chunkSize: 16, ...options })

layer(TestLayer, { timeout: "60 seconds", excludeTestServices: true })("Faults", (it) => {
  describe("provider faults, for Baml.call and Baml.stream", () => {
    it.effect("HTTP 429 with Retry-After is a BamlClientHttpError 429 with the provider's body, sent once", () =>
      Effect.gen(function*() {
        yield* forBoth((kind) =>
          Effect.gen(function*() {
            const mark = marker(`429-${kind}`)
            yield* scriptFor(mark, reply({ fault: { _tag: "HttpError", status: 429, retryAfterSeconds: 1 } }))
            const outcome = yield* attempt(kind, mark)
            const error = expectHttpError(outcome, 429)
            expect(error.clientName).toBe("Scripted")
            expect(error.rawResponse).toContain("rate_limit_error")
            // without a retry_policy the engine does not retry, whatever Retry-After says
            expect(outcome.records.map((r) => r.status)).toEqual(["failed"])
          })
        )
      }), 20_000)

    it.effect("HTTP 408 from the provider stays a BamlClientHttpError: only the engine's timeouts are typed so", () =>
      Effect.gen(function*() {
        yield* forBoth((kind) =>
          Effect.gen(function*() {
            const mark = marker(`408-${kind}`)
            yield* scriptFor(mark, reply({ fault: { _tag: "HttpError", status: 408 } }))
            expectHttpError(yield* attempt(kind, mark), 408)
          })
        )
      }), 20_000)

    it.effect("a connection dropped mid-reply is a BamlClientHttpError, after the partials already received", () =>
      Effect.gen(function*() {
        yield* forBoth((kind) =>
          Effect.gen(function*() {
            const mark = marker(`drop-${kind}`)
            yield* scriptFor(
              mark,
              reply({ delayMs: 10, chunkSize: 4, fault: { _tag: "DropConnection", afterChunks: 30 } })
            )
            const outcome = yield* attempt(kind, mark)
            const error = expectHttpError(outcome, 2)
            expect(error.message).toMatch(/IncompleteMessage|UnexpectedEof|transport/)
            expect(outcome.records.map((r) => [r.status, r.sent])).toEqual([["failed", 30]])
            if (kind === "stream") expect(outcome.elements.length).toBeGreaterThan(0)
          })
        )
      }), 20_000)

    it.effect("malformed server-sent events are a BamlClientHttpError that says the reply could not be parsed", () =>
      Effect.gen(function*() {
        yield* forBoth((kind) =>
          Effect.gen(function*() {
            const mark = marker(`malformed-${kind}`)
            yield* scriptFor(mark, reply({ fault: { _tag: "MalformedSse", afterChunks: 10 } }))
            const outcome = yield* attempt(kind, mark)
            const error = errorOf(outcome)
            expect(error._tag).toBe("BamlClientHttpError")
            expect(error.message).toMatch(/Failed to parse (SSE data as )?JSON/)
          })
        )
      }), 20_000)

    it.effect("a reply that reads like an engine error (\"Operation was aborted\") is a BamlValidationError", () =>
      Effect.gen(function*() {
        for (const reply of ["Operation was aborted", "BamlInvalidArgumentError"]) {
          yield* forBoth((kind) =>
            Effect.gen(function*() {
              const mark = marker(`reads-like-engine-${kind}`)
              yield* scriptFor(mark, { reply })
              const error = errorOf(yield* attempt(kind, mark, {}, "10 seconds"))
              expect(error._tag).toBe("BamlValidationError")
              if (error._tag === "BamlValidationError") expect(error.rawOutput).toBe(reply)
            })
          )
        }
      }), 20_000)

    it.effect(`a stall ends in a ${timeoutErrorTag} under Effect.timeout, and the stalled request is closed`, () =>
      Effect.gen(function*() {
        yield* forBoth((kind) =>
          Effect.gen(function*() {
            const mark = marker(`stall-${kind}`)
            yield* scriptFor(mark, reply({ fault: { _tag: "Stall", afterChunks: 5 } }))
            const outcome = yield* attempt(kind, mark, {}, "500 millis")
            expect(errorOf(outcome)._tag).toBe(timeoutErrorTag)
            expect(outcome.records.map((r) => [r.status, r.closedEarly])).toEqual([["closed-early", true]])
          })
        )
      }), 20_000)

    it.effect("a stall ends in a BamlTimeoutError from the client's http timeouts, and the request is closed", () =>
      Effect.gen(function*() {
        const options = { client: "ScriptedImpatient" }
        const [midStream, beforeFirstChunk, call] = [marker("idle"), marker("first-token"), marker("request-timeout")]
        yield* scriptFor(midStream, reply({ fault: { _tag: "Stall", afterChunks: 3 } }))
        yield* scriptFor(beforeFirstChunk, reply({ fault: { _tag: "Stall", afterChunks: 0 } }))
        yield* scriptFor(call, reply({ fault: { _tag: "Stall", afterChunks: 3 } }))
        const outcomes = yield* Effect.all([
          attempt("stream", midStream, options),
          attempt("stream", beforeFirstChunk, options),
          // the engine applies only request_timeout_ms to calls
          attempt("call", call, options)
        ], { concurrency: "unbounded" })
        expectTimeout(outcomes[0], "ScriptedImpatient", /idle_timeout/)
        expectTimeout(outcomes[1], "ScriptedImpatient", /time_to_first_token_timeout/)
        expectTimeout(outcomes[2], "ScriptedImpatient", /timed out/)
      }), 20_000)

    it.effect("a per-call deadline: a ClientRegistry client with request_timeout_ms ends a stall in a BamlTimeoutError", () =>
      Effect.gen(function*() {
        const provider = yield* Provider
        yield* forBoth((kind) =>
          Effect.gen(function*() {
            const mark = marker(`deadline-${kind}`)
            yield* scriptFor(mark, reply({ fault: { _tag: "Stall", afterChunks: 5 } }))
            const clientRegistry = new Engine.ClientRegistry()
            clientRegistry.addLlmClient("Deadline", "openai-generic", {
              base_url: provider.baseUrl,
              model: "scripted-deadline",
              api_key: "not-needed",
              http: { request_timeout_ms: 300 }
            })
            clientRegistry.setPrimary("Deadline")
            expectTimeout(yield* attempt(kind, mark, { clientRegistry }), "Deadline", /timed out/)
          })
        )
      }), 20_000)

    it.effect("a slow first byte is only slow; a client with a request timeout gives up on it with a BamlTimeoutError", () =>
      Effect.gen(function*() {
        yield* forBoth((kind) =>
          Effect.gen(function*() {
            const patient = marker(`slow-${kind}`)
            yield* scriptFor(patient, reply({ firstByteDelayMs: 400 }))
            expectValue(yield* attempt(kind, patient), resume)

            // time_to_first_token counts from the response headers, so only request_timeout_ms catches a silent server
            const impatient = marker(`slow-impatient-${kind}`)
            yield* scriptFor(impatient, reply({ firstByteDelayMs: 1_300 }))
            const outcome = yield* attempt(kind, impatient, { client: "ScriptedImpatient" })
            expectTimeout(outcome, "ScriptedImpatient", /timed out/)
          })
        )
      }), 20_000)
  })

  describe("BAML's own retry, fallback and round-robin clients", () => {
    it.effect("retry_policy: two 429s, then the reply; the third request succeeds for calls and streams", () =>
      Effect.gen(function*() {
        yield* forBoth((kind) =>
          Effect.gen(function*() {
            const mark = marker(`retry-${kind}`)
            yield* scriptFor(mark, reply({ fault: { _tag: "HttpError", status: 429, retryAfterSeconds: 1, times: 2 } }))
            const outcome = yield* attempt(kind, mark, { client: "ScriptedRetrying" })
            expectValue(outcome, resume)
            expect(outcome.records.map((r) => r.status)).toEqual(["failed", "failed", "completed"])
          })
        )
      }), 20_000)

    it.effect("retry_policy exhausted: the last attempt's BamlClientHttpError, after three requests", () =>
      Effect.gen(function*() {
        yield* forBoth((kind) =>
          Effect.gen(function*() {
            const mark = marker(`retry-exhausted-${kind}`)
            yield* scriptFor(mark, reply({ fault: { _tag: "HttpError", status: 500 } }))
            const outcome = yield* attempt(kind, mark, { client: "ScriptedRetrying" })
            expect(expectHttpError(outcome, 500).clientName).toBe("ScriptedRetrying")
            expect(outcome.records.map((r) => r.status)).toEqual(["failed", "failed", "failed"])
          })
        )
      }), 20_000)

    it.effect("retry_policy after a connection dropped mid-stream: the stream ends with the whole value", () =>
      Effect.gen(function*() {
        yield* forBoth((kind) =>
          Effect.gen(function*() {
            const mark = marker(`retry-drop-${kind}`)
            yield* scriptFor(mark, (request) =>
              request.index === 0 ? reply({ fault: { _tag: "DropConnection", afterChunks: 20 } }) : reply())
            const outcome = yield* attempt(kind, mark, { client: "ScriptedRetrying" })
            // partials of the dropped attempt may come first: a retry starts its snapshots again from the beginning
            expectValue(outcome, resume)
            expect(outcome.records.map((r) => r.status)).toEqual(["failed", "completed"])
          })
        )
      }), 20_000)

    it.effect("fallback: the primary fails (HTTP 500, or a drop mid-stream), the secondary's reply is the result", () =>
      Effect.gen(function*() {
        const faults: ReadonlyArray<ScriptedProvider.Fault> = [
          { _tag: "HttpError", status: 500 },
          { _tag: "DropConnection", afterChunks: 20 }
        ]
        for (const fault of faults) {
          yield* forBoth((kind) =>
            Effect.gen(function*() {
              const mark = marker(`fallback-${fault._tag}-${kind}`)
              yield* scriptFor(mark, reply({ fault }), "scripted-primary")
              yield* scriptFor(mark, reply(), "scripted-secondary")
              const outcome = yield* attempt(kind, mark, { client: "ScriptedFallback" })
              expectValue(outcome, resume)
              expect(outcome.records.map((r) => [r.model, r.status])).toEqual([
                ["scripted-primary", "failed"],
                ["scripted-secondary", "completed"]
              ])
            })
          )
        }
      }), 20_000)

    it.effect("fallback with every client failing: the last client's BamlClientHttpError", () =>
      Effect.gen(function*() {
        yield* forBoth((kind) =>
          Effect.gen(function*() {
            const mark = marker(`fallback-all-${kind}`)
            yield* scriptFor(mark, reply({ fault: { _tag: "HttpError", status: 500 } }), "scripted-primary")
            yield* scriptFor(mark, reply({ fault: { _tag: "HttpError", status: 503 } }), "scripted-secondary")
            const outcome = yield* attempt(kind, mark, { client: "ScriptedFallback" })
            expect(expectHttpError(outcome, 503).clientName).toBe("ScriptedSecondary")
            expect(outcome.records.map((r) => r.model)).toEqual(["scripted-primary", "scripted-secondary"])
          })
        )
      }), 20_000)

    it.effect("round-robin: consecutive calls and streams alternate between the two clients, without failover", () =>
      Effect.gen(function*() {
        const mark = marker("round-robin")
        yield* scriptFor(mark, reply({ fault: { _tag: "HttpError", status: 500 } }), "scripted-primary")
        yield* scriptFor(mark, reply({ delayMs: 0 }), "scripted-secondary")
        const outcomes: Array<Outcome> = []
        for (let i = 0; i < 4; i++) {
          outcomes.push(yield* attempt(kinds[i % 2]!, `${mark}-${i}`, { client: "ScriptedRoundRobin" }))
        }
        const models = outcomes.map((outcome) => outcome.records.map((r) => r.model))
        // one request each: the client that failed is not retried on the other
        expect(models.every((requests) => requests.length === 1)).toBe(true)
        for (let i = 1; i < models.length; i++) expect(models[i]).not.toEqual(models[i - 1])
        for (const outcome of outcomes) {
          if (outcome.records[0]!.model === "scripted-secondary") expectValue(outcome, resume)
          else expect(expectHttpError(outcome, 500).clientName).toBe("ScriptedPrimary")
        }
      }), 20_000)

    it.effect("a timeout while the retry policy re-sends closes the request in flight", () =>
      Effect.gen(function*() {
        yield* forBoth((kind) =>
          Effect.gen(function*() {
            const mark = marker(`retry-timeout-${kind}`)
            yield* scriptFor(mark, (request) =>
              request.index === 0
                ? reply({ fault: { _tag: "HttpError", status: 500 } })
                : reply({ fault: { _tag: "Stall", afterChunks: 3 } }))
            const outcome = yield* attempt(kind, mark, { client: "ScriptedRetrying" }, "600 millis")
            expect(errorOf(outcome)._tag).toBe(timeoutErrorTag)
            expect(outcome.records.map((r) => r.status)).toEqual(["failed", "closed-early"])
          })
        )
      }), 20_000)
  })

  describe("user code that fails aborts the BAML request", () => {
    const long = (mark: string) =>
      scriptFor(mark, ScriptedProvider.json(shortResume("Long Reply"), { delayMs: 30, chunkSize: 2 }))

    it.effect("an exception thrown by the sink (Stream.runForEach) fails the stream with it", () =>
      Effect.gen(function*() {
        const mark = marker("sink-throws")
        yield* long(mark)
        const exit = yield* Baml.stream("ExtractResume", { resume: mark }).pipe(
          Stream.runForEach((): Effect.Effect<void> => {
            throw new Error("the sink broke")
          }),
          Effect.exit
        )
        expect(Exit.isFailure(exit) && String(Cause.squash(exit.cause))).toContain("the sink broke")
        const [record] = yield* settledAll(mark)
        expect(record!.status).toBe("closed-early")
        expect(record!.sent).toBeLessThan(record!.planned)
      }), 20_000)

    it.effect("a failing stream merged with a BAML stream fails the merge with its error", () =>
      Effect.gen(function*() {
        const mark = marker("merge")
        yield* long(mark)
        const sibling = Stream.fromEffect(
          Effect.sleep("200 millis").pipe(Effect.andThen(Effect.fail("sibling failed")))
        )
        const error = yield* Baml.stream("ExtractResume", { resume: mark }).pipe(
          Stream.merge(sibling),
          Stream.runDrain,
          Effect.flip
        )
        expect(error).toBe("sibling failed")
        const [record] = yield* settledAll(mark)
        expect(record!.status).toBe("closed-early")
      }), 20_000)

    it.effect("a failing effect beside a BAML call in Effect.all fails the whole with its error", () =>
      Effect.gen(function*() {
        const mark = marker("all")
        yield* long(mark)
        const error = yield* Effect.all([
          Baml.call("ExtractResume", { resume: mark }),
          Effect.sleep("200 millis").pipe(Effect.andThen(Effect.fail("validation of the other input failed")))
        ], { concurrency: "unbounded" }).pipe(Effect.flip)
        expect(error).toBe("validation of the other input failed")
        const [record] = yield* settledAll(mark)
        expect(record!.status).toBe("closed-early")
      }), 20_000)

    it.effect("an interrupt during a fallback's second client closes that request", () =>
      Effect.gen(function*() {
        const mark = marker("fallback-interrupt")
        const provider = yield* Provider
        yield* scriptFor(mark, reply({ fault: { _tag: "HttpError", status: 500 } }), "scripted-primary")
        yield* scriptFor(mark, ScriptedProvider.json(shortResume("Slow Second"), { delayMs: 30 }), "scripted-secondary")
        const fiber = yield* forkChild(
          Stream.runCollect(Baml.stream("ExtractResume", { resume: mark }, { client: "ScriptedFallback" }))
        )
        yield* provider.awaitRequests((rs) => rs.some((r) => r.prompt.includes(mark) && r.sent >= 3))
        yield* Fiber.interrupt(fiber)
        const exit = yield* Fiber.await(fiber)
        expect(isInterrupted(exit)).toBe(true)
        const records = yield* settledAll(mark)
        expect(records.map((r) => [r.model, r.status])).toEqual([
          ["scripted-primary", "failed"],
          ["scripted-secondary", "closed-early"]
        ])
      }), 20_000)
  })
})
