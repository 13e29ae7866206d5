import { Effect, Layer, Stream } from "effect"
import * as Engine from "@boundaryml/baml"
import { Baml, BamlRuntime } from "effect-baml"
import { ScriptedProvider } from "effect-baml/testing"
const P = (Engine.FunctionResult as any).prototype
const orig = P.parsed
const times: number[] = []
P.parsed = function (...a: any[]) { const t = performance.now(); try { return orig.apply(this, a) } finally { times.push(performance.now() - t) } }
const { monitorEventLoopDelay } = await import("node:perf_hooks")
const h = monitorEventLoopDelay({ resolution: 1 }); 
const reply = { name: "Ada", email: "a@b.c", skills: Array.from({ length: 100 }, (_, i) => `skill number ${i}`), experience: [] }
const Live = Layer.unwrapEffect(Effect.map(ScriptedProvider.ScriptedProvider, (p) => BamlRuntime.layerFromDirectory("baml_src", { env: { ...process.env, BAML_LOG: "error", SCRIPTED_BASE_URL: p.baseUrl } }))).pipe(Layer.provideMerge(ScriptedProvider.layer({ rules: [{ script: ScriptedProvider.json(reply) }] })))
await Effect.runPromise(Effect.provide(Layer.launch(Layer.empty).pipe(Effect.as(0), Effect.zipRight(Effect.sync(() => h.enable())), Effect.zipRight(Stream.runDrain(Baml.stream("ExtractResume", { resume: "x" })))), Live))
h.disable()
console.log("parsed calls", times.length, "max", Math.max(...times).toFixed(1), "sum", times.reduce((a, b) => a + b, 0).toFixed(0))
console.log("loop delay max", (h.max / 1e6).toFixed(1), "p99", (h.percentile(99) / 1e6).toFixed(1), "mean", (h.mean/1e6).toFixed(1))
