/**
 * Media arguments for BAML functions (`image`, `audio`, `pdf`, `video` parameters): the engine's own classes, and
 * constructors that read a file as an Effect.
 *
 * The classes come from the engine's native module: under Node's ES modules, `import { Image } from
 * "@boundaryml/baml"` gives `undefined` (the package's CommonJS exports hide them from Node's named-export
 * detection), while these work everywhere. They are the very classes the engine exports, so the generated client's
 * `Image` parameters take their values. Those values are opaque native handles (engine 0.226.2): pass them to a
 * function; their declared methods (`isUrl`, `asBase64`) and `instanceof` do not work on them.
 *
 * What reaches the provider depends on it: OpenAI chat completions (and `openai-generic` servers) take images, audio
 * and PDFs, but the engine refuses a video for them before sending anything (a `BamlClientHttpError` that says so).
 *
 * @since 0.1.0
 */
import { BamlAudio, BamlImage, BamlPdf, BamlVideo } from "@boundaryml/baml/native"
import * as FileSystem from "@effect/platform/FileSystem"
import type { PlatformError } from "@effect/platform/Error"
import { Effect } from "effect"
import { BamlInvalidArgumentError } from "./BamlError.js"

/**
 * An image argument: the engine's `Image` class.
 *
 * @example
 * ```ts
 * import { BamlMedia } from "effect-baml/effect3"
 *
 * const logo = BamlMedia.Image.fromUrl("https://example.com/logo.png")
 * ```
 * @since 0.1.0
 * @category models
 */
export const Image: typeof BamlImage = BamlImage
/**
 * The type of an image argument.
 *
 * @example
 * ```ts
 * import { BamlMedia } from "effect-baml/effect3"
 *
 * const value: BamlMedia.Image = BamlMedia.image({ url: "https://example.com/logo.png" })
 * ```
 * @since 0.1.0
 * @category models
 */
export type Image = BamlImage

/**
 * An audio argument: the engine's `Audio` class.
 *
 * @example
 * ```ts
 * import { BamlMedia } from "effect-baml/effect3"
 *
 * const clip = BamlMedia.Audio.fromBase64("audio/mp3", "SUQzBAAAAAAA")
 * ```
 * @since 0.1.0
 * @category models
 */
export const Audio: typeof BamlAudio = BamlAudio
/**
 * The type of an audio argument.
 *
 * @example
 * ```ts
 * import { BamlMedia } from "effect-baml/effect3"
 *
 * const value: BamlMedia.Audio = BamlMedia.audio({ url: "https://example.com/clip.mp3" })
 * ```
 * @since 0.1.0
 * @category models
 */
export type Audio = BamlAudio

/**
 * A PDF argument: the engine's `Pdf` class.
 *
 * @example
 * ```ts
 * import { BamlMedia } from "effect-baml/effect3"
 *
 * const paper = BamlMedia.Pdf.fromUrl("https://example.com/paper.pdf")
 * ```
 * @since 0.1.0
 * @category models
 */
export const Pdf: typeof BamlPdf = BamlPdf
/**
 * The type of a pdf argument.
 *
 * @example
 * ```ts
 * import { BamlMedia } from "effect-baml/effect3"
 *
 * const value: BamlMedia.Pdf = BamlMedia.pdf({ url: "https://example.com/paper.pdf" })
 * ```
 * @since 0.1.0
 * @category models
 */
export type Pdf = BamlPdf

/**
 * A video argument: the engine's `Video` class.
 *
 * @example
 * ```ts
 * import { BamlMedia } from "effect-baml/effect3"
 *
 * const talk = BamlMedia.Video.fromUrl("https://example.com/talk.mp4")
 * ```
 * @since 0.1.0
 * @category models
 */
export const Video: typeof BamlVideo = BamlVideo
/**
 * The type of a video argument.
 *
 * @example
 * ```ts
 * import { BamlMedia } from "effect-baml/effect3"
 *
 * const value: BamlMedia.Video = BamlMedia.video({ url: "https://example.com/talk.mp4" })
 * ```
 * @since 0.1.0
 * @category models
 */
export type Video = BamlVideo

/**
 * Where a media value comes from: a URL (the provider fetches it, or the engine does for providers that need the
 * bytes), or base64 data with its media type.
 *
 * @example
 * ```ts
 * import type { BamlMedia } from "effect-baml/effect3"
 *
 * const source: BamlMedia.Source = { base64: "iVBORw0KGgo=", mediaType: "image/png" }
 * ```
 * @since 0.1.0
 * @category models
 */
export type Source =
  | { readonly url: string; readonly mediaType?: string | undefined }
  | { readonly base64: string; readonly mediaType: string }

/**
 * Where a PDF comes from: a URL, or base64 data (its media type is always `application/pdf`).
 *
 * @example
 * ```ts
 * import type { BamlMedia } from "effect-baml/effect3"
 *
 * const source: BamlMedia.PdfSource = { url: "https://example.com/paper.pdf" }
 * ```
 * @since 0.1.0
 * @category models
 */
export type PdfSource = { readonly url: string } | { readonly base64: string }

/**
 * Makes an image argument.
 *
 * @example
 * ```ts
 * import { BamlMedia } from "effect-baml/effect3"
 *
 * const photo = BamlMedia.image({ url: "https://example.com/photo.jpg" })
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const image = (source: Source): Image =>
  "url" in source
    ? BamlImage.fromUrl(source.url, source.mediaType)
    : BamlImage.fromBase64(source.mediaType, source.base64)

/**
 * Makes an audio argument.
 *
 * @example
 * ```ts
 * import { BamlMedia } from "effect-baml/effect3"
 *
 * const voice = BamlMedia.audio({ base64: "SUQzBAAAAAAA", mediaType: "audio/mp3" })
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const audio = (source: Source): Audio =>
  "url" in source
    ? BamlAudio.fromUrl(source.url, source.mediaType)
    : BamlAudio.fromBase64(source.mediaType, source.base64)

/**
 * Makes a PDF argument.
 *
 * @example
 * ```ts
 * import { BamlMedia } from "effect-baml/effect3"
 *
 * const contract = BamlMedia.pdf({ url: "https://example.com/contract.pdf" })
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const pdf = (source: PdfSource): Pdf =>
  "url" in source ? BamlPdf.fromUrl(source.url) : BamlPdf.fromBase64(source.base64)

/**
 * Makes a video argument.
 *
 * @example
 * ```ts
 * import { BamlMedia } from "effect-baml/effect3"
 *
 * const demo = BamlMedia.video({ url: "https://example.com/demo.mp4", mediaType: "video/mp4" })
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const video = (source: Source): Video =>
  "url" in source
    ? BamlVideo.fromUrl(source.url, source.mediaType)
    : BamlVideo.fromBase64(source.mediaType, source.base64)

/**
 * The kinds of media, by the name BAML gives their parameter type.
 *
 * @example
 * ```ts
 * import type { BamlMedia } from "effect-baml/effect3"
 *
 * type Picture = BamlMedia.Kinds["image"]
 * ```
 * @since 0.1.0
 * @category models
 */
export interface Kinds {
  readonly image: Image
  readonly audio: Audio
  readonly pdf: Pdf
  readonly video: Video
}

const byExtension: Readonly<Record<string, string>> = {
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
  mp3: "audio/mp3",
  wav: "audio/wav",
  ogg: "audio/ogg",
  flac: "audio/flac",
  m4a: "audio/mp4",
  pdf: "application/pdf",
  mp4: "video/mp4",
  webm: "video/webm",
  mov: "video/quicktime"
}

/**
 * Reads a file into a media argument, as base64 data. The media type comes from the file's extension unless given;
 * a file whose type cannot be told fails with a `BamlInvalidArgumentError`, and a file that cannot be read with the
 * platform's `PlatformError` (a `SystemError` whose `reason` says why, e.g. `NotFound`).
 *
 * @example
 * ```ts
 * import { BamlMedia } from "effect-baml/effect3"
 * import { NodeContext } from "@effect/platform-node"
 * import { Effect } from "effect"
 *
 * const scan = BamlMedia.fromFile("image", "./receipt.png").pipe(Effect.provide(NodeContext.layer))
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const fromFile = <K extends keyof Kinds>(
  kind: K,
  path: string,
  options?: { readonly mediaType?: string | undefined }
): Effect.Effect<Kinds[K], PlatformError | BamlInvalidArgumentError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const extension = /\.([^./\\]+)$/.exec(path)?.[1]?.toLowerCase() ?? ""
    const mediaType = options?.mediaType ?? (kind === "pdf" ? "application/pdf" : byExtension[extension])
    if (mediaType === undefined) {
      return yield* Effect.fail(
        new BamlInvalidArgumentError({
          message: `${path}: cannot tell the media type of a .${extension} file; pass it as options.mediaType`
        })
      )
    }
    const fs = yield* FileSystem.FileSystem
    const base64 = Buffer.from(yield* fs.readFile(path)).toString("base64")
    const source = { base64, mediaType }
    const make: { readonly [Kind in keyof Kinds]: (source: Source) => Kinds[Kind] } = { image, audio, pdf, video }
    return make[kind](source)
  })
