// POST /pay/unifiedorder: parameter rules and re-entry (protocol reference §2.2, §5 items 7–11).
import { describe, expect, it } from "vitest";
import { verifyV2 } from "../../sim/src/sign";
import { CONFIG, beijingIn, rig } from "./helpers";

describe("unifiedorder success", () => {
  it.each(["MD5", "HMAC-SHA256"] as const)("returns a signed (%s) prepay_id for a valid JSAPI order", async (signType) => {
    const r = rig();
    const openid = await r.openid("alice");
    const reply = await r.unifiedOrder(openid, {}, signType);
    expect(reply.status).toBe(200);
    expect(reply.fields).toMatchObject({
      return_code: "SUCCESS",
      return_msg: "OK",
      appid: CONFIG.appid,
      mch_id: CONFIG.mchId,
      result_code: "SUCCESS",
      trade_type: "JSAPI",
    });
    expect(reply.fields.prepay_id).toMatch(/^wx20260520100000[0-9a-f]{20}$/);
    expect(await verifyV2(reply.fields, CONFIG.key, signType)).toBe(true);
  });

  it("records the order as NOTPAY", async () => {
    const r = rig();
    const reply = await r.unifiedOrder(await r.openid());
    const { json } = await r.control("/__sim/orders/ORDER-0001");
    expect(json).toMatchObject({ outTradeNo: "ORDER-0001", tradeState: "NOTPAY", totalFee: 1800, prepayId: reply.fields.prepay_id, transactionId: null });
  });

  it.each([
    ["the full out_trade_no alphabet", { out_trade_no: "Ab0_-|*xyz" }],
    ["a 32-character out_trade_no", { out_trade_no: "a".repeat(32) }],
    ["a 127-character body", { body: "咖".repeat(127) }],
    ["an http notify_url", { notify_url: "http://10.0.0.8/wxpay/notify" }],
    ["time_start and time_expire", { time_start: "20260520100000", time_expire: "20260520103000" }],
    ["time_expire exactly one minute ahead", { time_expire: "20260520100100" }],
    ["an IPv6 spbill_create_ip", { spbill_create_ip: "2001:db8::1" }],
    ["fee_type CNY and attach", { fee_type: "CNY", attach: "table=7" }],
  ])("accepts %s", async (_, overrides) => {
    const r = rig();
    const reply = await r.unifiedOrder(await r.openid(), overrides);
    expect(reply.fields.result_code).toBe("SUCCESS");
  });
});

describe("unifiedorder validation", () => {
  it.each(["body", "out_trade_no", "total_fee", "spbill_create_ip", "notify_url", "trade_type"])(
    "answers a missing %s with LACK_PARAMS",
    async (name) => {
      const r = rig();
      const reply = await r.unifiedOrder(await r.openid(), { [name]: undefined });
      expect(reply.fields).toMatchObject({ return_code: "SUCCESS", result_code: "FAIL", err_code: "LACK_PARAMS", err_code_des: `缺少参数${name}` });
      expect(await verifyV2(reply.fields, CONFIG.key, "MD5")).toBe(true);
    },
  );

  it("answers a JSAPI order without openid with LACK_PARAMS", async () => {
    const reply = await rig().unifiedOrder("", {});
    expect(reply.fields).toMatchObject({ result_code: "FAIL", err_code: "LACK_PARAMS", err_code_des: "JSAPI支付必须传openid" });
  });

  it.each([
    ["total_fee 0", { total_fee: "0" }, "invalid total_fee"],
    ["a negative total_fee", { total_fee: "-1" }, "invalid total_fee"],
    ["a fractional total_fee (yuan instead of fen)", { total_fee: "18.00" }, "invalid total_fee"],
    ["a non-numeric total_fee", { total_fee: "abc" }, "invalid total_fee"],
    ["a zero-padded total_fee", { total_fee: "01800" }, "invalid total_fee"],
    ["a 5-character out_trade_no", { out_trade_no: "A1234" }, /^out_trade_no/],
    ["a 33-character out_trade_no", { out_trade_no: "a".repeat(33) }, /^out_trade_no/],
    ["an out_trade_no with @", { out_trade_no: "ORDER@0001" }, /^out_trade_no/],
    ["a 128-character body", { body: "b".repeat(128) }, /^body/],
    ["a 128-character attach", { attach: "a".repeat(128) }, /^attach/],
    ["a notify_url with a query string", { notify_url: "https://m.example.com/notify?order=1" }, /^notify_url/],
    ["a notify_url that is not http(s)", { notify_url: "ftp://m.example.com/notify" }, /^notify_url/],
    ["a relative notify_url", { notify_url: "/wxpay/notify" }, /^notify_url/],
    ["a time_expire in another format", { time_expire: "2026-05-20 11:00:00" }, /^time_expire/],
    ["an impossible time_start", { time_start: "20260230100000" }, /^time_start/],
    ["a trade_type other than JSAPI", { trade_type: "NATIVE" }, /^trade_type/],
    ["a fee_type other than CNY", { fee_type: "USD" }, /^fee_type/],
    ["a spbill_create_ip that is not an address", { spbill_create_ip: "localhost" }, /^spbill_create_ip/],
  ])("answers %s with PARAM_ERROR", async (_, overrides, des) => {
    const r = rig();
    const reply = await r.unifiedOrder(await r.openid(), overrides);
    expect(reply.fields).toMatchObject({ return_code: "SUCCESS", result_code: "FAIL", err_code: "PARAM_ERROR" });
    expect(reply.fields.err_code_des).toMatch(des);
    expect(reply.fields.prepay_id).toBeUndefined();
  });

  it("answers an openid the simulator never issued with PARAM_ERROR appid和openid不匹配", async () => {
    const reply = await rig().unifiedOrder("oUpF8uMuAJO_M2pxb1Q9zNjWeS6o");
    expect(reply.fields).toMatchObject({ result_code: "FAIL", err_code: "PARAM_ERROR", err_code_des: "appid和openid不匹配" });
  });

  it("answers an openid of another mini program with PARAM_ERROR appid和openid不匹配", async () => {
    const r = rig();
    const { json } = await r.control<{ openid: string }>("/__sim/login-codes", { user: "alice", appid: "wx0000000000000001" });
    const reply = await r.unifiedOrder(json.openid);
    expect(reply.fields.err_code_des).toBe("appid和openid不匹配");
  });

  it.each([
    ["less than a minute ahead", 59],
    ["in the past", -60],
  ])("answers a time_expire %s with INVALID_REQUEST", async (_, seconds) => {
    const r = rig();
    const reply = await r.unifiedOrder(await r.openid(), { time_expire: beijingIn(r, seconds) });
    expect(reply.fields).toMatchObject({ result_code: "FAIL", err_code: "INVALID_REQUEST" });
    expect(reply.fields.err_code_des).toMatch(/^time_expire/);
  });

  it("answers a time_expire not after time_start with INVALID_REQUEST", async () => {
    const r = rig();
    const reply = await r.unifiedOrder(await r.openid(), { time_start: beijingIn(r, 600), time_expire: beijingIn(r, 300) });
    expect(reply.fields).toMatchObject({ err_code: "INVALID_REQUEST" });
  });

  it("creates no order when it refuses one", async () => {
    const r = rig();
    await r.unifiedOrder(await r.openid(), { total_fee: "0" });
    expect((await r.control("/__sim/orders/ORDER-0001")).status).toBe(404);
  });
});

describe("unifiedorder re-entry (same out_trade_no)", () => {
  it("returns the same prepay_id for identical business params, whatever nonce_str and sign_type", async () => {
    const r = rig();
    const openid = await r.openid();
    const first = await r.unifiedOrder(openid, {}, "HMAC-SHA256");
    r.clock.advance(60);
    const again = await r.unifiedOrder(openid, {}, "MD5");
    expect(again.fields.result_code).toBe("SUCCESS");
    expect(again.fields.prepay_id).toBe(first.fields.prepay_id);
    expect(await verifyV2(again.fields, CONFIG.key, "MD5")).toBe(true);
  });

  it("issues a fresh prepay_id once the old one is 2 h old, then keeps that one", async () => {
    const r = rig();
    const openid = await r.openid();
    const first = await r.unifiedOrder(openid);
    r.clock.advance(2 * 3600 - 1);
    expect((await r.unifiedOrder(openid)).fields.prepay_id).toBe(first.fields.prepay_id);
    r.clock.advance(1);
    const fresh = await r.unifiedOrder(openid);
    expect(fresh.fields.prepay_id).not.toBe(first.fields.prepay_id);
    expect((await r.unifiedOrder(openid)).fields.prepay_id).toBe(fresh.fields.prepay_id);
  });

  it.each([
    ["total_fee", { total_fee: "1900" }],
    ["body", { body: "Coffee shop-Tea" }],
    ["notify_url", { notify_url: "https://merchant.example.com/other" }],
    ["an added attach", { attach: "x" }],
    ["an added time_expire", { time_expire: "20260520110000" }],
    ["spbill_create_ip", { spbill_create_ip: "203.0.113.8" }],
  ])("answers a changed %s with INVALID_REQUEST 201 商户订单号重复", async (_, overrides) => {
    const r = rig();
    const openid = await r.openid();
    await r.unifiedOrder(openid);
    const reply = await r.unifiedOrder(openid, overrides);
    expect(reply.fields).toMatchObject({
      return_code: "SUCCESS",
      result_code: "FAIL",
      err_code: "INVALID_REQUEST",
      err_code_des: "201 商户订单号重复",
    });
    expect(await verifyV2(reply.fields, CONFIG.key, "MD5")).toBe(true);
  });

  it("answers a changed openid with 201 too", async () => {
    const r = rig();
    await r.unifiedOrder(await r.openid("alice"));
    expect((await r.unifiedOrder(await r.openid("bob"))).fields.err_code_des).toBe("201 商户订单号重复");
  });

  it("answers re-entry of a closed order with 201", async () => {
    const r = rig();
    const openid = await r.openid();
    await r.unifiedOrder(openid);
    await r.pay("closeorder", { out_trade_no: "ORDER-0001" });
    expect((await r.unifiedOrder(openid)).fields).toMatchObject({ err_code: "INVALID_REQUEST", err_code_des: "201 商户订单号重复" });
  });

  it("answers re-entry of a paid order with ORDERPAID, even with changed params", async () => {
    const r = rig();
    const openid = await r.openid();
    await r.unifiedOrder(openid);
    await r.control("/__sim/orders/ORDER-0001/pay", {});
    expect((await r.unifiedOrder(openid)).fields).toMatchObject({ result_code: "FAIL", err_code: "ORDERPAID" });
    expect((await r.unifiedOrder(openid, { total_fee: "1" })).fields.err_code).toBe("ORDERPAID");
  });

  it("answers an identical re-entry after time_expire with 201 (原参重入不能超期)", async () => {
    const r = rig();
    const openid = await r.openid();
    const timeExpire = beijingIn(r, 300);
    await r.unifiedOrder(openid, { time_expire: timeExpire });
    r.clock.advance(299);
    expect((await r.unifiedOrder(openid, { time_expire: timeExpire })).fields.result_code).toBe("SUCCESS");
    r.clock.advance(1);
    expect((await r.unifiedOrder(openid, { time_expire: timeExpire })).fields.err_code_des).toBe("201 商户订单号重复");
  });
});
