// Injected faults (POST /__sim/faults): each queued fault shapes exactly one matching call, in order.
import { describe, expect, it } from "vitest";
import { SimulatedDropError } from "../../sim/src/simulator";
import { verifyV2 } from "../../sim/src/sign";
import { CONFIG, NACK, rig, type Rig } from "./helpers";

const fault = (r: Rig, body: Record<string, unknown>) => r.control("/__sim/faults", body);

async function exchange(r: Rig, code: string) {
  const query = new URLSearchParams({ appid: CONFIG.appid, secret: CONFIG.secret, js_code: code, grant_type: "authorization_code" });
  return r.raw(`/sns/jscode2session?${query}`);
}

describe("pay API faults", () => {
  it("SYSTEMERROR answers with a signed result_code=FAIL and has no effect; an identical retry then succeeds", async () => {
    const r = rig();
    const openid = await r.openid();
    await fault(r, { api: "unifiedorder", kind: "SYSTEMERROR" });
    const failed = await r.unifiedOrder(openid, {}, "HMAC-SHA256");
    expect(failed.fields).toMatchObject({ return_code: "SUCCESS", result_code: "FAIL", err_code: "SYSTEMERROR" });
    expect(await verifyV2(failed.fields, CONFIG.key, "HMAC-SHA256")).toBe(true);
    expect((await r.control("/__sim/orders/ORDER-0001")).status).toBe(404);
    expect((await r.unifiedOrder(openid, {}, "HMAC-SHA256")).fields.result_code).toBe("SUCCESS");
  });

  it("SYSTEMERROR on closeorder leaves the order open", async () => {
    const r = rig();
    await r.unifiedOrder(await r.openid());
    await fault(r, { api: "closeorder", kind: "SYSTEMERROR" });
    expect((await r.pay("closeorder", { out_trade_no: "ORDER-0001" })).fields.err_code).toBe("SYSTEMERROR");
    expect((await r.pay("orderquery", { out_trade_no: "ORDER-0001" })).fields.trade_state).toBe("NOTPAY");
  });

  it("is consumed `times` times, then calls behave normally", async () => {
    const r = rig();
    await fault(r, { api: "orderquery", kind: "SYSTEMERROR", times: 2 });
    const codes = [];
    for (let i = 0; i < 3; i++) codes.push((await r.pay("orderquery", { out_trade_no: "ORDER-0001" })).fields.err_code);
    expect(codes).toEqual(["SYSTEMERROR", "SYSTEMERROR", "ORDERNOTEXIST"]);
  });

  it("applies queued faults in the order they were added", async () => {
    const r = rig();
    await fault(r, { api: "orderquery", kind: "http_500" });
    await fault(r, { api: "orderquery", kind: "SYSTEMERROR" });
    expect((await r.pay("orderquery", { out_trade_no: "ORDER-0001" })).status).toBe(500);
    expect((await r.pay("orderquery", { out_trade_no: "ORDER-0001" })).fields.err_code).toBe("SYSTEMERROR");
  });

  it("only affects calls to its own API", async () => {
    const r = rig();
    await fault(r, { api: "closeorder", kind: "SYSTEMERROR" });
    expect((await r.unifiedOrder(await r.openid())).fields.result_code).toBe("SUCCESS");
    expect((await r.pay("orderquery", { out_trade_no: "ORDER-0001" })).fields.result_code).toBe("SUCCESS");
  });

  it("http_500 answers HTTP 500 with a text body and has no effect", async () => {
    const r = rig();
    await fault(r, { api: "unifiedorder", kind: "http_500" });
    const reply = await r.unifiedOrder(await r.openid());
    expect(reply.status).toBe(500);
    expect(reply.raw).toBe("Internal Server Error");
    expect((await r.control("/__sim/orders/ORDER-0001")).status).toBe(404);
  });

  it("delay answers normally after delayMs of real time", async () => {
    const r = rig();
    await fault(r, { api: "orderquery", kind: "delay", delayMs: 80 });
    const started = Date.now();
    const reply = await r.pay("orderquery", { out_trade_no: "ORDER-0001" });
    expect(Date.now() - started).toBeGreaterThanOrEqual(75);
    expect(reply.fields.err_code).toBe("ORDERNOTEXIST");
  });

  it("drop makes the call take effect but loses its response; the identical retry gets the same prepay_id", async () => {
    const r = rig();
    const openid = await r.openid();
    await fault(r, { api: "unifiedorder", kind: "drop" });
    await expect(r.unifiedOrder(openid)).rejects.toBeInstanceOf(SimulatedDropError);
    const { json } = await r.control<{ prepayId: string }>("/__sim/orders/ORDER-0001");
    const retry = await r.unifiedOrder(openid);
    expect(retry.fields.prepay_id).toBe(json.prepayId);
  });

  it("is recorded in the call log", async () => {
    const r = rig();
    await fault(r, { api: "orderquery", kind: "SYSTEMERROR" });
    await r.pay("orderquery", { out_trade_no: "ORDER-0001" });
    const { json } = await r.control<{ calls: { outcome: string; fault: string | null }[] }>("/__sim/calls?api=orderquery");
    expect(json.calls).toMatchObject([{ outcome: "SYSTEMERROR", fault: "SYSTEMERROR" }]);
  });
});

describe("code2session faults", () => {
  it.each([
    ["busy", -1, /^system error, rid: /],
    ["rate_limit", 45011, /^api minute-quota reach limit/],
  ])("%s answers errcode %i with HTTP 200 and leaves the code usable", async (kind, errcode, errmsg) => {
    const r = rig();
    const { json } = await r.control<{ code: string; openid: string }>("/__sim/login-codes", {});
    await fault(r, { api: "code2session", kind });
    const failed = await exchange(r, json.code);
    expect(failed.status).toBe(200);
    const body = (await failed.json()) as { errcode: number; errmsg: string };
    expect(body.errcode).toBe(errcode);
    expect(body.errmsg).toMatch(errmsg);
    expect(await (await exchange(r, json.code)).json()).toMatchObject({ openid: json.openid });
  });

  it("http_500 answers HTTP 500 and leaves the code usable", async () => {
    const r = rig();
    const { json } = await r.control<{ code: string }>("/__sim/login-codes", {});
    await fault(r, { api: "code2session", kind: "http_500" });
    expect((await exchange(r, json.code)).status).toBe(500);
    expect((await exchange(r, json.code)).status).toBe(200);
  });

  it("drop consumes the code but loses the response, so the retry sees 40163", async () => {
    const r = rig();
    const { json } = await r.control<{ code: string }>("/__sim/login-codes", {});
    await fault(r, { api: "code2session", kind: "drop" });
    await expect(exchange(r, json.code)).rejects.toBeInstanceOf(SimulatedDropError);
    expect(await (await exchange(r, json.code)).json()).toMatchObject({ errcode: 40163 });
  });
});

describe("notification faults", () => {
  async function pay(r: Rig) {
    await r.unifiedOrder(await r.openid());
    return (await r.control<{ delivered: boolean }>("/__sim/orders/ORDER-0001/pay", {})).json;
  }

  it("drop skips a delivery attempt, which counts as failed and is retried on schedule", async () => {
    const r = rig();
    await fault(r, { api: "notify", kind: "drop" });
    expect((await pay(r)).delivered).toBe(false);
    expect(r.notifications).toHaveLength(0);
    const { json } = await r.control<{ notifications: { status: number | null; error: string }[] }>("/__sim/orders/ORDER-0001");
    expect(json.notifications).toMatchObject([{ status: null, error: "dropped (injected fault)" }]);
    await r.control("/__sim/clock/advance", { seconds: 15 });
    expect(r.notifications).toHaveLength(1);
  });

  it("drop with times covers retries too", async () => {
    const r = rig();
    await fault(r, { api: "notify", kind: "drop", times: 3 });
    await pay(r);
    await r.control("/__sim/clock/advance", { seconds: 60 });
    expect(r.notifications).toHaveLength(1);
  });

  it("delay holds the POST back by delayMs of real time", async () => {
    const r = rig();
    await fault(r, { api: "notify", kind: "delay", delayMs: 60 });
    const started = Date.now();
    expect((await pay(r)).delivered).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(55);
  });

  it("applies to each duplicate copy separately", async () => {
    const r = rig();
    r.reply = NACK;
    await fault(r, { api: "notify", kind: "drop" });
    await r.unifiedOrder(await r.openid());
    await r.control("/__sim/orders/ORDER-0001/pay", { duplicates: 1 });
    expect(r.notifications).toHaveLength(1);
  });
});

describe("the faults endpoint", () => {
  it.each([
    [{ api: "payment", kind: "SYSTEMERROR" }],
    [{ api: "unifiedorder", kind: "explode" }],
    [{ api: "unifiedorder", kind: "BIZERR_NEED_RETRY" }],
    [{ api: "refundquery", kind: "BIZERR_NEED_RETRY" }],
    [{ api: "refund_notify", kind: "SYSTEMERROR" }],
    [{ api: "notify", kind: "http_500" }],
    [{ api: "notify", kind: "SYSTEMERROR" }],
    [{ api: "unifiedorder", kind: "busy" }],
    [{ api: "code2session", kind: "SYSTEMERROR" }],
    [{ api: "orderquery", kind: "SYSTEMERROR", times: 0 }],
    [{ api: "orderquery", kind: "delay", delayMs: -1 }],
  ])("refuses %j with 400", async (body) => {
    const r = rig();
    expect(await fault(r, body)).toMatchObject({ status: 400, json: { error: "BAD_REQUEST" } });
    expect((await r.control("/__sim/faults")).json).toEqual({ faults: [] });
  });

  it("lists queued faults and clears them with DELETE", async () => {
    const r = rig();
    await fault(r, { api: "orderquery", kind: "SYSTEMERROR", times: 2 });
    expect((await r.control("/__sim/faults")).json).toEqual({
      faults: [{ api: "orderquery", kind: "SYSTEMERROR", times: 2, delayMs: 1000 }],
    });
    expect((await r.control("/__sim/faults", undefined, "DELETE")).json).toEqual({ faults: [] });
    expect((await r.pay("orderquery", { out_trade_no: "ORDER-0001" })).fields.err_code).toBe("ORDERNOTEXIST");
  });
});
