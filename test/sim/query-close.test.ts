// POST /pay/orderquery and /pay/closeorder, and the order states they expose
// (protocol reference §2.3, §2.4, §5 item 8).
import { describe, expect, it } from "vitest";
import { verifyV2 } from "../../sim/src/sign";
import { CONFIG, beijingIn, rig, type Rig } from "./helpers";

async function placeOrder(r: Rig, overrides: Record<string, string> = {}) {
  const openid = await r.openid("alice");
  const reply = await r.unifiedOrder(openid, overrides);
  expect(reply.fields.result_code).toBe("SUCCESS");
  return openid;
}

const query = (r: Rig, fields: Record<string, string> = { out_trade_no: "ORDER-0001" }, signType: "MD5" | "HMAC-SHA256" = "MD5") =>
  r.pay("orderquery", fields, signType);

describe("orderquery", () => {
  it("answers an unknown order with ORDERNOTEXIST", async () => {
    const reply = await query(rig());
    expect(reply.fields).toMatchObject({ return_code: "SUCCESS", result_code: "FAIL", err_code: "ORDERNOTEXIST" });
  });

  it("answers a query with neither out_trade_no nor transaction_id with LACK_PARAMS", async () => {
    expect((await query(rig(), {})).fields.err_code).toBe("LACK_PARAMS");
  });

  it("shows an unpaid order as NOTPAY with an empty device_info, as real replies do", async () => {
    const r = rig();
    const openid = await placeOrder(r);
    const reply = await query(r, undefined, "HMAC-SHA256");
    expect(reply.fields).toEqual({
      return_code: "SUCCESS",
      return_msg: "OK",
      appid: CONFIG.appid,
      mch_id: CONFIG.mchId,
      device_info: "",
      nonce_str: expect.any(String),
      sign: expect.stringMatching(/^[0-9A-F]{64}$/),
      result_code: "SUCCESS",
      openid,
      trade_type: "JSAPI",
      total_fee: "1800",
      out_trade_no: "ORDER-0001",
      trade_state: "NOTPAY",
      trade_state_desc: "订单未支付",
    });
    expect(reply.raw).toContain("<device_info><![CDATA[]]></device_info>");
    expect(reply.raw).toContain("<total_fee>1800</total_fee>");
    // The empty device_info is left out of the signed string.
    expect(await verifyV2(reply.fields, CONFIG.key, "HMAC-SHA256")).toBe(true);
  });

  it("shows a paid order as SUCCESS with the payment fields", async () => {
    const r = rig();
    const openid = await placeOrder(r, { attach: "table=7" });
    r.clock.advance(42);
    const { json } = await r.control<{ transactionId: string }>("/__sim/orders/ORDER-0001/pay", {});
    const reply = await query(r);
    expect(reply.fields).toMatchObject({
      result_code: "SUCCESS",
      openid,
      is_subscribe: "N",
      trade_type: "JSAPI",
      bank_type: "CFT",
      total_fee: "1800",
      fee_type: "CNY",
      cash_fee: "1800",
      transaction_id: json.transactionId,
      out_trade_no: "ORDER-0001",
      attach: "table=7",
      time_end: "20260520100042",
      trade_state: "SUCCESS",
      trade_state_desc: "支付成功",
    });
    expect(json.transactionId).toMatch(/^42000\d{5}20260520\d{10}$/);
    expect(await verifyV2(reply.fields, CONFIG.key, "MD5")).toBe(true);
  });

  it("finds an order by transaction_id, which wins over out_trade_no", async () => {
    const r = rig();
    await placeOrder(r);
    const { json } = await r.control<{ transactionId: string }>("/__sim/orders/ORDER-0001/pay", {});
    const reply = await query(r, { transaction_id: json.transactionId, out_trade_no: "SOMETHING-ELSE" });
    expect(reply.fields.out_trade_no).toBe("ORDER-0001");
    expect((await query(r, { transaction_id: "4200000000202605200000000000" })).fields.err_code).toBe("ORDERNOTEXIST");
  });

  it("keeps an order NOTPAY after its time_expire passes; it only stops being payable", async () => {
    const r = rig();
    await placeOrder(r, { time_expire: beijingIn(r, 120) });
    r.clock.advance(3600);
    expect((await query(r)).fields.trade_state).toBe("NOTPAY");
    const pay = await r.control("/__sim/orders/ORDER-0001/pay", {});
    expect(pay).toEqual({ status: 409, json: { error: "ORDER_EXPIRED", message: expect.any(String) } });
  });

  it("shows a refunded order as REFUND", async () => {
    const r = rig();
    await placeOrder(r);
    await r.control("/__sim/orders/ORDER-0001/pay", {});
    expect((await r.control("/__sim/orders/ORDER-0001/refund", {})).status).toBe(200);
    expect((await query(r)).fields).toMatchObject({ trade_state: "REFUND", trade_state_desc: expect.stringMatching(/退款/) });
  });
});

describe("closeorder", () => {
  const close = (r: Rig, outTradeNo = "ORDER-0001") => r.pay("closeorder", { out_trade_no: outTradeNo }, "HMAC-SHA256");

  it("closes an unpaid order, after which orderquery shows CLOSED", async () => {
    const r = rig();
    await placeOrder(r);
    const reply = await close(r);
    expect(reply.fields).toMatchObject({ return_code: "SUCCESS", result_code: "SUCCESS", result_msg: "OK" });
    expect(await verifyV2(reply.fields, CONFIG.key, "HMAC-SHA256")).toBe(true);
    expect((await query(r)).fields).toMatchObject({ trade_state: "CLOSED", trade_state_desc: "订单已关闭" });
  });

  it("answers a second close with ORDERCLOSED", async () => {
    const r = rig();
    await placeOrder(r);
    await close(r);
    expect((await close(r)).fields).toMatchObject({ result_code: "FAIL", err_code: "ORDERCLOSED" });
  });

  it("refuses to close a paid order with ORDERPAID", async () => {
    const r = rig();
    await placeOrder(r);
    await r.control("/__sim/orders/ORDER-0001/pay", {});
    expect((await close(r)).fields).toMatchObject({ result_code: "FAIL", err_code: "ORDERPAID" });
    expect((await query(r)).fields.trade_state).toBe("SUCCESS");
  });

  it("answers an unknown order with ORDERNOTEXIST", async () => {
    expect((await close(rig())).fields).toMatchObject({ result_code: "FAIL", err_code: "ORDERNOTEXIST" });
  });

  it("answers a close without out_trade_no with LACK_PARAMS", async () => {
    expect((await rig().pay("closeorder", {})).fields.err_code).toBe("LACK_PARAMS");
  });

  it("closes an order whose time_expire has passed", async () => {
    const r = rig();
    await placeOrder(r, { time_expire: beijingIn(r, 120) });
    r.clock.advance(600);
    expect((await close(r)).fields.result_code).toBe("SUCCESS");
  });

  it("makes a closed order unpayable", async () => {
    const r = rig();
    await placeOrder(r);
    await close(r);
    expect(await r.control("/__sim/orders/ORDER-0001/pay", {})).toMatchObject({ status: 409, json: { error: "ORDER_NOT_PAYABLE" } });
  });
});
