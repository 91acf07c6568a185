// WeChat's payment notification (v2: POST /api/pay/notify; v3: /api/v3/pay/notify): only one that
// passes every check makes an order paid, exactly once; it is acknowledged only after the state is
// stored; anything else is refused and changes nothing. The same specification in both API versions
// (test/support/wechat-pay.ts says what a seal, a claim and a verdict are in each); what only v2's
// XML has is in pay-notify.v2.test.ts.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { orderObject } from "../../src/orders/order-store";
import type { NotificationPost, PaymentClaims, Seal } from "../support/wechat-pay";
import { writeBehindObject } from "../support/stored";
import { h, newOrder, token, useRig } from "./rig";

useRig();

async function state(id: string) {
  const stub = orderObject(env, id);
  return { order: await stub.read(), history: await stub.history() };
}

/** The notification WeChat sent for a payment of `id`, kept from the service (which never saw it). */
async function interceptedNotification(id: string): Promise<NotificationPost> {
  h.loseNotifications = true;
  await h.simControl(`/__sim/orders/${id}/pay`, {});
  h.loseNotifications = false;
  return h.notifications.at(-1)!;
}

/** A genuine notification of another paid order: the template forgeries are made from. */
async function template(): Promise<NotificationPost> {
  const id = await newOrder();
  await h.simControl(`/__sim/orders/${id}/pay`, {});
  return h.notifications.at(-1)!;
}

describe("a genuine payment notification", () => {
  it("makes the order paid with WeChat's transaction id and time, and is acknowledged", async () => {
    const id = await newOrder();
    const paid = await h.simControl<{ transactionId: string; delivered: boolean }>(`/__sim/orders/${id}/pay`, {});
    // delivered: the simulator, as WeChat, read the service's answer as an acknowledgement.
    expect(paid.delivered).toBe(true);
    const { order, history } = await state(id);
    expect(order).toMatchObject({ status: "paid", transactionId: paid.transactionId, paidAfterClose: false });
    expect(order!.paidAt).not.toBeNull();
    expect(history.map((e) => [e.from, e.to, e.source])).toEqual([
      [null, "pending", "api"],
      ["pending", "paid", "notify"],
    ]);
    const view = (await (await h.call(`/api/orders/${id}`, { token })).json()) as { order: { status: string; paidAt: string } };
    expect(view.order.status).toBe("paid");
  });

  it("is answered exactly as WeChat expects an acknowledgement (v2: the SUCCESS document with 200; v3: 204, no body)", async () => {
    const notification = await interceptedNotification(await newOrder());
    expect(await h.deliver(notification)).toBe("acknowledged");
  });

  it("applies repeats, sequential and simultaneous, exactly once", async () => {
    const id = await newOrder();
    await h.simControl(`/__sim/orders/${id}/pay`, { duplicates: 5 });
    const verdicts = await Promise.all(Array.from({ length: 25 }, () => h.deliver(h.notifications[0]!)));
    expect(new Set(verdicts)).toEqual(new Set(["acknowledged"]));
    const { history } = await state(id);
    expect(history.filter((e) => e.to === "paid")).toHaveLength(1);
  });

  it("is recorded even for an order closed here, and flagged so an operator can refund it", async () => {
    const id = await newOrder();
    const notification = await interceptedNotification(id);
    // Closed here while WeChat had already taken the money (e.g. the close answer was lost).
    await writeBehindObject(orderObject(env, id), (sql) => sql.exec("UPDATE order_record SET status = 'closed'"));
    expect(await h.deliver(notification)).toBe("acknowledged");
    const { order, history } = await state(id);
    expect(order).toMatchObject({ status: "paid", paidAfterClose: true });
    expect(history.at(-1)).toMatchObject({ from: "closed", to: "paid", source: "notify" });
    expect(history.at(-1)!.note).toMatch(/refund/);
  });
});

describe("a notification that fails a check is refused and changes nothing", () => {
  async function expectRefused(notification: NotificationPost, pendingId: string) {
    const before = await state(pendingId);
    expect(await h.deliver(notification)).toBe("refused");
    expect(await state(pendingId)).toEqual(before);
  }

  it.each<Seal>(["none", "garbage", "foreign"])("sealed %s (v2: the sign; v3: the signature over the body)", async (seal) => {
    const genuine = await template();
    const pending = await newOrder();
    await expectRefused(await h.pay.payment(genuine, { orderId: pending }, seal), pending);
    // The same claims, sealed as WeChat seals them, pay: it was the seal that was refused.
    expect(await h.deliver(await h.pay.payment(genuine, { orderId: pending }))).toBe("acknowledged");
    expect((await state(pending)).order!.status).toBe("paid");
  });

  it("another appid or merchant, even correctly sealed", async () => {
    const genuine = await template();
    const pending = await newOrder();
    for (const foreign of h.pay.foreignMerchant("pay")) await expectRefused(await h.pay.payment(genuine, { orderId: pending, ...foreign }), pending);
  });

  it("an amount other than the order's, even correctly sealed", async () => {
    const genuine = await template();
    const pending = await newOrder();
    for (const amount of [1, 1799, 1801, 180000]) await expectRefused(await h.pay.payment(genuine, { orderId: pending, amount }), pending);
  });

  it("an order we do not have", async () => {
    const genuine = await template();
    const pending = await newOrder();
    await expectRefused(await h.pay.payment(genuine, { orderId: "20990101000000NoSuchOrder000000" }), pending);
  });

  it("an authentic notice of a failed payment is acknowledged and changes nothing", async () => {
    const genuine = await template();
    const pending = await newOrder();
    const before = await state(pending);
    const claims: PaymentClaims = { orderId: pending, failed: true };
    expect(await h.deliver(await h.pay.payment(genuine, claims))).toBe("acknowledged");
    expect(await state(pending)).toEqual(before);
  });

  it("a cut, empty, oversized or non-UTF-8 body, sealed as WeChat seals what it sends", async () => {
    const pending = await newOrder();
    const real = await interceptedNotification(pending);
    const body = real.body as string;
    await expectRefused(h.pay.raw("pay", body.slice(0, -10)), pending);
    await expectRefused(h.pay.raw("pay", ""), pending);
    // Well-formed but for its size: the genuine notification, then 20 000 spaces.
    await expectRefused(h.pay.raw("pay", body + " ".repeat(20_000)), pending);
    await expectRefused(h.pay.raw("pay", new Uint8Array([0x3c, 0x78, 0x6d, 0x6c, 0x3e, 0x7b, 0xff, 0xfe, 0x7d, 0x3c, 0x2f, 0x78, 0x6d, 0x6c, 0x3e])), pending);
    // and the genuine one still works afterwards
    expect(await h.deliver(real)).toBe("acknowledged");
    expect((await state(pending)).order!.status).toBe("paid");
  });
});

describe("when the notification cannot be stored", () => {
  it("WeChat's retry schedule delivers it again, and the order becomes paid once", async () => {
    const id = await newOrder();
    await h.fault("notify", "drop", { times: 2 });
    const paid = await h.simControl<{ delivered: boolean }>(`/__sim/orders/${id}/pay`, {});
    expect(paid.delivered).toBe(false);
    expect((await state(id)).order!.status).toBe("pending");
    await h.simControl("/__sim/clock/advance", { seconds: 15 });
    await h.simControl("/__sim/clock/advance", { seconds: 15 });
    const { order, history } = await state(id);
    expect(order!.status).toBe("paid");
    expect(history.filter((e) => e.to === "paid")).toHaveLength(1);
  });
});
