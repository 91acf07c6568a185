// The outbox's decisions and the order core's events as tables: which change causes which event
// (and its body, fixed then), which event is due next, and what an attempt writes. No storage.
import { describe, expect, it } from "vitest";
import { afterAttempt, eventToSend, newEvent, nextEventDueAt, redelivery, type OutboxEvent } from "../../src/events/outbox";
import { MAX_ATTEMPTS, RETRY_DELAYS_MS } from "../../src/events/schedule";
import * as decide from "../../src/orders/decisions";
import type { Order, Refund } from "../../src/orders/order-record";
import { NO_SHIPPING } from "../../src/orders/shipping";

const T0 = Date.UTC(2026, 11, 1, 6, 0, 0);
const ORDER_ID = "20261201140000abcdefghijklmnopqr";

function stored(seq: number, patch: Partial<OutboxEvent> = {}): OutboxEvent {
  return { ...newEvent("order.paid", `${ORDER_ID.slice(0, 30)}${seq}`, T0 + seq, {}), status: "pending", attempts: 0, lastAttemptAt: null, lastError: null, nextAttemptAt: T0 + seq, ...patch };
}

function order(patch: Partial<Order> = {}): Order {
  return {
    id: ORDER_ID, openid: "o-payer", state: "pending", amount: 1800, description: "Coffee", items: [], requestHash: "h", clientIp: "203.0.113.7",
    transactionId: null, createdAt: T0, paidAt: null, expiresAt: T0 + 1_800_000, prepayId: null, prepayIssuedAt: null, lastQueriedAt: null,
    paidAfterClose: false, nextCheckAt: null, checkAttempts: 0, ...patch,
  };
}

describe("newEvent", () => {
  it("names the event after what happened, and fixes the body with the change's time", () => {
    const event = newEvent("refund.succeeded", "20261201140000R0123456789abcdefg", T0, { order: { id: ORDER_ID } });
    expect(event.id).toBe("evt_20261201140000R0123456789abcdefg.succeeded");
    expect(JSON.parse(event.body)).toEqual({ id: event.id, type: "refund.succeeded", timestamp: "2026-12-01T06:00:00.000Z", data: { order: { id: ORDER_ID } } });
  });
});

describe("eventToSend and nextEventDueAt", () => {
  it.each([
    ["nothing stored", [], T0, null, null],
    ["the oldest pending, once due", [stored(1), stored(2)], T0 + 5, 0, T0 + 1],
    ["none before the oldest pending is due", [stored(1, { nextAttemptAt: T0 + 60_000 }), stored(2)], T0 + 5, null, T0 + 60_000],
    ["delivered and failed ones are passed over", [stored(1, { status: "delivered", nextAttemptAt: null }), stored(2, { status: "failed", nextAttemptAt: null }), stored(3)], T0 + 5, 2, T0 + 3],
    ["none when all are settled", [stored(1, { status: "delivered", nextAttemptAt: null })], T0 + 5, null, null],
  ] as const)("%s", (_name, events, now, index, due) => {
    expect(eventToSend(events, now)).toBe(index === null ? null : events[index]);
    expect(nextEventDueAt(events)).toBe(due);
  });
});

describe("afterAttempt", () => {
  it("records a delivery", () => {
    expect(afterAttempt(stored(1, { attempts: 2, lastError: "HTTP 500" }), { delivered: true, status: 204 }, T0 + 9, 0.5)).toEqual({
      status: "delivered", attempts: 3, lastAttemptAt: T0 + 9, lastError: null, nextAttemptAt: null,
    });
  });

  it("schedules the first retry within 60 s, with growing delays", () => {
    const first = afterAttempt(stored(1), { delivered: false, error: "HTTP 500" }, T0, 0.99);
    expect(first).toMatchObject({ status: "pending", attempts: 1, lastError: "HTTP 500" });
    expect(first.nextAttemptAt! - T0).toBeLessThanOrEqual(60_000);
    const later = afterAttempt(stored(1, { attempts: 5 }), { delivered: false, error: "network error" }, T0, 0);
    expect(later.nextAttemptAt! - T0).toBe(RETRY_DELAYS_MS[5]);
  });

  it(`fails the event after attempt ${MAX_ATTEMPTS}`, () => {
    expect(afterAttempt(stored(1, { attempts: MAX_ATTEMPTS - 1 }), { delivered: false, error: "HTTP 502" }, T0, 0.5)).toEqual({
      status: "failed", attempts: MAX_ATTEMPTS, lastAttemptAt: T0, lastError: "HTTP 502", nextAttemptAt: null,
    });
  });

  it("a redelivery is pending again, due now, with a fresh round", () => {
    const failed = stored(1, { status: "failed", attempts: MAX_ATTEMPTS, lastAttemptAt: T0, lastError: "HTTP 502", nextAttemptAt: null });
    expect(redelivery(failed, T0 + 100)).toEqual({ status: "pending", attempts: 0, lastAttemptAt: T0, lastError: "HTTP 502", nextAttemptAt: T0 + 100 });
  });
});

describe("the events a decision writes", () => {
  const fact = { transactionId: "4200000000000000000000000001", totalFee: "1800", paidAt: T0 + 60_000 };

  it("a payment: order.paid with the order as the admin view shows it after the change", () => {
    const { change } = decide.onPaymentConfirmed({ order: order({ state: "closed" }), refunds: [], shipping: NO_SHIPPING }, fact, "notify", T0 + 61_000);
    expect(change.events.map((e) => e.id)).toEqual([`evt_${ORDER_ID}.paid`]);
    expect(JSON.parse(change.events[0]!.body).data.order).toMatchObject({ id: ORDER_ID, status: "paid", transactionId: fact.transactionId, paidAfterClose: true });
  });

  it("a repeated payment, a prepay_id or a query time: no event", () => {
    const paidOrder = order({ state: "paid", transactionId: fact.transactionId, paidAt: fact.paidAt });
    expect(decide.onPaymentConfirmed({ order: paidOrder, refunds: [], shipping: NO_SHIPPING }, fact, "notify", T0).change.events).toEqual([]);
    expect(decide.onPrepared({ order: order(), refunds: [], shipping: NO_SHIPPING }, "wx1", T0).change.events).toEqual([]);
    expect(decide.decideRefresh({ order: order(), refunds: [], shipping: NO_SHIPPING }, T0).change.events).toEqual([]);
  });

  it("a close: order.closed", () => {
    expect(decide.onClosed({ order: order({ state: "closing" }), refunds: [], shipping: NO_SHIPPING }, "close", T0).change.events.map((e) => e.type)).toEqual(["order.closed"]);
  });

  it("a refund that succeeds: refund.succeeded with the refund and the order's new refunded amount", () => {
    const processing: Refund = {
      id: "20261201140000R0123456789abcdefg", amount: 1800, reason: null, state: "processing", idempotencyKey: null, requestHash: "r", refundId: "503", createdAt: T0,
      submittedAt: T0, finishedAt: null, failure: null, needsAttention: false, attempts: 0, lastAttemptAt: null, lastCheckedAt: null, nextAttemptAt: T0 + 300_000,
    };
    const snapshot = { order: order({ state: "paid", transactionId: fact.transactionId, paidAt: fact.paidAt }), refunds: [processing], shipping: NO_SHIPPING };
    const { change } = decide.onRefundOutcome(snapshot, processing.id, { kind: "succeeded" }, "notify", "503", T0 + 1000);
    expect(change.events.map((e) => e.id)).toEqual([`evt_${processing.id}.succeeded`]);
    const data = JSON.parse(change.events[0]!.body).data;
    expect(data.order).toMatchObject({ status: "refunded", refundedAmount: 1800 });
    expect(data.refund).toMatchObject({ id: processing.id, status: "succeeded", amount: 1800 });
  });
});
