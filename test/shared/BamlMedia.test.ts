import {
  Baml, BamlMedia, BamlRuntime, describe, Effect, expect, isNotFound, layer, Layer, NodeFileSystem, ScriptedProvider,
  Stream, unwrapLayer
} from "#line"
import * as Native from "@boundaryml/baml/native"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import { readFileSync } from "node:fs"
import { marker, settled } from "./fixtures.js"

const media = `
function Look(note: string, img: image, sound: audio, doc: pdf) -> string {
  client Scripted
  prompt #"
    {{ _.role("user") }}
    Describe these. {{ note }}
    {{ img }} {{ sound }} {{ doc }}
  "#
}

function Watch(note: string, clip: video) -> string {
  client Scripted
  prompt #"
    {{ _.role("user") }}
    Describe this. {{ note }} {{ clip }}
  "#
}
`

const MediaLayer = unwrapLayer(
  Effect.map(ScriptedProvider.ScriptedProvider, (provider) =>
    BamlRuntime.layerFromFiles({
      "clients.baml": readFileSync("baml_src/clients.baml", "utf8"),
      "media.baml": media
    }, { env: { SCRIPTED_BASE_URL: provider.baseUrl } }))
).pipe(
  Layer.provideMerge(ScriptedProvider.layer({ rules: [{ script: { reply: "A cat, a meow and a memo." } }] })),
  Layer.provideMerge(NodeFileSystem.layer)
)

const PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
const MP3 = "SUQzBAAAAAAAI1RTU0UAAAAPAAADTGF2ZjU4LjI5LjEwMAAAAAAAAAAAAAAA"
const PDF = "JVBERi0xLjQKJcOkw7zDtsOfCjIgMCBvYmoKPDwvTGVuZ3RoIDMgMCBSPj4Kc3RyZWFtCg=="

/** The content parts of the user message the provider received. */
const partsOf = (body: unknown): ReadonlyArray<Record<string, unknown>> => {
  const messages = (body as { messages: ReadonlyArray<{ content: unknown }> }).messages
  return messages.flatMap((m) => Array.isArray(m.content) ? m.content : [])
}

layer(MediaLayer, { timeout: "60 seconds", excludeTestServices: true })("BamlMedia", (it) => {
  describe("media arguments reach the HTTP request", () => {
    it.effect("an image, an audio clip and a PDF, for calls and streams", () =>
      Effect.gen(function*() {
        const mark = marker("media")
        const args = {
          note: mark,
          img: BamlMedia.image({ base64: PNG, mediaType: "image/png" }),
          sound: BamlMedia.audio({ base64: MP3, mediaType: "audio/mp3" }),
          doc: BamlMedia.pdf({ base64: PDF })
        }
        expect(yield* Baml.call("Look", args)).toBe("A cat, a meow and a memo.")
        yield* Stream.runDrain(Baml.stream("Look", args))
        const provider = yield* ScriptedProvider.ScriptedProvider
        const records = (yield* provider.awaitRequests((rs) =>
          rs.filter((r) => r.prompt.includes(mark) && r.status === "completed").length === 2
        )).filter((r) => r.prompt.includes(mark))
        for (const record of records) {
          expect(partsOf(record.body)).toEqual(expect.arrayContaining([
            { type: "image_url", image_url: { url: `data:image/png;base64,${PNG}` } },
            { type: "input_audio", input_audio: { data: MP3, format: "mp3" } },
            { type: "file", file: { filename: "document.pdf", file_data: `data:application/pdf;base64,${PDF}` } }
          ]))
        }
      }), 20_000)

    it.effect("an image by URL is sent as that URL", () =>
      Effect.gen(function*() {
        const mark = marker("media-url")
        const url = "https://example.com/cat.png"
        yield* Baml.call("Look", {
          note: mark,
          img: BamlMedia.Image.fromUrl(url),
          sound: BamlMedia.audio({ base64: MP3, mediaType: "audio/mp3" }),
          doc: BamlMedia.pdf({ base64: PDF })
        })
        const record = yield* settled(mark)
        expect(partsOf(record.body)).toContainEqual({ type: "image_url", image_url: { url } })
      }), 20_000)

    it.effect("fromFile reads a file as base64 data, with the media type of its extension", () =>
      Effect.gen(function*() {
        const mark = marker("media-file")
        const dir = yield* Effect.acquireRelease(
          Effect.promise(() => Fs.mkdtemp(Path.join(Os.tmpdir(), "effect-baml-media-"))),
          (dir) => Effect.promise(() => Fs.rm(dir, { recursive: true, force: true }))
        )
        const file = Path.join(dir, "pixel.PNG")
        yield* Effect.promise(() => Fs.writeFile(file, Buffer.from(PNG, "base64")))
        const img = yield* BamlMedia.fromFile("image", file)
        yield* Baml.call("Look", {
          note: mark,
          img,
          sound: BamlMedia.audio({ base64: MP3, mediaType: "audio/mp3" }),
          doc: BamlMedia.pdf({ base64: PDF })
        })
        const record = yield* settled(mark)
        expect(partsOf(record.body)).toContainEqual({
          type: "image_url",
          image_url: { url: `data:image/png;base64,${PNG}` }
        })

        const unknown = yield* Effect.flip(BamlMedia.fromFile("image", Path.join(dir, "pixel.bin")))
        expect(unknown._tag).toBe("BamlInvalidArgumentError")
        const missing = yield* Effect.flip(BamlMedia.fromFile("image", Path.join(dir, "absent.png")))
        // each line's platform says "not found" in its own shape
        expect(isNotFound(missing)).toBe(true)
      }).pipe(Effect.scoped), 20_000)

    it.effect("a video is refused by the engine for chat completions, as a typed error, before anything is sent", () =>
      Effect.gen(function*() {
        const mark = marker("media-video")
        const error = yield* Effect.flip(
          Baml.call("Watch", { note: mark, clip: BamlMedia.video({ url: "https://example.com/clip.mp4" }) })
        )
        expect(error._tag).toBe("BamlClientHttpError")
        expect(error.message).toContain("Video input")
        const provider = yield* ScriptedProvider.ScriptedProvider
        expect((yield* provider.requests).filter((r) => r.prompt.includes(mark))).toHaveLength(0)
      }), 20_000)
  })

  it("the classes are the engine's own", () => {
    expect([BamlMedia.Image, BamlMedia.Audio, BamlMedia.Pdf, BamlMedia.Video]).toEqual([
      Native.BamlImage,
      Native.BamlAudio,
      Native.BamlPdf,
      Native.BamlVideo
    ])
  })
})
