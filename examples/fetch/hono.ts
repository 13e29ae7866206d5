// Hono: the handler mounted on a route, on any runtime Hono runs on
import { Hono } from "hono"
import { web } from "./baml.js"

export const app = new Hono()
app.post("/api/baml/*", (c) => web.handler(c.req.raw))
