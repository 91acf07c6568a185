// Refunds through the operator API: never more than was paid, never twice for one request, the
// outcome known even when WeChat's notification is lost, and refund notifications that fail any
// check change nothing. The same specification in both API versions (test/support/wechat-pay.ts);
// refunds whose request v2's XML cannot carry are in refunds.v2.test.ts.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { REFUND_CHECK_AFTER_MS } from "../../src/orders/decisions";
import { orderObject } from "../../src/orders/order-store";
import { REFUND_LIMITS } from "../../src/orders/refund-rules";
import { errorOf } from "../support/harness";
import type { NotificationPost, RefundClaims, Seal } from "../support/wechat-pay";
import { ADMIN, adminView, advance, clock, h, paidOrder, refund, token, useRig, type RefundBody } from "./rig";
import { writeBehindObject } from "../support/stored";

useRig({ fakeDate: true });

describe("the operator API", () => {
  it("needs the operator token: none → 401, a user's or a wrong one → 403", async () => {
    const id = await paidOrder();
    expect((await h.call(`/admin/orders/${id}`)).status).toBe(401);
    for (const bad of [token, "x".repeat(41), `${ADMIN}x`, ADMIN.slice(0, -1)]) {
      const response = await h.call(`/admin/orders/${id}`, { token: bad });
      expect(response.status).toBe(403);
      expect((await errorOf(response)).code).toBe("forbidden");
    }
    expect((await h.call(`/admin/orders/${id}/refunds`, { json: { amount: 100 }, token })).status).toBe(403);
    expect((await h.call(`/admin/orders/${id}/refunds`, { json: { amount: 100 } })).status).toBe(401);
    expect(await h.calls("refund")).toEqual([]);
  });

  it("shows an order with its full history and refunds", async () => {
    const id = await paidOrder();
    const view = await adminView(id);
    expect(view.order).toMatchObject({ id, status: "paid", amount: 1800, refundedAmount: 0 });
    expect(view.history.map((e) => [e.from, e.to, e.source])).toEqual([[null, "pending", "api"], ["pending", "paid", "notify"]]);
    expect(view.refunds).toEqual([]);
  });

  it("answers 404 for an unknown order, to a view or a refund, and asks WeChat nothing", async () => {
    expect((await h.call("/admin/orders/20990101000000NoSuchOrder000000", { token: ADMIN })).status).toBe(404);
    const refund = await h.call("/admin/orders/20990101000000NoSuchOrder000000/refunds", { json: { amount: 100 }, token: ADMIN });
    expect(refund.status).toBe(404);
    expect((await errorOf(refund)).code).toBe("not_found");
    expect(await h.calls("refund")).toEqual([]);
    expect(await h.calls("refundquery")).toEqual([]);
  });
});

describe("refunding", () => {
  it("a partial then a full refund: processing, then succeeded by WeChat's notification", async () => {
    const id = await paidOrder();
    const first = await refund(id, { amount: 800, reason: "cold coffee" });
    expect(first.status).toBe(201);
    const body = (await first.json()) as RefundBody;
    expect(body.refund).toMatchObject({ amount: 800, status: "processing" });
    expect(body.refund.id).toMatch(/^[0-9A-Za-z]{32}$/);
    const [call] = await h.calls("refund");
    expect(call).toMatchObject({ outTradeNo: id, outRefundNo: body.refund.id, total: "1800", refund: "800", reason: "cold coffee", notifyUrl: h.pay.notifyUrl("refund") });

    await advance(5_000); // WeChat finishes the refund and notifies us
    let view = await adminView(id);
    expect(view.refunds[0]).toMatchObject({ id: body.refund.id, status: "succeeded" });
    expect(view.order).toMatchObject({ status: "partially_refunded", refundedAmount: 800 });

    await advance(REFUND_LIMITS.spacingMs);
    const second = (await (await refund(id, { amount: 1000 })).json()) as RefundBody;
    expect(second.refund.status).toBe("processing");
    await advance(5_000);
    view = await adminView(id);
    expect(view.order).toMatchObject({ status: "refunded", refundedAmount: 1800 });
    expect(view.history.slice(2).map((e) => [e.from, e.to])).toEqual([["paid", "partially_refunded"], ["partially_refunded", "refunded"]]);
  });

  it("refuses more than is left to refund with 409, calling WeChat for nothing", async () => {
    const id = await paidOrder();
    const over = await refund(id, { amount: 1801 });
    expect(over.status).toBe(409);
    expect((await errorOf(over)).code).toBe("invalid_state");
    expect(await h.calls("refund")).toEqual([]);
    expect((await adminView(id)).refunds).toEqual([]);
  });

  it("refuses an order that is not paid with 409", async () => {
    const response = await h.createOrder(token);
    const id = ((await response.json()) as { order: { id: string } }).order.id;
    expect((await refund(id, { amount: 100 })).status).toBe(409);
    expect(await h.calls("refund")).toEqual([]);
  });

  for (const [name, body] of [
    ["a zero amount", { amount: 0 }],
    ["a negative amount", { amount: -5 }],
    ["a fractional amount", { amount: 1.5 }],
    ["an amount in yuan as a string", { amount: "18.00" }],
    ["no amount", { reason: "x" }],
    ["a reason that is too long", { amount: 1, reason: "x".repeat(81) }],
  ] as const) {
    it(`refuses ${name} with 400, changing nothing`, async () => {
      const id = await paidOrder();
      const response = await refund(id, body);
      expect(response.status).toBe(400);
      expect((await errorOf(response)).code).toBe("invalid_request");
      expect((await adminView(id)).refunds).toEqual([]);
    });
  }

  it("is idempotent with an Idempotency-Key: the same refund, WeChat asked once; another body → 409", async () => {
    const id = await paidOrder();
    const a = (await (await refund(id, { amount: 300 }, { "Idempotency-Key": "r-1" })).json()) as RefundBody;
    const again = await refund(id, { amount: 300 }, { "Idempotency-Key": "r-1" });
    expect(again.status).toBe(201);
    expect(((await again.json()) as RefundBody).refund.id).toBe(a.refund.id);
    expect(await h.calls("refund")).toHaveLength(1);
    const conflict = await refund(id, { amount: 400 }, { "Idempotency-Key": "r-1" });
    expect(conflict.status).toBe(409);
    expect((await adminView(id)).refunds).toHaveLength(1);
  });

  it("never lets concurrent refunds exceed the amount: exactly the ones that fit are accepted", async () => {
    const id = await paidOrder(); // 1800 fen
    const responses = await Promise.all(Array.from({ length: 6 }, () => refund(id, { amount: 500 })));
    const statuses = responses.map((r) => r.status).sort();
    expect(statuses).toEqual([201, 201, 201, 409, 409, 409]);
    // WeChat wants a minute between refunds of one order: the others wait their turn in the alarm.
    expect(await h.calls("refund")).toHaveLength(1);
    for (let turn = 0; turn < 4; turn++) {
      await advance(REFUND_LIMITS.spacingMs);
      await runDurableObjectAlarm(orderObject(env, id));
      await advance(5_000);
    }
    const view = await adminView(id);
    expect(view.refunds.map((r) => r.status)).toEqual(["succeeded", "succeeded", "succeeded"]);
    expect(view.order).toMatchObject({ status: "partially_refunded", refundedAmount: 1500 });
    const sent = await h.calls("refund");
    expect(new Set(sent.map((c) => c.outRefundNo)).size).toBe(3);
    expect((await h.simControl<{ refundedFee?: number }>(`/__sim/orders/${id}`)).refundedFee).toBe(1500);
  });

  it("retries SYSTEMERROR with identical parameters", async () => {
    const id = await paidOrder();
    await h.fault("refund", "SYSTEMERROR");
    const response = await refund(id, { amount: 100 });
    expect(response.status).toBe(201);
    const [first, second] = await h.calls("refund");
    expect(second!.business).toEqual(first!.business);
  });

  it("keeps a refund WeChat could not take yet (v2 BIZERR_NEED_RETRY, v3 SYSTEM_ERROR) and sends it again, same out_refund_no", async () => {
    const id = await paidOrder();
    await h.fault("refund", h.pay.refundNotYet, { times: 100 });
    const created = (await (await refund(id, { amount: 100 })).json()) as RefundBody;
    expect(created.refund.status).toBe("processing");
    await h.clearFaults();
    const due = (await runInDurableObject(orderObject(env, id), (_i, ctx) => ctx.storage.getAlarm()))!;
    await advance(due - clock);
    await runDurableObjectAlarm(orderObject(env, id));
    await advance(5_000);
    expect((await adminView(id)).refunds[0]).toMatchObject({ id: created.refund.id, status: "succeeded" });
    const calls = await h.calls("refund");
    expect(calls.length).toBeGreaterThan(1);
    expect(new Set(calls.map((c) => c.outRefundNo))).toEqual(new Set([created.refund.id]));
  });

  it("marks a refund WeChat refuses for good as failed, releases the amount, and says why", async () => {
    const id = await paidOrder();
    // Paid here, but WeChat holds no payment for it: WeChat refuses the refund.
    const unpaid = ((await (await h.createOrder(token)).json()) as { order: { id: string } }).order.id;
    await writeBehindObject(orderObject(env, unpaid), (sql) => sql.exec("UPDATE order_record SET status = 'paid', transaction_id = '4200000000000000000000000000'"));
    const response = await refund(unpaid, { amount: 1800 });
    expect(response.status).toBe(502);
    const error = await errorOf(response);
    expect(error.code).toBe("upstream_error");
    expect(error.message).toMatch(/refused/);
    const view = await adminView(unpaid);
    expect(view.refunds[0]).toMatchObject({ status: "failed" });
    expect(view.refunds[0]!.failure).toBeTruthy();
    expect(view.order.status).toBe("paid");
    expect(id).toBeTruthy();
  });

  it("learns the outcome with refundquery when the notification is lost (admin view, then the alarm)", async () => {
    const id = await paidOrder();
    const a = (await (await refund(id, { amount: 100 })).json()) as RefundBody;
    await h.simControl(`/__sim/refunds/${a.refund.id}/complete`, { deliver: false });
    expect((await adminView(id)).refunds[0]!.status).toBe("succeeded");

    await advance(REFUND_LIMITS.spacingMs);
    const b = (await (await refund(id, { amount: 200 })).json()) as RefundBody;
    await h.simControl(`/__sim/refunds/${b.refund.id}/complete`, { deliver: false });
    await advance(REFUND_CHECK_AFTER_MS);
    await runDurableObjectAlarm(orderObject(env, id));
    const refunds = await orderObject(env, id).refunds();
    expect(refunds.map((r) => r.status)).toEqual(["succeeded", "succeeded"]);
    expect((await orderObject(env, id).read())!.refundedAmount).toBe(300);
  });

  it("a refund WeChat closes fails and releases the amount; an abnormal one is flagged for an operator", async () => {
    const id = await paidOrder();
    const a = (await (await refund(id, { amount: 1800 })).json()) as RefundBody;
    // The simulator's v2 words; its v3 notification says REFUND.CLOSED and REFUND.ABNORMAL.
    await h.simControl(`/__sim/refunds/${a.refund.id}/complete`, { status: "REFUNDCLOSE" });
    let view = await adminView(id);
    expect(view.refunds[0]).toMatchObject({ status: "failed", failure: h.pay.refundClosed });
    expect(view.order).toMatchObject({ status: "paid", refundedAmount: 0 });

    await advance(REFUND_LIMITS.spacingMs);
    const b = (await (await refund(id, { amount: 1800 })).json()) as RefundBody;
    expect(b.refund.status).toBe("processing");
    await h.simControl(`/__sim/refunds/${b.refund.id}/complete`, { status: "CHANGE" });
    view = await adminView(id);
    expect(view.refunds[1]).toMatchObject({ status: "processing", needsAttention: true });
  });
});

describe("the refund notification", () => {
  /** A refund in processing and the notification WeChat sent for it (captured on its way). */
  async function processingRefund(): Promise<{ orderId: string; refundId: string; notification: NotificationPost }> {
    const orderId = await paidOrder();
    const created = (await (await refund(orderId, { amount: 600 })).json()) as RefundBody;
    h.loseNotifications = true;
    await h.simControl(`/__sim/refunds/${created.refund.id}/complete`, {});
    h.loseNotifications = false;
    return { orderId, refundId: created.refund.id, notification: h.notifications.at(-1)! };
  }

  const stateOf = async (orderId: string) => ({ refunds: await orderObject(env, orderId).refunds(), order: await orderObject(env, orderId).read() });

  async function expectRefused(orderId: string, notification: NotificationPost) {
    const before = await stateOf(orderId);
    expect(await h.deliver(notification)).toBe("refused");
    expect(await stateOf(orderId)).toEqual(before);
  }

  it("settles the refund once, and repeats are acknowledged without change", async () => {
    const { orderId, notification } = await processingRefund();
    expect(await h.deliver(notification)).toBe("acknowledged");
    const after = await orderObject(env, orderId).refunds();
    expect(after[0]!.status).toBe("succeeded");
    for (let i = 0; i < 3; i++) expect(await h.deliver(notification)).toBe("acknowledged");
    expect(await orderObject(env, orderId).refunds()).toEqual(after);
    expect((await orderObject(env, orderId).history()).filter((e) => e.to === "partially_refunded")).toHaveLength(1);
  });

  it.each<Seal>(["none", "garbage", "foreign"])("refuses one sealed %s (v2: req_info's encryption with our key; v3: the signature)", async (seal) => {
    const { orderId, notification } = await processingRefund();
    await expectRefused(orderId, await h.pay.refund(notification, {}, seal));
    // The same notification, sealed as WeChat seals it, is taken: it was the seal that was refused.
    expect(await h.deliver(await h.pay.refund(notification, {}))).toBe("acknowledged");
  });

  it("refuses amounts, ids or a merchant that do not match the refund we made", async () => {
    const { orderId, notification } = await processingRefund();
    const wrong: RefundClaims[] = [{ amount: 1800 }, { total: 1 }, { refundId: "20990101000000RNoSuchRefund00000" }, ...h.pay.foreignMerchant("refund")];
    for (const claims of wrong) await expectRefused(orderId, await h.pay.refund(notification, claims));
    // and the genuine one still works
    expect(await h.deliver(notification)).toBe("acknowledged");
  });
});

describe("a refund that cannot reach WeChat never sticks (red-team finding)", () => {
  it("refuses a reason XML cannot carry with 400 naming the field, and reserves and sends nothing", async () => {
    const id = await paidOrder();
    for (const reason of ["cold\u000bcoffee", "nul\u0000byte", "non\uFFFFcharacter", "lone\uD800surrogate"]) {
      const response = await refund(id, { amount: 500, reason });
      expect(response.status).toBe(400);
      const error = await errorOf(response);
      expect(error.code).toBe("invalid_request");
      expect(error.message).toMatch(/reason/);
    }
    expect((await adminView(id)).refunds).toEqual([]);
    expect(await h.calls("refund")).toEqual([]);
    // Text XML can carry (tabs, new lines, any language) is still fine.
    expect((await refund(id, { amount: 500, reason: "冷咖啡\tcold\ncoffee ☕" })).status).toBe(201);
  });
});

describe("cancelling a refund that never reached WeChat", () => {
  type CancelBody = { refund: { id: string; amount: number; status: string; failure: string | null }; order: { status: string } };
  const cancel = (id: string, refundId: string) => h.call(`/admin/orders/${id}/refunds/${refundId}/cancel`, { method: "POST", token: ADMIN });

  it("cancels a refund waiting for its turn: failed, 'cancelled', its amount released, never sent", async () => {
    const id = await paidOrder();
    const first = (await (await refund(id, { amount: 800 })).json()) as RefundBody;
    const waiting = (await (await refund(id, { amount: 1000 })).json()) as RefundBody;
    const response = await cancel(id, waiting.refund.id);
    expect(response.status).toBe(200);
    const body = (await response.json()) as CancelBody;
    expect(body.refund).toMatchObject({ id: waiting.refund.id, amount: 1000, status: "failed", failure: "cancelled" });
    expect(body.order.status).toBe("paid");
    // Repeating it is harmless.
    expect(((await (await cancel(id, waiting.refund.id)).json()) as CancelBody).refund.failure).toBe("cancelled");
    // Its turn comes and goes: it is not sent, and its 1000 fen can be refunded again.
    await advance(REFUND_LIMITS.spacingMs);
    await runDurableObjectAlarm(orderObject(env, id));
    expect((await h.calls("refund")).map((c) => c.outRefundNo)).toEqual([first.refund.id]);
    expect((await refund(id, { amount: 1000 })).status).toBe(201);
  });

  it("asks WeChat first about a refund already tried, and cancels it when WeChat never received it", async () => {
    const id = await paidOrder();
    await h.fault("refund", "SYSTEMERROR", { times: 100 });
    const tried = (await (await refund(id, { amount: 500 })).json()) as RefundBody;
    await h.clearFaults();
    const response = await cancel(id, tried.refund.id);
    expect(response.status).toBe(200);
    expect(((await response.json()) as CancelBody).refund).toMatchObject({ status: "failed", failure: "cancelled" });
    expect((await h.calls("refundquery")).map((c) => c.outRefundNo)).toEqual([tried.refund.id]);
  });

  it("refuses (409) a refund WeChat has, also when only WeChat knows it arrived, and 404 for an unknown one", async () => {
    const id = await paidOrder();
    const accepted = (await (await refund(id, { amount: 300 })).json()) as RefundBody;
    let response = await cancel(id, accepted.refund.id);
    expect(response.status).toBe(409);
    expect((await errorOf(response)).code).toBe("invalid_state");

    // WeChat took this one, but every answer was lost on the way back: WeChat is asked, and it has it.
    await advance(REFUND_LIMITS.spacingMs);
    await h.fault("refund", "drop", { times: 100 });
    const lost = (await (await refund(id, { amount: 400 })).json()) as RefundBody;
    await h.clearFaults();
    const before = await orderObject(env, id).refunds();
    response = await cancel(id, lost.refund.id);
    expect(response.status).toBe(409);
    expect((await orderObject(env, id).refunds())[1]).toMatchObject({ status: "processing", refundId: expect.any(String) });
    expect(before[1]!.refundId).toBeNull();

    expect((await cancel(id, "20261201000000RNoSuchRefund00000")).status).toBe(404);
    expect((await cancel("20261201000000NoSuchOrder0000000", accepted.refund.id)).status).toBe(404);
    expect((await h.call(`/admin/orders/${id}/refunds/${accepted.refund.id}/cancel`, { method: "POST", token })).status).toBe(403);
  });
});
