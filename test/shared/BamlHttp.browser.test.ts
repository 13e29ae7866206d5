import {
  BamlHttp,
  describe,
  Effect,
  expect,
  HttpServer,
  it,
  Layer,
  layer,
  ScriptedProvider,
  scopedLayer,
  serviceKey,
  webExample
} from "#line"
import { existsSync } from "node:fs"
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { type BrowserContext, chromium, type Page } from "playwright-core"
import * as Wire from "../../src/core/wire/wire.js"
import {
  allClosedEarly,
  cuttingProxy,
  longResume,
  marker,
  portOf,
  scriptFor,
  settledAll,
  shortResume
} from "./fixtures.js"

const executablePath = "/usr/bin/chromium"
const hasChromium = existsSync(executablePath)

/** The browser, with a profile of its own that is deleted when the layer closes. */
const Browser = serviceKey<BrowserContext>("test/Browser")

const BrowserLive = scopedLayer(
  Browser,
  Effect.acquireRelease(
    Effect.promise(async () => {
      const profile = await mkdtemp(join(tmpdir(), "effect-baml-chromium-"))
      const context = await chromium.launchPersistentContext(profile, {
        executablePath,
        headless: true,
        timeout: 20_000,
        args: [
          "--headless",
          "--no-sandbox",
          "--disable-gpu",
          "--disable-background-networking",
          "--disable-component-update",
          "--no-first-run",
          "--disable-quic",
          "--disable-sync"
        ]
      })
      return Object.assign(context, { profile })
    }),
    (context) =>
      Effect.promise(async () => {
        await context.close().catch(() => undefined)
        await rm(context.profile, { recursive: true, force: true })
      })
  )
)

const WebApp = await webExample()

const AppLayer = Layer.merge(WebApp.layer({ port: 0 }), BrowserLive)

// Generous: the first page load bundles the app with esbuild, and a loaded machine starts Chromium slowly.
const waitMs = 25_000

/** A page on the app, closed when the test's scope closes (unless the test closed it). */
const openPage = Effect.flatMap(
  HttpServer.addressFormattedWith((address) => Effect.succeed(address)),
  (url) => openPageAt(url)
)

/** A page at `url`, closed when the test's scope closes (unless the test closed it). */
const openPageAt = (url: string) => Effect.gen(function*() {
  const browser = yield* Browser
  const page = yield* Effect.acquireRelease(
    Effect.promise(() => browser.newPage()),
    (page) => Effect.promise(() => page.close().catch(() => undefined))
  )
  yield* Effect.promise(() => page.goto(url))
  return page
})

const page = <A>(run: () => Promise<A>) => Effect.promise(run)

/** Starts a generation for `text` with the page's Extract button, over `transport`. */
const start = (p: Page, text: string, transport: "sse" | "ndjson") =>
  page(async () => {
    await p.fill("#resume", text)
    await p.selectOption("#transport", transport)
    await p.click("#start")
  })

const partialsShown = (p: Page, n: number) =>
  page(() =>
    p.waitForFunction(
      (n) => Number(/partial (\d+)/.exec(document.getElementById("count")!.textContent ?? "")?.[1] ?? 0) >= n,
      n,
      { timeout: waitMs }
    )
  )

const state = (p: Page, name: string) =>
  page(() => p.waitForSelector(`body[data-state="${name}"]`, { timeout: waitMs, state: "attached" }))

if (!hasChromium) {
  describe("BamlHttp in a real browser", () => {
    // Without a browser these tests prove nothing: in CI (CI=true) that is a failure, not a skip.
    if (process.env.CI === "true") {
      it(`Chromium is installed at ${executablePath}`, () => {
        expect.fail(`no Chromium at ${executablePath}: CI must install it (apt-get install -y chromium)`)
      }, 5_000)
    } else {
      it.skip(`skipped: no Chromium at ${executablePath} (apt-get install -y chromium; CI installs it)`, () => {})
    }
  })
} else {
  layer(AppLayer, { timeout: "60 seconds", excludeTestServices: true })("BamlHttp in a real browser", (it) => {
    it.effect("Stop, then closing the page, each abort the upstream LLM request", () =>
      Effect.scoped(Effect.gen(function*() {
        const p = yield* openPage
        const stopped = marker("browser-stop")
        yield* scriptFor(stopped, ScriptedProvider.json(longResume("Ada Lovelace"), { delayMs: 10 }))
        yield* start(p, `Ada Lovelace ${stopped}`, "sse")
        yield* partialsShown(p, 3)
        expect(yield* page(() => p.locator("#name").textContent())).toContain("Ada")
        yield* page(() => p.click("#stop"))
        allClosedEarly(yield* settledAll(stopped))
        yield* state(p, "stopped")
        // the page asks the server what the provider saw
        yield* page(() =>
          p.waitForFunction(
            () => document.getElementById("upstream")!.textContent!.includes("closed-early"),
            undefined,
            { timeout: waitMs }
          )
        )

        const closed = marker("browser-close")
        yield* scriptFor(closed, ScriptedProvider.json(longResume("Ada Lovelace"), { delayMs: 10 }))
        yield* start(p, `Ada Lovelace ${closed}`, "ndjson")
        yield* partialsShown(p, 3)
        yield* page(() => p.close())
        allClosedEarly(yield* settledAll(closed))
      })), 90_000)

    it.effect("unmounting the component (the hook's fiber interrupted) aborts the upstream LLM request, over SSE and NDJSON", () =>
      Effect.scoped(Effect.gen(function*() {
        const p = yield* openPage
        for (const transport of ["sse", "ndjson"] as const) {
          const mark = marker(`browser-unmount-${transport}`)
          yield* scriptFor(mark, ScriptedProvider.json(longResume("Ada Lovelace"), { delayMs: 10 }))
          yield* start(p, `Ada Lovelace ${mark}`, transport)
          yield* partialsShown(p, 3)
          yield* page(() => p.click("#unmount"))
          allClosedEarly(yield* settledAll(mark))
          yield* state(p, "unmounted")
          expect(yield* page(() => p.locator("#view").count())).toBe(0)
        }
      })), 90_000)

    it.effect("a generation that runs to its end renders the final result, over SSE and over NDJSON, under StrictMode", () =>
      Effect.scoped(Effect.gen(function*() {
        const p = yield* openPage
        for (const transport of ["sse", "ndjson"] as const) {
          const mark = marker(`browser-full-${transport}`)
          // 20 ms a chunk: long enough that StrictMode's first request is aborted before its reply could end, also on
          // a loaded machine (at 5 ms a chunk both requests were once seen completed)
          yield* scriptFor(mark, ScriptedProvider.json(shortResume("Grace Hopper"), { delayMs: 20 }))
          yield* start(p, `Grace Hopper ${mark}`, transport)
          yield* state(p, "done")
          expect(yield* page(() => p.locator("#name").textContent())).toBe("Grace Hopper")
          expect(yield* page(() => p.locator(".chip").allTextContents())).toEqual(shortResume("Grace Hopper").skills)
          expect(yield* page(() => p.locator(".job").count())).toBe(2)
          expect(yield* page(() => p.locator("#status").textContent())).toMatch(/^Done: \d+ partials/)
          // StrictMode mounted the component twice: the first mount's request, if it reached the provider, was aborted
          const records = yield* settledAll(mark)
          expect(records.filter((r) => r.status === "completed")).toHaveLength(1)
          allClosedEarly(records.filter((r) => r.status !== "completed"))
          expect(records.length).toBeLessThanOrEqual(2)
        }
      })), 90_000)

    it.effect("a restart with new arguments aborts the generation still running, and the new one renders", () =>
      Effect.scoped(Effect.gen(function*() {
        const p = yield* openPage
        const first = marker("browser-restart-first")
        const second = marker("browser-restart-second")
        yield* scriptFor(first, ScriptedProvider.json(longResume("Ada Lovelace"), { delayMs: 10 }))
        yield* scriptFor(second, ScriptedProvider.json(shortResume("Grace Hopper"), { delayMs: 5 }))
        yield* start(p, `Ada Lovelace ${first}`, "sse")
        yield* partialsShown(p, 3)
        // Extract while streaming restarts the component's generation with the new arguments
        yield* start(p, `Grace Hopper ${second}`, "ndjson")
        yield* state(p, "done")
        expect(yield* page(() => p.locator("#name").textContent())).toBe("Grace Hopper")
        allClosedEarly(yield* settledAll(first))
        expect((yield* settledAll(second)).filter((r) => r.status === "completed")).toHaveLength(1)
      })), 90_000)

    it.effect("a provider error arrives in the browser as its BamlError class", () =>
      Effect.scoped(Effect.gen(function*() {
        const p = yield* openPage
        const mark = marker("browser-error")
        yield* scriptFor(mark, { reply: "unused", fault: { _tag: "HttpError", status: 500 } })
        yield* start(p, `Grace Hopper ${mark}`, "sse")
        yield* state(p, "error")
        expect(yield* page(() => p.locator("#view").textContent())).toContain("BamlClientHttpError")
        expect(yield* page(() => p.locator("#status").textContent())).toBe("Failed with BamlClientHttpError.")
        // decoded in the browser into the class itself, not only its tag
        expect(yield* page(() => p.evaluate(() => document.body.dataset.errorClass))).toBe("BamlClientHttpError")
      })), 90_000)
  })
  /** Every generation's end on the resumable server. */
  const ends: Array<BamlHttp.End> = []
  const ResumableAppLayer = Layer.merge(
    WebApp.layer({
      port: 0,
      resumable: { grace: "10 seconds", onEnd: (end) => Effect.sync(() => void ends.push(end)) }
    }),
    BrowserLive
  )

  layer(ResumableAppLayer, { timeout: "60 seconds", excludeTestServices: true })("useBamlStream, resumed", (it) => {
    it.effect.each(["sse", "ndjson"] as const)(
      "a response cut mid-stream by a proxy is resumed by the hook: every message once, in order; one LLM request; the final rendered (%s)",
      (transport) =>
        Effect.scoped(Effect.gen(function*() {
          const mark = marker(`browser-resume-${transport}`)
          yield* scriptFor(mark, ScriptedProvider.json(longResume("Ada Lovelace"), { delayMs: 10 }))
          // every new generation's response is ended after 5 messages, without its final (a reset socket may lose the
          // last messages in the browser's network stack, which then come again: true, but not countable here); a
          // resume (Last-Event-ID) goes through whole
          const proxy = yield* cuttingProxy(
            ({ headers, method, url }) =>
              method === "POST" && url.startsWith("/api/baml/") && headers["last-event-id"] === undefined ? 5 : undefined,
            "end"
          )
          const before = ends.length
          const p = yield* openPageAt(`http://127.0.0.1:${portOf(proxy)}/?resume=10000`)
          yield* start(p, `Ada Lovelace ${mark}`, transport)
          yield* state(p, "done")
          expect(yield* page(() => p.locator("#name").textContent())).toBe("Ada Lovelace")
          expect(yield* page(() => p.locator(".chip").count())).toBe(longResume("Ada Lovelace").skills.length)
          expect(proxy.cuts).toBeGreaterThanOrEqual(1)
          // StrictMode mounted the component twice: the first mount's request, if it reached the provider, was stopped
          const records = yield* settledAll(mark)
          expect(records.filter((r) => r.status === "completed")).toHaveLength(1)
          allClosedEarly(records.filter((r) => r.status !== "completed"))
          expect(records.length).toBeLessThanOrEqual(2)
          for (let i = 0; i < 100 && !ends.slice(before).some((end) => end.outcome === "completed"); i++) {
            yield* Effect.sleep("50 millis")
          }
          const [completed, ...others] = ends.slice(before).filter((end) => end.outcome === "completed")
          expect(others).toEqual([])
          // what reached the browser of that generation, across its cut response and its resume: each message once
          const sequences = proxy.delivered.flat().map((id) => Wire.positionOf(id))
            .filter((position) => position?.generation === completed!.generation)
            .map((position) => position!.sequence)
          expect(sequences).toEqual(Array.from({ length: completed!.messages }, (_, i) => i + 1))
          expect(proxy.delivered.filter((ids) => ids.some((id) => Wire.positionOf(id)?.generation === completed!.generation)).length)
            .toBeGreaterThanOrEqual(2)
        })),
      90_000
    )
  })
}
