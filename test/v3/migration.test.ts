// A running v2 shop switched to v3 (README, "Moving a running v2 shop to v3"): an order placed through
// v2 before the switch is still notified by WeChat in v2 XML to /api/pay/notify, which stays open
// with WECHATPAY_KEY kept; without the key the notification is refused and the v3 query finds the
// payment instead; the order is refunded through v3 like any other; and a refund made in WeChat's
// merchant console, notified in v2 XML, is refused as one the service never made.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { orderObject } from "../../src/orders/order-store";
import { createPayClient, type PayClient } from "../../src/wechat/pay-client";
import { startHarness, type Harness } from "../support/harness";

afterEach(() => vi.unstubAllGlobals());

const ADMIN = env.ADMIN_TOKEN!;
const ITEMS = [{ sku: "coffee-beans", name: "Coffee beans, 500 g", quantity: 1, price: 6800 }];

/** The v2 client the shop used before the switch (the service's own), talking to this rig's WeChat. */
function v2Client(h: Harness): PayClient {
  return createPayClient({
    apiBase: env.WECHATPAY_API_BASE!,
    appid: env.WECHAT_APPID!,
    mchId: env.WECHATPAY_MCHID!,
    key: env.WECHATPAY_KEY!,
    signType: "HMAC-SHA256",
    fetch: (input, init) => h.sim.fetch(new Request(input, init)),
  });
}

/** A pending order whose prepay went through v2 before the switch, as the v2 service made it: its notify URL is v2's. */
async function orderPlacedUnderV2(h: Harness): Promise<{ id: string; token: string }> {
  const { token, openid } = await h.login(`before-the-switch-${crypto.randomUUID()}`);
  const created = await h.call("/admin/orders", { json: { openid, items: ITEMS }, token: ADMIN });
  expect(created.status).toBe(201);
  const { id } = ((await created.json()) as { order: { id: string } }).order;
  await v2Client(h).unifiedOrder({ outTradeNo: id, totalFee: 6800, body: ITEMS[0]!.name, openid, spbillCreateIp: "203.0.113.7", notifyUrl: `${env.PUBLIC_BASE_URL}/api/pay/notify` });
  expect(await h.simControl(`/__sim/orders/${id}`)).toMatchObject({ protocol: "v2", notifyUrl: `${env.PUBLIC_BASE_URL}/api/pay/notify` });
  return { id, token };
}

describe("a shop switched from v2 to v3", () => {
  it("applies WeChat's v2 notification of an order placed before the switch, at /api/pay/notify, with the v2 key kept", async () => {
    const h = startHarness();
    const { id } = await orderPlacedUnderV2(h);
    const paid = await h.simControl<{ delivered: boolean; transactionId: string }>(`/__sim/orders/${id}/pay`, {});
    expect(paid.delivered).toBe(true);
    expect(h.notifications.at(-1)!.path).toBe("/api/pay/notify");
    expect(await orderObject(env, id).read()).toMatchObject({ status: "paid", transactionId: paid.transactionId });
    expect((await orderObject(env, id).history()).at(-1)).toMatchObject({ to: "paid", source: "notify" });
  });

  it("without the v2 key, refuses that notification (WeChat keeps it) and finds the payment by asking WeChat through v3", async () => {
    const h = startHarness({ env: { ...env, WECHATPAY_KEY: "" } });
    const { id, token } = await orderPlacedUnderV2(h);
    const paid = await h.simControl<{ delivered: boolean }>(`/__sim/orders/${id}/pay`, {});
    expect(paid.delivered).toBe(false);
    expect((await orderObject(env, id).read())!.status).toBe("pending");
    const read = (await (await h.call(`/api/orders/${id}`, { token })).json()) as { order: { status: string } };
    expect(read.order.status).toBe("paid");
    expect((await orderObject(env, id).history()).at(-1)).toMatchObject({ to: "paid", source: "query" });
    expect(await h.calls("query")).toHaveLength(1);
  });

  it("refunds such an order through v3, and WeChat notifies the refund in v3", async () => {
    const h = startHarness();
    const { id } = await orderPlacedUnderV2(h);
    await h.simControl(`/__sim/orders/${id}/pay`, {});
    const response = await h.call(`/admin/orders/${id}/refunds`, { json: { amount: 6800 }, token: ADMIN });
    expect(response.status).toBe(201);
    const { refund } = (await response.json()) as { refund: { id: string } };
    expect(await h.calls("refund")).toEqual([expect.objectContaining({ outTradeNo: id, outRefundNo: refund.id, notifyUrl: h.pay.notifyUrl("refund") })]);
    await h.simControl(`/__sim/refunds/${refund.id}/complete`, {});
    expect(h.notifications.at(-1)!.path).toBe("/api/v3/refund/notify");
    expect(await orderObject(env, id).read()).toMatchObject({ status: "refunded", refundedAmount: 6800 });
  });

  it("refuses the v2 notification of a refund made in WeChat's merchant console: the service never made it", async () => {
    const h = startHarness();
    const { id } = await orderPlacedUnderV2(h);
    await h.simControl(`/__sim/orders/${id}/pay`, {});
    // The console's refund, of which the service knows nothing.
    await v2Client(h).refund({ outTradeNo: id, outRefundNo: "CONSOLE-REFUND-0001", totalFee: 6800, refundFee: 1000, notifyUrl: `${env.PUBLIC_BASE_URL}/api/refund/notify` });
    const done = await h.simControl<{ delivered: boolean | null }>("/__sim/refunds/CONSOLE-REFUND-0001/complete", {});
    expect(done.delivered).toBe(false);
    expect(h.notifications.at(-1)!.path).toBe("/api/refund/notify");
    expect(await h.deliver(h.notifications.at(-1)!)).toBe("refused");
    expect(await orderObject(env, id).read()).toMatchObject({ status: "paid", refundedAmount: 0 });
  });
});
