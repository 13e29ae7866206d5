/**
 * The Effect 3 line's benchmark driver (effect3/bench/line.ts and floor.ts), loaded into this process on Effect 3
 * (see bench/built.mjs, which `npm run bench` installs after building both lines). Only plain values and Promises
 * cross between the two Effect runtimes; the types below are the driver's, written without Effect.
 */
import { pathToFileURL } from "node:url"
import type * as BamlRuntime from "../src/BamlRuntime.js"

type Args = Readonly<Record<string, unknown>>

/** What one stream delivered to user code. */
export interface Delivered {
  readonly partials: number
  readonly completed: boolean
}

/** Streams opened and held, until `stop` interrupts them all. */
export interface Running {
  readonly done: Promise<void>
  readonly stop: () => Promise<void>
}

/** A failure as user code received it, and when. */
export interface Failed {
  readonly at: number
  readonly tag: string
}

/** effect3/bench/line.ts */
export interface Line {
  readonly streamToEnd: (service: BamlRuntime.Service, fn: string, args: Args, onValue: (value: unknown) => void) => Promise<Delivered>
  readonly streamMany: (
    service: BamlRuntime.Service,
    fn: string,
    count: number,
    argsFor: (i: number) => Args,
    hooks: { readonly first: () => void; readonly end: () => void }
  ) => Running
  readonly leaveByInterrupt: (service: BamlRuntime.Service, fn: string, args: Args, take: number) => Promise<number>
  readonly leaveByTake: (service: BamlRuntime.Service, fn: string, args: Args, take: number) => Promise<number>
  readonly streamFailure: (service: BamlRuntime.Service, fn: string, args: Args) => Promise<Failed>
  readonly callFailure: (service: BamlRuntime.Service, fn: string, args: Args) => Promise<Failed>
}

/** effect3/bench/floor.ts */
export interface Floor {
  readonly runFloor: (count: number, partials: number, first?: () => void) => Promise<void>
  readonly openFloor: (count: number, kind: "never" | "asyncPush") => Running
  readonly interruptDelivery: () => Promise<number>
  readonly failureDelivery: () => Promise<number>
}

const load = (path: string): Promise<unknown> => import(pathToFileURL(new URL(path, import.meta.url).pathname).href)

/** The Effect 3 line, as its users write it. */
export const Effect3 = await load("../effect3/bench/line.ts") as Line

/** The Effect 3 line's floor: Effect 3's own `Stream.asyncPush` over the native callback. */
export const Floor3 = await load("../effect3/bench/floor.ts") as Floor
