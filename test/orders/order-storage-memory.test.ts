// The order object's storage keeps the order in memory between calls (OrderStorage.load): after
// every kind of write, what it holds is what a new instance reads from SQLite, decisions made on an
// older snapshot included.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import * as decide from "../../src/orders/decisions";
import type { OrderSnapshot } from "../../src/orders/order-record";
import { OrderStorage } from "../../src/orders/order-storage";
import { orderObject } from "../../src/orders/order-store";
import { decideShippingRequest, onSettlement } from "../../src/orders/shipping-decisions";

const T0 = Date.UTC(2026, 11, 1, 6, 0, 0);
const ID = "20261201140000StorageMemory00001";
const EXPRESS = { logisticsType: "express", packages: [{ trackingNo: "SF1234567890", expressCompany: "SF", itemDesc: "Coffee beans" }], split: false, isAllDelivered: null } as const;

/** The storage's copy of the order (and the alarm's inputs) against what a new instance reads. */
function expectSameAsStored(store: OrderStorage, storage: DurableObjectStorage): OrderSnapshot {
  const fresh = new OrderStorage(storage);
  const held = { order: store.load(), index: store.indexState(), nextEvent: store.nextEventDueAt() };
  expect(held).toEqual({ order: fresh.load(), index: fresh.indexState(), nextEvent: fresh.nextEventDueAt() });
  return held.order!;
}

describe("the order storage's copy of the order", () => {
  it("stays what is stored through an order's whole life, without reading it again", async () => {
    await runInDurableObject(orderObject(env, ID), (_instance, ctx) => {
      const store = new OrderStorage(ctx.storage);
      expect(store.load()).toBeNull();
      const order = decide.newPendingOrder({
        id: ID, openid: "o-payer", amount: 1800, description: "Coffee", items: [{ sku: "coffee", name: "Coffee", quantity: 1, price: 1800 }],
        requestHash: "h", clientIp: "203.0.113.7", createdAt: T0, expiresAt: T0 + 1_800_000,
      });
      store.create(order, decide.onCreated(order).change);
      let s = expectSameAsStored(store, ctx.storage);
      const step = (decided: decide.Decision<unknown>) => {
        store.commit(decided.change);
        s = expectSameAsStored(store, ctx.storage);
      };

      step(decide.onPrepared(s, "wx201412011400000001", T0 + 1_000));
      step(decide.decideRefresh(s, T0 + 2_000));
      step(decide.onPaymentConfirmed(s, { transactionId: "4200000000000000000000000001", totalFee: "1800", paidAt: T0 + 3_000 }, "notify", T0 + 3_000));
      expect(s.order.state).toBe("paid");
      store.markIndexed(store.indexState()!.version);
      s = expectSameAsStored(store, ctx.storage);

      // Two refunds at the same moment: stored (and listed) by creation time, then id.
      step(decide.decideNewRefund(s, { id: "20261201140010R0000000000000002", amount: 500, reason: null, idempotencyKey: "k2", requestHash: "r2" }, T0 + 10_000));
      step(decide.decideNewRefund(s, { id: "20261201140010R0000000000000001", amount: 300, reason: "cold", idempotencyKey: null, requestHash: "r1" }, T0 + 10_000));
      expect(s.refunds.map((r) => r.amount)).toEqual([300, 500]);
      step(decide.onRefundAccepted(s, "20261201140010R0000000000000001", "50000000000000000000000000001", "api", T0 + 11_000));
      step(decide.onRefundOutcome(s, "20261201140010R0000000000000001", { kind: "succeeded" }, "notify", "50000000000000000000000000001", T0 + 12_000));
      expect(s.order.state).toBe("partially_refunded");
      step(decideShippingRequest(s, EXPRESS, T0 + 13_000));
      expect(s.shipping.status).toBe("uploading");

      // Two decisions made on the same snapshot, committed one after the other: the second's patch
      // lands on what the first left, in SQLite and in the copy alike.
      const before = s;
      const settled = onSettlement(before, { transactionId: "4200000000000000000000000001", phase: "settled", settledAt: T0 + 20_000, estimatedSettlementAt: null }, T0 + 20_000);
      const accepted = decide.onRefundAccepted(before, "20261201140010R0000000000000002", "50000000000000000000000000002", "alarm", T0 + 20_000);
      step(settled);
      step(accepted);
      expect(s.shipping.settledAt).toBe(T0 + 20_000);
      expect(s.refunds.find((r) => r.refundId === "50000000000000000000000000002")?.state).toBe("processing");

      // An event's outcome is written without the copy: the next load reads it again, and agrees.
      const event = store.outbox().find((e) => e.status === "pending")!;
      store.updateEvent(event.id, { status: "delivered", attempts: 1, lastAttemptAt: T0 + 30_000, lastError: null, nextAttemptAt: null });
      expectSameAsStored(store, ctx.storage);
    });
  });

  it("is read again after a failed write, which takes back the table it created", async () => {
    await runInDurableObject(orderObject(env, `${ID.slice(0, -1)}2`), (_instance, ctx) => {
      const store = new OrderStorage(ctx.storage);
      const order = decide.newPendingOrder({
        id: `${ID.slice(0, -1)}2`, openid: "o-payer", amount: 1800, description: "Coffee", items: [{ sku: "coffee", name: "Coffee", quantity: 1, price: 1800 }],
        requestHash: "h", clientIp: "203.0.113.7", createdAt: T0, expiresAt: T0 + 1_800_000,
      });
      store.create(order, decide.onCreated(order).change);
      const paid = decide.onPaymentConfirmed(store.load()!, { transactionId: "4200000000000000000000000001", totalFee: "1800", paidAt: T0 + 3_000 }, "notify", T0 + 3_000);
      store.commit({ ...paid.change, events: [] });
      const refund = decide.decideNewRefund(store.load()!, { id: "20261201140010R0000000000000001", amount: 500, reason: null, idempotencyKey: null, requestHash: "r" }, T0 + 10_000);
      // A refund status the table's CHECK refuses: the refunds table, created by this write, goes with it.
      const broken = { ...refund.change, newRefunds: refund.change.newRefunds.map((r) => ({ ...r, state: "lost" as never })) };
      expect(() => store.commit(broken)).toThrow(/CHECK/);
      expect(ctx.storage.sql.exec("SELECT name FROM sqlite_master WHERE name = 'refunds'").toArray()).toEqual([]);
      expect(expectSameAsStored(store, ctx.storage).order.state).toBe("paid");
      store.commit(refund.change);
      expect(expectSameAsStored(store, ctx.storage).refunds).toHaveLength(1);
    });
  });
});
