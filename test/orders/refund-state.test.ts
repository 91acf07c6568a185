// The refund state machine, as a table: every (state, event) and where it leads.
import { describe, expect, it } from "vitest";
import { REFUND_EVENTS, REFUND_STATES, refundTransition, type RefundEvent, type RefundState } from "../../src/orders/refund-state";

/** The moves that apply; every other (state, event) is refused and changes nothing. */
const MOVES: Partial<Record<`${RefundState} ${RefundEvent}`, RefundState>> = {
  "queued accepted": "processing",
  "processing lost": "queued",
  "queued succeeded": "succeeded",
  "processing succeeded": "succeeded",
  "queued failed": "failed",
  "processing failed": "failed",
  "queued flagged": "queued",
  "processing flagged": "processing",
  "queued cancelled": "failed",
};

const cases = REFUND_STATES.flatMap((from) => REFUND_EVENTS.map((event) => [from, event, MOVES[`${from} ${event}`] ?? null] as const));

describe("refund transitions", () => {
  it.each(cases)("%s + %s → %s", (from, event, to) => {
    expect(refundTransition(from, event)).toEqual(to === null ? { outcome: "illegal" } : { outcome: "apply", to });
  });

  it("never moves a final refund", () => {
    for (const event of REFUND_EVENTS) {
      expect(refundTransition("succeeded", event).outcome).toBe("illegal");
      expect(refundTransition("failed", event).outcome).toBe("illegal");
    }
  });
});
