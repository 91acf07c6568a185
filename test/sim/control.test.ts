// The /__sim control API: clock, call log, order view and reset.
import { describe, expect, it } from "vitest";
import { CONFIG, NACK, START, rig } from "./helpers";

describe("clock", () => {
  it("reports sim time and moves it forward", async () => {
    const r = rig();
    expect((await r.control("/__sim/clock")).json).toEqual({ now: new Date(START).toISOString() });
    expect((await r.control("/__sim/clock/advance", { seconds: 90 })).json).toEqual({ now: new Date(START + 90_000).toISOString() });
    expect(r.sim.now()).toBe(START + 90_000);
  });

  it("keeps the offset on top of the injected clock", async () => {
    const r = rig();
    await r.control("/__sim/clock/advance", { seconds: 10 });
    r.clock.advance(5);
    expect(r.sim.now()).toBe(START + 15_000);
  });

  it.each([[{ seconds: -1 }], [{ seconds: "10" }], [{}]])("refuses %j", async (body) => {
    expect((await rig().control("/__sim/clock/advance", body)).status).toBe(400);
  });
});

describe("call log", () => {
  it("lists every WeChat API call with its sim time, fields and outcome, filterable by api", async () => {
    const r = rig();
    const openid = await r.openid();
    await r.control("/__sim/clock/advance", { seconds: 5 });
    await r.unifiedOrder(openid, {}, "HMAC-SHA256");
    await r.pay("orderquery", { out_trade_no: "ORDER-0001", sign: "BAD" });
    const all = (await r.control<{ calls: { api: string }[] }>("/__sim/calls")).json.calls;
    expect(all.map((call) => call.api)).toEqual(["unifiedorder", "orderquery"]);
    const { json } = await r.control<{ calls: Record<string, unknown>[] }>("/__sim/calls?api=unifiedorder");
    expect(json.calls).toEqual([
      {
        api: "unifiedorder",
        at: new Date(START + 5000).toISOString(),
        fields: expect.objectContaining({ appid: CONFIG.appid, out_trade_no: "ORDER-0001", total_fee: "1800", sign_type: "HMAC-SHA256" }),
        outcome: "SUCCESS",
        fault: null,
      },
    ]);
    expect((await r.control<{ calls: { outcome: string }[] }>("/__sim/calls?api=orderquery")).json.calls[0]!.outcome).toBe("SIGNERROR");
  });

  it("is cleared by DELETE", async () => {
    const r = rig();
    await r.pay("orderquery", { out_trade_no: "ORDER-0001" });
    await r.control("/__sim/calls", undefined, "DELETE");
    expect((await r.control("/__sim/calls")).json).toEqual({ calls: [] });
  });
});

describe("order view", () => {
  it("answers an unknown order with 404 JSON", async () => {
    expect(await rig().control("/__sim/orders/NOPE-0001")).toMatchObject({ status: 404, json: { error: "ORDER_NOT_FOUND" } });
  });

  it("shows state, amount, prepay_id, transaction_id and notifications", async () => {
    const r = rig();
    const openid = await r.openid();
    const placed = await r.unifiedOrder(openid);
    r.reply = NACK;
    const paid = (await r.control<{ transactionId: string }>("/__sim/orders/ORDER-0001/pay", {})).json;
    expect((await r.control("/__sim/orders/ORDER-0001")).json).toEqual({
      outTradeNo: "ORDER-0001",
      protocol: "v2",
      tradeState: "SUCCESS",
      totalFee: 1800,
      prepayId: placed.fields.prepay_id,
      transactionId: paid.transactionId,
      openid,
      signType: "MD5",
      notifyUrl: "https://merchant.example.com/wxpay/notify",
      expiresAt: null,
      nextNotificationAt: new Date(START + 15_000).toISOString(),
      notifications: [
        { at: new Date(START).toISOString(), attempt: 1, copy: 0, acknowledged: false, status: 200, error: "reply return_code=FAIL" },
      ],
      refundedFee: 0,
      refunds: [],
    });
  });
});

describe("reset", () => {
  it("forgets codes, openids, orders, calls, faults, pending retries and the clock offset", async () => {
    const r = rig();
    const { json: minted } = await r.control<{ code: string; openid: string }>("/__sim/login-codes", { user: "alice" });
    await r.unifiedOrder(minted.openid);
    r.reply = NACK;
    await r.control("/__sim/orders/ORDER-0001/pay", {});
    await r.control("/__sim/faults", { api: "orderquery", kind: "SYSTEMERROR" });
    await r.control("/__sim/clock/advance", { seconds: 100 });

    expect((await r.control("/__sim/reset", {})).json).toEqual({ reset: true });

    expect(r.sim.now()).toBe(START);
    expect(r.sim.nextDueAt()).toBeNull();
    expect((await r.control("/__sim/calls")).json).toEqual({ calls: [] });
    expect((await r.control("/__sim/faults")).json).toEqual({ faults: [] });
    expect((await r.pay("orderquery", { out_trade_no: "ORDER-0001" })).fields.err_code).toBe("ORDERNOTEXIST");
    expect((await r.unifiedOrder(minted.openid)).fields.err_code_des).toBe("appid和openid不匹配");
    const query = new URLSearchParams({ appid: CONFIG.appid, secret: CONFIG.secret, js_code: minted.code, grant_type: "authorization_code" });
    expect(await (await r.raw(`/sns/jscode2session?${query}`)).json()).toMatchObject({ errcode: 40029 });
  });
});

describe("routing", () => {
  it("answers paths it does not simulate with 404 JSON", async () => {
    const response = await rig().raw("/secapi/pay/downloadfundflow", { method: "POST", body: "<xml/>" });
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: "NOT_FOUND" });
  });

  it("refuses a control body that is not a JSON object", async () => {
    const response = await rig().raw("/__sim/login-codes", { method: "POST", body: "[1]" });
    expect(response.status).toBe(400);
  });
});

/** The v3 settings at their defaults, which the v2 settings tests leave alone. */
const V3_DEFAULTS = { v3KeyMode: "public_key", v3MigrationShare: 0.5, v3MigrationSeed: 0, v3ProbeAnswers: 0, v3ProbeNotifications: 0 };
/** The mini-program settings (mp.ts): shipping enabled, a payment known to it 60 s after it is made. */
const MP_DEFAULTS = { mpShippingEnabled: true, mpPaymentVisibleAfterSeconds: 60 };

describe("settings", () => {
  it("start at the documented defaults: refunds 60 s apart, finished after 5 s", async () => {
    expect((await rig().control("/__sim/settings")).json).toEqual({ refundSpacingSeconds: 60, refundDelaySeconds: 5, ...V3_DEFAULTS, ...MP_DEFAULTS });
  });

  it("are changed by POST with any subset, and answered in full", async () => {
    const r = rig();
    expect((await r.control("/__sim/settings", { refundSpacingSeconds: 0 })).json).toEqual({ refundSpacingSeconds: 0, refundDelaySeconds: 5, ...V3_DEFAULTS, ...MP_DEFAULTS });
    expect((await r.control("/__sim/settings", { refundDelaySeconds: null })).json).toEqual({ refundSpacingSeconds: 0, refundDelaySeconds: null, ...V3_DEFAULTS, ...MP_DEFAULTS });
  });

  it.each([[{ refundSpacingSeconds: -1 }], [{ refundDelaySeconds: "5" }], [{ refundSpacingSeconds: null }], [{ refundSlowness: 1 }]])(
    "refuses %j with 400 and changes nothing",
    async (body) => {
      const r = rig();
      expect(await r.control("/__sim/settings", body)).toMatchObject({ status: 400, json: { error: "BAD_REQUEST" } });
      expect((await r.control("/__sim/settings")).json).toEqual({ refundSpacingSeconds: 60, refundDelaySeconds: 5, ...V3_DEFAULTS, ...MP_DEFAULTS });
    },
  );

  it("are restored by reset, which also forgets refunds", async () => {
    const r = rig();
    await r.control("/__sim/settings", { refundSpacingSeconds: 0, refundDelaySeconds: null });
    await r.paidOrder();
    await r.refund();
    await r.control("/__sim/reset", {});
    expect((await r.control("/__sim/settings")).json).toEqual({ refundSpacingSeconds: 60, refundDelaySeconds: 5, ...V3_DEFAULTS, ...MP_DEFAULTS });
    expect((await r.control("/__sim/refunds/REFUND-0001")).status).toBe(404);
    expect(r.sim.nextDueAt()).toBeNull();
  });
});

describe("refund view", () => {
  it("GET /__sim/refunds/:no shows the refund, its schedule and its notifications", async () => {
    const r = rig();
    const { transactionId } = await r.paidOrder();
    const refundId = (await r.refund({ refund_desc: "out of stock" })).fields.refund_id;
    expect((await r.control("/__sim/refunds/REFUND-0001")).json).toEqual({
      outRefundNo: "REFUND-0001",
      protocol: "v2",
      refundId,
      outTradeNo: "ORDER-0001",
      transactionId,
      totalFee: 1800,
      refundFee: 600,
      status: "PROCESSING",
      refundAccount: "REFUND_SOURCE_UNSETTLED_FUNDS",
      refundDesc: "out of stock",
      notifyUrl: "https://merchant.example.com/wxpay/refund-notify",
      createdAt: new Date(START).toISOString(),
      completeAt: new Date(START + 5000).toISOString(),
      finishedAt: null,
      successTime: null,
      nextNotificationAt: null,
      notifications: [],
    });
  });

  it("an unknown refund is 404 REFUND_NOT_FOUND", async () => {
    expect(await rig().control("/__sim/refunds/NOPE")).toMatchObject({ status: 404, json: { error: "REFUND_NOT_FOUND" } });
  });

  it("the order view lists the order's refunds and the refunded amount (closed refunds excluded)", async () => {
    const r = rig();
    await r.control("/__sim/settings", { refundSpacingSeconds: 0 });
    await r.paidOrder();
    await r.refund({ out_refund_no: "R1", refund_fee: "500" });
    await r.refund({ out_refund_no: "R2", refund_fee: "300" });
    await r.control("/__sim/refunds/R2/complete", { status: "REFUNDCLOSE" });
    const { json } = await r.control<{ tradeState: string; refundedFee: number; refunds: { outRefundNo: string; status: string }[] }>(
      "/__sim/orders/ORDER-0001",
    );
    expect(json.tradeState).toBe("REFUND");
    expect(json.refundedFee).toBe(500);
    expect(json.refunds.map((refund) => [refund.outRefundNo, refund.status])).toEqual([
      ["R1", "PROCESSING"],
      ["R2", "REFUNDCLOSE"],
    ]);
  });
});
