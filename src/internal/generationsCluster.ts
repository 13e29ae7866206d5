/**
 * The generations of resumable responses across a cluster's server instances (Effect 4: `effect/cluster`). A
 * generation runs, and keeps its messages, where its LLM request was made: in the memory of the instance that took the
 * request (`generations.ts`), nowhere else. What the cluster adds is the way to it: a generation is an entity keyed by
 * its id, and its id is chosen among those whose shard this instance owns, so that the cluster routes a reconnect or a
 * stop that reaches another instance to this one. That instance answers from its memory: whether the generation is
 * there (`open`), its messages from a position (`read`, a streaming RPC), a stop (`stop`). Nothing is stored: the
 * messages are volatile (not persisted), sent runner to runner.
 *
 * When the owning instance dies, its generations die with it (their LLM requests with its process): a reader on another
 * instance sees its response end without a `final`, and a reconnect is answered as for an unknown generation (`410`)
 * once the cluster has given the shard to another instance, or when the owner cannot be reached within
 * {@link reachWithin}. A shard moved while its owner lives (an instance joining) has the same effect on the
 * generations it held.
 */
import * as Entity from "effect/cluster/Entity"
import * as EntityId from "effect/cluster/EntityId"
import * as Sharding from "effect/cluster/Sharding"
import { Effect, Layer, Schema, Stream } from "effect"
import * as Rpc from "effect/rpc/Rpc"
import { Generations } from "../BamlHttp.js"
import * as Registry from "./generations.js"

/** How long a reconnect or a stop waits for the instance that owns the generation to answer it. */
export const reachWithin = "10 seconds"

/** Who asks, as it crosses between instances. */
const Asker = { owner: Schema.optional(Schema.String), anyone: Schema.Boolean }

const askerOf = (requester: Registry.Requester) =>
  requester === Registry.anyone ? { anyone: true } : requester === undefined ? { anyone: false } : { owner: requester, anyone: false }

const requesterOf = (asker: { readonly owner?: string | undefined; readonly anyone: boolean }): Registry.Requester =>
  asker.anyone ? Registry.anyone : asker.owner

const WireMessage = Schema.Struct({ event: Schema.String, data: Schema.Unknown, id: Schema.optional(Schema.String) })

/** A generation, as the cluster addresses it: by its id. */
export const Generation = Entity.make("effect-baml/Generation", [
  Rpc.make("open", { payload: { after: Schema.Number, ...Asker }, success: Schema.Literals(["Gone", "Done", "Live"]) }),
  Rpc.make("read", { payload: { after: Schema.Number, ...Asker }, success: WireMessage, stream: true }),
  Rpc.make("stop", { payload: Asker, success: Schema.Boolean })
])

/** The entity's handlers on the instance that owns the generation: answers from its memory. */
const handlers = (here: Registry.Backend) =>
  Effect.gen(function*() {
    const id = (yield* Entity.CurrentAddress).entityId
    return Generation.of({
      open: ({ payload }) => Effect.map(here.open(id, payload.after, requesterOf(payload)), (opened) => opened._tag),
      read: ({ payload }) =>
        Stream.unwrap(
          Effect.map(
            here.open(id, payload.after, requesterOf(payload)),
            (opened) => opened._tag === "Live" ? opened.messages : Stream.empty
          )
        ),
      stop: ({ payload }) => here.stop(id, requesterOf(payload))
    })
  })

/** A read from another instance that fails (its owner gone) ends: the response ends, and the client reconnects. */
const endOnFailure = <A, E>(stream: Stream.Stream<A, E>): Stream.Stream<A> => Stream.catch(stream, () => Stream.empty)

/** The generations of this instance, and the way to those of the others; the entity registered on the cluster. */
export const layer: Layer.Layer<Generations, never, Sharding.Sharding> =
  Layer.unwrap(Effect.gen(function*() {
    const registry = yield* Registry.make
    const here = Registry.local(registry)
    const sharding = yield* Sharding.Sharding
    const clientOf = yield* Generation.client
    const ownedHere = (id: string) =>
      sharding.hasShardId(sharding.getShardId(EntityId.make(id), Generation.getShardGroup(EntityId.make(id))))
    // An id whose shard is this instance's, so that the cluster routes its reconnects here. With n instances a random
    // id is one of them in n tries on average; an instance that owns no shard yet (just started) gives up and serves
    // the generation all the same, reachable through itself only.
    const pickId = () => {
      for (let i = 0; i < 256; i++) {
        const id = crypto.randomUUID()
        if (ownedHere(id)) return id
      }
      return crypto.randomUUID()
    }
    const isHere = (id: string) => registry.get(id) !== undefined || ownedHere(id)
    const backend: Registry.Backend = {
      start: (events, context, options) => here.start(events, context, { ...options, id: options.id ?? pickId() }),
      open: (id, after, requester) => {
        if (isHere(id)) return here.open(id, after, requester)
        const client = clientOf(id)
        const asker = askerOf(requester)
        return client.open({ after, ...asker }).pipe(
          Effect.timeout(reachWithin),
          Effect.map((tag): Registry.Opened =>
            tag === "Live" ? { _tag: "Live", messages: endOnFailure(client.read({ after, ...asker })) } : { _tag: tag }
          ),
          // the owner did not answer in time, or is gone: the generation is lost with it
          Effect.orElseSucceed((): Registry.Opened => ({ _tag: "Gone" }))
        )
      },
      stop: (id, requester) =>
        isHere(id) ? here.stop(id, requester) : clientOf(id).stop(askerOf(requester)).pipe(
          Effect.timeout(reachWithin),
          Effect.orElseSucceed(() => false)
        ),
      size: here.size
    }
    return Layer.merge(
      Layer.succeed(Generations, Registry.face(backend)),
      // Reads of many clients and a stop run at once on one generation.
      Generation.toLayer(handlers(here), { concurrency: "unbounded" })
    )
  }))
