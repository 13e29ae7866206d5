/**
 * The scripted provider's server, with no Effect in it: a server on plain `node:http` that speaks OpenAI chat
 * completions, the OpenAI Responses API, Anthropic Messages and Google Gemini (each streaming and not, see
 * `wireFormats.ts`), that plays scripted replies at a scripted pace, injects faults and records what each request received.
 * Each Effect line wraps it in its own service and layer; this module is shared by both.
 *
 * @since 0.1.0
 */
import * as Http from "node:http"
import type { Socket } from "node:net"
import { setImmediate as immediate, setTimeout as sleep } from "node:timers/promises"
import { formatOf, formats, type WireFormat } from "./wireFormats.js"

export type { WireFormat } from "./wireFormats.js"

/**
 * A scripted reply: the text, how it is cut into chunks, its pace and an optional fault.
 *
 * @example
 * ```ts
 * const slow: Script = { reply: "Hello there", chunkSize: 2, delayMs: 20 }
 * ```
 * @since 0.1.0
 * @category models
 */
export interface Script {
  /** The full reply text. */
  readonly reply: string
  /** Characters per content chunk (default 4). */
  readonly chunkSize?: number
  /**
   * The reply cut into chunks as given, instead of by `chunkSize`; they should join into `reply`. E.g. a tokenizer's
   * tokens, so that the reply streams one token per event, as OpenAI's do, and its usage counts real tokens.
   */
  readonly chunks?: ReadonlyArray<string>
  /** Pause between content chunks in milliseconds (default 5; 0 still yields to the event loop). */
  readonly delayMs?: number
  /** Pause before the response starts, in milliseconds (default 0). */
  readonly firstByteDelayMs?: number
  /**
   * The finish reason in the provider's own words (default: "stop" for chat completions, "end_turn" for Anthropic,
   * "STOP" for Gemini; for the Responses API, any value but "completed" makes the reply `incomplete` with that reason,
   * e.g. "max_output_tokens").
   */
  readonly finishReason?: string
  /**
   * Reasoning text the model writes before its reply, in each format's own events, cut and paced as the reply is:
   * `reasoning_content` deltas (chat completions, as OpenAI-compatible servers write it), a thinking block
   * (Anthropic), a reasoning summary (the Responses API), parts marked `thought` (Gemini). Its chunks count as output
   * tokens (Gemini reports them apart, as `thoughtsTokenCount`); `planned` and `sent` count the reply's chunks only.
   */
  readonly reasoning?: string
  /** Input tokens the usage reports as read from a cache, in each format's own field (default 0). */
  readonly cachedInputTokens?: number
  readonly fault?: Fault
}

/**
 * A fault to inject into a reply.
 *
 * `HttpError` answers with `status` (the provider's own JSON error shape unless `body` is given); with `times`,
 * only the first `times` requests answered by the rule fail and later ones play the script.
 * `DropConnection` destroys the socket after `afterChunks` content chunks (a client may see an error or,
 * like undici after `connection: close`, a body that just ends early without `[DONE]`).
 * `MalformedSse` writes a truncated `data:` line after `afterChunks` chunks and ends the response there
 * (without streaming, it sends a JSON body cut short): the engine tolerates a broken line followed by good
 * ones, but fails on a final one with a client HTTP error ("Failed to parse SSE data as JSON").
 * `Stall` sends nothing after `afterChunks` chunks and holds the connection until the client or the
 * server closes it.
 * `ErrorEvent` fails the reply after `afterChunks` chunks as the provider itself does mid-generation, for an error of
 * `status` (default 500; its type is the provider's for that status: 529 is Anthropic's `overloaded_error`, 429
 * `rate_limit_error`, 503 Gemini's `UNAVAILABLE`): a stream gets the format's error event (Anthropic's and the
 * Responses API's `error` event, an `error` object in place of a chunk for chat completions and Gemini) and ends; a
 * call is answered with that status and the provider's error body, or, for the Responses API, a 200 and a `failed`
 * response.
 *
 * @example
 * ```ts
 * const rateLimited: Fault = { _tag: "HttpError", status: 429, retryAfterSeconds: 1, times: 1 }
 * ```
 * @since 0.1.0
 * @category models
 */
export type Fault =
  | {
    readonly _tag: "HttpError"
    readonly status: number
    readonly retryAfterSeconds?: number
    readonly body?: string
    readonly times?: number
  }
  | { readonly _tag: "DropConnection"; readonly afterChunks: number }
  | { readonly _tag: "MalformedSse"; readonly afterChunks: number }
  | { readonly _tag: "Stall"; readonly afterChunks: number }
  | { readonly _tag: "ErrorEvent"; readonly afterChunks: number; readonly status?: number; readonly message?: string }

/**
 * What a script function sees of a request; `index` counts the earlier requests its rule answered.
 *
 * @example
 * ```ts
 * const numbered = (request: ScriptRequest): Script => ({ reply: `reply ${request.index}` })
 * ```
 * @since 0.1.0
 * @category models
 */
export interface ScriptRequest {
  /** The provider API the request came in on. */
  readonly format: WireFormat
  readonly model: string
  readonly prompt: string
  readonly index: number
}

/**
 * A routing rule: it answers requests for `model` (if given) whose prompt satisfies `match` (if given).
 *
 * @example
 * ```ts
 * const rule: Rule = { model: "gpt-4o", match: (prompt) => prompt.includes("weather"), script: { reply: "Sunny" } }
 * ```
 * @since 0.1.0
 * @category models
 */
export interface Rule {
  readonly model?: string
  readonly match?: (prompt: string) => boolean
  readonly script: Script | ((request: ScriptRequest) => Script)
}

/**
 * A snapshot of what the provider did for one request.
 *
 * @example
 * ```ts
 * const wasted = (record: RequestRecord) => record.planned - record.sent
 * ```
 * @since 0.1.0
 * @category models
 */
export interface RequestRecord {
  /** 1, 2, 3 … in arrival order (restarts after `reset`). */
  readonly id: number
  /** The provider API the request came in on (by its path). */
  readonly format: WireFormat
  readonly model: string
  readonly stream: boolean
  /** The text of all messages (and the system prompt) joined with "\n". */
  readonly prompt: string
  /** The parsed request body. */
  readonly body: unknown
  readonly headers: Readonly<Record<string, string | Array<string> | undefined>>
  /** `performance.now()` when the request body was parsed. */
  readonly startedAt: number
  /** Content chunks the script planned. */
  readonly planned: number
  /** Content chunks actually written (without streaming: generated). */
  readonly sent: number
  /** `performance.now()` at each content chunk. */
  readonly chunkTimes: ReadonlyArray<number>
  /**
   * `completed` as soon as the whole reply is written (before the client can have read it, so a call that has
   * returned always finds its record completed); `closed-early` when the connection closed first, which the server
   * learns a moment after the client leaves (wait for it with `settled` or `awaitRequests`); `failed`: an injected
   * `HttpError`, `DropConnection`, `MalformedSse` or `ErrorEvent` ended the reply, or no rule matched.
   */
  readonly status: "open" | "completed" | "closed-early" | "failed"
  /** The connection closed before the reply was complete (the client left, or the server closed). */
  readonly closedEarly: boolean
  /** `performance.now()` when the connection closed, either way (after `completed`, a moment later). */
  readonly closedAt?: number
}

/**
 * The initial rules and the host to bind (default "127.0.0.1").
 *
 * @example
 * ```ts
 * const options: Options = { rules: [{ script: { reply: "Hi" } }] }
 * ```
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly rules?: ReadonlyArray<Rule>
  readonly host?: string
}

/**
 * A running server. Its state changes inside Node's callbacks; readers get frozen snapshots, and `subscribe` tells
 * them when to look again.
 *
 * @example
 * ```ts
 * declare const server: ScriptedServer
 * const unsubscribe = server.subscribe(() => console.log(server.requests().length))
 * ```
 * @since 0.1.0
 * @category models
 */
export interface ScriptedServer {
  readonly port: number
  /**
   * `http://HOST:PORT/v1`, the `base_url` for a client of any provider it speaks (`openai-generic`, `openai`,
   * `openai-responses`, `anthropic`, `google-ai`): it answers by the end of the path the engine appends.
   */
  readonly baseUrl: string
  /** Adds rules that take precedence over every earlier rule. */
  readonly script: (rules: ReadonlyArray<Rule>) => void
  /** Drops the added rules (keeping the initial ones), the records and the rules' counters. */
  readonly reset: () => void
  readonly requests: () => ReadonlyArray<RequestRecord>
  /** Sockets currently connected to the server. */
  readonly openSockets: () => number
  /** Calls `listener` on every change of the records; returns the function that stops it. */
  readonly subscribe: (listener: () => void) => () => void
  /** Stops listening and destroys every open connection (a stalled one would never end by itself). */
  readonly close: () => Promise<void>
}

type Entry = { -readonly [K in keyof RequestRecord]: RequestRecord[K] } & { chunkTimes: Array<number> }

const idPrefix: Readonly<Record<WireFormat, string>> = {
  "chat-completions": "chatcmpl-",
  responses: "resp_",
  "anthropic-messages": "msg_",
  gemini: ""
}

const send = (res: Http.ServerResponse, status: number, body: string, headers: Http.OutgoingHttpHeaders = {}) => {
  res.writeHead(status, { "content-type": "application/json", connection: "close", ...headers })
  res.end(body)
}

/**
 * Starts a server on a free port of `options.host`.
 *
 * @example
 * ```ts
 * const server = await start({ rules: [{ script: { reply: "Hi" } }] })
 * const response = await fetch(`${server.baseUrl}/chat/completions`, {
 *   method: "POST",
 *   body: JSON.stringify({ model: "any", messages: [{ role: "user", content: "Hello" }] })
 * })
 * await server.close()
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const start = (options: Options = {}): Promise<ScriptedServer> => {
  const host = options.host ?? "127.0.0.1"
  const initial = options.rules ?? []
  // Node callbacks change this state synchronously and often (once per chunk); readers only get frozen copies.
  let added: ReadonlyArray<Rule> = []
  let entries: Array<Entry> = []
  let nextId = 1
  let counters = new Map<Rule, { answered: number; failed: number }>()
  const sockets = new Set<Socket>()
  const listeners = new Set<() => void>()
  // A waiter re-reads every record on each chunk of each stream: cache the copies of unchanged records.
  const frozen = new WeakMap<Entry, RequestRecord>()
  const freeze = (entry: Entry): RequestRecord => {
    const sent = entry.chunkTimes.length
    let chunkTimes: ReadonlyArray<number> | undefined
    return Object.freeze({
      ...entry,
      // Append-only, so a later copy of the first `sent` times is still this moment's view, and a long
      // stream is not copied once per chunk.
      get chunkTimes() {
        return chunkTimes ??= Object.freeze(entry.chunkTimes.slice(0, sent))
      }
    })
  }
  const snapshot = (): ReadonlyArray<RequestRecord> =>
    entries.map((entry) => frozen.get(entry) ?? frozen.set(entry, freeze(entry)).get(entry)!)
  const notify = (changed?: Entry) => {
    if (changed !== undefined) frozen.delete(changed)
    listeners.forEach((listener) => listener())
  }

  const handle = async (req: Http.IncomingMessage, res: Http.ServerResponse): Promise<void> => {
    const aborter = new AbortController()
    const signal = aborter.signal
    let entry: Entry | undefined
    // The socket, not the response, is what the client holds: once it is gone nothing more is written.
    req.socket.once("close", () => {
      aborter.abort()
      if (entry === undefined) return
      entry.closedAt = performance.now()
      if (entry.status === "open") entry.status = res.writableEnded ? "completed" : "closed-early"
      entry.closedEarly = entry.status === "closed-early"
      notify(entry)
    })
    const pause = (ms: number) => ms > 0 ? sleep(ms, undefined, { signal }) : immediate(undefined, { signal })

    const path = (req.url ?? "").split("?")[0] ?? ""
    const wireFormat = req.method === "POST" ? formatOf(path) : undefined
    if (wireFormat === undefined) {
      return send(res, 404, formats["chat-completions"].error(404, `no route for ${req.method} ${path}`))
    }
    const format = formats[wireFormat]
    const chunks: Array<Buffer> = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    let body: unknown
    try {
      body = JSON.parse(Buffer.concat(chunks).toString("utf8"))
    } catch (error) {
      return send(res, 400, format.error(400, `invalid JSON body: ${String(error)}`))
    }
    const parsed = format.parse(body, path)
    if (typeof parsed === "string") return send(res, 400, format.error(400, parsed))
    const { model, prompt, stream } = parsed
    const current: Entry = {
      id: nextId++,
      format: wireFormat,
      model,
      stream,
      prompt,
      body,
      headers: { ...req.headers },
      startedAt: performance.now(),
      planned: 0,
      sent: 0,
      chunkTimes: [],
      status: "open",
      closedEarly: false
    }
    entry = current
    entries.push(current)
    notify(current)

    const rule = [...added, ...initial].find((rule) =>
      (rule.model === undefined || rule.model === model) && (rule.match === undefined || rule.match(prompt))
    )
    if (rule === undefined) {
      current.status = "failed"
      notify(current)
      return send(res, 400, format.error(400, `no script matches model ${model}`))
    }
    const counter = counters.get(rule) ?? { answered: 0, failed: 0 }
    counters.set(rule, counter)
    const script = typeof rule.script === "function"
      ? rule.script({ model, prompt, index: counter.answered, format: wireFormat })
      : rule.script
    counter.answered++
    const fault = script.fault
    // Decided on arrival so that concurrent retries see the failures in arrival order.
    const httpError = fault?._tag === "HttpError" && counter.failed < (fault.times ?? Infinity) ? fault : undefined
    if (httpError !== undefined) counter.failed++
    const size = Math.max(1, script.chunkSize ?? 4)
    const cut = (text: string) => {
      const parts = Array.from(text) // code points, so a chunk never splits a surrogate pair
      return Array.from({ length: Math.ceil(parts.length / size) }, (_, i) => parts.slice(i * size, (i + 1) * size).join(""))
    }
    const content = script.chunks !== undefined ? [...script.chunks] : cut(script.reply)
    const thinking = script.reasoning === undefined ? [] : cut(script.reasoning)
    current.planned = content.length
    notify(current)

    if ((script.firstByteDelayMs ?? 0) > 0) await pause(script.firstByteDelayMs ?? 0)
    if (httpError !== undefined) {
      current.status = "failed"
      notify(current)
      const headers: Http.OutgoingHttpHeaders = httpError.retryAfterSeconds === undefined
        ? {}
        : { "retry-after": String(httpError.retryAfterSeconds) }
      const reply = httpError.body ?? format.error(httpError.status, `scripted HTTP ${httpError.status}`)
      return send(res, httpError.status, reply, headers)
    }

    let sequence = 0
    const reply = {
      id: `${idPrefix[wireFormat]}scripted-${current.id}`,
      model,
      created: Math.floor(Date.now() / 1000),
      reasoning: script.reasoning,
      sequence: () => sequence++
    }
    // One output token per content or reasoning chunk; input tokens at four characters a token.
    const inputTokens = Math.ceil(prompt.length / 4)
    const counts = {
      inputTokens,
      outputTokens: content.length + thinking.length,
      cachedInputTokens: Math.min(inputTokens, script.cachedInputTokens ?? 0),
      reasoningTokens: thinking.length
    }
    if (stream) {
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "close" })
      res.flushHeaders()
      res.write(format.open(reply, counts))
      for (let i = 0; i < thinking.length; i++) {
        if (i > 0) await pause(script.delayMs ?? 5)
        if (signal.aborted) return
        res.write(format.reasoning(reply, thinking[i]!, i, counts))
      }
    }
    for (let i = 0; i <= content.length; i++) {
      if ((i > 0 || (stream && thinking.length > 0)) && i < content.length) await pause(script.delayMs ?? 5)
      if (signal.aborted) return
      if (fault !== undefined && fault._tag !== "HttpError" && fault.afterChunks === i) {
        if (fault._tag === "Stall") return
        current.status = "failed"
        notify(current)
        if (fault._tag === "DropConnection") return void req.socket.destroy()
        if (fault._tag === "ErrorEvent") {
          const status = fault.status ?? 500
          const message = fault.message ?? `scripted error ${status}`
          if (stream) return void res.end(format.errorEvent(status, message, i))
          const answer = format.errorWhole(reply, status, message)
          return send(res, answer.status, answer.body)
        }
        if (!stream) return send(res, 200, format.malformedWhole)
        res.write(format.malformed)
        return void res.end()
      }
      if (i === content.length) break
      if (stream) res.write(format.chunk(reply, content[i]!, i, counts))
      current.sent++
      current.chunkTimes.push(performance.now())
      notify(current)
    }

    // The reply is complete once it is handed to the socket, in this same tick: a client cannot have read it, and its
    // caller cannot have resumed, before the record says so. The socket closing comes later and only sets `closedAt`.
    current.status = "completed"
    notify(current)
    const finishReason = script.finishReason ?? format.finishReason
    if (!stream) return send(res, 200, format.whole(reply, script.reply, finishReason, counts))
    res.write(format.close(reply, script.reply, finishReason, counts, parsed.includeUsage))
    res.end()
  }

  const server = Http.createServer((req, res) => {
    handle(req, res).catch((error) => {
      // An abort rejects the pending pause; anything else is a bug worth a visible 500.
      if (res.headersSent || req.socket.destroyed) return void res.destroy()
      send(res, 500, formats["chat-completions"].error(500, String(error)))
    })
  })
  server.on("connection", (socket) => {
    sockets.add(socket)
    socket.once("close", () => sockets.delete(socket))
  })

  return new Promise<ScriptedServer>((resolve, reject) => {
    server.once("error", reject)
    server.listen(0, host, () => {
      server.off("error", reject)
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      resolve({
        port,
        baseUrl: `http://${host.includes(":") ? `[${host}]` : host}:${port}/v1`,
        script: (rules) => {
          added = [...rules, ...added]
        },
        reset: () => {
          added = []
          entries = []
          nextId = 1
          counters = new Map()
          notify()
        },
        requests: snapshot,
        openSockets: () => sockets.size,
        subscribe: (listener) => {
          listeners.add(listener)
          return () => void listeners.delete(listener)
        },
        close: () =>
          new Promise<void>((done) => {
            // `close` alone waits for every connection to end, and a stalled one never would.
            server.close(() => done())
            sockets.forEach((socket) => socket.destroy())
          })
      })
    })
  })
}

/**
 * A script whose reply is `value` as pretty-printed JSON (as models write it), optionally in a json fence.
 *
 * @example
 * ```ts
 * const script = json({ name: "Ada", born: 1815 }, { fence: true, delayMs: 10 })
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const json = (value: unknown, options: Omit<Script, "reply"> & { readonly fence?: boolean } = {}): Script => {
  const { fence, ...rest } = options
  const text = JSON.stringify(value, null, 2) ?? "null"
  return { ...rest, reply: fence === true ? "```json\n" + text + "\n```" : text }
}

/**
 * Content chunks of `record` written at or after `time` (a `performance.now()` value), e.g. after an interrupt.
 *
 * @example
 * ```ts
 * declare const record: RequestRecord
 * declare const interruptedAt: number
 * const wasted = chunksAfter(record, interruptedAt)
 * ```
 * @since 0.1.0
 * @category utils
 */
export const chunksAfter = (record: RequestRecord, time: number): number =>
  record.chunkTimes.filter((at) => at >= time).length
