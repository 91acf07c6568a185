// The simulator's order-shipping message pushes (POST /__sim/push), opened with the SERVICE's openPush in plain and safe mode; its AES envelope against the service's known-answer encryption; the recorded replies.
import { describe, expect, it } from "vitest";
import { encryptPushMessage, openPush, type PushQuery } from "../../src/wechat/mp";
import { encryptPush } from "../../sim/src/mp-crypto";
import { CONFIG, rig } from "./helpers";
import { PUSH, mpRig, uploadBody, type MpRig } from "./mp-helpers";

/** The last push the rig captured, split into its query and body. */
function captured(r: MpRig): { url: URL; query: PushQuery; body: string } {
  const last = r.notifications.at(-1)!;
  const url = new URL(last.url);
  return { url, query: Object.fromEntries(url.searchParams) as PushQuery, body: last.body };
}

const push = (r: MpRig, body: Record<string, unknown>) => r.control<Record<string, unknown>>("/__sim/push", body);

describe("message pushes", () => {
  it("sends a safe-mode settlement event the service opens with its EncodingAESKey", async () => {
    const r = mpRig();
    r.reply = () => new Response("success");
    const { openid, transactionId } = await r.shippableOrder();
    await r.api(`/wxa/sec/order/upload_shipping_info?access_token=${await r.token()}`, uploadBody(openid));
    const sent = await push(r, { event: "trade_manage_order_settlement", outTradeNo: "ORDER-0001", mode: "safe" });
    expect(sent.status).toBe(200);
    expect(sent.json).toMatchObject({ event: "trade_manage_order_settlement", mode: "safe", status: 200, reply: "success", acknowledged: true, error: null });
    const { url, query, body } = captured(r);
    // The service's push route on its notify_url's origin.
    expect(`${url.origin}${url.pathname}`).toBe("https://merchant.example.com/api/wechat/push");
    expect(query).toMatchObject({ encrypt_type: "aes", signature: expect.any(String), msg_signature: expect.any(String) });
    expect(Object.keys(JSON.parse(body))).toEqual(["ToUserName", "Encrypt"]);
    const opened = await openPush(query, body, { token: PUSH.token, appid: CONFIG.appid, encodingAesKey: PUSH.encodingAesKey }, r.sim.now());
    expect(opened).toEqual({
      ok: true,
      encrypted: true,
      event: expect.objectContaining({
        event: "trade_manage_order_settlement",
        phase: "shipped",
        transactionId,
        merchantId: CONFIG.mchId,
        merchantTradeNo: "ORDER-0001",
        estimatedSettlementTime: Math.floor(r.sim.now() / 1000) + 7 * 86_400,
      }),
    });
    // Another key or token does not open it.
    const otherKey = "a".repeat(43);
    expect(await openPush(query, body, { token: PUSH.token, appid: CONFIG.appid, encodingAesKey: otherKey }, r.sim.now())).toEqual({ ok: false, reason: "undecryptable" });
    expect(await openPush(query, body, { token: "other", appid: CONFIG.appid, encodingAesKey: PUSH.encodingAesKey }, r.sim.now())).toEqual({ ok: false, reason: "bad_signature" });
  });

  it("sends plain-mode events (settled settlement, shipping reminder) signed over token, timestamp and nonce", async () => {
    const r = mpRig();
    r.reply = () => new Response("");
    const { transactionId } = await r.shippableOrder();
    const config = { token: PUSH.token, appid: CONFIG.appid };
    await push(r, { event: "trade_manage_order_settlement", outTradeNo: "ORDER-0001", mode: "plain", settled: true, url: "https://svc.example/hook?x=1" });
    const settled = captured(r);
    expect(settled.url.origin + settled.url.pathname).toBe("https://svc.example/hook");
    expect(settled.query.encrypt_type).toBeUndefined();
    expect(await openPush(settled.query, settled.body, config, r.sim.now())).toMatchObject({
      ok: true,
      encrypted: false,
      event: { phase: "settled", settlementTime: Math.floor(r.sim.now() / 1000), transactionId },
    });
    await push(r, { event: "trade_manage_remind_shipping", outTradeNo: "ORDER-0001", mode: "plain" });
    const remind = captured(r);
    expect(await openPush(remind.query, remind.body, config, r.sim.now())).toMatchObject({
      ok: true,
      event: { event: "trade_manage_remind_shipping", merchantTradeNo: "ORDER-0001", msg: expect.any(String) },
    });
    // A stale push (the service's clock 6 minutes on) is refused by the service.
    expect(await openPush(remind.query, remind.body, config, r.sim.now() + 360_000)).toEqual({ ok: false, reason: "stale_timestamp" });
  });

  it("records each push with its reply, or why there was none", async () => {
    const r = mpRig();
    await r.shippableOrder();
    r.reply = () => new Response("busy", { status: 503 });
    await push(r, { event: "trade_manage_remind_shipping", outTradeNo: "ORDER-0001", mode: "safe" });
    r.reply = () => Promise.reject(new Error("connection refused"));
    await push(r, { event: "trade_manage_remind_shipping", outTradeNo: "ORDER-0001", mode: "plain" });
    const { json } = await r.control<{ pushes: Record<string, unknown>[] }>("/__sim/pushes");
    expect(json.pushes).toEqual([
      expect.objectContaining({ id: "push-000001", mode: "safe", status: 503, reply: "busy", acknowledged: false, error: null }),
      expect.objectContaining({ id: "push-000002", mode: "plain", status: null, reply: null, acknowledged: false, error: "network error" }),
    ]);
    expect(JSON.parse(json.pushes[0]!.message as string)).toMatchObject({ MsgType: "event", Event: "trade_manage_remind_shipping" });
  });

  it("refuses bad requests, unknown or unpaid orders, and pushes it has no keys for", async () => {
    const r = mpRig();
    const good = { event: "trade_manage_remind_shipping", outTradeNo: "ORDER-0001", mode: "plain" };
    expect((await push(r, { ...good, event: "other" })).status).toBe(400);
    expect((await push(r, { ...good, mode: "aes" })).status).toBe(400);
    expect((await push(r, { ...good, url: "/relative" })).status).toBe(400);
    expect((await push(r, good)).status).toBe(404);
    expect((await r.unifiedOrder(await r.openid("payer"))).fields.result_code).toBe("SUCCESS");
    expect((await push(r, good)).json).toMatchObject({ error: "ORDER_NOT_PAID" });
    const bare = rig();
    expect((await bare.control("/__sim/push", good)).json).toMatchObject({ error: "PUSH_NOT_CONFIGURED" });
    const plainOnly = rig({ pushToken: PUSH.token });
    expect((await plainOnly.control("/__sim/push", { ...good, mode: "safe" })).json).toMatchObject({ error: "PUSH_NOT_CONFIGURED" });
    expect(() => rig({ pushEncodingAesKey: "short" })).toThrow(/pushEncodingAesKey/);
  });

  it("encrypts exactly as the service's encryptPushMessage, for every padding length", async () => {
    const random = Uint8Array.from({ length: 16 }, (_, i) => i * 7);
    for (let length = 0; length < 40; length++) {
      const message = "x".repeat(length);
      const config = { encodingAesKey: PUSH.encodingAesKey, appid: CONFIG.appid, random };
      expect(await encryptPush(message, PUSH.encodingAesKey, CONFIG.appid, random)).toBe(await encryptPushMessage(message, config));
    }
  });
});
