// The order core's decisions as tables: a loaded order (and refunds), a fact, the time → the
// answer, the state after, and what is written. No storage, no WeChat, no clock.
import { describe, expect, it } from "vitest";
import * as decide from "../../src/orders/decisions";
import type { Order, OrderSnapshot, PaymentFact, Refund, RefundOutcome, RefundReport } from "../../src/orders/order-record";
import type { OrderState } from "../../src/orders/order-state";
import type { TradeReport } from "../../src/orders/payment-gateway";
import { REFUND_LIMITS } from "../../src/orders/refund-rules";
import type { RefundState } from "../../src/orders/refund-state";
import { NO_SHIPPING, type Shipping } from "../../src/orders/shipping";
import { refundReport } from "../../src/orders/wechat-adapter";

const T0 = Date.UTC(2026, 11, 1, 6, 0, 0);
const EXPIRES = T0 + 1_800_000;
const half = () => 0.5;

function order(state: OrderState, patch: Partial<Order> = {}): Order {
  return {
    id: "20261201140000abcdefghijklmnopqr", openid: "o-payer", state, amount: 1800, description: "Coffee", items: [], requestHash: "h",
    clientIp: "203.0.113.7", transactionId: state === "pending" || state === "closing" || state === "closed" || state === "failed" ? null : "4200000000000000000000000001",
    createdAt: T0, paidAt: null, expiresAt: EXPIRES, prepayId: null, prepayIssuedAt: null, lastQueriedAt: null, paidAfterClose: false,
    nextCheckAt: state === "pending" || state === "closing" ? EXPIRES + decide.EXPIRY_GRACE_MS : null, checkAttempts: 0, ...patch,
  };
}

function refund(id: string, state: RefundState, patch: Partial<Refund> = {}): Refund {
  return {
    id, amount: 500, reason: null, state, idempotencyKey: null, requestHash: "r", refundId: null, createdAt: T0, submittedAt: null, finishedAt: null,
    failure: null, needsAttention: false, attempts: 0, lastAttemptAt: null, lastCheckedAt: null, nextAttemptAt: null, ...patch,
  };
}

const snap = (o: Order, refunds: Refund[] = [], shipping: Shipping = NO_SHIPPING): OrderSnapshot => ({ order: o, refunds, shipping });
const paid: PaymentFact = { transactionId: "4200000000000000000000000001", totalFee: "1800", paidAt: T0 + 60_000 };

describe("decidePrepare", () => {
  it.each([
    ["pending", T0, {}, { kind: "call" }],
    ["pending", T0, { prepayId: "wx1", prepayIssuedAt: T0 }, { kind: "reuse" }],
    ["pending", T0 + decide.PREPAY_TTL_MS - decide.PREPAY_REUSE_MARGIN_MS, { prepayId: "wx1", prepayIssuedAt: T0, expiresAt: T0 + 3 * 3600_000 }, { kind: "call" }],
    ["pending", EXPIRES, {}, { kind: "refuse", error: { reason: "expired" } }],
    ["closing", T0, {}, { kind: "refuse", error: { reason: "expired" } }],
    ["paid", T0, {}, { kind: "refuse", error: { reason: "already_final", status: "paid" } }],
    ["failed", T0, {}, { kind: "refuse", error: { reason: "already_final", status: "failed" } }],
  ] as const)("%s at %i %o → %o", (state, now, patch, expected) => {
    expect(decide.decidePrepare(order(state, patch), now)).toEqual(expected);
  });
});

describe("onPaymentConfirmed", () => {
  it.each([
    // from, fee, source → result, state after, paidAfterClose, history entries written
    ["pending", "1800", "notify", { ok: true, value: "applied" }, "paid", false, 1],
    ["closing", "1800", "alarm", { ok: true, value: "applied" }, "paid", false, 1],
    ["closed", "1800", "notify", { ok: true, value: "applied" }, "paid", true, 1],
    ["failed", "1800", "query", { ok: true, value: "applied" }, "paid", true, 1],
    ["paid", "1800", "notify", { ok: true, value: "repeated" }, "paid", false, 0],
    ["refunded", "1800", "notify", { ok: true, value: "repeated" }, "refunded", false, 0],
    ["pending", "0180", "notify", { ok: false, error: { reason: "amount_mismatch" } }, "pending", false, 0],
    ["pending", "1800", "api", { ok: false, error: { reason: "illegal_transition", detail: "only WeChat can confirm a payment" } }, "pending", false, 0],
  ] as const)("%s, total_fee %s, by %s → %o, %s", (from, totalFee, source, result, after, flagged, entries) => {
    const d = decide.onPaymentConfirmed(snap(order(from)), { ...paid, totalFee }, source, T0 + 90_000);
    expect(d.result).toEqual(result);
    expect(d.next.order.state).toBe(after);
    expect(d.next.order.paidAfterClose).toBe(flagged);
    expect(d.change.history).toHaveLength(entries);
    if (after === "paid" && from !== "paid") expect(d.change.order).toMatchObject({ state: "paid", transactionId: paid.transactionId, paidAt: paid.paidAt, nextCheckAt: null });
  });

  it("takes the time of the decision when WeChat's time_end is unknown", () => {
    expect(decide.onPaymentConfirmed(snap(order("pending")), { ...paid, paidAt: null }, "notify", T0 + 5).next.order.paidAt).toBe(T0 + 5);
  });
});

describe("the alarm's query (onSettleQuery)", () => {
  const failed = { kind: "failed", failure: { kind: "timeout", note: "timeout" } } as const;
  const answered = (report: TradeReport) => ({ kind: "answered", report }) as const;
  it.each([
    ["paid", answered({ kind: "paid", payment: paid }), EXPIRES + 60_000, "settled", "paid"],
    ["closed at WeChat", answered({ kind: "closed", note: "WeChat says CLOSED" }), EXPIRES + 60_000, "settled", "closed"],
    ["paying", answered({ kind: "paying" }), EXPIRES + 60_000, "later", "pending"],
    ["unpaid, not yet expired", answered({ kind: "unpaid" }), EXPIRES - 1, "later", "pending"],
    ["unpaid, expired", answered({ kind: "unpaid" }), EXPIRES, "closing", "closing"],
    ["unknown to WeChat", answered({ kind: "no_payment" }), EXPIRES + 60_000, "closing", "closing"],
    ["no answer", failed, EXPIRES + 60_000, "later", "pending"],
  ] as const)("%s → %s (%s)", (_what, answer, now, result, state) => {
    const d = decide.onSettleQuery(snap(order("pending")), answer, now, half);
    expect(d.result).toBe(result);
    expect(d.next.order.state).toBe(state);
    if (result === "later") expect(d.next.order).toMatchObject({ checkAttempts: 1, nextCheckAt: now + decide.CHECK_BACKOFF.baseMs * 0.75 });
    // The close keeps the order's check, so an interrupted close is finished by the alarm.
    if (result === "closing") expect(d.next.order.nextCheckAt).toBe(EXPIRES + decide.EXPIRY_GRACE_MS);
    // Closing is not a public status: it writes no history entry.
    if (result === "closing") expect(d.change.history).toEqual([]);
  });

  it.each([
    ["pending", EXPIRES + decide.EXPIRY_GRACE_MS, "query"],
    ["pending", EXPIRES, "nothing"],
    ["closing", EXPIRES + decide.EXPIRY_GRACE_MS, "close"],
    ["paid", EXPIRES + decide.EXPIRY_GRACE_MS, "nothing"],
  ] as const)("decideSettle: %s at %i → %s", (state, now, kind) => {
    expect(decide.decideSettle(order(state), now).kind).toBe(kind);
  });
});

describe("decideClose and onClosed", () => {
  it.each([
    ["pending", { kind: "call" }, "closing"],
    ["closing", { kind: "call" }, "closing"],
    ["failed", { kind: "call" }, "failed"],
    ["closed", { kind: "done" }, "closed"],
    ["paid", { kind: "refuse", error: { reason: "already_final", status: "paid" } }, "paid"],
    ["refunded", { kind: "refuse", error: { reason: "already_final", status: "refunded" } }, "refunded"],
  ] as const)("%s → %o, %s", (state, result, after) => {
    const d = decide.decideClose(snap(order(state)), T0);
    expect(d.result).toEqual(result);
    expect(d.next.order.state).toBe(after);
  });

  it.each([
    ["closing", "closed", [{ from: "pending", to: "closed" }]],
    ["failed", "closed", [{ from: "failed", to: "closed" }]],
    ["paid", "paid", []],
  ] as const)("onClosed: %s → %s", (state, after, history) => {
    const d = decide.onClosed(snap(order(state)), "close", T0);
    expect(d.next.order.state).toBe(after);
    expect(d.change.history).toEqual(history.map((h) => expect.objectContaining(h)));
  });
});

describe("refunds", () => {
  const paidOrder = order("paid");
  it.each([
    ["a first refund", [], 500, { kind: "created" }],
    ["the rest", [refund("R1", "succeeded", { amount: 1300 })], 500, { kind: "created" }],
    ["one fen too many", [refund("R1", "processing", { amount: 1300 })], 501, { kind: "refuse", error: { reason: "refund_exceeds" } }],
    ["after a failed one", [refund("R1", "failed", { amount: 1800 })], 1800, { kind: "created" }],
  ] as const)("decideNewRefund: %s", (_what, refunds, amount, expected) => {
    const d = decide.decideNewRefund(snap(paidOrder, [...refunds]), { id: "R9", amount, reason: null, idempotencyKey: null, requestHash: "q" }, T0);
    expect(d.result).toMatchObject(expected);
    expect(d.change.newRefunds).toHaveLength(expected.kind === "created" ? 1 : 0);
  });

  it.each([
    ["same request", "r", { kind: "replay", refundId: "R1" }],
    ["another request", "other", { kind: "refuse", error: { reason: "idempotency_conflict" } }],
  ] as const)("decideNewRefund with a used Idempotency-Key, %s", (_what, requestHash, expected) => {
    const prior = refund("R1", "processing", { idempotencyKey: "k" });
    expect(decide.decideNewRefund(snap(paidOrder, [prior]), { id: "R2", amount: 100, reason: null, idempotencyKey: "k", requestHash }, T0).result).toEqual(expected);
  });

  it.each([
    ["queued, its turn", [], "submit"],
    ["queued, too soon after another", [refund("R0", "succeeded", { lastAttemptAt: T0 - 1000 })], "wait"],
    ["processing", [], "check"],
  ] as const)("decideRefundStep: %s → %s", (what, others, kind) => {
    const r = refund("R1", what === "processing" ? "processing" : "queued");
    const d = decide.decideRefundStep(snap(paidOrder, [...others, r]), "R1", T0, half);
    expect(d.result.kind).toBe(kind);
    if (kind === "wait") expect(d.change.refunds.get("R1")).toEqual({ nextAttemptAt: T0 - 1000 + REFUND_LIMITS.spacingMs });
    if (kind === "submit") expect(d.change.refunds.get("R1")).toMatchObject({ attempts: 1, lastAttemptAt: T0 });
  });

  const outcomes: [string, RefundState, RefundOutcome, boolean, RefundState, OrderState, boolean][] = [
    // refund state, WeChat's outcome → changed, refund state after, order state after, flagged
    ["processing", "processing", { kind: "succeeded" }, true, "succeeded", "partially_refunded", false],
    ["queued", "queued", { kind: "succeeded" }, true, "succeeded", "partially_refunded", false],
    ["processing closed", "processing", { kind: "failed", note: "REFUNDCLOSE" }, true, "failed", "paid", false],
    ["processing abnormal", "processing", { kind: "attention" }, true, "processing", "paid", true],
    ["still processing", "processing", { kind: "processing" }, false, "processing", "paid", false],
    ["already succeeded", "succeeded", { kind: "failed", note: "REFUNDCLOSE" }, false, "succeeded", "paid", false],
    ["already failed", "failed", { kind: "succeeded" }, false, "failed", "paid", false],
  ];
  it.each(outcomes)("onRefundOutcome: %s", (_what, state, outcome, changed, after, orderAfter, flagged) => {
    const d = decide.onRefundOutcome(snap(paidOrder, [refund("R1", state)]), "R1", outcome, "query", "5000", T0);
    expect(d.result).toBe(changed);
    expect(d.next.refunds[0]).toMatchObject({ state: after, needsAttention: flagged });
    expect(d.next.order.state).toBe(orderAfter);
    expect(d.change.refundHistory).toHaveLength(changed ? 1 : 0);
  });

  it("refunds the order fully when the refunds that succeeded add up to its amount", () => {
    const d = decide.onRefundOutcome(snap(paidOrder, [refund("R0", "succeeded", { amount: 1300 }), refund("R1", "processing")]), "R1", { kind: "succeeded" }, "notify", null, T0);
    expect(d.next.order.state).toBe("refunded");
    expect(d.change.history).toEqual([expect.objectContaining({ from: "paid", to: "refunded", note: "refund R1 of 500 fen" })]);
  });

  it.each([
    ["its refund and amounts", {}, { ok: true, value: "applied" }],
    ["another order", { orderId: "20261201140000zzzzzzzzzzzzzzzzzz" }, { ok: false, error: { reason: "refund_not_found" } }],
    ["an unknown refund", { refundId: "R404" }, { ok: false, error: { reason: "refund_not_found" } }],
    ["another refund amount", { refundFee: "501" }, { ok: false, error: { reason: "refund_amount_mismatch" } }],
    ["another order amount", { totalFee: "1801" }, { ok: false, error: { reason: "refund_amount_mismatch" } }],
  ] as const)("onRefundReport naming %s", (_what, patch, expected) => {
    const report: RefundReport = { orderId: paidOrder.id, refundId: "R1", refundFee: "500", totalFee: "1800", wechatRefundId: "5000", outcome: { kind: "succeeded" }, ...patch };
    expect(decide.onRefundReport(snap(paidOrder, [refund("R1", "processing")]), report, T0).result).toEqual(expected);
  });

  it.each([
    ["queued, never sent", refund("R1", "queued"), false, { kind: "cancel" }],
    ["queued, tried before", refund("R1", "queued", { attempts: 1 }), false, { kind: "ask" }],
    ["queued, being sent", refund("R1", "queued"), true, { kind: "refuse", error: { reason: "refund_not_cancellable", detail: "it is being sent to WeChat right now" } }],
    ["processing", refund("R1", "processing"), false, { kind: "refuse", error: { reason: "refund_not_cancellable", detail: "WeChat has it" } }],
    ["succeeded", refund("R1", "succeeded"), false, { kind: "refuse", error: { reason: "refund_not_cancellable", detail: "it is already succeeded" } }],
    ["already cancelled", refund("R1", "failed", { failure: "cancelled" }), false, { kind: "done" }],
  ] as const)("decideCancel: %s", (_what, r, busy, expected) => {
    expect(decide.decideCancel(snap(paidOrder, [r]), "R1", busy)).toEqual(expected);
  });
});

describe("nextDueAt", () => {
  it.each([
    ["a pending order", order("pending"), [], EXPIRES + decide.EXPIRY_GRACE_MS],
    ["a closing order", order("closing", { nextCheckAt: T0 + 30_000 }), [], T0 + 30_000],
    ["a paid order", order("paid"), [], null],
    ["a refund due before", order("paid"), [refund("R1", "queued", { nextAttemptAt: T0 + 5 }), refund("R2", "processing", { nextAttemptAt: T0 + 1 })], T0 + 1],
    ["final refunds", order("paid"), [refund("R1", "succeeded", { nextAttemptAt: T0 })], null],
  ] as const)("%s → %s", (_what, o, refunds, due) => {
    expect(decide.nextDueAt(snap(o, [...refunds]))).toBe(due);
  });
});

describe("WeChat's refund statuses, mapped once", () => {
  it.each([
    ["SUCCESS", { kind: "succeeded" }],
    ["REFUNDCLOSE", { kind: "failed", note: "REFUNDCLOSE" }],
    ["FAIL", { kind: "failed", note: "FAIL" }],
    ["CHANGE", { kind: "attention" }],
    ["PROCESSING", { kind: "processing" }],
    ["SOMETHING_NEW", { kind: "processing" }],
  ] as const)("%s → %o", (refundStatus, outcome) => {
    const notice = { outRefundNo: "R1", outTradeNo: "O1", refundId: "5000", totalFee: "1800", refundFee: "500", refundStatus, fields: {} };
    expect(refundReport(notice).outcome).toEqual(outcome);
  });
});
