// Shipping information end to end, against the simulator's order shipping management: an operator's
// upload is stored on the order first, then sent with the service's one stable access token; what
// WeChat cannot take yet (a payment it learns of only a minute later, a busy moment, an answer that
// never came) is retried by the order's alarm without a second upload; final refusals fail with
// WeChat's code; each upload announces order.shipped; bad requests change nothing.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { OrderObject } from "../../src/orders/order-object";
import { orderObject } from "../../src/orders/order-store";
import { startHarness, type Harness } from "../support/harness";
import { storedRows } from "../support/stored";

const ADMIN = env.ADMIN_TOKEN!;

type Shipping = {
  status: string; logisticsType: string | null; packages: Record<string, unknown>[]; attempts: number; lastError: string | null;
  uploadedAt: string | null; settledAt: string | null; estimatedSettlementAt: string | null; wechatState: string | null;
};
type AdminView = { order: { id: string; status: string }; shipping: Shipping | null; events: { id: string; type: string; status: string }[] };
type SimShipping = { orderState: number; uploads: number; shipping: { logisticsType: number; deliveryMode: number; shippingList: Record<string, unknown>[] } | null };

const EXPRESS = { logisticsType: "express", packages: [{ trackingNo: "SF1234567890", expressCompany: "SF", itemDesc: "Coffee beans 1 kg", receiverContact: "189****1234" }] };

let h: Harness;
let token: string;
beforeEach(async () => {
  h = startHarness();
  ({ token } = await h.login(`ship-${crypto.randomUUID()}`));
  // WeChat's shipping service learns of a payment a minute after it; most tests start later than that.
  await h.simControl("/__sim/settings", { mpPaymentVisibleAfterSeconds: 0 });
});
afterEach(() => {
  h.merchant.release();
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

async function order(): Promise<string> {
  const response = await h.createOrder(token);
  expect(response.status).toBe(201);
  return ((await response.json()) as { order: { id: string } }).order.id;
}

async function paidOrder(): Promise<string> {
  const id = await order();
  await h.simControl(`/__sim/orders/${id}/pay`, {});
  expect((await orderObject(env, id).read())?.status).toBe("paid");
  return id;
}

const ship = (id: string, body: unknown) => h.call(`/admin/orders/${id}/shipping`, { token: ADMIN, json: body });

async function adminView(id: string): Promise<AdminView> {
  const response = await h.call(`/admin/orders/${id}`, { token: ADMIN });
  expect(response.status).toBe(200);
  return (await response.json()) as AdminView;
}

/**
 * The service's access token comes from this test's simulator: the token object outlives each
 * test's fresh simulator, whose first answer to an older token is 40001 (the service then fetches
 * one). Faults queued afterwards meet the call they are meant for.
 */
async function warmUpToken(): Promise<void> {
  expect((await ship(await paidOrder(), { logisticsType: "virtual", itemDesc: "warm-up" })).status).toBe(202);
}

const atWeChat = (id: string) => h.simControl<SimShipping>(`/__sim/mp/orders/${id}`);
const stored = (id: string) => storedRows(orderObject(env, id), "shipping");

/** Moves the service's (and the simulator's) clock to `at` and runs the order's alarm. */
async function alarmAt(id: string, at: number): Promise<void> {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(at);
  await runInDurableObject(orderObject(env, id), (instance: OrderObject) => instance.alarm());
}

async function nextAttemptAt(id: string): Promise<number> {
  const [row] = await stored(id);
  expect(row?.next_attempt_at).toEqual(expect.any(Number));
  return row!.next_attempt_at as number;
}

describe("POST /admin/orders/:id/shipping", () => {
  it("uploads an express parcel for a paid order: 202 with the order and its shipping, exactly as WeChat expects it", async () => {
    const id = await paidOrder();
    const response = await ship(id, EXPRESS);
    expect(response.status).toBe(202);
    const body = (await response.json()) as { order: { id: string; status: string }; shipping: Shipping };
    expect(body.order).toMatchObject({ id, status: "paid" });
    expect(body.shipping).toMatchObject({ status: "uploaded", logisticsType: "express", packages: EXPRESS.packages, attempts: 1, lastError: null, settledAt: null });
    expect(Date.parse(body.shipping.uploadedAt!)).toBeGreaterThan(0);
    const wechat = await atWeChat(id);
    expect(wechat).toMatchObject({ orderState: 2, uploads: 1 });
    expect(wechat.shipping).toMatchObject({
      logisticsType: 1, deliveryMode: 1,
      shippingList: [{ tracking_no: "SF1234567890", express_company: "SF", item_desc: "Coffee beans 1 kg", contact: { receiver_contact: "189****1234" } }],
    });
    // The operator's view asks WeChat how the shipping stands.
    expect((await adminView(id)).shipping).toEqual({ ...body.shipping, wechatState: "shipped" });
  });

  it("announces the upload to the merchant once, as order.shipped with the order and its shipping", async () => {
    const id = await paidOrder();
    await ship(id, { logisticsType: "virtual", itemDesc: "Course: latte art" });
    const shipped = await vi.waitFor(
      async () => {
        const event = (await adminView(id)).events.find((e) => e.type === "order.shipped");
        expect(event?.status).toBe("delivered");
        return event!;
      },
      { timeout: 5_000, interval: 50 },
    );
    expect(shipped.id).toBe(`evt_${id}.shipped`);
    const [delivery] = h.merchant.of(shipped.id);
    expect(delivery!.verified).toBe(true);
    expect(delivery!.event.data).toMatchObject({ order: { id, status: "paid" }, shipping: { status: "uploaded", logisticsType: "virtual", packages: [{ itemDesc: "Course: latte art" }] } });
  });

  it("sends split deliveries with is_all_delivered, and each kind of delivery with its logistics_type", async () => {
    const split = await paidOrder();
    const packages = [EXPRESS.packages[0], { trackingNo: "YT0000000002", expressCompany: "YTO", itemDesc: "Mugs" }];
    expect((await ship(split, { logisticsType: "express", packages, split: true, isAllDelivered: true })).status).toBe(202);
    expect((await atWeChat(split)).shipping).toMatchObject({ logisticsType: 1, deliveryMode: 2, shippingList: [{ tracking_no: "SF1234567890" }, { tracking_no: "YT0000000002" }] });
    for (const [logisticsType, code] of [["same_city", 2], ["virtual", 3], ["pickup", 4]] as const) {
      const id = await paidOrder();
      expect((await ship(id, { logisticsType, itemDesc: "Cheesecake" })).status).toBe(202);
      expect((await atWeChat(id)).shipping).toMatchObject({ logisticsType: code, deliveryMode: 1, shippingList: [{ item_desc: "Cheesecake" }] });
    }
  });

  it.each([
    ["express without packages", { logisticsType: "express" }, /packages is required/],
    ["two parcels without split", { logisticsType: "express", packages: [EXPRESS.packages[0], EXPRESS.packages[0]] }, /split: true/],
    ["split without isAllDelivered", { ...EXPRESS, split: true }, /isAllDelivered/],
    ["a parcel without its tracking number", { logisticsType: "express", packages: [{ expressCompany: "SF", itemDesc: "x" }] }, /trackingNo/],
    ["16 parcels", { logisticsType: "express", packages: Array(16).fill(EXPRESS.packages[0]), split: true, isAllDelivered: false }, /1 to 15 packages/],
    ["virtual goods without itemDesc", { logisticsType: "virtual" }, /itemDesc is required/],
    ["parcels for pickup", { logisticsType: "pickup", itemDesc: "x", packages: EXPRESS.packages }, /express only/],
    ["split same-city delivery", { logisticsType: "same_city", itemDesc: "x", split: true }, /express only/],
    ["an itemDesc of 121 characters", { logisticsType: "virtual", itemDesc: "咖".repeat(121) }, /itemDesc must be 1 to 120 characters/],
    ["a blank itemDesc", { logisticsType: "virtual", itemDesc: "   " }, /itemDesc/],
    ["an unknown logistics type", { logisticsType: "drone", itemDesc: "x" }, /logisticsType/],
  ])("refuses %s with 400 naming the field, storing and sending nothing", async (_what, body, message) => {
    const id = await paidOrder();
    const response = await ship(id, body);
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: "invalid_request", message: expect.stringMatching(message) });
    expect(await stored(id)).toEqual([]);
    expect(await h.calls("upload_shipping_info")).toEqual([]);
  });

  it("accepts 120 characters, counting an emoji once", async () => {
    const id = await paidOrder();
    expect((await ship(id, { logisticsType: "virtual", itemDesc: "☕".repeat(60) + "🍰".repeat(60) })).status).toBe(202);
  });

  it("refuses an order that is not paid (409) and an unknown one (404), storing nothing", async () => {
    const pending = await order();
    const response = await ship(pending, EXPRESS);
    expect(response.status).toBe(409);
    expect(((await response.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: "invalid_state", message: expect.stringContaining("pending") });
    expect(await stored(pending)).toEqual([]);
    expect((await ship("20261201000000ThisOrderIsNotHere", EXPRESS)).status).toBe(404);
    expect(await h.calls("upload_shipping_info")).toEqual([]);
  });

  it("needs the operator's token", async () => {
    const id = await paidOrder();
    expect((await h.call(`/admin/orders/${id}/shipping`, { json: EXPRESS })).status).toBe(401);
    expect(await stored(id)).toEqual([]);
  });
});

describe("an upload WeChat cannot take yet", () => {
  it("waits out WeChat's 'payment not found' right after payment, then uploads once from the alarm", async () => {
    await h.simControl("/__sim/settings", { mpPaymentVisibleAfterSeconds: 60 });
    const id = await paidOrder();
    const response = await ship(id, EXPRESS);
    expect(response.status).toBe(202);
    const { shipping } = (await response.json()) as { shipping: Shipping };
    expect(shipping).toMatchObject({ status: "uploading", attempts: 1, uploadedAt: null, lastError: expect.stringMatching(/^10060001: /) });
    expect((await atWeChat(id)).uploads).toBe(0);

    // The alarm is armed for the retry; at that time WeChat still does not know the payment: still uploading.
    const retry = await nextAttemptAt(id);
    expect(await runInDurableObject(orderObject(env, id), (_i, ctx) => ctx.storage.getAlarm())).toBe(retry);
    await alarmAt(id, Math.max(retry, Date.now()));
    // A minute after the payment, WeChat knows it.
    await alarmAt(id, Math.max(await nextAttemptAt(id), Date.now() + 61_000));
    const view = await adminView(id);
    expect(view.shipping).toMatchObject({ status: "uploaded", lastError: null });
    expect((await atWeChat(id)).uploads).toBe(1);
  });

  it("retries WeChat's busy answers and an exhausted minute quota, and uploads exactly once", async () => {
    await warmUpToken();
    const id = await paidOrder();
    await h.simControl("/__sim/faults", { api: "upload_shipping_info", kind: "busy" });
    await h.simControl("/__sim/faults", { api: "upload_shipping_info", kind: "rate_limit" });
    const first = (await (await ship(id, EXPRESS)).json()) as { shipping: Shipping };
    expect(first.shipping).toMatchObject({ status: "uploading", lastError: expect.stringMatching(/^-1: /) });
    await alarmAt(id, await nextAttemptAt(id));
    expect((await adminView(id)).shipping).toMatchObject({ status: "uploading", lastError: expect.stringMatching(/^45011: /) });
    await alarmAt(id, await nextAttemptAt(id));
    expect((await adminView(id)).shipping).toMatchObject({ status: "uploaded", attempts: 3 });
    expect((await atWeChat(id)).uploads).toBe(1);
  });

  it("asks get_order before sending again when an answer was lost: an upload that landed is not sent twice", async () => {
    await warmUpToken();
    const id = await paidOrder();
    await h.simControl("/__sim/faults", { api: "upload_shipping_info", kind: "drop" });
    const first = (await (await ship(id, EXPRESS)).json()) as { shipping: Shipping };
    expect(first.shipping.status).toBe("uploading");
    expect((await atWeChat(id)).uploads).toBe(1);
    await alarmAt(id, await nextAttemptAt(id));
    expect((await adminView(id)).shipping).toMatchObject({ status: "uploaded", wechatState: "shipped" });
    expect((await atWeChat(id)).uploads).toBe(1);
    expect(await h.calls("get_order")).not.toEqual([]);
  });

  it("records a lost answer's upload once when the operator's view and the alarm ask get_order at the same time", async () => {
    await warmUpToken();
    const id = await paidOrder();
    await h.simControl("/__sim/faults", { api: "upload_shipping_info", kind: "drop" });
    expect(((await (await ship(id, EXPRESS)).json()) as { shipping: Shipping }).shipping.status).toBe("uploading");
    // The view's get_order is slow; the alarm, due meanwhile, hears "shipped" first and records the upload.
    await h.simControl("/__sim/faults", { api: "get_order", kind: "delay", delayMs: 300 });
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(await nextAttemptAt(id));
    const view = h.call(`/admin/orders/${id}`, { token: ADMIN });
    await new Promise((resolve) => setTimeout(resolve, 100));
    await runInDurableObject(orderObject(env, id), (instance: OrderObject) => instance.alarm());
    // The view's answer comes after that: it must be read against the order as it is now.
    const response = await view;
    expect(response.status).toBe(200);
    expect(((await response.json()) as AdminView).shipping).toMatchObject({ status: "uploaded", wechatState: "shipped" });
    expect((await atWeChat(id)).uploads).toBe(1);
    expect((await adminView(id)).events.filter((e) => e.type === "order.shipped").map((e) => e.id)).toEqual([`evt_${id}.shipped`]);
  });

  it("sends a re-shipment again after a lost answer: get_order's 'shipped' is the first upload's, and WeChat never got this one", async () => {
    await warmUpToken();
    const id = await paidOrder();
    expect(((await (await ship(id, EXPRESS)).json()) as { shipping: Shipping }).shipping.status).toBe("uploaded");
    await h.simControl("/__sim/faults", { api: "upload_shipping_info", kind: "http_500" });
    const corrected = { logisticsType: "express", packages: [{ ...EXPRESS.packages[0], trackingNo: "SF0000000009" }] };
    expect(((await (await ship(id, corrected)).json()) as { shipping: Shipping }).shipping.status).toBe("uploading");
    // The operator looks meanwhile: get_order says "shipped", which does not end the re-shipment.
    expect((await adminView(id)).shipping).toMatchObject({ status: "uploading", wechatState: "shipped" });
    await alarmAt(id, await nextAttemptAt(id));
    expect((await adminView(id)).shipping).toMatchObject({ status: "uploaded", packages: corrected.packages });
    expect(await atWeChat(id)).toMatchObject({ uploads: 2, shipping: { shippingList: [{ tracking_no: "SF0000000009" }] } });
  });

  it("counts a re-shipment whose lost answer had landed once: WeChat's 'used up' (10060003) to the resend says it did", async () => {
    await warmUpToken();
    const id = await paidOrder();
    await ship(id, EXPRESS);
    await h.simControl("/__sim/faults", { api: "upload_shipping_info", kind: "drop" });
    await h.simControl("/__sim/faults", { api: "upload_shipping_info", kind: "busy" });
    const corrected = { logisticsType: "express", packages: [{ ...EXPRESS.packages[0], trackingNo: "SF0000000009" }] };
    expect(((await (await ship(id, corrected)).json()) as { shipping: Shipping }).shipping.status).toBe("uploading");
    expect((await atWeChat(id)).uploads).toBe(2);
    await alarmAt(id, await nextAttemptAt(id)); // busy: still in doubt
    await alarmAt(id, await nextAttemptAt(id)); // 10060003
    expect((await adminView(id)).shipping).toMatchObject({ status: "uploaded", lastError: null });
    expect((await atWeChat(id)).uploads).toBe(2);
    await vi.waitFor(async () => expect((await adminView(id)).events.map((e) => e.id)).toEqual([`evt_${id}.paid`, `evt_${id}.shipped`, `evt_${id}.reshipped`]), { timeout: 5_000, interval: 50 });
  });

  it("sends after a lost answer when get_order shows nothing arrived", async () => {
    await warmUpToken();
    const id = await paidOrder();
    await h.simControl("/__sim/faults", { api: "upload_shipping_info", kind: "http_500" });
    const first = (await (await ship(id, EXPRESS)).json()) as { shipping: Shipping };
    expect(first.shipping).toMatchObject({ status: "uploading", lastError: expect.stringContaining("check get_order") });
    await alarmAt(id, await nextAttemptAt(id));
    expect((await adminView(id)).shipping?.status).toBe("uploaded");
    expect((await atWeChat(id)).uploads).toBe(1);
  });

  it("retries an upload whose access token could not be fetched, without asking get_order (nothing was sent)", async () => {
    const id = await paidOrder();
    // This test's simulator has issued no token yet: the service must fetch one, and that fetch fails.
    await h.simControl("/__sim/faults", { api: "stable_token", kind: "http_500" });
    const { shipping } = (await (await ship(id, EXPRESS)).json()) as { shipping: Shipping };
    expect(shipping).toMatchObject({ status: "uploading", uploadedAt: null });
    expect((await atWeChat(id)).uploads).toBe(0);
    await alarmAt(id, await nextAttemptAt(id));
    expect(await h.calls("get_order")).toEqual([]);
    expect((await atWeChat(id)).uploads).toBe(1);
    expect((await adminView(id)).shipping).toMatchObject({ status: "uploaded" });
  });

  it("fetches a fresh access token once when WeChat says the token is invalid (40001), and uploads", async () => {
    await warmUpToken();
    await h.simControl("/__sim/mp/token/revoke", { as: "invalid" });
    const before = (await h.calls("stable_token")).length;
    const id = await paidOrder();
    expect(((await (await ship(id, EXPRESS)).json()) as { shipping: Shipping }).shipping.status).toBe("uploaded");
    expect((await h.calls("stable_token")).length).toBe(before + 1);
  });
});

describe("an upload WeChat refuses for good", () => {
  it("is failed with WeChat's code and what to do (48001: the service is not enabled), and not retried", async () => {
    const id = await paidOrder();
    await h.simControl("/__sim/settings", { mpShippingEnabled: false });
    const { shipping } = (await (await ship(id, EXPRESS)).json()) as { shipping: Shipping };
    expect(shipping).toMatchObject({ status: "failed", attempts: 1, lastError: expect.stringMatching(/^48001: .*order-shipping service/) });
    expect(await runInDurableObject(orderObject(env, id), (_i, ctx) => ctx.storage.getAlarm())).toBeNull();
    expect(JSON.stringify(shipping)).not.toMatch(/access_token/);
  });

  it("allows one re-shipment, then refuses a third upload before calling WeChat (409)", async () => {
    const id = await paidOrder();
    expect(((await (await ship(id, EXPRESS)).json()) as { shipping: Shipping }).shipping.status).toBe("uploaded");
    const corrected = { logisticsType: "express", packages: [{ ...EXPRESS.packages[0], trackingNo: "SF0000000009" }] };
    expect(((await (await ship(id, corrected)).json()) as { shipping: Shipping }).shipping).toMatchObject({ status: "uploaded", packages: corrected.packages });
    expect(await atWeChat(id)).toMatchObject({ uploads: 2, shipping: { shippingList: [{ tracking_no: "SF0000000009" }] } });
    const third = await ship(id, EXPRESS);
    expect(third.status).toBe(409);
    expect((await atWeChat(id)).uploads).toBe(2);
    await vi.waitFor(async () => expect((await adminView(id)).events.map((e) => e.id)).toEqual([`evt_${id}.paid`, `evt_${id}.shipped`, `evt_${id}.reshipped`]), { timeout: 5_000, interval: 50 });
  });

  it("fails a re-shipment once the buyer confirmed receipt (10060004)", async () => {
    const id = await paidOrder();
    await ship(id, EXPRESS);
    await h.simControl(`/__sim/mp/orders/${id}/state`, { orderState: 3 });
    const { shipping } = (await (await ship(id, EXPRESS)).json()) as { shipping: Shipping };
    expect(shipping).toMatchObject({ status: "failed", lastError: expect.stringMatching(/^10060004: /) });
  });

  it("refuses an upload while one is under way (409)", async () => {
    await h.simControl("/__sim/settings", { mpPaymentVisibleAfterSeconds: 60 });
    const id = await paidOrder();
    await ship(id, EXPRESS);
    expect((await ship(id, EXPRESS)).status).toBe(409);
  });
});

describe("the operator's view", () => {
  it("shows no shipping for an order nothing was asked of", async () => {
    expect((await adminView(await paidOrder())).shipping).toBeNull();
  });

  it("asks get_order for the shipping's state at WeChat", async () => {
    const id = await paidOrder();
    await ship(id, EXPRESS);
    await h.simControl(`/__sim/mp/orders/${id}/state`, { orderState: 3 });
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 6_000);
    expect((await adminView(id)).shipping).toMatchObject({ status: "uploaded", wechatState: "received" });
  });
});
