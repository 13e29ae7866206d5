// app/api/baml/[fn]/route.ts: a Next.js App Router route handler for every function baml.ts serves
import { web } from "../baml.js"

export const runtime = "nodejs" // the BAML engine is a native addon: not on the edge runtime
export const POST = web.handler
