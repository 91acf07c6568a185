// The v3 order endpoints (§4.4, §4.5): JSAPI prepay with its checks and re-entry, the query by
// out_trade_no and by transaction_id, and close. Every answer is checked for WeChat's signature.
import { describe, expect, it } from "vitest";
import { signV2 } from "../../sim/src/sign";
import { buildWeChatXml, parseWeChatXml } from "../../sim/src/xml";
import { CONFIG } from "./helpers";
import { ORDER, V3_NOTIFY_URL, V3_START, v3Rig, type V3Answer } from "./v3-helpers";

const query = (no = ORDER) => `/v3/pay/transactions/out-trade-no/${no}?mchid=${CONFIG.mchId}`;
const close = (no = ORDER) => `/v3/pay/transactions/out-trade-no/${no}/close`;

function expectError(answer: V3Answer, status: number, code: string) {
  expect(answer.status).toBe(status);
  expect(answer.json.code).toBe(code);
  expect(typeof answer.json.message).toBe("string");
  expect(answer.check.ok).toBe(true);
}

describe("POST /v3/pay/transactions/jsapi", () => {
  it("answers 200 {prepay_id}, signed, and creates a v3 order that expires after 7 days by default", async () => {
    const r = v3Rig();
    const answer = await r.prepay(await r.openid());
    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({ prepay_id: expect.stringMatching(/^wx\d{14}[0-9a-f]{20}$/) });
    expect(answer.check.ok).toBe(true);
    const { json: order } = await r.control(`/__sim/orders/${ORDER}`);
    expect(order).toMatchObject({ protocol: "v3", tradeState: "NOTPAY", totalFee: 1800, prepayId: answer.json.prepay_id, signType: null, notifyUrl: V3_NOTIFY_URL });
    expect(order.expiresAt).toBe(new Date(V3_START + 7 * 86_400_000).toISOString());
  });

  it("moves time_expire into [now + 1 min, now + 90 days] instead of refusing it", async () => {
    const r = v3Rig();
    const openid = await r.openid();
    await r.prepay(openid, { out_trade_no: "SOON-000001", time_expire: "2026-12-02T10:00:10+08:00" });
    await r.prepay(openid, { out_trade_no: "LATER-00001", time_expire: "2027-12-02T10:00:00+08:00" });
    await r.prepay(openid, { out_trade_no: "EXACT-00001", time_expire: "2026-12-02T02:30:00Z" });
    expect((await r.control("/__sim/orders/SOON-000001")).json.expiresAt).toBe(new Date(V3_START + 60_000).toISOString());
    expect((await r.control("/__sim/orders/LATER-00001")).json.expiresAt).toBe(new Date(V3_START + 90 * 86_400_000).toISOString());
    expect((await r.control("/__sim/orders/EXACT-00001")).json.expiresAt).toBe(new Date(V3_START + 30 * 60_000).toISOString());
  });

  const invalid: [string, Record<string, unknown>, number, string][] = [
    ["a missing description", { description: undefined }, 400, "PARAM_ERROR"],
    ["a 128-character description", { description: "字".repeat(128) }, 400, "PARAM_ERROR"],
    ["an out_trade_no of 5 characters", { out_trade_no: "ABCDE" }, 400, "PARAM_ERROR"],
    ["an out_trade_no with a dot", { out_trade_no: "ORDER.0001" }, 400, "PARAM_ERROR"],
    ["a fractional amount", { amount: { total: 1.5 } }, 400, "PARAM_ERROR"],
    ["a zero amount", { amount: { total: 0 } }, 400, "PARAM_ERROR"],
    ["an amount as a string", { amount: { total: "100" } }, 400, "PARAM_ERROR"],
    ["a currency other than CNY", { amount: { total: 100, currency: "USD" } }, 400, "PARAM_ERROR"],
    ["a missing payer", { payer: undefined }, 400, "PARAM_ERROR"],
    ["an openid never issued", { payer: { openid: "oNEVERISSUED000000000000000" } }, 400, "PARAM_ERROR"],
    ["an http notify_url to a public host", { notify_url: "http://merchant.example.com/n" }, 400, "PARAM_ERROR"],
    ["a notify_url with a query", { notify_url: "https://merchant.example.com/n?x=1" }, 400, "PARAM_ERROR"],
    ["a time_expire in v2's format", { time_expire: "20261202103000" }, 400, "PARAM_ERROR"],
    ["an impossible time_expire", { time_expire: "2026-02-30T10:00:00+08:00" }, 400, "PARAM_ERROR"],
    ["another appid", { appid: "wx0000000000000000" }, 400, "APPID_MCHID_NOT_MATCH"],
    ["another mchid in the body", { mchid: "1900000110" }, 400, "MCH_NOT_EXISTS"],
  ];
  it.each(invalid)("refuses %s", async (_name, overrides, status, code) => {
    const r = v3Rig();
    expectError(await r.prepay(await r.openid(), overrides), status, code);
    expect((await r.control(`/__sim/orders/${ORDER}`)).status).toBe(404);
  });

  it("accepts an http notify_url to a loopback host (the local service)", async () => {
    const r = v3Rig();
    expect((await r.prepay(await r.openid(), { notify_url: "http://127.0.0.1:8787/wxpay/v3/notify" })).status).toBe(200);
  });

  it("refuses a body that is not a JSON object with 400 PARAM_ERROR", async () => {
    expectError(await v3Rig().call("POST", "/v3/pay/transactions/jsapi", "[1,2]"), 400, "PARAM_ERROR");
  });

  it("re-entry with identical params returns the same prepay_id, a fresh one after 2 h", async () => {
    const r = v3Rig();
    const openid = await r.openid();
    const first = (await r.prepay(openid)).json.prepay_id;
    expect((await r.prepay(openid)).json.prepay_id).toBe(first);
    r.clock.advance(2 * 3600);
    const fresh = (await r.prepay(openid)).json.prepay_id;
    expect(fresh).not.toBe(first);
    expect((await r.prepay(openid)).json.prepay_id).toBe(fresh);
  });

  it("re-entry with different params (or a v2 order's number) is 403 OUT_TRADE_NO_USED", async () => {
    const r = v3Rig();
    const openid = await r.openid();
    await r.prepay(openid);
    expectError(await r.prepay(openid, { amount: { total: 1900, currency: "CNY" } }), 403, "OUT_TRADE_NO_USED");
    expectError(await r.prepay(openid, { time_expire: "2026-12-03T10:00:00+08:00" }), 403, "OUT_TRADE_NO_USED");
  });

  it("re-entry on a paid order is 400 ORDERPAID; on a closed or expired one 400 ORDER_CLOSED", async () => {
    const r = v3Rig();
    const openid = await r.openid();
    await r.paidOrder();
    expectError(await r.prepay(openid), 400, "ORDERPAID");
    await r.prepay(openid, { out_trade_no: "CLOSED-0001" });
    await r.call("POST", close("CLOSED-0001"), { mchid: CONFIG.mchId });
    expectError(await r.prepay(openid, { out_trade_no: "CLOSED-0001" }), 400, "ORDER_CLOSED");
    await r.prepay(openid, { out_trade_no: "EXPIRE-0001", time_expire: "2026-12-02T10:05:00+08:00" });
    r.clock.advance(301);
    expectError(await r.prepay(openid, { out_trade_no: "EXPIRE-0001", time_expire: "2026-12-02T10:05:00+08:00" }), 400, "ORDER_CLOSED");
  });
});

describe("GET /v3/pay/transactions/out-trade-no/{no}", () => {
  it("shows an unpaid order without payment fields", async () => {
    const r = v3Rig();
    await r.prepay(await r.openid(), { attach: "table 7" });
    const answer = await r.call("GET", query());
    expect(answer.status).toBe(200);
    expect(answer.check.ok).toBe(true);
    expect(answer.json).toEqual({
      appid: CONFIG.appid,
      mchid: CONFIG.mchId,
      out_trade_no: ORDER,
      trade_state: "NOTPAY",
      trade_state_desc: "订单未支付",
      attach: "table 7",
      amount: { total: 1800, currency: "CNY", payer_currency: "CNY" },
    });
  });

  it("shows a paid order as the Transaction of §4.5, and the same by transaction_id", async () => {
    const r = v3Rig();
    const openid = await r.openid();
    r.clock.advance(90);
    const { transactionId } = await r.paidOrder();
    const expected = {
      appid: CONFIG.appid,
      mchid: CONFIG.mchId,
      out_trade_no: ORDER,
      transaction_id: transactionId,
      trade_type: "JSAPI",
      trade_state: "SUCCESS",
      trade_state_desc: "支付成功",
      bank_type: "OTHERS",
      attach: "",
      success_time: "2026-12-02T10:01:30+08:00",
      payer: { openid },
      amount: { total: 1800, payer_total: 1800, currency: "CNY", payer_currency: "CNY" },
    };
    expect((await r.call("GET", query())).json).toEqual(expected);
    expect((await r.call("GET", `/v3/pay/transactions/id/${transactionId}?mchid=${CONFIG.mchId}`)).json).toEqual(expected);
  });

  it("is 404 ORDER_NOT_EXIST for an unknown order or transaction_id; 400 without our mchid", async () => {
    const r = v3Rig();
    expectError(await r.call("GET", query("NOSUCHORDER")), 404, "ORDER_NOT_EXIST");
    expectError(await r.call("GET", `/v3/pay/transactions/id/4200000000202612020000000000?mchid=${CONFIG.mchId}`), 404, "ORDER_NOT_EXIST");
    expectError(await r.call("GET", `/v3/pay/transactions/out-trade-no/${ORDER}`), 400, "PARAM_ERROR");
    expectError(await r.call("GET", `/v3/pay/transactions/out-trade-no/${ORDER}?mchid=1900000110`), 400, "MCH_NOT_EXISTS");
  });

  it("shares the orders with v2: a v2 order is seen by the v3 query, and a v3 order by v2 orderquery", async () => {
    const r = v3Rig();
    const openid = await r.openid();
    const v2 = async (api: string, fields: Record<string, string>) => {
      const all = { appid: CONFIG.appid, mch_id: CONFIG.mchId, nonce_str: "n0nce", ...fields };
      const xml = buildWeChatXml({ ...all, sign: await signV2(all, CONFIG.key, "MD5") });
      const response = await r.sim.fetch(new Request(`http://sim.test/pay/${api}`, { method: "POST", body: xml }));
      const parsed = parseWeChatXml(await response.text());
      return parsed.ok ? parsed.fields : {};
    };
    const placed = await v2("unifiedorder", {
      body: "Tea",
      out_trade_no: "V2-ORDER-01",
      total_fee: "500",
      spbill_create_ip: "203.0.113.7",
      notify_url: "https://merchant.example.com/n",
      trade_type: "JSAPI",
      openid,
    });
    expect(placed.result_code).toBe("SUCCESS");
    expect((await r.call("GET", query("V2-ORDER-01"))).json).toMatchObject({ trade_state: "NOTPAY", amount: { total: 500 } });
    expectError(await r.prepay(openid, { out_trade_no: "V2-ORDER-01" }), 403, "OUT_TRADE_NO_USED");
    await r.prepay(openid);
    expect(await v2("orderquery", { out_trade_no: ORDER })).toMatchObject({ result_code: "SUCCESS", trade_state: "NOTPAY", total_fee: "1800" });
  });
});

describe("POST /v3/pay/transactions/out-trade-no/{no}/close", () => {
  it("closes an unpaid order: 204 with an empty, signed body; the order cannot be paid", async () => {
    const r = v3Rig();
    await r.prepay(await r.openid());
    const answer = await r.call("POST", close(), { mchid: CONFIG.mchId });
    expect(answer.status).toBe(204);
    expect(answer.text).toBe("");
    expect(answer.check.ok).toBe(true);
    expect((await r.call("GET", query())).json.trade_state).toBe("CLOSED");
    expect((await r.control(`/__sim/orders/${ORDER}/pay`, {})).status).toBe(409);
  });

  it("is 400 ORDERPAID for a paid order, 400 ORDER_CLOSED for a closed one, 204 for an unknown one", async () => {
    const r = v3Rig();
    await r.paidOrder();
    expectError(await r.call("POST", close(), { mchid: CONFIG.mchId }), 400, "ORDERPAID");
    const openid = await r.openid();
    await r.prepay(openid, { out_trade_no: "CLOSE-00002" });
    expect((await r.call("POST", close("CLOSE-00002"), { mchid: CONFIG.mchId })).status).toBe(204);
    expectError(await r.call("POST", close("CLOSE-00002"), { mchid: CONFIG.mchId }), 400, "ORDER_CLOSED");
    expect((await r.call("POST", close("NOSUCHORDER"), { mchid: CONFIG.mchId })).status).toBe(204);
  });

  it("needs our mchid in the body", async () => {
    const r = v3Rig();
    await r.prepay(await r.openid());
    expectError(await r.call("POST", close(), {}), 400, "PARAM_ERROR");
    expectError(await r.call("POST", close(), { mchid: "1900000110" }), 400, "MCH_NOT_EXISTS");
    expect((await r.call("GET", query())).json.trade_state).toBe("NOTPAY");
  });
});

describe("v3 faults and the call log", () => {
  it("SYSTEMERROR is a signed 500 SYSTEM_ERROR that changes nothing; http_500 an unsigned 500; each call is logged", async () => {
    const r = v3Rig();
    const openid = await r.openid();
    await r.control("/__sim/faults", { api: "v3_jsapi", kind: "SYSTEMERROR" });
    await r.control("/__sim/faults", { api: "v3_jsapi", kind: "http_500" });
    expectError(await r.prepay(openid), 500, "SYSTEM_ERROR");
    const raw = await r.prepay(openid).catch((error: unknown) => error);
    expect(raw).toBeInstanceOf(SyntaxError);
    expect((await r.control(`/__sim/orders/${ORDER}`)).status).toBe(404);
    expect((await r.prepay(openid)).status).toBe(200);
    const { json } = await r.control<{ calls: { outcome: string; fault: string | null; fields: Record<string, string> }[] }>("/__sim/calls?api=v3_jsapi");
    expect(json.calls.map((call) => [call.outcome, call.fault])).toEqual([
      ["SYSTEM_ERROR", "SYSTEMERROR"],
      ["http_500", "http_500"],
      ["SUCCESS", null],
    ]);
    expect(json.calls[2]!.fields).toMatchObject({ out_trade_no: ORDER, "amount.total": "1800", "payer.openid": openid });
  });

  it("drop: the prepay takes effect but its answer is lost", async () => {
    const r = v3Rig();
    const openid = await r.openid();
    await r.control("/__sim/faults", { api: "v3_jsapi", kind: "drop" });
    await expect(r.prepay(openid)).rejects.toThrow("simulated connection drop");
    expect((await r.control(`/__sim/orders/${ORDER}`)).json.tradeState).toBe("NOTPAY");
  });
});
