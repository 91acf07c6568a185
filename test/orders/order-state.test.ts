// The order state machine, as a table: every (from, to, source) and what it does.
import { describe, expect, it } from "vitest";
import { checkTransition, ORDER_STATUSES, publicStatus, type OrderStatus, type TransitionSource } from "../../src/orders/order-state";

const SOURCES: TransitionSource[] = ["api", "notify", "query", "close", "alarm", "admin"];

/** The transitions that change something, and who may cause them. */
const ALLOWED: Record<string, TransitionSource[]> = {
  "pending→paid": ["notify", "query", "close", "alarm"],
  "pending→closed": SOURCES,
  "pending→failed": SOURCES,
  "failed→paid": ["notify", "query", "close", "alarm"],
  "failed→closed": SOURCES,
  "closed→paid": ["notify", "query", "close", "alarm"],
  "paid→partially_refunded": SOURCES,
  "paid→refunded": SOURCES,
  "partially_refunded→refunded": SOURCES,
};

describe("order transitions", () => {
  for (const from of ORDER_STATUSES) {
    for (const to of ORDER_STATUSES) {
      for (const source of SOURCES) {
        const key = `${from}→${to}`;
        const repeatOfPayment = to === "paid" && (from === "partially_refunded" || from === "refunded") && ALLOWED["pending→paid"]!.includes(source);
        const expected = from === to || repeatOfPayment ? "noop" : ALLOWED[key]?.includes(source) ? "apply" : "illegal";
        it(`${key} by ${source}: ${expected}`, () => {
          expect(checkTransition(from as OrderStatus, to as OrderStatus, source).outcome).toBe(expected);
        });
      }
    }
  }

  it("never lets a client's own call make an order paid", () => {
    for (const from of ORDER_STATUSES) expect(checkTransition(from, "paid", "api").outcome).not.toBe("apply");
  });
});

/** The internal closing state: a pending order whose close has begun. */
describe("closing", () => {
  it.each([
    ["pending", "closing", "close", "apply"],
    ["pending", "closing", "alarm", "apply"],
    ["closing", "closed", "close", "apply"],
    ["closing", "closed", "alarm", "apply"],
    ["closing", "paid", "notify", "apply"],
    ["closing", "paid", "api", "illegal"],
    ["closing", "failed", "api", "illegal"],
    ["closing", "pending", "close", "illegal"],
    ["closing", "closing", "alarm", "noop"],
    ["failed", "closing", "close", "illegal"],
    ["paid", "closing", "close", "illegal"],
  ] as const)("%s→%s by %s: %s", (from, to, source, expected) => {
    expect(checkTransition(from, to, source).outcome).toBe(expected);
  });

  it("is shown as pending; every other state as itself", () => {
    expect(publicStatus("closing")).toBe("pending");
    for (const status of ORDER_STATUSES) expect(publicStatus(status)).toBe(status);
  });
});
