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
    const response = await rig().raw("/secapi/pay/refund", { method: "POST", body: "<xml/>" });
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: "NOT_FOUND" });
  });

  it("refuses a control body that is not a JSON object", async () => {
    const response = await rig().raw("/__sim/login-codes", { method: "POST", body: "[1]" });
    expect(response.status).toBe(400);
  });
});
