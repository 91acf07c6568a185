// WECHAT_SHIPPING=virtual (this project's configuration, see vitest.config.ts): every paid order is
// uploaded as virtual goods a minute after payment, with its description, by the order's alarm, with
// no call from the merchant; and a message push without an EncodingAESKey configured is taken in
// plain mode (its signature checked) while a safe-mode one cannot be opened.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { OrderObject } from "../../src/orders/order-object";
import { orderObject } from "../../src/orders/order-store";
import { VIRTUAL_SHIPPING_DELAY_MS } from "../../src/orders/shipping-decisions";
import { startHarness, type Harness } from "../support/harness";
import { writeBehindObject } from "../support/stored";

const ADMIN = env.ADMIN_TOKEN!;

type Shipping = { status: string; logisticsType: string | null; packages: { itemDesc: string }[]; settledAt: string | null };
type SimShipping = { uploads: number; shipping: { logisticsType: number; shippingList: { item_desc: string }[] } | null };

let h: Harness;
let token: string;
let openid: string;
beforeEach(async () => {
  h = startHarness();
  ({ token, openid } = await h.login(`virtual-${crypto.randomUUID()}`));
});
afterEach(() => {
  h.merchant.release();
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

async function newOrder(): Promise<string> {
  const response = await h.createOrder(token);
  expect(response.status).toBe(201);
  return ((await response.json()) as { order: { id: string } }).order.id;
}

const shipping = async (id: string) => ((await (await h.call(`/admin/orders/${id}`, { token: ADMIN })).json()) as { shipping: Shipping | null }).shipping;
const atWeChat = (id: string) => h.simControl<SimShipping>(`/__sim/mp/orders/${id}`);
const alarmAt = (id: string) => runInDurableObject(orderObject(env, id), (_i, ctx) => ctx.storage.getAlarm());

/** Moves the service's (and the simulator's) clock to `at` and runs the order's alarm. */
async function runAlarmAt(id: string, at: number): Promise<void> {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(at);
  await runInDurableObject(orderObject(env, id), (instance: OrderObject) => instance.alarm());
}

describe("WECHAT_SHIPPING=virtual", () => {
  it("uploads a paid order as virtual goods with its description a minute after payment, and announces it", async () => {
    const id = await newOrder();
    await h.simControl(`/__sim/orders/${id}/pay`, {});
    const paidAt = (await orderObject(env, id).read())!.paidAt!;
    expect(await shipping(id)).toMatchObject({ status: "uploading", logisticsType: "virtual" });
    await vi.waitFor(async () => expect(await alarmAt(id)).toBe(paidAt + VIRTUAL_SHIPPING_DELAY_MS), { timeout: 5_000, interval: 20 });
    expect(await h.calls("upload_shipping_info")).toEqual([]);

    await runAlarmAt(id, paidAt + VIRTUAL_SHIPPING_DELAY_MS);
    const description = (await orderObject(env, id).read())!.description;
    expect(await shipping(id)).toMatchObject({ status: "uploaded", packages: [{ itemDesc: description }] });
    expect(await atWeChat(id)).toMatchObject({ uploads: 1, shipping: { logisticsType: 3, shippingList: [{ item_desc: description }] } });
    vi.useRealTimers();
    await vi.waitFor(async () => expect(h.merchant.of(`evt_${id}.shipped`)).toHaveLength(1), { timeout: 5_000, interval: 50 });
  });

  it("cuts a long description to WeChat's 120 characters", async () => {
    const description = "Annual membership, ".repeat(7).slice(0, 126); // 126 characters (WeChat's body takes 127 bytes)
    const created = await h.call("/admin/orders", { token: ADMIN, json: { openid, items: [{ sku: "vip", name: "Membership", quantity: 1, price: 9900 }], description } });
    const id = ((await created.json()) as { order: { id: string } }).order.id;
    expect((await h.call(`/api/orders/${id}/pay`, { method: "POST", token })).status).toBe(200);
    await h.simControl(`/__sim/orders/${id}/pay`, {});
    expect((await shipping(id))?.packages).toEqual([{ itemDesc: description.slice(0, 120) }]);
  });

  it("also ships a payment found by the alarm's query after its notification was lost", async () => {
    const id = await newOrder();
    await h.simControl(`/__sim/orders/${id}/pay`, { deliver: false });
    const order = (await orderObject(env, id).read())!;
    await runAlarmAt(id, order.expiresAt + 60_000);
    expect((await orderObject(env, id).read())!.status).toBe("paid");
    // Paid long ago by now: the upload is due at once.
    await runAlarmAt(id, order.expiresAt + 60_000);
    // (The runtime may run the same alarm meanwhile: one upload all the same.)
    await vi.waitFor(async () => expect((await atWeChat(id)).uploads).toBe(1), { timeout: 5_000, interval: 50 });
  });

  it("ships nothing for a payment that arrived after the order was closed (it is to be refunded)", async () => {
    const id = await newOrder();
    h.loseNotifications = true;
    await h.simControl(`/__sim/orders/${id}/pay`, {});
    // Closed here while WeChat had already taken the money (e.g. the closeorder answer was lost).
    await writeBehindObject(orderObject(env, id), (sql) => sql.exec("UPDATE order_record SET status = 'closed'"));
    h.loseNotifications = false;
    const notice = await h.postNotification(h.notifications.at(-1)!);
    expect(notice.status).toBe(200);
    const order = await orderObject(env, id).read();
    expect(order).toMatchObject({ status: "paid", paidAfterClose: true });
    expect(await shipping(id)).toBeNull();
  });
});

describe("message push without an EncodingAESKey", () => {
  it("takes a plain-mode settlement (signature over token, timestamp and nonce) and refuses a safe-mode one", async () => {
    const id = await newOrder();
    await h.simControl(`/__sim/orders/${id}/pay`, {});
    expect(await h.simControl("/__sim/push", { event: "trade_manage_order_settlement", outTradeNo: id, mode: "plain", settled: true })).toMatchObject({ status: 200, reply: "success" });
    expect((await shipping(id))?.settledAt).not.toBeNull();
    const timestamp = String(Math.floor(Date.now() / 1000));
    const safe = await h.call(`/api/wechat/push?${new URLSearchParams({ signature: "0".repeat(40), timestamp, nonce: "1", encrypt_type: "aes", msg_signature: "0".repeat(40) })}`, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ ToUserName: "gh_x", Encrypt: "AAAA" }),
    });
    expect(safe.status).toBe(403);
  });
});
