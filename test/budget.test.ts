/** The token budget's arithmetic and rule (src/core/usage/budget.ts, shared by both lines), without a runtime. */
import { describe, expect, it } from "@effect/vitest"
import * as Budget from "../src/core/usage/budget.js"

const used = (fields: Partial<Budget.Used> = {}): Budget.Used => ({
  inputTokens: 0,
  outputTokens: 0,
  cachedInputTokens: 0,
  cost: 0,
  ...fields
})

describe("the budget's arithmetic", () => {
  const prices: Budget.Cost = { max: 10, perMillionInputTokens: 1, perMillionOutputTokens: 2 }

  it("a cost without prices is 0", () => {
    expect(Budget.costOf(undefined, 1_000_000, 1_000_000, 0)).toBe(0)
  })

  it("a cost prices input, output and cached input tokens per million, cached ones at the input price by default", () => {
    // 600k uncached input at 1, 400k cached at 1, 1M output at 2
    expect(Budget.costOf(prices, 1_000_000, 1_000_000, 400_000)).toBeCloseTo(3, 10)
    // 600k uncached input at 1, 400k cached at 0.5, 1M output at 2
    expect(Budget.costOf({ ...prices, perMillionCachedInputTokens: 0.5 }, 1_000_000, 1_000_000, 400_000))
      .toBeCloseTo(2.8, 10)
    expect(Budget.costOf(prices, 2_000_000, 0, 0)).toBeCloseTo(2, 10)
    expect(Budget.costOf(prices, 0, 3_000_000, 0)).toBeCloseTo(6, 10)
    // prices other than 1 are multiplied, never divided
    expect(Budget.costOf({ ...prices, perMillionInputTokens: 4 }, 500_000, 0, 0)).toBeCloseTo(2, 10)
  })

  it("cached tokens reported above the input count are never a negative uncached count", () => {
    const cost = { ...prices, perMillionCachedInputTokens: 0.5 }
    expect(Budget.costOf(cost, 1_000_000, 0, 3_000_000)).toBeCloseTo(1.5, 10)
  })

  it("a counter adds what it is given, each count on its own, and prices the total", () => {
    const counter = Budget.counter({ cost: { ...prices, perMillionCachedInputTokens: 0.5 } })
    expect(counter.unsafeUsed()).toEqual(used())
    counter.unsafeAdd({ outputTokens: 500_000 })
    counter.unsafeAdd({ inputTokens: 1_000_000, cachedInputTokens: 200_000 })
    counter.unsafeAdd({ inputTokens: 1_000_000, outputTokens: 500_000, cachedInputTokens: 200_000 })
    counter.unsafeAdd({})
    const total = counter.unsafeUsed()
    expect(total).toMatchObject({ inputTokens: 2_000_000, outputTokens: 1_000_000, cachedInputTokens: 400_000 })
    // 1.6M uncached at 1, 400k cached at 0.5, 1M output at 2
    expect(total.cost).toBeCloseTo(3.8, 10)
  })

  it("a counter without prices costs nothing", () => {
    const counter = Budget.counter({ maxOutputTokens: 10 })
    counter.unsafeAdd({ inputTokens: 5, outputTokens: 7 })
    expect(counter.unsafeUsed()).toEqual(used({ inputTokens: 5, outputTokens: 7 }))
  })
})

describe("the budget's rule", () => {
  it("before a call: refused once a limit is reached, not before", () => {
    const limits: Budget.Options = { maxOutputTokens: 100 }
    expect(Budget.isSpent(limits, used({ outputTokens: 99 }), "before-start")).toBe(false)
    expect(Budget.isSpent(limits, used({ outputTokens: 100 }), "before-start")).toBe(true)
    expect(Budget.isSpent(limits, used({ outputTokens: 101 }), "before-start")).toBe(true)
  })

  it("while a stream runs: cut off once a limit is passed, so a stream may use exactly what is left", () => {
    const limits: Budget.Options = { maxOutputTokens: 100 }
    expect(Budget.isSpent(limits, used({ outputTokens: 100 }), "while-running")).toBe(false)
    expect(Budget.isSpent(limits, used({ outputTokens: 101 }), "while-running")).toBe(true)
  })

  it("the cost limit follows the same rule, on its own", () => {
    const limits: Budget.Options = { cost: { max: 1, perMillionInputTokens: 1, perMillionOutputTokens: 1 } }
    expect(Budget.isSpent(limits, used({ cost: 0.5, outputTokens: 1e9 }), "before-start")).toBe(false)
    expect(Budget.isSpent(limits, used({ cost: 1 }), "before-start")).toBe(true)
    expect(Budget.isSpent(limits, used({ cost: 1 }), "while-running")).toBe(false)
    expect(Budget.isSpent(limits, used({ cost: 1.5 }), "while-running")).toBe(true)
  })

  it("either limit spends a budget with both", () => {
    const limits: Budget.Options = {
      maxOutputTokens: 100,
      cost: { max: 1, perMillionInputTokens: 1, perMillionOutputTokens: 1 }
    }
    expect(Budget.isSpent(limits, used({ outputTokens: 50, cost: 0.5 }), "before-start")).toBe(false)
    expect(Budget.isSpent(limits, used({ outputTokens: 100, cost: 0.5 }), "before-start")).toBe(true)
    expect(Budget.isSpent(limits, used({ outputTokens: 50, cost: 1 }), "before-start")).toBe(true)
  })

  it("a budget without limits is never spent", () => {
    expect(Budget.isSpent({}, used({ outputTokens: 1e9, cost: 1e9 }), "before-start")).toBe(false)
    expect(Budget.isSpent({}, used({ outputTokens: 1e9, cost: 1e9 }), "while-running")).toBe(false)
  })
})

describe("BudgetExceeded's fields", () => {
  it("a call refused before it started: the tokens used, the limit, and that it was not started", () => {
    expect(Budget.exceeded({ maxOutputTokens: 100 }, used({ outputTokens: 100 }), "ExtractResume", 0)).toStrictEqual({
      message: "Token budget exceeded (100 of 100 output tokens used): ExtractResume was not started",
      functionName: "ExtractResume",
      outputTokens: 100,
      callOutputTokens: 0,
      maxOutputTokens: 100
    })
  })

  it("a stream cut off: its own tokens, and the estimated cost against its cap", () => {
    const cost: Budget.Cost = { max: 0.5, perMillionInputTokens: 1, perMillionOutputTokens: 1 }
    // strictly: a limit the budget does not have is no field at all
    expect(Budget.exceeded({ cost }, used({ outputTokens: 7, cost: 0.5000004 }), "Story", 3)).toStrictEqual({
      message: "Token budget exceeded (an estimated cost of 0.500000 of 0.5): Story was cut off after 3 output tokens",
      functionName: "Story",
      outputTokens: 7,
      callOutputTokens: 3,
      cost: 0.5000004,
      maxCost: 0.5
    })
  })

  it("with both limits, both are named", () => {
    const cost: Budget.Cost = { max: 2, perMillionInputTokens: 1, perMillionOutputTokens: 1 }
    const fields = Budget.exceeded({ maxOutputTokens: 10, cost }, used({ outputTokens: 11, cost: 1.25 }), "F", 11)
    expect(fields.message).toBe(
      "Token budget exceeded (11 of 10 output tokens used, an estimated cost of 1.250000 of 2): F was cut off after 11 output tokens"
    )
    expect(fields).toMatchObject({ maxOutputTokens: 10, cost: 1.25, maxCost: 2 })
  })
})
