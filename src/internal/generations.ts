/**
 * The generations of resumable responses, in memory: each one runs in a fiber of its own, not in the request's, keeps
 * every message it sent (so that a client that reconnects is sent what it missed, then the live ones), and counts its
 * readers. When nobody has been reading for its grace period it is cut, which aborts the LLM request, as a client's
 * disconnect does for a response that is not resumable. A stop cuts it at once, and its last message is then an
 * `error` that says so (`GenerationStopped`), which its readers are sent as any other. An ended generation is kept for its
 * grace period, so that a client that reconnects late is told it ended, rather than starting it again.
 *
 * The generation is cut with `Stream.interruptWhen`, not by interrupting its fiber: the stream's finalizers abort the
 * LLM request all the same, and the fiber then ends normally, with the usage of what was sent.
 */
import { Deferred, Effect, Exit, Fiber, Option, Stream } from "effect"
import type { Context, Scope } from "effect"
import * as Baml from "../Baml.js"
import * as Wire from "../core/wire/wire.js"
import * as Kit from "#kit"
import type * as KitHttp from "#kit/http"

/** How a generation ended: its stream's own end, or a cut. */
export type Outcome = "completed" | "failed" | "abandoned" | "stopped"

/** What a generation (or a response that is not resumable: no generation) used and how it ended, once it has. */
export interface End {
  readonly generation: string | undefined
  readonly outcome: Outcome
  readonly last: Option.Option<unknown>
  readonly messages: number
  readonly usage: ReadonlyArray<Baml.Usage>
}

/** What starting a generation takes: `id`, when the caller chose it (the cluster picks one its runner owns). */
export interface StartOptions {
  readonly grace: Kit.DurationInput
  readonly onEnd?: ((end: End) => Effect.Effect<void>) | undefined
  readonly owner?: string | undefined
  readonly id?: string | undefined
}

/** One generation: its messages so far and what its readers wait on. Mutated only by this module. */
export interface Generation {
  readonly id: string
  readonly messages: Array<KitHttp.WireEvent>
  ended: boolean
  outcome: Outcome | undefined
  readers: number
  /** Completed and replaced whenever a message is added or the generation ends: what readers wait on. */
  changed: Deferred.Deferred<void>
  readonly cut: Deferred.Deferred<void>
  abandon: Fiber.Fiber<void> | undefined
  readonly grace: Kit.DurationInput
  /** Who may resume and stop it, when the route binds generations to their owner. */
  readonly owner: string | undefined
}

/** The registry: every generation running or ended less than its grace period ago. */
export interface Registry {
  readonly start: <R>(
    events: Stream.Stream<KitHttp.WireEvent, never, R>,
    context: Context.Context<R>,
    options: StartOptions
  ) => Effect.Effect<Generation>
  readonly get: (id: string) => Generation | undefined
  /** The messages after `after` (a sequence number), then the live ones until the generation ends. */
  readonly read: (generation: Generation, after: number) => Stream.Stream<KitHttp.WireEvent>
  /** Cuts the generation at once; `false` when there is none running of that id. */
  readonly stop: (id: string) => Effect.Effect<boolean>
  readonly size: () => number
}

/** Runs the end-of-response hook; a failure of it is logged, and ends nothing else. */
export const tell = (onEnd: (end: End) => Effect.Effect<void>, end: End): Effect.Effect<void> =>
  Effect.flatMap(Effect.exit(onEnd(end)), (exit) =>
    Exit.isFailure(exit) ? Effect.logError("BamlHttp: the end-of-response hook failed", exit.cause) : Effect.void)

/** The data of the last partial or final message. */
export const lastValue = (messages: ReadonlyArray<KitHttp.WireEvent>): Option.Option<unknown> => {
  for (let i = messages.length - 1; i >= 0; i--) {
    if (messages[i]!.event !== "error") return Option.some(messages[i]!.data)
  }
  return Option.none()
}

/** Whether `message` is one that nothing follows: a `final` or an `error`. */
const endsResponse = (message: KitHttp.WireEvent | undefined): boolean =>
  message?.event === "final" || message?.event === "error"

/** Makes an in-memory registry; its scope closing interrupts the generations still running. */
export const make: Effect.Effect<Registry, never, Scope.Scope> = Effect.gen(function*() {
  const generations = new Map<string, Generation>()
  // Every generation and timer runs in the registry's scope: closing it interrupts them.
  const scope = yield* Effect.scope
  // Interruptible: a reader's release, where a timer is forked, is not, and on Effect 3 a fork inherits that.
  const fork = <A>(effect: Effect.Effect<A>) => Effect.forkIn(Effect.interruptible(effect), scope)

  const notify = (generation: Generation) =>
    Effect.flatMap(Deferred.make<void>(), (next) => {
      const previous = generation.changed
      generation.changed = next
      return Deferred.succeed(previous, undefined)
    })

  const cut = (generation: Generation, outcome: Outcome) =>
    Effect.suspend(() => {
      if (generation.ended) return Effect.succeed(false)
      generation.outcome ??= outcome
      return Effect.as(Deferred.succeed(generation.cut, undefined), true)
    })

  // With no reader left, the generation is cut after its grace period, unless a reader comes back first.
  const armAbandon = (generation: Generation) =>
    Effect.suspend(() => {
      if (generation.ended || generation.readers > 0 || generation.abandon !== undefined) return Effect.void
      return Effect.map(
        fork(Effect.sleep(generation.grace).pipe(Effect.andThen(cut(generation, "abandoned")), Effect.asVoid)),
        (fiber) => {
          generation.abandon = fiber
        }
      )
    })

  const disarmAbandon = (generation: Generation) =>
    Effect.suspend(() => {
      const fiber = generation.abandon
      generation.abandon = undefined
      return fiber === undefined ? Effect.void : Fiber.interrupt(fiber)
    })

  const start: Registry["start"] = (events, context, options) =>
    Effect.gen(function*() {
      const generation: Generation = {
        id: options.id ?? crypto.randomUUID(),
        messages: [],
        ended: false,
        outcome: undefined,
        readers: 0,
        changed: yield* Deferred.make<void>(),
        cut: yield* Deferred.make<void>(),
        abandon: undefined,
        grace: options.grace,
        owner: options.owner
      }
      generations.set(generation.id, generation)
      const run = events.pipe(
        Stream.interruptWhen(Deferred.await(generation.cut)),
        Stream.runForEach((event) =>
          Effect.suspend(() => {
            const sequence = generation.messages.length + 1
            generation.messages.push({ ...event, id: Wire.messageId({ generation: generation.id, sequence }) })
            return notify(generation)
          })
        ),
        Effect.provide(context),
        Baml.withUsage,
        Effect.flatMap(([, usage]) =>
          Effect.suspend(() => {
            if (generation.outcome === "stopped" && !endsResponse(generation.messages.at(-1))) {
              // Readers are told it was stopped, so that none reconnects (an abandoned one has no reader to tell).
              const sequence = generation.messages.length + 1
              generation.messages.push({
                event: "error",
                data: Wire.generationStopped,
                id: Wire.messageId({ generation: generation.id, sequence })
              })
            }
            const last = generation.messages.at(-1)
            generation.ended = true
            generation.outcome ??= last?.event === "final" ? "completed" : "failed"
            const end: End = {
              generation: generation.id,
              outcome: generation.outcome,
              last: lastValue(generation.messages),
              messages: generation.messages.length,
              usage
            }
            return Effect.all([
              notify(generation),
              disarmAbandon(generation),
              options.onEnd === undefined ? Effect.void : tell(options.onEnd, end)
            ], { discard: true })
          })
        ),
        // An ended generation is kept for its grace period: a client reconnecting late is told it ended.
        Effect.andThen(Effect.suspend(() => Effect.sleep(generation.grace))),
        Effect.ensuring(Effect.sync(() => generations.delete(generation.id)))
      )
      yield* fork(run)
      yield* armAbandon(generation)
      return generation
    })

  const nextBatch = (generation: Generation, cursor: { next: number }) =>
    Effect.suspend(function wait(): Effect.Effect<{ readonly messages: ReadonlyArray<KitHttp.WireEvent>; readonly last: boolean }> {
      if (cursor.next < generation.messages.length) {
        const messages = generation.messages.slice(cursor.next)
        cursor.next = generation.messages.length
        return Effect.succeed({ messages, last: false })
      }
      if (generation.ended) return Effect.succeed({ messages: [], last: true })
      return Effect.flatMap(Deferred.await(generation.changed), wait)
    })

  const read: Registry["read"] = (generation, after) =>
    Kit.unwrapStream(Effect.gen(function*() {
      yield* Effect.acquireRelease(
        Effect.suspend(() => {
          generation.readers++
          return disarmAbandon(generation)
        }),
        () =>
          Effect.suspend(() => {
            generation.readers--
            return armAbandon(generation)
          })
      )
      const cursor = { next: Math.min(after, generation.messages.length) }
      return Stream.forever(Stream.fromEffect(nextBatch(generation, cursor))).pipe(
        Stream.takeUntil((batch) => batch.last),
        Stream.flatMap((batch) => Stream.fromIterable(batch.messages))
      )
    }))

  return {
    start,
    get: (id) => generations.get(id),
    read,
    stop: (id) => Effect.suspend(() => {
      const generation = generations.get(id)
      return generation === undefined ? Effect.succeed(false) : cut(generation, "stopped")
    }),
    size: () => generations.size
  }
})

/**
 * Who asks to resume or stop a generation: the owner a route's `owner` function read from the request (`undefined`
 * for a route that reads none), or {@link anyone}, the server's own code. A generation bound to an owner is shown only
 * to that owner; to anyone else it is unknown, so that an id does not tell whether it exists.
 */
export type Requester = string | undefined | typeof anyone

/** The server's own code, which may stop any generation. */
export const anyone: unique symbol = Symbol.for("effect-baml/generations/anyone")

/** Whether `requester` may see `generation`. */
export const allowed = (generation: { readonly owner: string | undefined }, requester: Requester): boolean =>
  requester === anyone || generation.owner === undefined || generation.owner === requester

/** What a client reconnecting at a position is answered: the messages after it, or that its generation ended or is unknown. */
export type Opened =
  | { readonly _tag: "Gone" }
  | { readonly _tag: "Done" }
  | { readonly _tag: "Live"; readonly messages: Stream.Stream<KitHttp.WireEvent> }

/** Where the generations live, as the responses use them: in this server's memory, or across a cluster's instances. */
export interface Backend {
  /** Starts a generation here, and reads it from its first message. */
  readonly start: <R>(
    events: Stream.Stream<KitHttp.WireEvent, never, R>,
    context: Context.Context<R>,
    options: StartOptions
  ) => Effect.Effect<{ readonly id: string; readonly messages: Stream.Stream<KitHttp.WireEvent> }>
  readonly open: (id: string, after: number, requester: Requester) => Effect.Effect<Opened>
  readonly stop: (id: string, requester: Requester) => Effect.Effect<boolean>
  /** The generations running or remembered on this server. */
  readonly size: Effect.Effect<number>
}

/** The backend of generations kept in `registry`, this server's memory. */
export const local = (registry: Registry): Backend => ({
  start: (events, context, options) =>
    Effect.map(registry.start(events, context, options), (generation) => ({
      id: generation.id,
      messages: registry.read(generation, 0)
    })),
  open: (id, after, requester) =>
    Effect.sync((): Opened => {
      const generation = registry.get(id)
      if (generation === undefined || !allowed(generation, requester)) return { _tag: "Gone" }
      if (generation.ended && after >= generation.messages.length) return { _tag: "Done" }
      return { _tag: "Live", messages: registry.read(generation, after) }
    }),
  stop: (id, requester) =>
    Effect.suspend(() => {
      const generation = registry.get(id)
      return generation === undefined || !allowed(generation, requester) ? Effect.succeed(false) : registry.stop(id)
    }),
  size: Effect.sync(registry.size)
})

/**
 * The public face of the generations (`BamlHttp.Generations`): a stop by id, by the server's own code, and how many
 * there are here. The backend behind it stays out of the public type.
 */
export interface Face {
  readonly stop: (id: string) => Effect.Effect<boolean>
  readonly size: Effect.Effect<number>
}

const backends = new WeakMap<Face, Backend>()

/** The face of `backend`. */
export const face = (backend: Backend): Face => {
  const made: Face = { stop: (id) => backend.stop(id, anyone), size: backend.size }
  backends.set(made, backend)
  return made
}

/** The backend behind a face made by {@link face}. */
export const backendOf = (made: Face): Backend => backends.get(made)!
