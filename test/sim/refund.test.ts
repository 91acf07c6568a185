// POST /secapi/pay/refund (protocol reference §2.5, §5 item 13): who may be refunded, how much,
// how often, and why the same out_refund_no never refunds twice.
import { describe, expect, it } from "vitest";
import { SimulatedDropError } from "../../sim/src/simulator";
import { verifyV2 } from "../../sim/src/sign";
import { CONFIG, START, rig, type Rig } from "./helpers";

type RefundView = { outRefundNo: string; refundId: string; status: string; refundFee: number };
type OrderView = { tradeState: string; refundedFee: number; refunds: RefundView[] };

const order = async (r: Rig) => (await r.control<OrderView>("/__sim/orders/ORDER-0001")).json;
const settings = (r: Rig, body: Record<string, unknown>) => r.control("/__sim/settings", body);
const fault = (r: Rig, body: Record<string, unknown>) => r.control("/__sim/faults", body);

/** A paid ORDER-0001 with the one-minute spacing turned off, for rules about amounts and counts. */
async function unspaced(): Promise<Rig> {
  const r = rig();
  await settings(r, { refundSpacingSeconds: 0 });
  await r.paidOrder();
  return r;
}

describe("a refund of a paid order", () => {
  it("is accepted with a signed reply naming the refund, its amounts and the order", async () => {
    const r = rig();
    const { transactionId } = await r.paidOrder();
    const reply = await r.refund({}, "HMAC-SHA256");
    expect(reply.status).toBe(200);
    expect(reply.fields).toEqual({
      return_code: "SUCCESS",
      return_msg: "OK",
      appid: CONFIG.appid,
      mch_id: CONFIG.mchId,
      nonce_str: expect.stringMatching(/^[A-Za-z0-9]{32}$/),
      sign: expect.stringMatching(/^[0-9A-F]{64}$/),
      result_code: "SUCCESS",
      transaction_id: transactionId,
      out_trade_no: "ORDER-0001",
      out_refund_no: "REFUND-0001",
      refund_id: expect.stringMatching(/^50300\d{5}20260520\d{11}$/),
      refund_channel: "",
      refund_fee: "600",
      coupon_refund_fee: "0",
      total_fee: "1800",
      cash_fee: "1800",
      coupon_refund_count: "0",
      cash_refund_fee: "600",
    });
    expect(await verifyV2(reply.fields, CONFIG.key, "HMAC-SHA256")).toBe(true);
  });

  it("is signed MD5 when the request was", async () => {
    const r = rig();
    await r.paidOrder();
    const reply = await r.refund();
    expect(reply.fields.sign).toHaveLength(32);
    expect(await verifyV2(reply.fields, CONFIG.key, "MD5")).toBe(true);
  });

  it("is PROCESSING, and the order's trade_state becomes REFUND", async () => {
    const r = rig();
    await r.paidOrder();
    const refundId = (await r.refund()).fields.refund_id;
    expect(await order(r)).toMatchObject({
      tradeState: "REFUND",
      refundedFee: 600,
      refunds: [{ outRefundNo: "REFUND-0001", refundId, status: "PROCESSING", refundFee: 600 }],
    });
    expect((await r.pay("orderquery", { out_trade_no: "ORDER-0001" })).fields.trade_state).toBe("REFUND");
  });

  it("finds the order by transaction_id, which wins over out_trade_no", async () => {
    const r = rig();
    const { transactionId } = await r.paidOrder();
    const reply = await r.refund({ transaction_id: transactionId, out_trade_no: "SOMEONE-ELSE" });
    expect(reply.fields).toMatchObject({ result_code: "SUCCESS", out_trade_no: "ORDER-0001" });
    const onlyTransaction = await r.refund({ transaction_id: transactionId, out_trade_no: undefined, out_refund_no: "REFUND-0002" });
    expect(onlyTransaction.fields).toMatchObject({ result_code: "FAIL", err_code: "INVALID_REQ_TOO_MUCH" });
  });

  it("goes through the v2 envelope like every pay call: bad sign and GET are refused unsigned", async () => {
    const r = rig();
    await r.paidOrder();
    const badSign = await r.refund({ sign: "0".repeat(32) });
    expect(badSign.fields).toEqual({ return_code: "FAIL", return_msg: "签名错误" });
    const get = await r.raw("/secapi/pay/refund", { method: "GET" });
    expect(await get.text()).toContain("请使用post方法");
    expect((await order(r)).refunds).toEqual([]);
  });

  it("is logged as api refund", async () => {
    const r = rig();
    await r.paidOrder();
    await r.refund();
    const { json } = await r.control<{ calls: { api: string; outcome: string; fields: Record<string, string> }[] }>("/__sim/calls?api=refund");
    expect(json.calls).toEqual([expect.objectContaining({ api: "refund", outcome: "SUCCESS" })]);
    expect(json.calls[0]!.fields).toMatchObject({ out_refund_no: "REFUND-0001", refund_fee: "600" });
  });
});

describe("out_refund_no is idempotent", () => {
  it("the same number with the same amounts returns the same refund and refunds nothing more", async () => {
    const r = rig();
    await r.paidOrder();
    const first = await r.refund();
    // Within the one-minute spacing, and after the refund finished: a retry is not a new refund.
    const retry = await r.refund();
    await r.control("/__sim/clock/advance", { seconds: 600 });
    const later = await r.refund();
    expect(retry.fields).toMatchObject({ result_code: "SUCCESS", refund_id: first.fields.refund_id, refund_fee: "600" });
    expect(later.fields).toMatchObject({ result_code: "SUCCESS", refund_id: first.fields.refund_id });
    expect(await order(r)).toMatchObject({ refundedFee: 600, refunds: [{ status: "SUCCESS" }] });
  });

  it("the same number with another refund_fee is refused (REFUND_FEE_MISMATCH) and changes nothing", async () => {
    const r = rig();
    await r.paidOrder();
    await r.refund();
    const changed = await r.refund({ refund_fee: "700" });
    expect(changed.fields).toMatchObject({
      result_code: "FAIL",
      err_code: "REFUND_FEE_MISMATCH",
      err_code_des: "订单金额或退款金额与之前请求不一致，请核实后再试",
    });
    expect(await verifyV2(changed.fields, CONFIG.key, "MD5")).toBe(true);
    expect((await order(r)).refunds.map((refund) => refund.refundFee)).toEqual([600]);
  });

  it("a number already used for another order is refused", async () => {
    const r = rig();
    await settings(r, { refundSpacingSeconds: 0 });
    await r.paidOrder();
    await r.refund();
    await r.unifiedOrder(await r.openid("payer"), { out_trade_no: "ORDER-0002" });
    await r.control("/__sim/orders/ORDER-0002/pay", {});
    const reused = await r.refund({ out_trade_no: "ORDER-0002" });
    expect(reused.fields).toMatchObject({ result_code: "FAIL", err_code: "INVALID_REQUEST" });
  });

  it("a refund whose reply was lost took effect; the retry with the same number gets it back", async () => {
    const r = rig();
    await r.paidOrder();
    await fault(r, { api: "refund", kind: "drop" });
    await expect(r.refund()).rejects.toBeInstanceOf(SimulatedDropError);
    const [lost] = (await order(r)).refunds;
    const retry = await r.refund();
    expect(retry.fields).toMatchObject({ result_code: "SUCCESS", refund_id: lost!.refundId });
    expect((await order(r)).refunds).toHaveLength(1);
  });
});

describe("amounts", () => {
  it("total_fee must be the order's amount", async () => {
    const r = await unspaced();
    expect((await r.refund({ total_fee: "1700" })).fields).toMatchObject({ result_code: "FAIL", err_code: "REFUND_FEE_MISMATCH" });
  });

  it("refund_fee above total_fee is refused at the return level, unsigned (as observed)", async () => {
    const r = await unspaced();
    expect((await r.refund({ refund_fee: "1801" })).fields).toEqual({ return_code: "FAIL", return_msg: "invalid refund_fee" });
  });

  it.each(["0", "-1", "1.5", "abc", "06", "2147483648"])("refund_fee %j is PARAM_ERROR", async (refundFee) => {
    const r = await unspaced();
    expect((await r.refund({ refund_fee: refundFee })).fields).toMatchObject({
      result_code: "FAIL",
      err_code: "PARAM_ERROR",
      err_code_des: "invalid refund_fee",
    });
  });

  it("partial refunds may add up to the total; then the order is fully refunded (ERROR 订单已全额退款)", async () => {
    const r = await unspaced();
    expect((await r.refund({ out_refund_no: "R1", refund_fee: "1000" })).fields.result_code).toBe("SUCCESS");
    expect((await r.refund({ out_refund_no: "R2", refund_fee: "800" })).fields.result_code).toBe("SUCCESS");
    expect((await r.refund({ out_refund_no: "R3", refund_fee: "1" })).fields).toMatchObject({
      result_code: "FAIL",
      err_code: "ERROR",
      err_code_des: "订单已全额退款",
    });
    expect((await order(r)).refundedFee).toBe(1800);
  });

  it("a refund above what is left is refused (INVALID_REQUEST refund_fee大于可退金额), not NOTENOUGH", async () => {
    const r = await unspaced();
    await r.refund({ out_refund_no: "R1", refund_fee: "1000" });
    expect((await r.refund({ out_refund_no: "R2", refund_fee: "801" })).fields).toMatchObject({
      result_code: "FAIL",
      err_code: "INVALID_REQUEST",
      err_code_des: "refund_fee大于可退金额",
    });
  });

  it("a closed refund (REFUNDCLOSE) gives its amount back to refund", async () => {
    const r = await unspaced();
    await r.refund({ out_refund_no: "R1", refund_fee: "1800" });
    await r.control("/__sim/refunds/R1/complete", { status: "REFUNDCLOSE" });
    expect((await order(r)).refundedFee).toBe(0);
    expect((await r.refund({ out_refund_no: "R2", refund_fee: "1800" })).fields.result_code).toBe("SUCCESS");
  });
});

describe("the order", () => {
  it("must exist and be paid: unknown, NOTPAY and CLOSED orders are ORDERNOTEXIST", async () => {
    const r = rig();
    expect((await r.refund()).fields).toMatchObject({ result_code: "FAIL", err_code: "ORDERNOTEXIST", err_code_des: "订单不存在" });
    await r.unifiedOrder(await r.openid());
    expect((await r.refund()).fields.err_code).toBe("ORDERNOTEXIST");
    await r.pay("closeorder", { out_trade_no: "ORDER-0001" });
    expect((await r.refund()).fields.err_code).toBe("ORDERNOTEXIST");
  });

  it("an unknown transaction_id is ORDERNOTEXIST; a malformed one INVALID_TRANSACTIONID", async () => {
    const r = rig();
    await r.paidOrder();
    expect((await r.refund({ transaction_id: "4".repeat(28) })).fields.err_code).toBe("ORDERNOTEXIST");
    expect((await r.refund({ transaction_id: "42000" })).fields.err_code).toBe("INVALID_TRANSACTIONID");
  });

  it("paid more than a year ago cannot be refunded (TRADE_OVERDUE)", async () => {
    const r = rig();
    await r.paidOrder();
    r.clock.advance(366 * 24 * 60 * 60);
    expect((await r.refund()).fields).toMatchObject({ result_code: "FAIL", err_code: "TRADE_OVERDUE" });
  });
});

describe("request fields", () => {
  it.each(["out_refund_no", "total_fee", "refund_fee"])("a missing %s is LACK_PARAMS", async (name) => {
    const r = await unspaced();
    expect((await r.refund({ [name]: undefined })).fields).toMatchObject({ err_code: "LACK_PARAMS", err_code_des: `缺少参数${name}` });
  });

  it("neither transaction_id nor out_trade_no is LACK_PARAMS", async () => {
    const r = await unspaced();
    expect((await r.refund({ out_trade_no: undefined })).fields.err_code).toBe("LACK_PARAMS");
  });

  it("out_refund_no is 1–64 of [0-9A-Za-z_-|*@]", async () => {
    const r = await unspaced();
    expect((await r.refund({ out_refund_no: "R_-|*@9" })).fields.result_code).toBe("SUCCESS");
    expect((await r.refund({ out_refund_no: "x".repeat(64), refund_fee: "1" })).fields.result_code).toBe("SUCCESS");
    for (const bad of ["x".repeat(65), "R 1", "退款1", "R#1"]) {
      expect((await r.refund({ out_refund_no: bad })).fields.err_code, bad).toBe("PARAM_ERROR");
    }
  });

  it("refund_desc ≤ 80 characters, notify_url without a query, a known refund_account, CNY only", async () => {
    const r = await unspaced();
    for (const overrides of [
      { refund_desc: "退".repeat(81) },
      { notify_url: "https://merchant.example.com/refund?x=1" },
      { notify_url: "ftp://merchant.example.com/refund" },
      { refund_account: "MY_POCKET" },
      { refund_fee_type: "USD" },
    ]) {
      expect((await r.refund(overrides)).fields.err_code, JSON.stringify(overrides)).toBe("PARAM_ERROR");
    }
    expect((await r.refund({ refund_desc: "退".repeat(80), refund_account: "REFUND_SOURCE_RECHARGE_FUNDS" })).fields.result_code).toBe(
      "SUCCESS",
    );
  });
});

describe("limits", () => {
  it("at most 50 refunds per order", async () => {
    const r = await unspaced();
    for (let i = 1; i <= 50; i++) {
      expect((await r.refund({ out_refund_no: `R${i}`, refund_fee: "1" })).fields.result_code, `refund ${i}`).toBe("SUCCESS");
    }
    expect((await r.refund({ out_refund_no: "R51", refund_fee: "1" })).fields).toMatchObject({
      result_code: "FAIL",
      err_code: "INVALID_REQUEST",
    });
    expect((await order(r)).refunds).toHaveLength(50);
  });

  it("a new refund of the same order within 60 s (sim time) of the previous one is INVALID_REQ_TOO_MUCH", async () => {
    const r = rig();
    await r.paidOrder();
    await r.refund({ out_refund_no: "R1", refund_fee: "100" });
    r.clock.advance(59);
    expect((await r.refund({ out_refund_no: "R2", refund_fee: "100" })).fields).toMatchObject({
      result_code: "FAIL",
      err_code: "INVALID_REQ_TOO_MUCH",
    });
    r.clock.advance(1);
    expect((await r.refund({ out_refund_no: "R2", refund_fee: "100" })).fields.result_code).toBe("SUCCESS");
  });

  it("the spacing is a setting (refundSpacingSeconds)", async () => {
    const r = rig();
    expect((await settings(r, { refundSpacingSeconds: 10 })).json).toMatchObject({ refundSpacingSeconds: 10 });
    await r.paidOrder();
    await r.refund({ out_refund_no: "R1", refund_fee: "100" });
    r.clock.advance(9);
    expect((await r.refund({ out_refund_no: "R2", refund_fee: "100" })).fields.err_code).toBe("INVALID_REQ_TOO_MUCH");
    r.clock.advance(1);
    expect((await r.refund({ out_refund_no: "R2", refund_fee: "100" })).fields.result_code).toBe("SUCCESS");
  });

  it("the spacing is per order", async () => {
    const r = rig();
    await r.paidOrder();
    await r.unifiedOrder(await r.openid("payer"), { out_trade_no: "ORDER-0002" });
    await r.control("/__sim/orders/ORDER-0002/pay", {});
    await r.refund({ out_refund_no: "R1" });
    expect((await r.refund({ out_refund_no: "R2", out_trade_no: "ORDER-0002" })).fields.result_code).toBe("SUCCESS");
  });
});

describe("faults", () => {
  it.each(["SYSTEMERROR", "BIZERR_NEED_RETRY"])("%s answers signed result_code=FAIL and creates nothing; the retry succeeds", async (kind) => {
    const r = rig();
    await r.paidOrder();
    await fault(r, { api: "refund", kind });
    const failed = await r.refund({}, "HMAC-SHA256");
    expect(failed.fields).toMatchObject({ return_code: "SUCCESS", result_code: "FAIL", err_code: kind });
    expect(await verifyV2(failed.fields, CONFIG.key, "HMAC-SHA256")).toBe(true);
    expect((await order(r)).refunds).toEqual([]);
    expect((await r.refund({}, "HMAC-SHA256")).fields.result_code).toBe("SUCCESS");
  });

  it("http_500 answers HTTP 500 and creates nothing", async () => {
    const r = rig();
    await r.paidOrder();
    await fault(r, { api: "refund", kind: "http_500" });
    expect((await r.refund()).status).toBe(500);
    expect((await order(r)).refunds).toEqual([]);
  });

  it("faults of other APIs leave refunds alone", async () => {
    const r = rig();
    await r.paidOrder();
    await fault(r, { api: "orderquery", kind: "SYSTEMERROR" });
    expect((await r.refund()).fields.result_code).toBe("SUCCESS");
  });
});

it("refund ids are unique and the refund remembers when it was made", async () => {
  const r = await unspaced();
  const a = (await r.refund({ out_refund_no: "R1", refund_fee: "1" })).fields.refund_id;
  const b = (await r.refund({ out_refund_no: "R2", refund_fee: "1" })).fields.refund_id;
  expect(a).not.toBe(b);
  const view = (await r.control<{ createdAt: string }>("/__sim/refunds/R1")).json;
  expect(view.createdAt).toBe(new Date(START).toISOString());
});
