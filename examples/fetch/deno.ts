// Deno: `deno run -A examples/fetch/deno.ts`
import { web } from "./baml.js"

Deno.serve({
  port: Number(Deno.env.get("PORT") ?? 3000),
  onListen: ({ port }) => console.log(`listening on http://localhost:${port}/`)
}, web.handler)
