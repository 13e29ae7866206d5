/**
 * The BAML functions of baml_src served as a fetch handler, `(request: Request) => Promise<Response>`, once for every
 * server that takes one: a Next.js route handler (next/route.ts), Hono (hono.ts), `Bun.serve` (bun.ts) and
 * `Deno.serve` (deno.ts). The runtime is built once, when this module loads, and shared by every request.
 */
import { BamlHttp, BamlRuntime } from "effect-baml"
import { Layer } from "effect"
import { HttpRouter } from "effect/http"
import * as Schemas from "../../baml_client/schemas.js"

const Routes = Layer.mergeAll(
  HttpRouter.add("POST", "/api/baml/ExtractResume", BamlHttp.handler("ExtractResume", { params: Schemas.ExtractResumeParams })),
  HttpRouter.add("POST", "/api/baml/Summarize", BamlHttp.handler("Summarize", { params: Schemas.SummarizeParams }))
)

export const web = BamlHttp.toWebHandler(Routes, BamlRuntime.layerFromDirectory("baml_src"), { disableLogger: true })
