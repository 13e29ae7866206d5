// Cancellation, all of it that is not Effect: the trip-wire handed to the engine, and the one callback the engine keeps
// after a stream has ended. Baml.ts owns a wire as a scoped resource and decides when to trip it; this module says
// what tripping, settling and releasing do, and nothing else changes a wire.

/**
 * The trip-wire of one native call or stream: its `signal` goes to the engine, and tripping it makes the engine drop
 * the HTTP request on its side. A call the engine has settled has nothing left to abort, and tripping the wire would
 * still cost an exception object and the engine's abort listener: settling disarms it.
 */
export interface TripWire {
  readonly signal: AbortSignal
  /** Whether the wire was tripped: the consumer has gone (or a budget cut the request off). */
  readonly tripped: boolean
}

// A class: its accessors live on the prototype. An object literal with a getter is built in dictionary mode, and each
// wire then held ~0.5 KB of properties.
class Wire implements TripWire {
  readonly controller = new AbortController()
  armed = true
  get signal(): AbortSignal {
    return this.controller.signal
  }
  get tripped(): boolean {
    return this.controller.signal.aborted
  }
}

/** A new, armed wire. */
export const make = (): TripWire => new Wire()

/** Trips the wire, unless the engine has settled the call. Idempotent. */
export const trip = (wire: TripWire): void => {
  const w = wire as Wire
  if (w.armed) w.controller.abort()
}

/** The engine settled the call (a result or a failure): there is nothing left to abort. */
export const disarm = (wire: TripWire): void => {
  ;(wire as Wire).armed = false
}

/** A callback that forwards to `f` until it is released, and then to nothing. */
export interface Releasable<A extends ReadonlyArray<unknown>> {
  readonly call: (...args: A) => void
  readonly release: () => void
}

class Forwarder<A extends ReadonlyArray<unknown>> implements Releasable<A> {
  private f: ((...args: A) => void) | undefined
  readonly call: (...args: A) => void
  constructor(f: (...args: A) => void) {
    this.f = f
    this.call = (...args) => this.f?.(...args)
  }
  release(): void {
    this.f = undefined
  }
}

/**
 * A callback for the engine that lets go of `f` when released. The engine (0.226.2) keeps a stream's `onTick` after
 * the stream has ended, for good: holding `f` itself, it kept the whole stream (~17 KB a stream after `Stream.take`);
 * holding this forwarder, it keeps two small objects.
 */
export const releasable = <A extends ReadonlyArray<unknown>>(f: (...args: A) => void): Releasable<A> =>
  new Forwarder(f)
