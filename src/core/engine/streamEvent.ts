// The elements of `Baml.streamEvents`: a partial result, or the final one. No Effect here: both lines share them.

/** Marks the events, so that a consumer (BamlHttp) tells them from a BAML value without guessing at its fields. */
export const TypeId: unique symbol = Symbol.for("effect-baml/StreamEvent") as never

/** A partial result: fields still being written are null or missing, lists still growing. */
export interface Partial<A> {
  readonly [TypeId]: typeof TypeId
  readonly _tag: "Partial"
  readonly value: A
}

/** The final, fully parsed result: always the last event of a stream that runs to its end. */
export interface Final<A> {
  readonly [TypeId]: typeof TypeId
  readonly _tag: "Final"
  readonly value: A
}

/** A stream's event: a partial result, typed as the function's partial type, or the final one, as its final type. */
export type StreamEvent<P, F> = Partial<P> | Final<F>

export const partial = <A>(value: A): Partial<A> => ({ [TypeId]: TypeId, _tag: "Partial", value })

export const final = <A>(value: A): Final<A> => ({ [TypeId]: TypeId, _tag: "Final", value })

export const isStreamEvent = (u: unknown): u is StreamEvent<unknown, unknown> =>
  typeof u === "object" && u !== null && TypeId in u

/** What a stream that ends without its final event (cut short before `Baml.final` read it) dies with. */
export const noFinal =
  "The stream ended without its final value: something before Baml.final ended it early (Stream.take, " +
  "Stream.takeUntil, Stream.filter). Read the final value from the stream as the function returns it."

/** How a stream's queue holds the partials and the final value: bare (`Baml.stream`), or as events. */
export interface Wrap {
  readonly partial: (value: unknown) => unknown
  readonly final: (value: unknown) => unknown
}

export const asValues: Wrap = { partial: (value) => value, final: (value) => value }

export const asEvents: Wrap = { partial, final }

/**
 * Partials that replace each other in a queue that keeps every element (the reasoning variant's, whose reasoning text
 * comes as deltas): the queue holds a marker while a partial waits, and the consumer gets the newest partial when it
 * takes the marker. `offer` puts a partial in the queue through `put`; `resolve` maps each element taken.
 */
export const newestPartial = (wrap: Wrap, put: (element: unknown) => void) => {
  const marker = {}
  let newest: unknown
  let waiting = false
  return {
    offer: (value: unknown): void => {
      newest = value
      if (waiting) return
      waiting = true
      put(marker)
    },
    resolve: (element: unknown): unknown => {
      if (element !== marker) return element
      waiting = false
      return wrap.partial(newest)
    }
  }
}

/**
 * What BamlHttp sends for one element: an event says whether it is the final value; a bare value is a partial (the
 * final one is known only when the stream ends, and is sent again then).
 */
export const messageOf = (element: unknown): { readonly event: "partial" | "final"; readonly data: unknown } =>
  isStreamEvent(element)
    ? { event: element._tag === "Final" ? "final" : "partial", data: element.value }
    : { event: "partial", data: element }
