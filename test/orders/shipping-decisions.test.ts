// The shipping decisions as tables: what an operator may ask, what the virtual-goods rule adds to a
// payment, what each upload attempt and answer writes, what get_order and a settlement push change,
// and when the alarm is due. Pure: no storage, no WeChat.
import { describe, expect, it } from "vitest";
import * as decide from "../../src/orders/decisions";
import type { Order, OrderSnapshot, Refund } from "../../src/orders/order-record";
import type { OrderState } from "../../src/orders/order-state";
import { NO_SHIPPING, type Shipping, type ShippingRequest } from "../../src/orders/shipping";
import * as ship from "../../src/orders/shipping-decisions";
import { LOGISTICS_TYPES, WECHAT_SHIPPING_STATES } from "../../src/orders/shipping";
import { LOGISTICS_TYPE_CODES, SHIPPING_ORDER_STATES } from "../../src/wechat/mp";

const T0 = Date.UTC(2026, 11, 1, 6, 0, 0);
const PAID_AT = T0 + 60_000;
const TX = "4200000000000000000000000001";
const half = () => 0.5;

function order(state: OrderState, patch: Partial<Order> = {}): Order {
  const paid = state !== "pending" && state !== "closing" && state !== "closed" && state !== "failed";
  return {
    id: "20261201140000abcdefghijklmnopqr", openid: "o-payer", state, amount: 1800, description: "Coffee", items: [], requestHash: "h", clientIp: "203.0.113.7",
    transactionId: paid ? TX : null, createdAt: T0, paidAt: paid ? PAID_AT : null, expiresAt: T0 + 1_800_000, prepayId: null, prepayIssuedAt: null,
    lastQueriedAt: null, paidAfterClose: false, nextCheckAt: null, checkAttempts: 0, ...patch,
  };
}

const snap = (state: OrderState, shipping: Partial<Shipping> = {}, patch: Partial<Order> = {}, refunds: Refund[] = []): OrderSnapshot => ({
  order: order(state, patch), refunds, shipping: { ...NO_SHIPPING, ...shipping },
});

const EXPRESS: ShippingRequest = { logisticsType: "express", packages: [{ trackingNo: "SF1", expressCompany: "SF", itemDesc: "Beans" }], split: false, isAllDelivered: null };
const UPLOADING: Partial<Shipping> = { status: "uploading", request: EXPRESS, requestedBy: "admin", requestedAt: T0 + 100_000, attempts: 1, nextAttemptAt: T0 + 130_000 };
const pkg = { trackingNo: "SF1", expressCompany: "SF", itemDesc: "Beans" };

describe("shippingRequestFrom: the operator's input", () => {
  it.each([
    ["one express parcel", { logisticsType: "express", packages: [pkg] }, { logisticsType: "express", packages: [pkg], split: false, isAllDelivered: null }],
    ["a split express delivery", { logisticsType: "express", packages: [pkg, pkg], split: true, isAllDelivered: false }, { packages: [pkg, pkg], split: true, isAllDelivered: false }],
    ["virtual goods", { logisticsType: "virtual", itemDesc: "Course" }, { logisticsType: "virtual", packages: [{ itemDesc: "Course" }], split: false, isAllDelivered: null }],
    ["same-city delivery", { logisticsType: "same_city", itemDesc: "Cake" }, { packages: [{ itemDesc: "Cake" }] }],
    ["pickup", { logisticsType: "pickup", itemDesc: "Cake" }, { packages: [{ itemDesc: "Cake" }] }],
  ] as const)("takes %s", (_what, input, request) => {
    const result = ship.shippingRequestFrom(input);
    expect(result).toEqual({ ok: true, request: expect.objectContaining(request) });
  });

  it.each([
    [{ logisticsType: "express" }, "packages is required"],
    [{ logisticsType: "express", packages: [pkg, pkg] }, "split: true"],
    [{ logisticsType: "express", packages: [pkg], split: true }, "isAllDelivered is required"],
    [{ logisticsType: "express", packages: [pkg], isAllDelivered: true }, "split delivery only"],
    [{ logisticsType: "express", packages: [pkg], itemDesc: "x" }, "each package"],
    [{ logisticsType: "virtual" }, "itemDesc is required"],
    [{ logisticsType: "virtual", itemDesc: "x", packages: [pkg] }, "express only"],
    [{ logisticsType: "pickup", itemDesc: "x", split: true }, "express only"],
  ] as const)("refuses %j: %s", (input, problem) => {
    const result = ship.shippingRequestFrom(input);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.problem).toContain(problem);
  });
});

describe("decideShippingRequest", () => {
  it.each(["pending", "closing", "closed", "failed", "refunded"] as const)("refuses a %s order, writing nothing", (state) => {
    const decision = ship.decideShippingRequest(snap(state), EXPRESS, T0);
    expect(decision.result).toEqual({ ok: false, error: { reason: "not_shippable", status: state === "closing" ? "pending" : state } });
    expect(decide.isEmptyChange(decision.change)).toBe(true);
  });

  it.each(["paid", "partially_refunded"] as const)("stores a %s order's request as uploading, due at once", (state) => {
    const decision = ship.decideShippingRequest(snap(state), EXPRESS, T0 + 5_000);
    expect(decision.result.ok).toBe(true);
    expect(decision.change.shipping).toEqual({ status: "uploading", request: EXPRESS, requestedBy: "admin", requestedAt: T0 + 5_000, attempts: 0, lastAttemptAt: null, nextAttemptAt: T0 + 5_000, lastError: null, uncertain: false });
  });

  it("allows the one re-shipment after an upload, or a new try after a failure", () => {
    expect(ship.decideShippingRequest(snap("paid", { status: "uploaded", shipments: 1 }), EXPRESS, T0).result.ok).toBe(true);
    expect(ship.decideShippingRequest(snap("paid", { status: "failed", shipments: 0 }), EXPRESS, T0).result.ok).toBe(true);
  });

  it.each([
    [{ status: "uploading" as const }, "shipping_in_progress"],
    [{ status: "uploaded" as const, shipments: 2 }, "reshipment_used_up"],
  ])("refuses while %j: %s", (shipping, reason) => {
    expect(ship.decideShippingRequest(snap("paid", shipping), EXPRESS, T0).result).toEqual({ ok: false, error: { reason } });
  });
});

describe("withVirtualShipping: the payment and its virtual-goods upload in one change", () => {
  const pay = (s: OrderSnapshot, at: number, paidAt = PAID_AT) => decide.onPaymentConfirmed(s, { transactionId: TX, totalFee: "1800", paidAt }, "notify", at);

  it("adds the upload, due a minute after the payment, with the order's description", () => {
    const decision = ship.withVirtualShipping(pay(snap("pending"), PAID_AT + 2_000));
    expect(decision.change.shipping).toEqual({
      status: "uploading", request: ship.virtualGoods("Coffee"), requestedBy: "auto", requestedAt: PAID_AT + 2_000, attempts: 0, nextAttemptAt: PAID_AT + ship.VIRTUAL_SHIPPING_DELAY_MS,
    });
    expect(decision.next.shipping.status).toBe("uploading");
    expect(decide.nextDueAt(decision.next)).toBe(PAID_AT + ship.VIRTUAL_SHIPPING_DELAY_MS);
  });

  it("is due at once for a payment learned of late (by the alarm's query)", () => {
    expect(ship.withVirtualShipping(pay(snap("pending"), PAID_AT + 3_600_000)).change.shipping.nextAttemptAt).toBe(PAID_AT + 3_600_000);
  });

  it("cuts the description to 120 characters, counting code points", () => {
    expect(ship.virtualGoods("☕".repeat(130)).packages[0]!.itemDesc).toBe("☕".repeat(120));
  });

  it.each([
    ["a payment after the order was closed here", snap("closed"), {}],
    ["a repeated notification", snap("paid"), {}],
    ["an order whose shipping is known", snap("pending", { status: "failed" }), {}],
    ["an order already settled", snap("pending", { settledAt: T0 }), {}],
  ])("adds nothing for %s", (_what, s) => {
    expect(ship.withVirtualShipping(pay(s, PAID_AT)).change.shipping).toEqual({});
  });
});

describe("decideShippingStep: one upload attempt", () => {
  it("does nothing before the attempt is due", () => {
    const decision = ship.decideShippingStep(snap("paid", UPLOADING), T0 + 129_999, half);
    expect(decision.result).toEqual({ kind: "nothing" });
    expect(decide.isEmptyChange(decision.change)).toBe(true);
  });

  it("stores the attempt before the call, with when to try again", () => {
    const decision = ship.decideShippingStep(snap("paid", UPLOADING), T0 + 130_000, half);
    expect(decision.result).toEqual({ kind: "upload", request: EXPRESS });
    expect(decision.change.shipping).toEqual({ attempts: 2, lastAttemptAt: T0 + 130_000, nextAttemptAt: T0 + 130_000 + 45_000 });
  });

  it("asks get_order first when the last attempt's answer was lost", () => {
    const decision = ship.decideShippingStep(snap("paid", { ...UPLOADING, uncertain: true }), T0 + 130_000, half);
    expect(decision.result).toEqual({ kind: "check" });
    expect(decision.change.shipping.attempts).toBeUndefined();
  });

  it("sends a re-shipment again when its last answer was lost: get_order says 'shipped' since the first upload", () => {
    const decision = ship.decideShippingStep(snap("paid", { ...UPLOADING, shipments: 1, uncertain: true }), T0 + 130_000, half);
    expect(decision.result).toEqual({ kind: "upload", request: EXPRESS });
    expect(decision.next.shipping).toMatchObject({ attempts: 2, uncertain: true });
  });

  it("fails without a call once the order was refunded in full", () => {
    const decision = ship.decideShippingStep(snap("refunded", UPLOADING), T0 + 130_000, half);
    expect(decision.result).toEqual({ kind: "nothing" });
    expect(decision.next.shipping).toMatchObject({ status: "failed", nextAttemptAt: null, lastError: expect.stringContaining("refunded") });
  });
});

describe("onShippingUploadResult", () => {
  const at = T0 + 200_000;
  const failed = (retry: boolean, code: string | null, uncertain = false): ship.UploadOutcome => ({ kind: "failed", retry, uncertain, code, advice: code === null ? "no answer" : `${code}: what to do` });

  it("ends an upload as uploaded, with order.shipped; the second time as a re-shipment", () => {
    const first = ship.onShippingUploadResult(snap("paid", UPLOADING), { kind: "uploaded" }, at);
    expect(first.next.shipping).toMatchObject({ status: "uploaded", uploadedAt: at, shipments: 1, nextAttemptAt: null, lastError: null });
    expect(first.change.events.map((e) => [e.type, e.id])).toEqual([["order.shipped", "evt_20261201140000abcdefghijklmnopqr.shipped"]]);
    const second = ship.onShippingUploadResult(snap("paid", { ...UPLOADING, shipments: 1 }), { kind: "uploaded" }, at);
    expect(second.change.events.map((e) => e.id)).toEqual(["evt_20261201140000abcdefghijklmnopqr.reshipped"]);
    expect(JSON.parse(second.change.events[0]!.body).data.shipping).toMatchObject({ status: "uploaded", logisticsType: "express" });
  });

  it.each([
    ["a passing failure", failed(true, "-1"), { status: "uploading", lastError: "-1: what to do", uncertain: false }],
    ["a lost answer", failed(true, null, true), { status: "uploading", lastError: "no answer", uncertain: true }],
    ["a final refusal", failed(false, "10060004"), { status: "failed", lastError: "10060004: what to do", nextAttemptAt: null }],
    ["'payment not found' in the first half hour", failed(true, "10060001"), { status: "uploading" }],
  ])("keeps %s as %j", (_what, outcome, shipping) => {
    expect(ship.onShippingUploadResult(snap("paid", UPLOADING), outcome, at).next.shipping).toMatchObject(shipping);
  });

  describe("a re-shipment whose earlier answer was lost", () => {
    const reshipping = { ...UPLOADING, shipments: 1, uncertain: true };

    it("is uploaded when WeChat refuses it again as the one re-shipment used up (10060003): the lost attempt landed", () => {
      const decision = ship.onShippingUploadResult(snap("paid", reshipping), failed(false, "10060003"), at);
      expect(decision.next.shipping).toMatchObject({ status: "uploaded", shipments: 2, uncertain: false, lastError: null });
      expect(decision.change.events.map((e) => e.id)).toEqual(["evt_20261201140000abcdefghijklmnopqr.reshipped"]);
    });

    it("stays in doubt through later passing failures", () => {
      expect(ship.onShippingUploadResult(snap("paid", reshipping), failed(true, "-1"), at).next.shipping).toMatchObject({ status: "uploading", uncertain: true });
    });

    it("fails on 10060003 when no earlier attempt may have landed: someone else used the re-shipment", () => {
      expect(ship.onShippingUploadResult(snap("paid", { ...reshipping, uncertain: false }), failed(false, "10060003"), at).next.shipping.status).toBe("failed");
    });
  });

  it("fails 'payment not found' half an hour after the payment, and any passing failure a day after the request", () => {
    expect(ship.onShippingUploadResult(snap("paid", UPLOADING), failed(true, "10060001"), PAID_AT + ship.PAYMENT_NOT_FOUND_WINDOW_MS + 1).next.shipping.status).toBe("failed");
    const late = ship.onShippingUploadResult(snap("paid", UPLOADING), failed(true, "-1"), T0 + 100_000 + ship.SHIPPING_RETRY_WINDOW_MS + 1);
    expect(late.next.shipping).toMatchObject({ status: "failed", lastError: "gave up after 1 attempts over a day: -1: what to do" });
  });

  it("changes nothing for an upload no longer under way", () => {
    expect(decide.isEmptyChange(ship.onShippingUploadResult(snap("paid", { status: "uploaded", shipments: 1 }), { kind: "uploaded" }, at).change)).toBe(true);
  });
});

describe("onShippingChecked: what get_order says", () => {
  const uncertain = { ...UPLOADING, uncertain: true };
  it.each([
    ["to_ship", "send", { status: "uploading", uncertain: false, nextAttemptAt: T0 + 300_000 }],
    ["shipped", "settled", { status: "uploaded", shipments: 1 }],
    ["settlement_pending", "settled", { status: "uploaded" }],
    ["refunded", "settled", { status: "failed" }],
  ] as const)("for an upload under way, %s → %s", (state, result, shipping) => {
    const decision = ship.onShippingChecked(snap("paid", uncertain), { kind: "answered", state }, T0 + 300_000);
    expect(decision.result).toBe(result);
    expect(decision.next.shipping).toMatchObject({ ...shipping, wechatState: state, checkedAt: T0 + 300_000 });
  });

  it("for a re-shipment under way, 'shipped' tells nothing (so it was since the first upload): only the state is recorded", () => {
    const decision = ship.onShippingChecked(snap("paid", { ...uncertain, shipments: 1 }), { kind: "answered", state: "shipped" }, T0 + 300_000);
    expect(decision.result).toBe("unchanged");
    expect(decision.change.shipping).toEqual({ wechatState: "shipped", checkedAt: T0 + 300_000 });
  });

  it("only records the state of an upload already done", () => {
    const decision = ship.onShippingChecked(snap("paid", { status: "uploaded", shipments: 1 }), { kind: "answered", state: "received" }, T0);
    expect(decision.change.shipping).toEqual({ wechatState: "received", checkedAt: T0 });
  });

  it("notes a check that failed and changes nothing else", () => {
    expect(ship.onShippingChecked(snap("paid", uncertain), { kind: "failed", advice: "-1: busy" }, T0).change.shipping).toEqual({ lastError: "-1: busy" });
  });

  it("is asked by the operator's view for an upload WeChat has or may have, at most every 5 s", () => {
    expect(ship.shouldCheckShipping(snap("paid", { status: "uploaded" }), T0)).toBe(true);
    expect(ship.shouldCheckShipping(snap("paid", { status: "uploaded", checkedAt: T0 - 4_999 }), T0)).toBe(false);
    expect(ship.shouldCheckShipping(snap("paid", uncertain), T0)).toBe(true);
    expect(ship.shouldCheckShipping(snap("paid", UPLOADING), T0)).toBe(false);
    expect(ship.shouldCheckShipping(snap("paid"), T0)).toBe(false);
  });
});

describe("onSettlement", () => {
  const settled: ship.SettlementReport = { transactionId: TX, phase: "settled", settledAt: T0 + 8 * 86_400_000, estimatedSettlementAt: T0 + 7 * 86_400_000 };

  it("records the settlement once, with order.settled", () => {
    const decision = ship.onSettlement(snap("paid", { status: "uploaded", shipments: 1 }), settled, T0);
    expect(decision.result).toEqual({ ok: true, value: "applied" });
    expect(decision.change.shipping).toEqual({ settledAt: settled.settledAt, estimatedSettlementAt: settled.estimatedSettlementAt });
    expect(decision.change.events.map((e) => e.type)).toEqual(["order.settled"]);
    const again = ship.onSettlement(decision.next, settled, T0 + 1);
    expect(again.result).toEqual({ ok: true, value: "repeated" });
    expect(decide.isEmptyChange(again.change)).toBe(true);
  });

  it("records the estimate of a delivery notice, without an event", () => {
    const decision = ship.onSettlement(snap("paid", { status: "uploaded" }), { ...settled, phase: "shipped", settledAt: null }, T0);
    expect(decision.change.shipping).toEqual({ estimatedSettlementAt: settled.estimatedSettlementAt });
    expect(decision.change.events).toEqual([]);
  });

  it("ends an upload still under way: WeChat has shipping information already", () => {
    expect(ship.onSettlement(snap("paid", UPLOADING), settled, T0).next.shipping).toMatchObject({ status: "uploaded", nextAttemptAt: null, settledAt: settled.settledAt });
  });

  it("refuses a push naming another transaction, writing nothing", () => {
    const decision = ship.onSettlement(snap("paid"), { ...settled, transactionId: "4200000000000000000000000002" }, T0);
    expect(decision.result).toEqual({ ok: false, error: { reason: "settlement_mismatch" } });
    expect(decide.isEmptyChange(decision.change)).toBe(true);
  });
});

describe("nextDueAt", () => {
  it("includes an upload under way, and nothing of shipping otherwise", () => {
    expect(decide.nextDueAt(snap("paid", UPLOADING))).toBe(T0 + 130_000);
    expect(decide.nextDueAt(snap("paid", { status: "uploaded", nextAttemptAt: null }))).toBeNull();
    expect(decide.nextDueAt(snap("paid", { status: "failed", nextAttemptAt: null }))).toBeNull();
  });
});

describe("the order core's shipping words", () => {
  // The order core names logistics types and get_order's states itself (it knows nothing of the
  // protocol layer); the adapter passes them through as they are, so the two lists must agree.
  it("are the protocol layer's, in WeChat's order", () => {
    expect([...LOGISTICS_TYPES]).toEqual(Object.keys(LOGISTICS_TYPE_CODES));
    expect([...WECHAT_SHIPPING_STATES]).toEqual(Object.values(SHIPPING_ORDER_STATES));
  });
});
