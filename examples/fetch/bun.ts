// Bun: `bun examples/fetch/bun.ts`
import { web } from "./baml.js"

const server = Bun.serve({ port: Number(process.env.PORT ?? 3000), fetch: web.handler })
console.log(`listening on ${server.url}`)
