import { Effect, Layer, Stream, Fiber } from "effect"
import { Baml, BamlRuntime } from "effect-baml"
import { ScriptedProvider } from "effect-baml/testing"
let abortAt = 0
const orig = AbortController.prototype.abort
AbortController.prototype.abort = function (r?: unknown) { if (!this.signal.aborted) abortAt = performance.now(); return orig.call(this, r) }
const reply = { name: "Ada", email: "a@b.c", skills: Array.from({ length: 100 }, (_, i) => `skill number ${i}`), experience: [] }
const Live = Layer.unwrapEffect(Effect.map(ScriptedProvider.ScriptedProvider, (p) => BamlRuntime.layerFromDirectory("baml_src", { env: { ...process.env, BAML_LOG: "error", SCRIPTED_BASE_URL: p.baseUrl } }))).pipe(Layer.provideMerge(ScriptedProvider.layer({ rules: [{ script: ScriptedProvider.json(reply) }] })))
const main = Effect.gen(function*() {
  const provider = yield* ScriptedProvider.ScriptedProvider
  for (let i = 1; i <= 8; i++) {
    let at = 0
    const mode = i % 2 === 0 ? "interruptWhen" : "fiber"
    if (mode === "interruptWhen") {
      yield* Baml.stream("ExtractResume", { resume: "x" }).pipe(Stream.interruptWhen(Effect.sleep("600 millis").pipe(Effect.andThen(() => { at = performance.now() }))), Stream.runDrain)
    } else {
      const f = yield* Effect.fork(Stream.runDrain(Baml.stream("ExtractResume", { resume: "x" })))
      yield* Effect.sleep("600 millis")
      at = performance.now()
      yield* Fiber.interrupt(f)
    }
    const rs = yield* provider.awaitRequests((rs) => rs.some((r) => r.id === i && r.status !== "open"))
    const r = rs[i - 1]!
    console.log(mode, "abort-at", (abortAt - at).toFixed(1), "closed-at", (r.closedAt! - at).toFixed(1), "lastchunk", (r.chunkTimes.at(-1)! - at).toFixed(1))
  }
}).pipe(Effect.provide(Live))
Effect.runPromise(main)
