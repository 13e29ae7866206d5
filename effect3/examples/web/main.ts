/**
 * `npm run example:web`: serves the web example on http://127.0.0.1:3000 (PORT changes it). Offline by default, on
 * the scripted provider, even with OPENAI_API_KEY set; with EFFECT_BAML_REAL_PROVIDER=openai (and OPENAI_API_KEY),
 * ExtractResume calls the OpenAI client from baml_src instead.
 */
import * as Provider from "../../../examples/provider.js"
import { HttpServer } from "@effect/platform"
import { NodeRuntime } from "@effect/platform-node"
import { Layer } from "effect"
import { BamlHttp } from "effect-baml/effect3"
import * as WebApp from "./server.js"

const provider = Provider.chosen()
console.log(provider.banner)

const client = provider.client === undefined ? {} : { client: provider.client }

WebApp.layer({ port: Number(process.env.PORT ?? 3000), ...client }).pipe(
  HttpServer.withLogAddress,
  // Ctrl-C aborts the generations in flight rather than waiting for them to end
  Layer.provide(BamlHttp.layerShutdown()),
  Layer.launch,
  NodeRuntime.runMain
)
