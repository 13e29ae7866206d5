import * as Effect from "effect/Effect"
import { BamlRuntime } from "@boundaryml/baml"
import { ScriptedProvider } from "./src/testing/index.js"

const files = {
  "main.baml": `
client<llm> Scripted {
  provider openai-generic
  options { base_url env.SCRIPTED_BASE_URL
    model "scripted"
    api_key "none"
    stream_options { include_usage true } }
}
class Person { name string born int fields string[] }
function Describe(q: string) -> Person {
  client Scripted
  prompt #"{{ q }} {{ ctx.output_format }}"#
}
`
}
await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
  const p = yield* ScriptedProvider.make({ rules: [{ script: ScriptedProvider.json({ name: "Ada", born: 1815, fields: ["math", "computing"] }, { delayMs: 20 }) }] })
  const rt = BamlRuntime.fromFiles("baml_src", files, { SCRIPTED_BASE_URL: p.baseUrl })
  const ctx = rt.createContextManager(); const env = { SCRIPTED_BASE_URL: p.baseUrl }
  const r = yield* Effect.promise(() => rt.callFunction("Describe", { q: "who" }, ctx, null, null, [], {}, env))
  console.log("call", r.isOk(), r.parsed(false))
  let n = 0
  const s = rt.streamFunction("Describe", { q: "who" }, (_e, ev) => { n++ }, ctx, null, null, [], {}, env, undefined, undefined)
  const d = yield* Effect.promise(() => s.done(ctx))
  s.onEvent(undefined)
  console.log("stream", d.isOk(), d.parsed(false), "events", n)
  // cancellation
  const ac = new AbortController()
  const s2 = rt.streamFunction("Describe", { q: "who" }, () => {}, ctx, null, null, [], {}, env, ac.signal, undefined)
  yield* p.awaitRequests((rs) => (rs[2]?.sent ?? 0) >= 3)
  const t = performance.now(); ac.abort()
  const rs = yield* p.awaitRequests((rs) => rs[2]?.closedAt !== undefined)
  const d2 = yield* Effect.promise(() => s2.done(ctx)); s2.onEvent(undefined)
  console.log("abort", d2.isOk(), rs[2]!.status, (rs[2]!.closedAt! - t).toFixed(1), "ms", "after", ScriptedProvider.chunksAfter(rs[2]!, t), rs[2]!.sent, "/", rs[2]!.planned)
  // faults
  yield* p.script({ script: { reply: "x", fault: { _tag: "HttpError", status: 429, retryAfterSeconds: 1 } } })
  const r3 = yield* Effect.promise(() => rt.callFunction("Describe", { q: "who" }, ctx, null, null, [], {}, env))
  try { r3.parsed(false) } catch (e) { console.log("429:", String(e).slice(0, 200)) }
  yield* p.reset
  yield* p.script({ script: { ...ScriptedProvider.json({ name: "Ada", born: 1815, fields: [] }), fault: { _tag: "DropConnection", afterChunks: 3 } } })
  const s4 = rt.streamFunction("Describe", { q: "who" }, () => {}, ctx, null, null, [], {}, env, undefined, undefined)
  const d4 = yield* Effect.promise(() => s4.done(ctx)); s4.onEvent(undefined)
  try { d4.parsed(false); console.log("drop ok?") } catch (e) { console.log("drop:", String(e).slice(0, 200)) }
  yield* p.reset
  yield* p.script({ script: { ...ScriptedProvider.json({ name: "Ada", born: 1815, fields: [] }), fault: { _tag: "MalformedSse", afterChunks: 3 } } })
  const s5 = rt.streamFunction("Describe", { q: "who" }, () => {}, ctx, null, null, [], {}, env, undefined, undefined)
  const d5 = yield* Effect.promise(() => s5.done(ctx)); s5.onEvent(undefined)
  try { console.log("malformed ok?", d5.parsed(false)) } catch (e) { console.log("malformed:", String(e).slice(0, 200)) }
  console.log(yield* p.openSockets)
})))
