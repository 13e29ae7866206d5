import { describe, expect, it } from "@effect/vitest"
import * as TripWire from "../src/core/engine/tripWire.js"

describe("the trip-wire", () => {
  it("tripping an armed wire aborts its signal, once", () => {
    const wire = TripWire.make()
    let aborts = 0
    wire.signal.addEventListener("abort", () => aborts++)
    expect(wire.tripped).toBe(false)
    TripWire.trip(wire)
    TripWire.trip(wire)
    expect(wire.tripped).toBe(true)
    expect(aborts).toBe(1)
  })

  it("a wire disarmed by the engine settling is never tripped", () => {
    const wire = TripWire.make()
    TripWire.disarm(wire)
    TripWire.trip(wire)
    expect(wire.signal.aborted).toBe(false)
    expect(wire.tripped).toBe(false)
  })

  it("a releasable callback forwards until it is released, then lets go of its target", () => {
    const calls: Array<number> = []
    const callback = TripWire.releasable((n: number) => void calls.push(n))
    callback.call(1)
    callback.release()
    callback.call(2)
    expect(calls).toEqual([1])
  })
})
