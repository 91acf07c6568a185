// POST /pay/refundquery (protocol reference §2.6): which refunds an answer lists, and the indexed
// `_$n` fields each one gets.
import { describe, expect, it } from "vitest";
import { verifyV2 } from "../../sim/src/sign";
import { CONFIG, rig, type Rig } from "./helpers";

const query = (r: Rig, fields: Record<string, string | undefined>, signType?: "MD5" | "HMAC-SHA256") =>
  r.pay("refundquery", fields, signType);

/** ORDER-0001 paid, spacing off, and `count` refunds R1… of 1 fen each. */
async function refunded(count: number): Promise<Rig> {
  const r = rig();
  await r.control("/__sim/settings", { refundSpacingSeconds: 0 });
  await r.paidOrder();
  for (let i = 1; i <= count; i++) await r.refund({ out_refund_no: `R${i}`, refund_fee: "1" });
  return r;
}

describe("by out_refund_no", () => {
  it("lists that refund alone as entry _0, signed with the request's sign_type", async () => {
    const r = rig();
    const { transactionId } = await r.paidOrder();
    const refundId = (await r.refund()).fields.refund_id;
    const reply = await query(r, { out_refund_no: "REFUND-0001" }, "HMAC-SHA256");
    expect(reply.fields).toEqual({
      return_code: "SUCCESS",
      return_msg: "OK",
      appid: CONFIG.appid,
      mch_id: CONFIG.mchId,
      nonce_str: expect.any(String),
      sign: expect.stringMatching(/^[0-9A-F]{64}$/),
      result_code: "SUCCESS",
      transaction_id: transactionId,
      out_trade_no: "ORDER-0001",
      total_fee: "1800",
      fee_type: "CNY",
      cash_fee: "1800",
      refund_count: "1",
      out_refund_no_0: "REFUND-0001",
      refund_id_0: refundId,
      refund_channel_0: "ORIGINAL",
      refund_fee_0: "600",
      settlement_refund_fee_0: "600",
      refund_status_0: "PROCESSING",
      refund_account_0: "REFUND_SOURCE_UNSETTLED_FUNDS",
      refund_recv_accout_0: "支付用户的零钱",
    });
    expect(await verifyV2(reply.fields, CONFIG.key, "HMAC-SHA256")).toBe(true);
  });

  it("shows SUCCESS with refund_success_time_0 (yyyy-MM-dd HH:mm:ss, Beijing) once the refund finished", async () => {
    const r = rig();
    await r.paidOrder();
    await r.refund();
    await r.control("/__sim/clock/advance", { seconds: 5 });
    expect((await query(r, { out_refund_no: "REFUND-0001" })).fields).toMatchObject({
      refund_status_0: "SUCCESS",
      refund_success_time_0: "2026-05-20 10:00:05",
    });
  });

  it.each(["REFUNDCLOSE", "CHANGE"])("shows %s without a success time", async (status) => {
    const r = rig();
    await r.paidOrder();
    await r.refund();
    await r.control("/__sim/refunds/REFUND-0001/complete", { status });
    const fields = (await query(r, { out_refund_no: "REFUND-0001" })).fields;
    expect(fields.refund_status_0).toBe(status);
    expect(fields.refund_success_time_0).toBeUndefined();
  });

  it("picks the one refund among several of the order", async () => {
    const r = await refunded(3);
    expect((await query(r, { out_refund_no: "R2" })).fields).toMatchObject({ refund_count: "1", out_refund_no_0: "R2" });
  });
});

describe("by refund_id", () => {
  it("finds the refund, and wins over out_refund_no", async () => {
    const r = await refunded(2);
    const { json } = await r.control<{ refundId: string }>("/__sim/refunds/R2");
    expect((await query(r, { refund_id: json.refundId })).fields.out_refund_no_0).toBe("R2");
    expect((await query(r, { refund_id: json.refundId, out_refund_no: "R1" })).fields.out_refund_no_0).toBe("R2");
  });
});

describe("by order", () => {
  it("out_trade_no lists all the order's refunds in the order they were made", async () => {
    const r = await refunded(3);
    const fields = (await query(r, { out_trade_no: "ORDER-0001" })).fields;
    expect(fields.refund_count).toBe("3");
    expect([fields.out_refund_no_0, fields.out_refund_no_1, fields.out_refund_no_2]).toEqual(["R1", "R2", "R3"]);
    expect(fields.total_refund_count).toBeUndefined();
  });

  it("transaction_id finds the same order, and wins over out_trade_no", async () => {
    const r = await refunded(2);
    const { json } = await r.control<{ transactionId: string }>("/__sim/orders/ORDER-0001");
    const fields = (await query(r, { transaction_id: json.transactionId, out_trade_no: "NOPE-0001" })).fields;
    expect(fields).toMatchObject({ refund_count: "2", out_refund_no_1: "R2" });
  });

  it("out_refund_no wins over the order's numbers", async () => {
    const r = await refunded(2);
    expect((await query(r, { out_refund_no: "R2", out_trade_no: "ORDER-0001" })).fields).toMatchObject({
      refund_count: "1",
      out_refund_no_0: "R2",
    });
  });

  it("with offset, answers a page of 10 and total_refund_count", async () => {
    const r = await refunded(12);
    const first = (await query(r, { out_trade_no: "ORDER-0001", offset: "0" })).fields;
    expect(first).toMatchObject({ refund_count: "10", total_refund_count: "12", out_refund_no_0: "R1", out_refund_no_9: "R10" });
    expect(first.out_refund_no_10).toBeUndefined();
    const second = (await query(r, { out_trade_no: "ORDER-0001", offset: "10" })).fields;
    expect(second).toMatchObject({ refund_count: "2", total_refund_count: "12", out_refund_no_0: "R11", out_refund_no_1: "R12" });
    expect((await query(r, { out_trade_no: "ORDER-0001", offset: "12" })).fields.err_code).toBe("REFUNDNOTEXIST");
    expect((await query(r, { out_trade_no: "ORDER-0001", offset: "-1" })).fields.err_code).toBe("PARAM_ERROR");
  });

  it("without offset, refuses an order with more than 20 refunds (use offset or out_refund_no)", async () => {
    const r = await refunded(21);
    expect((await query(r, { out_trade_no: "ORDER-0001" })).fields).toMatchObject({ result_code: "FAIL", err_code: "PARAM_ERROR" });
    expect((await query(r, { out_refund_no: "R21" })).fields.result_code).toBe("SUCCESS");
  });
});

describe("refusals", () => {
  it("an unknown refund, an unknown order and an order without refunds are REFUNDNOTEXIST", async () => {
    const r = rig();
    await r.paidOrder();
    for (const fields of [{ out_refund_no: "NOPE" }, { refund_id: "5".repeat(29) }, { out_trade_no: "NOPE-0001" }, { out_trade_no: "ORDER-0001" }]) {
      const reply = await query(r, fields);
      expect(reply.fields, JSON.stringify(fields)).toMatchObject({ return_code: "SUCCESS", result_code: "FAIL", err_code: "REFUNDNOTEXIST" });
      expect(await verifyV2(reply.fields, CONFIG.key, "MD5")).toBe(true);
    }
  });

  it("no number at all is LACK_PARAMS", async () => {
    expect((await query(rig(), {})).fields).toMatchObject({ result_code: "FAIL", err_code: "LACK_PARAMS" });
  });

  it("SYSTEMERROR and http_500 faults apply to refundquery", async () => {
    const r = await refunded(1);
    await r.control("/__sim/faults", { api: "refundquery", kind: "SYSTEMERROR" });
    await r.control("/__sim/faults", { api: "refundquery", kind: "http_500" });
    expect((await query(r, { out_refund_no: "R1" })).fields.err_code).toBe("SYSTEMERROR");
    expect((await query(r, { out_refund_no: "R1" })).status).toBe(500);
    expect((await query(r, { out_refund_no: "R1" })).fields.result_code).toBe("SUCCESS");
  });
});
