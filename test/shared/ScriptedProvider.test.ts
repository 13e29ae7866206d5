import {
  Client, describe, Effect, Exit, expect, Fiber, forkChild, isRunning, it, layer, provideScope, Scope,
  ScriptedProvider, timeoutFail, yieldNow
} from "#line"
import { shortResume } from "./fixtures.js"

const Provider = ScriptedProvider.ScriptedProvider

const request = (baseUrl: string, body: object, init: RequestInit = {}) =>
  Effect.promise(() =>
    fetch(`${baseUrl}/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ messages: [{ role: "user", content: "Hello" }], ...body }),
      ...init
    })
  )

const text = (response: Response) => Effect.promise(() => response.text())

/** The JSON payloads of an SSE body, `[DONE]` kept as a string. */
const events = (body: string): Array<unknown> =>
  body.split("\n\n").filter((event) => event.startsWith("data: ")).map((event) => {
    const data = event.slice("data: ".length)
    return data === "[DONE]" ? data : JSON.parse(data)
  })

interface Chunk {
  readonly choices: ReadonlyArray<{ readonly delta: { readonly role?: string; readonly content?: string } }>
  readonly usage?: { readonly completion_tokens: number }
}

/** Reads a streaming response until it has seen `count` content chunks, then aborts it. */
const readChunksThenAbort = (response: Response, controller: AbortController, count: number) =>
  Effect.promise(async () => {
    const reader = response.body!.getReader()
    const decoder = new TextDecoder()
    let seen = ""
    while ((seen.match(/"content"/g) ?? []).length < count) {
      const { done, value } = await reader.read()
      if (done) break
      seen += decoder.decode(value, { stream: true })
    }
    controller.abort()
    await reader.read().catch(() => undefined)
  })

layer(ScriptedProvider.layer({ rules: [{ model: "base", script: { reply: "from the layer" } }] }), {
  excludeTestServices: true
})(
  "ScriptedProvider",
  (it) => {
    it.effect("a non-streaming reply has the chat.completion shape", () =>
      Effect.gen(function*() {
        const provider = yield* Provider
        yield* provider.reset
        yield* provider.script({ script: { reply: "Hello, world!", delayMs: 1 } })
        const response = yield* request(provider.baseUrl, { model: "m" })
        expect(response.status).toBe(200)
        expect(response.headers.get("connection")).toBe("close")
        const body = yield* Effect.promise(() => response.json())
        expect(body).toMatchObject({
          object: "chat.completion",
          model: "m",
          choices: [{ index: 0, message: { role: "assistant", content: "Hello, world!" }, finish_reason: "stop" }],
          usage: { prompt_tokens: 2, completion_tokens: 4, total_tokens: 6 }
        })
        const records = yield* provider.awaitRequests((records) => records[0]?.closedAt !== undefined)
        expect(records[0]).toMatchObject({ id: 1, model: "m", stream: false, prompt: "Hello", planned: 4, sent: 4 })
        expect(records[0]?.status).toBe("completed")
        expect(records[0]?.chunkTimes.length).toBe(4)
      }), 10_000)

    it.effect("a streaming reply's deltas add up to the reply and end with [DONE]", () =>
      Effect.gen(function*() {
        const provider = yield* Provider
        yield* provider.reset
        yield* provider.script({ script: { reply: "The quick brown fox", chunkSize: 3, delayMs: 0 } })
        const response = yield* request(provider.baseUrl, { model: "m", stream: true })
        expect(response.headers.get("content-type")).toBe("text/event-stream")
        expect(response.headers.get("cache-control")).toBe("no-cache")
        const all = events(yield* text(response))
        expect(all[all.length - 1]).toBe("[DONE]")
        const chunks = all.slice(0, -1) as Array<Chunk>
        const deltas = chunks.flatMap((chunk) => chunk.choices.map((choice) => choice.delta.content ?? ""))
        expect(deltas.join("")).toBe("The quick brown fox")
        expect(chunks[0]?.choices[0]?.delta.role).toBe("assistant")
        expect(chunks[1]?.choices[0]?.delta.role).toBeUndefined()
        expect(chunks.at(-1)).toMatchObject({ choices: [{ delta: {}, finish_reason: "stop" }] })
        expect(chunks.some((chunk) => chunk.usage !== undefined)).toBe(false)
      }), 10_000)

    it.effect("a usage chunk comes only when include_usage is asked for", () =>
      Effect.gen(function*() {
        const provider = yield* Provider
        yield* provider.reset
        yield* provider.script({ script: { reply: "abcdefghij", chunkSize: 2, delayMs: 0 } })
        const response = yield* request(provider.baseUrl, {
          model: "m",
          stream: true,
          stream_options: { include_usage: true }
        })
        const all = events(yield* text(response))
        expect(all.slice(-2)).toEqual([
          expect.objectContaining({ choices: [], usage: { prompt_tokens: 2, completion_tokens: 5, total_tokens: 7 } }),
          "[DONE]"
        ])
      }), 10_000)

    it.effect("rules route by model and by prompt, later rules first, and reset keeps the layer's rules", () =>
      Effect.gen(function*() {
        const provider = yield* Provider
        yield* provider.reset
        const reply = (body: object) =>
          request(provider.baseUrl, body).pipe(
            Effect.flatMap((response) => Effect.promise(() => response.json())),
            Effect.map((json) => json.choices?.[0]?.message?.content ?? json.error?.message)
          )
        yield* provider.script(
          { model: "m1", script: { reply: "one" } },
          { match: (prompt) => prompt.includes("weather"), script: { reply: "sunny" } },
          { model: "counted", script: ({ index }) => ({ reply: `call ${index}` }) }
        )
        expect(yield* reply({ model: "m1" })).toBe("one")
        expect(yield* reply({ model: "m1", messages: [{ role: "user", content: "weather?" }] })).toBe("one")
        const parts = [{ type: "text", text: "Is it" }, { type: "text", text: "weather?" }]
        expect(yield* reply({ model: "x", messages: [{ role: "user", content: parts }] })).toBe("sunny")
        expect((yield* provider.requests)[2]?.prompt).toBe("Is it\nweather?")
        expect(yield* reply({ model: "counted" })).toBe("call 0")
        expect(yield* reply({ model: "counted" })).toBe("call 1")
        expect(yield* reply({ model: "base" })).toBe("from the layer")
        expect(yield* reply({ model: "nothing" })).toBe("no script matches model nothing")
        yield* provider.script({ model: "base", script: { reply: "override" } })
        expect(yield* reply({ model: "base" })).toBe("override")
        yield* provider.reset
        expect(yield* reply({ model: "base" })).toBe("from the layer")
        expect(yield* reply({ model: "m1" })).toBe("no script matches model m1")
        const records = yield* provider.awaitRequests((records) =>
          records.every((record) => record.closedAt !== undefined)
        )
        expect(records.map((record) => [record.model, record.status])).toEqual([
          ["base", "completed"],
          ["m1", "failed"]
        ])
      }), 10_000)

    it.effect("an HttpError with times fails the first requests, then plays the script", () =>
      Effect.gen(function*() {
        const provider = yield* Provider
        yield* provider.reset
        yield* provider.script({
          script: { reply: "finally", fault: { _tag: "HttpError", status: 429, retryAfterSeconds: 2, times: 1 } }
        })
        const first = yield* request(provider.baseUrl, { model: "m" })
        expect(first.status).toBe(429)
        expect(first.headers.get("retry-after")).toBe("2")
        expect(yield* Effect.promise(() => first.json())).toMatchObject({ error: { type: "rate_limit_error" } })
        const second = yield* request(provider.baseUrl, { model: "m" })
        expect(second.status).toBe(200)
        expect(yield* Effect.promise(() => second.json())).toMatchObject({
          choices: [{ message: { content: "finally" } }]
        })
        const records = yield* provider.awaitRequests((records) =>
          records.length === 2 && records.every((record) => record.closedAt !== undefined)
        )
        expect(records.map((record) => record.status)).toEqual(["failed", "completed"])
      }), 10_000)

    it.effect("a DropConnection fault cuts the stream after N chunks", () =>
      Effect.gen(function*() {
        const provider = yield* Provider
        yield* provider.reset
        yield* provider.script({
          script: { reply: "0123456789abcdef", delayMs: 1, fault: { _tag: "DropConnection", afterChunks: 2 } }
        })
        const response = yield* request(provider.baseUrl, { model: "m", stream: true })
        const body = yield* Effect.promise(() => response.text().then((body) => body, (error: Error) => error))
        if (typeof body === "string") expect(body).not.toContain("[DONE]")
        else expect(body).toBeInstanceOf(Error)
        const [record] = yield* provider.awaitRequests((records) => records[0]?.closedAt !== undefined)
        expect(record).toMatchObject({ status: "failed", sent: 2, planned: 4, closedEarly: false })
      }), 10_000)

    it.effect("a MalformedSse fault ends the stream with a broken data line", () =>
      Effect.gen(function*() {
        const provider = yield* Provider
        yield* provider.reset
        yield* provider.script({
          script: { reply: "0123456789", delayMs: 0, fault: { _tag: "MalformedSse", afterChunks: 1 } }
        })
        const body = yield* text(yield* request(provider.baseUrl, { model: "m", stream: true }))
        expect(body).toContain("data: {\"choices\":[{\"delta\":{\"content\":\n\n")
        expect(body.indexOf("\"content\":\"0123\"")).toBeLessThan(body.indexOf("{\"content\":\n\n"))
        expect(body.endsWith("data: {\"choices\":[{\"delta\":{\"content\":\n\n")).toBe(true)
        const [record] = yield* provider.awaitRequests((records) => records[0]?.closedAt !== undefined)
        expect(record).toMatchObject({ status: "failed", sent: 1, planned: 3, closedEarly: false })
      }), 10_000)

    it.effect("a stalled stream stays open until the client aborts, which the record shows", () =>
      Effect.gen(function*() {
        const provider = yield* Provider
        yield* provider.reset
        yield* provider.script({
          script: { reply: "abcdefghij", chunkSize: 1, delayMs: 1, fault: { _tag: "Stall", afterChunks: 3 } }
        })
        const controller = new AbortController()
        const response = yield* request(provider.baseUrl, { model: "m", stream: true }, { signal: controller.signal })
        yield* provider.awaitRequests((records) => records[0]?.sent === 3)
        expect(yield* provider.openSockets).toBeGreaterThanOrEqual(1)
        expect((yield* provider.requests)[0]?.status).toBe("open")
        yield* readChunksThenAbort(response, controller, 3)
        const [record] = yield* provider.awaitRequests((records) => records[0]?.closedAt !== undefined)
        expect(record).toMatchObject({ status: "closed-early", closedEarly: true, sent: 3, planned: 10 })
      }), 10_000)

    it.effect("once the client aborts mid-stream, no more chunks are sent", () =>
      Effect.gen(function*() {
        const provider = yield* Provider
        yield* provider.reset
        yield* provider.script({ script: { reply: "x".repeat(200), chunkSize: 1, delayMs: 5 } })
        const controller = new AbortController()
        const response = yield* request(provider.baseUrl, { model: "m", stream: true }, { signal: controller.signal })
        yield* readChunksThenAbort(response, controller, 3)
        const [closed] = yield* provider.awaitRequests((records) => records[0]?.closedAt !== undefined)
        yield* Effect.sleep("60 millis")
        const [later] = yield* provider.requests
        expect(closed?.closedEarly).toBe(true)
        expect(later?.sent).toBe(closed?.sent)
        expect(later!.sent).toBeLessThan(200)
        expect(ScriptedProvider.chunksAfter(later!, later!.closedAt!)).toBe(0)
        expect(ScriptedProvider.chunksAfter(later!, later!.startedAt)).toBe(later!.sent)
      }), 10_000)

    it.effect("firstByteDelayMs holds back the first chunk", () =>
      Effect.gen(function*() {
        const provider = yield* Provider
        yield* provider.reset
        yield* provider.script({ script: { reply: "late", firstByteDelayMs: 100 } })
        yield* text(yield* request(provider.baseUrl, { model: "m", stream: true }))
        const [record] = yield* provider.requests
        expect(record!.chunkTimes[0]! - record!.startedAt).toBeGreaterThanOrEqual(90)
      }), 10_000)

    it.effect("openSockets returns to 0 once requests finish", () =>
      Effect.gen(function*() {
        const provider = yield* Provider
        yield* provider.reset
        yield* provider.script({ script: { reply: "done", delayMs: 0 } })
        yield* Effect.forEach([true, false, true], (stream) =>
          request(provider.baseUrl, { model: "m", stream }).pipe(Effect.flatMap(text)), { concurrency: "unbounded" })
        yield* provider.awaitRequests((records) =>
          records.length === 3 && records.every((record) => record.closedAt !== undefined)
        )
        expect(yield* provider.openSockets).toBe(0)
      }), 10_000)

    it.effect("awaitRequests resolves when a request completes", () =>
      Effect.gen(function*() {
        const provider = yield* Provider
        yield* provider.reset
        yield* provider.script({ script: { reply: "wait for me", delayMs: 2 } })
        const waiter = yield* forkChild(
          provider.awaitRequests((records) => records.some((record) => record.status === "completed"))
        )
        yield* yieldNow
        expect(yield* isRunning(waiter)).toBe(true)
        yield* text(yield* request(provider.baseUrl, { model: "m" }))
        const records = yield* Fiber.join(waiter)
        expect(records[0]).toMatchObject({ status: "completed", sent: 3 })
      }), 10_000)

    // Each provider format: where its request goes, its reply's usage field, and its error body.
    for (
      const { body, error, format, path, usage } of [
        {
          format: "responses",
          path: "/responses",
          body: { model: "m", input: [{ role: "user", content: [{ type: "input_text", text: "Hello" }] }] },
          usage: (reply: any) => [reply.usage.input_tokens, reply.usage.output_tokens, reply.output[0].content[0].text],
          error: (reply: any) => reply.error.type
        },
        {
          format: "anthropic-messages",
          path: "/v1/messages",
          body: { model: "m", max_tokens: 10, messages: [{ role: "user", content: [{ type: "text", text: "Hello" }] }] },
          usage: (reply: any) => [reply.usage.input_tokens, reply.usage.output_tokens, reply.content[0].text],
          error: (reply: any) => reply.error.type
        },
        {
          format: "gemini",
          path: "/models/m:generateContent",
          body: { contents: [{ role: "user", parts: [{ text: "Hello" }] }] },
          usage: (reply: any) => [
            reply.usageMetadata.promptTokenCount,
            reply.usageMetadata.candidatesTokenCount,
            reply.candidates[0].content.parts[0].text
          ],
          error: (reply: any) => reply.error.status
        }
      ] as const
    ) {
      it.effect(`${format}: its path, its reply with its usage, and its error body`, () =>
        Effect.gen(function*() {
          const provider = yield* Provider
          yield* provider.reset
          yield* provider.script(
            { match: (prompt) => prompt.includes("fail"), script: { reply: "x", fault: { _tag: "HttpError", status: 429 } } },
            { script: { reply: "Hello, world!", chunkSize: 4 } }
          )
          const post = (json: object) =>
            Effect.promise(() => fetch(`${provider.baseUrl}${path}`, { method: "POST", body: JSON.stringify(json) }))
          const ok = yield* post(body)
          expect(ok.status).toBe(200)
          expect(usage(yield* Effect.promise(() => ok.json()))).toEqual([2, 4, "Hello, world!"])
          const failed = yield* post(JSON.parse(JSON.stringify(body).replace("Hello", "fail")))
          expect(failed.status).toBe(429)
          expect(error(yield* Effect.promise(() => failed.json()))).toBe(
            format === "gemini" ? "RESOURCE_EXHAUSTED" : "rate_limit_error"
          )
          const records = yield* provider.requests
          expect(records.map((r) => [r.format, r.model, r.stream, r.status])).toEqual([
            [format, "m", false, "completed"],
            [format, "m", false, "failed"]
          ])
        }), 10_000)
    }

    it.effect("unknown routes are 404 and bad JSON is 400", () =>
      Effect.gen(function*() {
        const provider = yield* Provider
        yield* provider.reset
        const missing = yield* Effect.promise(() => fetch(`${provider.baseUrl}/models`))
        expect(missing.status).toBe(404)
        yield* text(missing)
        const bad = yield* Effect.promise(() =>
          fetch(`${provider.baseUrl}/chat/completions`, { method: "POST", body: "{nope" })
        )
        expect(bad.status).toBe(400)
        expect(yield* Effect.promise(() => bad.json())).toMatchObject({ error: { type: "invalid_request_error" } })
        expect(yield* provider.requests).toEqual([])
      }), 10_000)
  }
)

describe("ScriptedProvider scope", () => {
  it.live("closing the scope closes a stalled connection promptly", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const provider = yield* ScriptedProvider.make({
        rules: [{ script: { reply: "abcdefgh", chunkSize: 1, fault: { _tag: "Stall", afterChunks: 1 } } }]
      }).pipe(provideScope(scope))
      const response = yield* request(provider.baseUrl, { model: "m", stream: true })
      yield* provider.awaitRequests((records) => records[0]?.sent === 1)
      yield* Scope.close(scope, Exit.void).pipe(timeoutFail("2 seconds", () => "slow"))
      const body = yield* Effect.promise(() => response.text().then((body) => body, (error: Error) => error))
      if (typeof body === "string") expect(body).not.toContain("[DONE]")
      else expect(body).toBeInstanceOf(Error)
      const [record] = yield* provider.requests
      expect(record).toMatchObject({ status: "closed-early", closedEarly: true, sent: 1 })
      expect(record?.closedAt).toBeDefined()
      expect(yield* provider.openSockets).toBe(0)
    }), 10_000)

  it("json pretty-prints the value and can fence it", () => {
    expect(ScriptedProvider.json({ a: [1] }).reply).toBe("{\n  \"a\": [\n    1\n  ]\n}")
    expect(ScriptedProvider.json(1, { fence: true, delayMs: 0 })).toEqual({ reply: "```json\n1\n```", delayMs: 0 })
  })

  it.effect("layerWithRuntime loads a generated client's embedded sources, and fails typed on broken ones", () =>
    Effect.gen(function*() {
      const ada = shortResume("Ada Lovelace")
      const value = yield* Effect.gen(function*() {
        const provider = yield* Provider
        yield* provider.script({ script: ScriptedProvider.json(ada) })
        const value = yield* Client.ExtractResume("Ada Lovelace")
        expect((yield* provider.requests).map((record) => record.status)).toEqual(["completed"])
        return value
      }).pipe(Effect.provide(ScriptedProvider.layerWithRuntime(Client.files)))
      expect(value).toEqual(ada)
      const broken = yield* Effect.void.pipe(
        Effect.provide(ScriptedProvider.layerWithRuntime({ "main.baml": "function Broken( {" })),
        Effect.flip
      )
      expect(broken._tag).toBe("BamlRuntimeError")
    }), 20_000)
})
