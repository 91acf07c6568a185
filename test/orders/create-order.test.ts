// POST /api/orders: server-side pricing, the prepay at WeChat (v2 unifiedorder, v3 JSAPI prepay),
// the payment parameters, Idempotency-Key, and bad input that changes nothing. The same specification
// in both API versions (test/support/wechat-pay.ts); v2's sign pitfalls are in create-order.v2.test.ts.
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { orderObject } from "../../src/orders/order-store";
import { SessionStore } from "../../src/sessions/session-store";
import { errorOf, startHarness, type Harness } from "../support/harness";
import type { Payment } from "../support/wechat-pay";

let h: Harness;
let token: string;
let openid: string;
beforeEach(async () => {
  h = startHarness();
  ({ token, openid } = await h.login(`buyer-${crypto.randomUUID()}`));
});
afterEach(() => vi.unstubAllGlobals());

type Body = { order: Record<string, unknown> & { id: string; amount: number }; payment: Payment };

async function listIds(t: string = token): Promise<string[]> {
  const body = (await (await h.call("/api/orders", { token: t })).json()) as { orders: { id: string }[] };
  return body.orders.map((o) => o.id);
}

describe("creating an order", () => {
  it("prices it from the catalog in integer fen and returns the order and the five payment fields", async () => {
    const response = await h.createOrder(token, [{ sku: "coffee", quantity: 2 }, { sku: "tea", quantity: 1 }]);
    expect(response.status).toBe(201);
    const { order, payment } = (await response.json()) as Body;
    expect(order).toMatchObject({
      status: "pending",
      amount: 1800 * 2 + 1200,
      refundedAmount: 0,
      currency: "CNY",
      transactionId: null,
      paidAt: null,
      items: [
        { sku: "coffee", name: "Coffee", quantity: 2, price: 1800 },
        { sku: "tea", name: "Green tea", quantity: 1, price: 1200 },
      ],
    });
    expect(order.id).toMatch(/^[0-9A-Za-z]{32}$/);
    expect(Date.parse(order.expiresAt as string) - Date.parse(order.createdAt as string)).toBe(Number(env.ORDER_TTL_SECONDS) * 1000);
    expect(Object.keys(payment).sort()).toEqual(["nonceStr", "package", "paySign", "signType", "timeStamp"]);
  });

  it("ignores any price or amount the client sends", async () => {
    const response = await h.call("/api/orders", {
      token,
      json: { amount: 1, price: 1, total_fee: 1, items: [{ sku: "coffee", quantity: 1, price: 1, amount: 1 }] },
    });
    const { order } = (await response.json()) as Body;
    expect(order.amount).toBe(1800);
    const [call] = await h.calls("prepay");
    expect(call!.total).toBe("1800");
  });

  it("signs paySign with the merchant's key over the prepay's package (v2: the sign type's HMAC; v3: RSA), fresh for the mini-program", async () => {
    const { payment } = (await (await h.createOrder(token)).json()) as Body;
    expect(payment.timeStamp).toMatch(/^[0-9]{10}$/);
    expect(typeof payment.timeStamp).toBe("string");
    expect(payment.signType).toBe(h.pay.paySignType);
    expect(payment.package).toMatch(/^prepay_id=.+/);
    expect(await h.pay.verifyPaySign(payment)).toBe(true);
    // It signs these very fields: another package, or another moment, would not verify.
    expect(await h.pay.verifyPaySign({ ...payment, package: "prepay_id=wx00000000000000000000000000000000" })).toBe(false);
    expect(await h.pay.verifyPaySign({ ...payment, timeStamp: String(Number(payment.timeStamp) + 1) })).toBe(false);
  });

  it("sends WeChat a JSAPI order for the user's openid with our notify URL, time_expire and the client's address", async () => {
    const before = Date.now();
    const response = await h.call("/api/orders", { token, json: { items: [{ sku: "cake", quantity: 1 }] }, headers: { "CF-Connecting-IP": "203.0.113.7" } });
    const { order, payment } = (await response.json()) as Body;
    const [call] = await h.calls("prepay");
    expect(call).toMatchObject({
      appid: env.WECHAT_APPID,
      mchid: env.WECHATPAY_MCHID,
      openid,
      outTradeNo: order.id,
      total: "2650",
      notifyUrl: h.pay.notifyUrl("pay"),
      clientIp: "203.0.113.7",
    });
    expect(new TextEncoder().encode(call!.description).length).toBeLessThanOrEqual(127);
    expect(Math.abs(call!.timeExpire! - (before + Number(env.ORDER_TTL_SECONDS) * 1000))).toBeLessThan(5000);
    const simOrder = await h.simControl<{ prepayId: string; tradeState: string }>(`/__sim/orders/${order.id}`);
    expect(payment.package).toBe(`prepay_id=${simOrder.prepayId}`);
  });

  it("keeps a long description within WeChat's 127-byte body limit", async () => {
    const items = ["coffee", "tea", "cake"].map((sku) => ({ sku, quantity: 99 }));
    const response = await h.createOrder(token, items);
    expect(response.status).toBe(201);
    const [call] = await h.calls("prepay");
    expect(new TextEncoder().encode(call!.description).length).toBeLessThanOrEqual(127);
  });

  it("retries a SYSTEMERROR within the request with identical parameters", async () => {
    await h.fault("prepay", "SYSTEMERROR");
    const response = await h.createOrder(token);
    expect(response.status).toBe(201);
    const [first, second] = await h.calls("prepay");
    expect(second).toBeDefined();
    expect(second!.business).toEqual(first!.business);
  });

  it("stores the order before calling WeChat: if WeChat keeps failing it stays pending, and /pay finishes it with identical params", async () => {
    await h.fault("prepay", "SYSTEMERROR", { times: 20 });
    const failed = await h.createOrder(token);
    expect(failed.status).toBe(502);
    expect((await errorOf(failed)).code).toBe("upstream_error");
    const [id] = await listIds();
    const read = (await (await h.call(`/api/orders/${id}`, { token })).json()) as Body;
    expect(read.order.status).toBe("pending");

    await h.clearFaults();
    const retried = await h.call(`/api/orders/${id}/pay`, { method: "POST", token });
    expect(retried.status).toBe(200);
    const calls = await h.calls("prepay");
    expect(calls.length).toBeGreaterThan(1);
    for (const call of calls) expect(call.business).toEqual(calls[0]!.business);
  });

  it("marks the order failed when WeChat refuses it for good (an openid of another mini-program)", async () => {
    const foreign = await h.simControl<{ openid: string }>("/__sim/login-codes", { appid: "wx0000000000000001" });
    const { token: foreignToken } = await new SessionStore(env.SESSIONS).create({ openid: foreign.openid, sessionKey: "AAAAAAAAAAAAAAAAAAAAAA==", ttlSeconds: 600 });
    const response = await h.createOrder(foreignToken);
    expect(response.status).toBe(502);
    expect((await errorOf(response)).code).toBe("upstream_error");
    const [id] = await listIds(foreignToken);
    const stub = orderObject(env, id!);
    expect((await stub.read())!.status).toBe("failed");
    expect((await stub.history()).at(-1)).toMatchObject({ from: "pending", to: "failed", source: "api", note: "PARAM_ERROR" });
    // and a failed order cannot be paid
    expect((await h.call(`/api/orders/${id}/pay`, { method: "POST", token: foreignToken })).status).toBe(409);
  });

  it("answers 504 when WeChat does not answer in time, leaving a pending order", async () => {
    await h.fault("prepay", "delay", { delayMs: 10_000, times: 5 });
    const response = await h.createOrder(token);
    expect(response.status).toBe(504);
    expect((await errorOf(response)).code).toBe("upstream_timeout");
    expect(await listIds()).toHaveLength(1);
  }, 20_000);

  describe("Idempotency-Key", () => {
    it("returns the same order and payment for the same key and body, calling WeChat once", async () => {
      const first = (await (await h.createOrder(token, undefined, { "Idempotency-Key": "k-1" })).json()) as Body;
      const again = await h.createOrder(token, undefined, { "Idempotency-Key": "k-1" });
      expect(again.status).toBe(201);
      const second = (await again.json()) as Body;
      expect(second.order.id).toBe(first.order.id);
      expect(second.payment.package).toBe(first.payment.package);
      expect(await h.calls("prepay")).toHaveLength(1);
      expect(await listIds()).toEqual([first.order.id]);
    });

    it("refuses the same key with a different body with 409, creating nothing", async () => {
      await h.createOrder(token, [{ sku: "coffee", quantity: 1 }], { "Idempotency-Key": "k-2" });
      const conflict = await h.createOrder(token, [{ sku: "coffee", quantity: 2 }], { "Idempotency-Key": "k-2" });
      expect(conflict.status).toBe(409);
      expect((await errorOf(conflict)).code).toBe("invalid_state");
      expect(await listIds()).toHaveLength(1);
      expect(await h.calls("prepay")).toHaveLength(1);
    });

    it("is per user: another user's identical key makes another order", async () => {
      const other = await h.login(`other-${crypto.randomUUID()}`);
      const a = (await (await h.createOrder(token, undefined, { "Idempotency-Key": "shared" })).json()) as Body;
      const b = (await (await h.createOrder(other.token, undefined, { "Idempotency-Key": "shared" })).json()) as Body;
      expect(b.order.id).not.toBe(a.order.id);
    });
  });

  describe("bad input gets 400 invalid_request and changes nothing", () => {
    const bad: [string, unknown][] = [
      ["no items", undefined],
      ["an empty item list", []],
      ["items that are not a list", { sku: "coffee", quantity: 1 }],
      ["an unknown sku", [{ sku: "caviar", quantity: 1 }]],
      ["a missing sku", [{ quantity: 1 }]],
      ["a zero quantity", [{ sku: "coffee", quantity: 0 }]],
      ["a negative quantity", [{ sku: "coffee", quantity: -1 }]],
      ["a fractional quantity", [{ sku: "coffee", quantity: 1.5 }]],
      ["a quantity as a string", [{ sku: "coffee", quantity: "2" }]],
      ["a huge quantity", [{ sku: "coffee", quantity: 1e9 }]],
      ["a repeated sku", [{ sku: "coffee", quantity: 1 }, { sku: "coffee", quantity: 1 }]],
      ["too many items", Array.from({ length: 21 }, () => ({ sku: "coffee", quantity: 1 }))],
      ["an item that is not an object", ["coffee"]],
      ["a __proto__ sku", [{ sku: "__proto__", quantity: 1 }]],
    ];
    for (const [name, items] of bad) {
      it(`refuses ${name}`, async () => {
        const response = await h.call("/api/orders", { token, json: items === undefined ? {} : { items } });
        expect(response.status).toBe(400);
        expect((await errorOf(response)).code).toBe("invalid_request");
        expect(await listIds()).toEqual([]);
        expect(await h.calls("prepay")).toEqual([]);
      });
    }

    it("refuses malformed JSON, and an oversized body with 413", async () => {
      const malformed = await h.call("/api/orders", { token, method: "POST", headers: { "Content-Type": "application/json" }, body: "{" });
      expect(malformed.status).toBe(400);
      const huge = await h.call("/api/orders", { token, json: { items: [{ sku: "coffee", quantity: 1, pad: "x".repeat(10_000) }] } });
      expect(huge.status).toBe(413);
      expect(await listIds()).toEqual([]);
    });

    it("refuses a malformed Idempotency-Key", async () => {
      const response = await h.createOrder(token, undefined, { "Idempotency-Key": "x".repeat(256) });
      expect(response.status).toBe(400);
      expect(await listIds()).toEqual([]);
    });

    it("refuses a caller without a valid token with 401", async () => {
      const response = await h.call("/api/orders", { json: { items: [{ sku: "coffee", quantity: 1 }] } });
      expect(response.status).toBe(401);
      expect(await h.calls("prepay")).toEqual([]);
    });
  });
});
