import * as Engine from "@boundaryml/baml"
import { Effect } from "effect"
import { ScriptedProvider } from "../src/testing/index.js"

const value = (skills: number) => ({
  name: "Ada Lovelace", email: "ada@example.com",
  skills: Array.from({ length: skills }, (_, i) => `skill number ${i}`),
  experience: [{ company: "Analytical Engines Ltd", title: "Programmer", years: 3 }]
})

const main = Effect.scoped(Effect.gen(function*() {
  const provider = yield* ScriptedProvider.make()
  const env = { SCRIPTED_BASE_URL: provider.baseUrl }
  const engine = Engine.BamlRuntime.fromDirectory("baml_src", env)
  const ctx = new Engine.BamlCtxManager(engine)
  for (const [skills, delayMs] of [[6, 10], [40, 10], [120, 0], [40, 0]] as const) {
    yield* provider.reset
    const script = ScriptedProvider.json(value(skills), { delayMs })
    yield* provider.script({ script })
    const t0 = performance.now(); const c0 = process.cpuUsage()
    const times: number[] = []
    yield* Effect.promise(async () => {
      const h = engine.streamFunction("ExtractResume", { resume: "x" }, undefined, ctx.cloneContext(), undefined, undefined, [], {}, env, undefined, undefined)
      h.onEvent((e, r) => { times.push(performance.now()); if (e) console.log("err", e) ; else r.isOk() && r.parsed(true) })
      const res = await h.done(ctx.cloneContext())
      h.onEvent(undefined)
      return res.parsed(false)
    })
    const cpu = process.cpuUsage(c0)
    const [rec] = yield* provider.requests
    console.log({ skills, delayMs, len: script.reply.length, planned: rec!.planned, wall: performance.now() - t0, cpuMs: (cpu.user + cpu.system) / 1000, events: times.length,
      firstChunkToEvent: times[0]! - rec!.chunkTimes[0]!, lastChunk: rec!.chunkTimes.at(-1)! - rec!.chunkTimes[0]!, gaps: times.slice(1).map((t, i) => Math.round(t - times[i]!)).join(",") })
  }
}))
Effect.runPromise(main)
