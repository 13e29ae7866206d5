/**
 * `npm run example:web`: serves the web example on http://127.0.0.1:3000 (PORT changes it). Offline by default, on
 * the scripted provider; with OPENAI_API_KEY set, ExtractResume calls the OpenAI client from baml_src instead.
 */
import { HttpServer } from "@effect/platform"
import { NodeRuntime } from "@effect/platform-node"
import { Layer } from "effect"
import { BamlHttp } from "effect-baml/effect3"
import * as WebApp from "./server.js"

const openAi = (process.env.OPENAI_API_KEY ?? "") !== ""

WebApp.layer({ port: Number(process.env.PORT ?? 3000), ...(openAi ? { client: "OpenAI" } : {}) }).pipe(
  HttpServer.withLogAddress,
  // Ctrl-C aborts the generations in flight rather than waiting for them to end
  Layer.provide(BamlHttp.layerShutdown()),
  Layer.launch,
  NodeRuntime.runMain
)
