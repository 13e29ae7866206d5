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
import { Effect } from "effect"
import * as Kit from "#kit"
import { BamlInvalidArgumentError } from "./BamlError.js"
import * as Media from "./core/engine/media.js"

export {
  /**
   * @since 0.1.0
   */
  Audio,
  /**
   * @since 0.1.0
   */
  audio,
  /**
   * @since 0.1.0
   */
  Image,
  /**
   * @since 0.1.0
   */
  image,
  /**
   * @since 0.1.0
   */
  Pdf,
  /**
   * @since 0.1.0
   */
  pdf,
  /**
   * @since 0.1.0
   */
  Video,
  /**
   * @since 0.1.0
   */
  video
} from "./core/engine/media.js"

export type {
  /**
   * @since 0.1.0
   */
  Kinds,
  /**
   * @since 0.1.0
   */
  PdfSource,
  /**
   * @since 0.1.0
   */
  Source
} from "./core/engine/media.js"

/**
 * Reads a file into a media argument, as base64 data. The media type comes from the file's extension unless given;
 * a file whose type cannot be told fails with a `BamlInvalidArgumentError`, and a file that cannot be read with the
 * platform's `PlatformError` (whose `reason` says why, e.g. `NotFound`).
 *
 * @example Effect 4
 * ```ts
 * import { BamlMedia } from "effect-baml"
 * import { NodeServices } from "@effect/platform-node"
 * import { Effect } from "effect"
 *
 * const scan = BamlMedia.fromFile("image", "./receipt.png").pipe(Effect.provide(NodeServices.layer))
 * ```
 * @example Effect 3
 * ```ts
 * import { BamlMedia } from "effect-baml"
 * import { NodeContext } from "@effect/platform-node"
 * import { Effect } from "effect"
 *
 * const scan = BamlMedia.fromFile("image", "./receipt.png").pipe(Effect.provide(NodeContext.layer))
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const fromFile = <K extends keyof Media.Kinds>(
  kind: K,
  path: string,
  options?: { readonly mediaType?: string | undefined }
): Effect.Effect<Media.Kinds[K], Kit.PlatformError | BamlInvalidArgumentError, Kit.FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const mediaType = Media.mediaTypeOf(kind, path, options?.mediaType)
    if (mediaType === undefined) {
      return yield* Effect.fail(new BamlInvalidArgumentError({ message: Media.unknownMediaType(path) }))
    }
    const fs = yield* Kit.FileSystem.FileSystem
    return Media.fromBytes(kind, yield* fs.readFile(path), mediaType)
  })
