// The service on WeChat Pay API v3 against the simulator's v3 mode, behind the same HTTP contract:
// an RSA paySign, v3 notifications verified over the raw body and applied exactly once, a lost
// notification found by query, close, refunds and their notifications, forged and probe
// notifications refused with nothing changed, and both kinds of WeChat key (the public key, and
// platform certificates fetched on first use).
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Env } from "../../src/env";
import { orderObject } from "../../src/orders/order-store";
import { rsaVerify, signingMessage } from "../../src/wechat/v3";
import { MERCHANT_KEY } from "../fixtures/v3-keys";
import { startHarness, type Harness } from "../support/harness";

afterEach(() => vi.unstubAllGlobals());

const ADMIN = env.ADMIN_TOKEN!;

/** The merchant's public key, as WeChat holds it from the merchant's API certificate. */
async function merchantPublicKey(): Promise<CryptoKey> {
  const der = Uint8Array.from(atob(MERCHANT_KEY.replace(/-----[A-Z ]+-----|\s/g, "")), (c) => c.charCodeAt(0));
  const extractable = await crypto.subtle.importKey("pkcs8", der, { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, true, ["sign"]);
  const { n, e } = (await crypto.subtle.exportKey("jwk", extractable)) as JsonWebKey;
  return crypto.subtle.importKey("jwk", { kty: "RSA", n, e }, { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, false, ["verify"]);
}

type Created = { order: { id: string; status: string; amount: number }; payment: { timeStamp: string; nonceStr: string; package: string; signType: string; paySign: string } };

async function v3Shop(): Promise<{ h: Harness; token: string }> {
  // A copy of the environment: this rig's Worker side gets its own key ring (per isolate and
  // configuration), so what one test taught it (or kept it from fetching) does not reach the next.
  const h = startHarness({ env: { ...env } as Env });
  const { token } = await h.login(`v3-${crypto.randomUUID()}`);
  return { h, token };
}

async function order(h: Harness, token: string): Promise<Created> {
  const response = await h.createOrder(token, [{ sku: "coffee", quantity: 2 }]);
  expect(response.status).toBe(201);
  return (await response.json()) as Created;
}

const status = async (h: Harness, token: string, id: string) => ((await (await h.call(`/api/orders/${id}`, { token })).json()) as { order: { status: string } }).order.status;

describe("API v3, from the mini-program's side", () => {
  it("answers a new order with the five wx.requestPayment fields, signType RSA, paySign verifiable with the merchant's key", async () => {
    const { h, token } = await v3Shop();
    const { order: created, payment } = await order(h, token);
    expect(created).toMatchObject({ status: "pending", amount: 3600 });
    expect(Object.keys(payment).sort()).toEqual(["nonceStr", "package", "paySign", "signType", "timeStamp"]);
    expect(payment.signType).toBe("RSA");
    expect(payment.package).toMatch(/^prepay_id=wx/);
    const message = signingMessage([env.WECHAT_APPID!, payment.timeStamp, payment.nonceStr, payment.package]);
    expect(await rsaVerify(await merchantPublicKey(), message, payment.paySign)).toBe(true);
    // WeChat holds the order as a v3 order, with our amount in fen.
    expect(await h.simControl(`/__sim/orders/${created.id}`)).toMatchObject({ protocol: "v3", totalFee: 3600 });
  });

  it("is paid by WeChat's v3 notification, exactly once however often it comes", async () => {
    const { h, token } = await v3Shop();
    const { order: created } = await order(h, token);
    await h.simControl(`/__sim/orders/${created.id}/pay`, {});
    expect(await status(h, token, created.id)).toBe("paid");
    const delivered = h.notifications.at(-1)!;
    expect(JSON.parse(delivered.body as string)).toMatchObject({ event_type: "TRANSACTION.SUCCESS", resource_type: "encrypt-resource" });
    // WeChat's repeats, each signed when sent: acknowledged (its attempts show 204), one transition.
    for (let i = 0; i < 3; i++) expect(await h.deliver(h.notifications.at(-1)!)).toBe("acknowledged");
    const history = await orderObject(h.env, created.id).adminView();
    expect(history.ok && history.value.history.filter((e) => e.to === "paid")).toHaveLength(1);
    const sim = await h.simControl<{ notifications: { status: number | null; acknowledged: boolean }[] }>(`/__sim/orders/${created.id}`);
    expect(sim.notifications[0]).toMatchObject({ status: 204, acknowledged: true });
  });

  it("finds a payment whose notification was lost by asking WeChat (v3 query)", async () => {
    const { h, token } = await v3Shop();
    const { order: created } = await order(h, token);
    await h.simControl(`/__sim/orders/${created.id}/pay`, { deliver: false });
    expect(await status(h, token, created.id)).toBe("paid");
    const view = (await (await h.call(`/admin/orders/${created.id}`, { token: ADMIN })).json()) as { order: { transactionId: string }; history: { to: string; source: string }[] };
    expect(view.history.at(-1)).toMatchObject({ to: "paid", source: "query" });
    expect(view.order.transactionId).toMatch(/^\d+$/);
  });

  it("closes an unpaid order at WeChat and here, and gives fresh parameters for a re-pay", async () => {
    const { h, token } = await v3Shop();
    const first = await order(h, token);
    const again = (await (await h.call(`/api/orders/${first.order.id}/pay`, { method: "POST", token })).json()) as Created;
    expect(again.payment.package).toBe(first.payment.package);
    expect(again.payment.signType).toBe("RSA");
    const closed = await h.call(`/api/orders/${first.order.id}/close`, { method: "POST", token });
    expect(closed.status).toBe(200);
    expect(await h.simControl(`/__sim/orders/${first.order.id}`)).toMatchObject({ tradeState: "CLOSED" });
  });
});

describe("API v3, refunds", () => {
  it("refunds without a client certificate, and WeChat's v3 refund notification settles it", async () => {
    const { h, token } = await v3Shop();
    const { order: created } = await order(h, token);
    await h.simControl(`/__sim/orders/${created.id}/pay`, {});
    const response = await h.call(`/admin/orders/${created.id}/refunds`, { json: { amount: 800, reason: "cold coffee" }, token: ADMIN });
    expect(response.status).toBe(201);
    const { refund } = (await response.json()) as { refund: { id: string; status: string } };
    expect(refund.status).toBe("processing");
    await h.simControl(`/__sim/refunds/${refund.id}/complete`, {});
    const view = (await (await h.call(`/admin/orders/${created.id}`, { token: ADMIN })).json()) as { order: { status: string; refundedAmount: number }; refunds: { status: string }[] };
    expect(view.order).toMatchObject({ status: "partially_refunded", refundedAmount: 800 });
    expect(view.refunds[0]!.status).toBe("succeeded");
    expect(JSON.parse(h.notifications.at(-1)!.body as string)).toMatchObject({ event_type: "REFUND.SUCCESS" });
  });
});

describe("API v3, notifications that cannot be trusted", () => {
  const post = (h: Harness, body: string, headers: Record<string, string>) => h.call("/api/v3/pay/notify", { method: "POST", body, headers: { "Content-Type": "application/json", ...headers } });

  it("refuses a notification whose body or signature was changed, or that is stale or unsigned, and changes nothing", async () => {
    const { h, token } = await v3Shop();
    const { order: created } = await order(h, token);
    h.loseNotifications = true;
    await h.simControl(`/__sim/orders/${created.id}/pay`, {});
    h.loseNotifications = false;
    const genuine = h.notifications.at(-1)!.body as string;
    // The headers the simulator signed with are not captured; any of them altered or missing is enough.
    const signed = { "Wechatpay-Timestamp": String(Math.floor(Date.now() / 1000)), "Wechatpay-Nonce": "n".repeat(32), "Wechatpay-Serial": "PUB_KEY_ID_0119000001092026120100000000000001", "Wechatpay-Signature": btoa("x".repeat(256)) };
    for (const [body, headers] of [
      [genuine, signed],
      [genuine, {}],
      [genuine, { ...signed, "Wechatpay-Signature": `WECHATPAY/SIGNTEST/${signed["Wechatpay-Signature"]}` }],
      [genuine, { ...signed, "Wechatpay-Timestamp": String(Math.floor(Date.now() / 1000) - 600) }],
      [genuine, { ...signed, "Wechatpay-Serial": "0123456789ABCDEF" }],
    ] as const) {
      const response = await post(h, body, headers);
      expect(response.status).toBe(401);
      expect(await response.json()).toEqual({ code: "FAIL", message: "The signature does not verify." });
    }
    expect((await orderObject(h.env, created.id).read())!.status).toBe("pending");
  });

  it("refuses an oversized body before reading it, in the same FAIL shape (413)", async () => {
    const { h } = await v3Shop();
    const response = await post(h, `{"id":"EV-1","pad":"${"x".repeat(20_000)}"}`, {});
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({ code: "FAIL", message: "The notification is larger than 16384 bytes." });
  });

  it("refuses WeChat's signature probes (non-2xx), then accepts the genuine retry", async () => {
    const { h, token } = await v3Shop();
    const { order: created } = await order(h, token);
    await h.simControl("/__sim/settings", { v3ProbeNotifications: 1 });
    await h.simControl(`/__sim/orders/${created.id}/pay`, {});
    const sim = await h.simControl<{ notifications: { status: number | null; error: string | null; probe?: boolean }[] }>(`/__sim/orders/${created.id}`);
    expect(sim.notifications[0]).toMatchObject({ probe: true, status: 401, error: "signature probe refused" });
    expect((await orderObject(h.env, created.id).read())!.status).toBe("pending");
    await h.simControl("/__sim/clock/advance", { seconds: 16 });
    expect((await orderObject(h.env, created.id).read())!.status).toBe("paid");
  });
});

describe("API v3, WeChat's keys", () => {
  it("fetches the platform certificates once, on the first serial it does not know, and verifies with them", async () => {
    const { h, token } = await v3Shop();
    await h.simControl("/__sim/settings", { v3KeyMode: "certificate" });
    const { order: created } = await order(h, token);
    await h.simControl(`/__sim/orders/${created.id}/pay`, {});
    // Paid by the notification itself, which only the fetched certificate can verify.
    const paid = await orderObject(h.env, created.id).adminView();
    expect(paid.ok && paid.value.history.at(-1)).toMatchObject({ to: "paid", source: "notify" });
    // One fetch per key ring (the order's object, which verified the prepay answer, and the Worker,
    // which verified the notification), however many answers and notifications follow.
    await order(h, token);
    const certificateCalls = h.outbound.filter((r) => new URL(r.url).pathname === "/v3/certificates");
    expect(certificateCalls.length).toBeGreaterThanOrEqual(1);
    expect(certificateCalls.length).toBeLessThanOrEqual(2);
  });

  it("in WeChat's migration, accepts notifications signed either way", async () => {
    const { h, token } = await v3Shop();
    await h.simControl("/__sim/settings", { v3KeyMode: "migration", v3MigrationShare: 0.5 });
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push((await order(h, token)).order.id);
    for (const id of ids) await h.simControl(`/__sim/orders/${id}/pay`, {});
    for (const id of ids) expect((await orderObject(h.env, id).read())!.status).toBe("paid");
  });
});
