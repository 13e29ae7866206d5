// Media arguments for BAML functions, without Effect: the engine's classes, their constructors and the media type of
// a file. Each Effect line's BamlMedia re-exports these and adds `fromFile`, which reads through its FileSystem.
import { BamlAudio, BamlImage, BamlPdf, BamlVideo } from "@boundaryml/baml/native"

/**
 * An image argument: the engine's `Image` class.
 *
 * @example
 * ```ts
 * import { BamlMedia } from "effect-baml"
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
 * import { BamlMedia } from "effect-baml"
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
 * import { BamlMedia } from "effect-baml"
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
 * import { BamlMedia } from "effect-baml"
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
 * import { BamlMedia } from "effect-baml"
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
 * import { BamlMedia } from "effect-baml"
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
 * import { BamlMedia } from "effect-baml"
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
 * import { BamlMedia } from "effect-baml"
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
 * import type { BamlMedia } from "effect-baml"
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
 * import type { BamlMedia } from "effect-baml"
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
 * import { BamlMedia } from "effect-baml"
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
 * import { BamlMedia } from "effect-baml"
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
 * import { BamlMedia } from "effect-baml"
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
 * import { BamlMedia } from "effect-baml"
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
 * import type { BamlMedia } from "effect-baml"
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

/** Media types by file extension, for the files whose type `fromFile` can tell. */
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
 * The media type of a file of `kind` at `path`: the one given, else the one its extension says (a PDF is always
 * `application/pdf`); `undefined` when it cannot be told.
 */
export const mediaTypeOf = (kind: keyof Kinds, path: string, given: string | undefined): string | undefined =>
  given ?? (kind === "pdf" ? "application/pdf" : byExtension[extensionOf(path)])

/** Why a file's media type cannot be told, for the line's `BamlInvalidArgumentError`. */
export const unknownMediaType = (path: string): string =>
  `${path}: cannot tell the media type of a .${extensionOf(path)} file; pass it as options.mediaType`

const extensionOf = (path: string): string => /\.([^./\\]+)$/.exec(path)?.[1]?.toLowerCase() ?? ""

/** A media argument of `kind` from a file's bytes. */
export const fromBytes = <K extends keyof Kinds>(kind: K, bytes: Uint8Array, mediaType: string): Kinds[K] => {
  const source = { base64: Buffer.from(bytes).toString("base64"), mediaType }
  const make: { readonly [Kind in keyof Kinds]: (source: Source) => Kinds[Kind] } = { image, audio, pdf, video }
  return make[kind](source)
}
