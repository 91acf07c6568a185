// Payment notifications sent by POST /__sim/orders/:no/pay: content, signature, acknowledgement
// and the retry schedule (protocol reference §2.8, §5 item 12).
import { describe, expect, it } from "vitest";
import { verifyV2 } from "../../sim/src/sign";
import { RETRY_INTERVALS_S } from "../../sim/src/simulator";
import { ACK, CONFIG, NACK, NOTIFY_URL, START, rig, type Rig } from "./helpers";

type PayResult = { transactionId: string; delivered: boolean };
type OrderView = {
  tradeState: string;
  nextNotificationAt: string | null;
  notifications: { at: string; attempt: number; copy: number; acknowledged: boolean; status: number | null; error: string | null }[];
};

async function paidOrder(r: Rig, options: Record<string, unknown> = {}, signType: "MD5" | "HMAC-SHA256" = "HMAC-SHA256") {
  const openid = await r.openid("alice");
  expect((await r.unifiedOrder(openid, {}, signType)).fields.result_code).toBe("SUCCESS");
  const { status, json } = await r.control<PayResult>("/__sim/orders/ORDER-0001/pay", options);
  expect(status).toBe(200);
  return json;
}

const order = async (r: Rig) => (await r.control<OrderView>("/__sim/orders/ORDER-0001")).json;
const advance = (r: Rig, seconds: number) => r.control<{ now: string }>("/__sim/clock/advance", { seconds });

/** Seconds after the first attempt at which each retry is due: 15, 30, 60, 240, … 86640. */
const RETRY_OFFSETS_S = RETRY_INTERVALS_S.reduce<number[]>((offsets, interval) => [...offsets, (offsets.at(-1) ?? 0) + interval], []);

describe("the notification", () => {
  it("is POSTed as text/xml to notify_url once the order is paid, and acknowledged", async () => {
    const r = rig();
    const result = await paidOrder(r);
    expect(result.delivered).toBe(true);
    expect(r.notifications).toHaveLength(1);
    expect(r.notifications[0]!.url).toBe(NOTIFY_URL);
    expect(r.notifications[0]!.contentType).toBe("text/xml");
    expect((await order(r)).notifications).toEqual([
      { at: new Date(START).toISOString(), attempt: 1, copy: 0, acknowledged: true, status: 200, error: null },
    ]);
  });

  it("carries orderquery's fields minus trade_state and trade_state_desc", async () => {
    const r = rig();
    await paidOrder(r);
    const queried = (await r.pay("orderquery", { out_trade_no: "ORDER-0001" })).fields;
    const { trade_state, trade_state_desc, return_msg, device_info, nonce_str, sign, ...fromQuery } = queried;
    const { nonce_str: n, sign: s, sign_type, ...fromNotification } = r.notifications[0]!.fields;
    expect(fromNotification).toEqual(fromQuery);
    expect(Object.keys(r.notifications[0]!.fields).sort()).toEqual(
      [
        "appid", "bank_type", "cash_fee", "fee_type", "is_subscribe", "mch_id", "nonce_str", "openid", "out_trade_no",
        "result_code", "return_code", "sign", "sign_type", "time_end", "total_fee", "trade_type", "transaction_id",
      ].sort(),
    );
  });

  it("is signed with the order's sign_type by default, and declares HMAC-SHA256", async () => {
    const r = rig();
    const { transactionId } = await paidOrder(r);
    const fields = r.notifications[0]!.fields;
    expect(fields).toMatchObject({ return_code: "SUCCESS", result_code: "SUCCESS", sign_type: "HMAC-SHA256", transaction_id: transactionId });
    expect(fields.sign).toHaveLength(64);
    expect(await verifyV2(fields, CONFIG.key, "HMAC-SHA256")).toBe(true);
  });

  it("has no sign_type when signed with MD5", async () => {
    const r = rig();
    await paidOrder(r, {}, "MD5");
    const fields = r.notifications[0]!.fields;
    expect(fields.sign_type).toBeUndefined();
    expect(await verifyV2(fields, CONFIG.key, "MD5")).toBe(true);
  });

  it("can be MD5-signed for an HMAC-SHA256 order (the real-world quirk)", async () => {
    const r = rig();
    await paidOrder(r, { signType: "MD5" }, "HMAC-SHA256");
    const fields = r.notifications[0]!.fields;
    expect(fields.sign).toHaveLength(32);
    expect(fields.sign_type).toBeUndefined();
    expect(await verifyV2(fields, CONFIG.key, "MD5")).toBe(true);
  });

  it("is sent after the order is SUCCESS, so the merchant can confirm it with orderquery", async () => {
    const r = rig();
    let stateSeen = "";
    r.reply = async () => {
      stateSeen = (await r.pay("orderquery", { out_trade_no: "ORDER-0001" })).fields.trade_state!;
      return ACK();
    };
    await paidOrder(r);
    expect(stateSeen).toBe("SUCCESS");
  });

  it("arrives near-simultaneously several times when duplicates are asked for", async () => {
    const r = rig();
    const result = await paidOrder(r, { duplicates: 2 });
    expect(result.delivered).toBe(true);
    expect(r.notifications).toHaveLength(3);
    expect(new Set(r.notifications.map((n) => n.body)).size).toBe(1);
    expect((await order(r)).notifications.map((n) => [n.attempt, n.copy])).toEqual([[1, 0], [1, 1], [1, 2]]);
  });

  it("is not sent at all when deliver is false (a lost notification); the order is still paid", async () => {
    const r = rig();
    const result = await paidOrder(r, { deliver: false });
    expect(result.delivered).toBe(false);
    await advance(r, 2 * 86400);
    expect(r.notifications).toHaveLength(0);
    expect((await r.pay("orderquery", { out_trade_no: "ORDER-0001" })).fields.trade_state).toBe("SUCCESS");
    expect(r.sim.nextDueAt()).toBeNull();
  });
});

describe("acknowledgement", () => {
  it.each([
    ["return_code FAIL", () => NACK(), 200, "reply return_code=FAIL"],
    ["a malformed return_code (<return_code>SUCCESS></return_code>)", () => new Response("<xml><return_code>SUCCESS></return_code></xml>"), 200, "reply return_code=SUCCESS>"],
    ["a reply that is not XML", () => new Response("success"), 200, "reply is not WeChat XML"],
    ["an empty 200", () => new Response(""), 200, "reply is not WeChat XML"],
    ["HTTP 500 even with a SUCCESS body", () => new Response(ACK().body, { status: 500 }), 500, "HTTP 500"],
    ["HTTP 204", () => new Response(null, { status: 204 }), 204, "HTTP 204"],
  ])("is refused for %s, which is retried", async (_, reply, status, error) => {
    const r = rig();
    r.reply = reply;
    const result = await paidOrder(r);
    expect(result.delivered).toBe(false);
    const view = await order(r);
    expect(view.notifications).toEqual([{ at: expect.any(String), attempt: 1, copy: 0, acknowledged: false, status, error }]);
    expect(view.nextNotificationAt).toBe(new Date(START + 15_000).toISOString());
  });

  it("is refused when delivery throws", async () => {
    const r = rig();
    r.reply = () => {
      throw new TypeError("connection refused");
    };
    expect((await paidOrder(r)).delivered).toBe(false);
    expect((await order(r)).notifications[0]).toMatchObject({ status: null, error: "network error: connection refused" });
  });

  it("is refused when the merchant does not answer in time", async () => {
    const r = rig({ notifyTimeoutMs: 50 });
    r.reply = () => new Promise<Response>(() => {});
    expect((await paidOrder(r)).delivered).toBe(false);
    expect((await order(r)).notifications[0]).toMatchObject({ status: null, error: "timeout" });
    expect(r.sim.nextDueAt()).toBe(START + 15_000);
  });

  it("accepts a reply without return_msg", async () => {
    const r = rig();
    r.reply = () => new Response("<xml><return_code>SUCCESS</return_code></xml>");
    expect((await paidOrder(r)).delivered).toBe(true);
  });

  it("counts an attempt as acknowledged when any of its duplicate copies is", async () => {
    const r = rig();
    let calls = 0;
    r.reply = () => (++calls === 1 ? NACK() : ACK());
    expect((await paidOrder(r, { duplicates: 1 })).delivered).toBe(true);
    expect(r.sim.nextDueAt()).toBeNull();
  });
});

describe("retries", () => {
  it("waits 15 s of sim time before the first retry", async () => {
    const r = rig();
    r.reply = NACK;
    await paidOrder(r);
    await advance(r, 14);
    expect(r.notifications).toHaveLength(1);
    await advance(r, 1);
    expect(r.notifications).toHaveLength(2);
  });

  it("follows 15s/15s/30s/3m/10m/20m/30m/30m/30m/60m/3h/3h/3h/6h/6h, then gives up (24h4m)", async () => {
    const r = rig();
    r.reply = NACK;
    await paidOrder(r);
    let elapsed = 0;
    for (const [index, offset] of RETRY_OFFSETS_S.entries()) {
      await advance(r, offset - elapsed - 1);
      expect(r.notifications).toHaveLength(index + 1);
      await advance(r, 1);
      expect(r.notifications).toHaveLength(index + 2);
      elapsed = offset;
    }
    expect(elapsed).toBe(24 * 3600 + 4 * 60);
    expect(r.sim.nextDueAt()).toBeNull();
    await advance(r, 7 * 86400);
    expect(r.notifications).toHaveLength(16);
  });

  it("runs every overdue attempt when the clock jumps, stamped with the times they were due", async () => {
    const r = rig();
    r.reply = NACK;
    await paidOrder(r);
    await advance(r, 25 * 3600);
    const view = await order(r);
    expect(view.notifications.map((n) => n.attempt)).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
    expect(view.notifications.map((n) => (Date.parse(n.at) - START) / 1000)).toEqual([0, ...RETRY_OFFSETS_S]);
  });

  it("stops once a retry is acknowledged", async () => {
    const r = rig();
    r.reply = NACK;
    await paidOrder(r);
    await advance(r, 15);
    r.reply = ACK;
    await advance(r, 15);
    expect(r.notifications).toHaveLength(3);
    expect(r.sim.nextDueAt()).toBeNull();
    await advance(r, 86400);
    expect(r.notifications).toHaveLength(3);
    expect((await order(r)).notifications.map((n) => n.acknowledged)).toEqual([false, false, true]);
  });

  it("resends the same signed body on every retry", async () => {
    const r = rig();
    r.reply = NACK;
    await paidOrder(r);
    await advance(r, 60);
    expect(new Set(r.notifications.map((n) => n.body)).size).toBe(1);
  });

  it("is driven by runDue() and nextDueAt() when the injected clock moves", async () => {
    const r = rig();
    r.reply = NACK;
    await paidOrder(r);
    expect(r.sim.nextDueAt()).toBe(START + 15_000);
    r.clock.advance(10);
    await r.sim.runDue();
    expect(r.notifications).toHaveLength(1);
    r.clock.advance(5);
    await r.sim.runDue();
    expect(r.notifications).toHaveLength(2);
    expect(r.sim.nextDueAt()).toBe(START + 30_000);
  });
});

describe("POST /__sim/orders/:no/pay refuses", () => {
  it("an unknown order with 404", async () => {
    expect(await rig().control("/__sim/orders/NOPE-0001/pay", {})).toMatchObject({ status: 404, json: { error: "ORDER_NOT_FOUND" } });
  });

  it("a second payment with 409", async () => {
    const r = rig();
    await paidOrder(r);
    expect(await r.control("/__sim/orders/ORDER-0001/pay", {})).toMatchObject({ status: 409, json: { error: "ORDER_NOT_PAYABLE" } });
  });

  it("a payment with a prepay_id older than 2 h (该订单已过期，请重新下单)", async () => {
    const r = rig();
    const openid = await r.openid();
    await r.unifiedOrder(openid);
    r.clock.advance(7200);
    expect(await r.control("/__sim/orders/ORDER-0001/pay", {})).toMatchObject({ status: 409, json: { error: "PREPAY_ID_EXPIRED" } });
    // A re-entry refreshes the prepay_id and makes the order payable again.
    await r.unifiedOrder(openid);
    expect((await r.control("/__sim/orders/ORDER-0001/pay", {})).status).toBe(200);
  });

  it("a payment with a stale prepayId", async () => {
    const r = rig();
    const first = await r.unifiedOrder(await r.openid());
    expect(await r.control("/__sim/orders/ORDER-0001/pay", { prepayId: "wx0" })).toMatchObject({ status: 409, json: { error: "PREPAY_ID_MISMATCH" } });
    expect((await r.control("/__sim/orders/ORDER-0001/pay", { prepayId: first.fields.prepay_id })).status).toBe(200);
  });

  it.each([
    [{ signType: "SHA1" }],
    [{ duplicates: -1 }],
    [{ duplicates: 1.5 }],
    [{ deliver: "no" }],
  ])("a malformed body %j with 400", async (body) => {
    const r = rig();
    await r.unifiedOrder(await r.openid());
    expect(await r.control("/__sim/orders/ORDER-0001/pay", body)).toMatchObject({ status: 400, json: { error: "BAD_REQUEST" } });
    expect((await order(r)).tradeState).toBe("NOTPAY");
  });
});
