/**
 * The web example's server (Effect 3): one page, its browser code (app.ts, bundled at start), and ExtractResume
 * served with `BamlHttp.handler` under /api/baml, as Server-Sent Events or NDJSON, as the page's `BamlClient` asks.
 * Closing the tab, pressing Stop, unmounting the view or losing the connection interrupts the request's fiber, which
 * aborts the LLM request; `/api/requests` shows what the scripted provider saw. With `resumable`, a response survives a
 * dropped connection (the page resumes it with `?resume=<milliseconds>` in its URL) and `DELETE` stops its generation.
 *
 * The LLM is the scripted provider from effect-baml/testing unless `client` names another BAML client (main.ts uses
 * the OpenAI client when EFFECT_BAML_REAL_PROVIDER=openai).
 */
import { HttpRouter, HttpServer, HttpServerResponse } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import { BamlHttp, BamlRuntime } from "effect-baml/effect3"
import { ScriptedProvider } from "effect-baml/effect3/testing"
import { createServer } from "node:http"
import { fileURLToPath } from "node:url"
import * as Schemas from "../../test/fixtures/baml_client/schemas.js"
import { bundle } from "../../../examples/web/bundle.js"

/** What the scripted provider answers: the extraction of the page's sample resume, as a model would write it. */
export const reply = {
  name: "Maya Okafor",
  email: "maya.okafor@example.com",
  skills: [
    "TypeScript", "Effect", "Node.js", "Rust", "Go", "Python", "PostgreSQL", "Redis", "Kafka", "gRPC", "GraphQL",
    "REST API design", "React", "Docker", "Kubernetes", "Terraform", "AWS", "Linux", "Distributed systems",
    "Event sourcing", "Observability", "OpenTelemetry", "CI/CD", "Property-based testing", "Performance tuning",
    "LLM integration", "Technical writing", "Mentoring", "Incident response", "Public speaking"
  ],
  experience: [
    { company: "Northwind Labs", title: "Staff Software Engineer", years: 3 },
    { company: "Contoso Payments", title: "Senior Backend Engineer", years: 4 },
    { company: "Fabrikam Analytics", title: "Software Engineer, Data Platform", years: 2 },
    { company: "Tailspin Travel", title: "Full-Stack Developer", years: 2 },
    { company: "University of Lagos", title: "Teaching Assistant, Algorithms", years: 1 }
  ]
}

export interface Options {
  /** The port to listen on; 0 picks a free one. */
  readonly port: number
  /** Milliseconds between the scripted provider's chunks of 4 characters (default 15: about 7 s for the reply). */
  readonly delayMs?: number
  /** A BAML client to use instead of ExtractResume's own (e.g. "OpenAI"). */
  readonly client?: string
  /** Resumable responses (a dropped connection is resumed, `DELETE` stops), in this server's memory. */
  readonly resumable?: BamlHttp.ResumableOptions
}

const file = (name: string) => fileURLToPath(new URL(name, import.meta.url))

// Built once, on the first request for it.
const app = Effect.runSync(Effect.cached(Effect.promise(() => bundle(file("app.tsx"), 3))))

const router = (options: Options) => {
  const callOptions = options.client === undefined ? undefined : { client: options.client }
  return HttpRouter.empty.pipe(
    HttpRouter.get("/", HttpServerResponse.file(file("../../../examples/web/index.html"))),
    HttpRouter.get("/app.js", Effect.map(app, (code) => HttpServerResponse.text(code, { contentType: "text/javascript" }))),
    HttpRouter.post(
      "/api/baml/ExtractResume",
      options.resumable === undefined
        ? BamlHttp.handler("ExtractResume", { options: callOptions, params: Schemas.ExtractResumeParams })
        : BamlHttp.handler("ExtractResume", {
          options: callOptions,
          params: Schemas.ExtractResumeParams,
          resumable: options.resumable
        })
    ),
    HttpRouter.del("/api/baml/ExtractResume", BamlHttp.stop),
    HttpRouter.get(
      "/api/requests",
      Effect.flatMap(ScriptedProvider.ScriptedProvider, (provider) => provider.requests).pipe(
        Effect.map((records) =>
          records.map(({ closedEarly, id, planned, sent, status }) => ({ id, status, closedEarly, planned, sent }))
        ),
        Effect.flatMap((records) => HttpServerResponse.json(records))
      )
    )
  )
}

/** The scripted provider, and the BAML runtime from the project's baml_src pointed at it. */
export const BamlLive = (options: Options) =>
  Layer.unwrapEffect(Effect.map(ScriptedProvider.ScriptedProvider, (provider) =>
    BamlRuntime.layerFromDirectory(file("../../../baml_src"), {
      env: { ...process.env, SCRIPTED_BASE_URL: provider.baseUrl }
    }))).pipe(
      Layer.provideMerge(ScriptedProvider.layer({
        rules: [{ script: ScriptedProvider.json(reply, { chunkSize: 4, delayMs: options.delayMs ?? 15 }) }]
      }))
    )

/** The whole app: the HTTP server on 127.0.0.1, with the provider and the runtime it uses (both exposed to tests). */
export const layer = (options: Options) =>
  HttpServer.serve(router(options)).pipe(
    Layer.provide(BamlHttp.layerGenerations),
    Layer.provideMerge(NodeHttpServer.layer(() => createServer(), { port: options.port, host: "127.0.0.1" })),
    Layer.provideMerge(BamlLive(options))
  )
