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

interface Wire extends TripWire {
  readonly controller: AbortController
  armed: boolean
}

/** A new, armed wire. */
export const make = (): TripWire => {
  const controller = new AbortController()
  const wire: Wire = {
    controller,
    armed: true,
    signal: controller.signal,
    get tripped() {
      return controller.signal.aborted
    }
  }
  return wire
}

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

/**
 * A callback for the engine that lets go of `f` when released. The engine (0.226.2) keeps a stream's `onTick` after
 * the stream has ended, for good: holding `f` itself, it kept the whole stream (~17 KB a stream after `Stream.take`);
 * holding this forwarder, it keeps two small objects.
 */
export const releasable = <A extends ReadonlyArray<unknown>>(f: (...args: A) => void): Releasable<A> => {
  const ref: { f: ((...args: A) => void) | undefined } = { f }
  return { call: (...args) => ref.f?.(...args), release: () => void (ref.f = undefined) }
}
