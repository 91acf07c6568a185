// The v2 refund calls (refund, refundQuery) against a fake WeChat: what they send, which fetch carries them
// (the client certificate only for /secapi/), and how every kind of answer maps to a result or a WeChatError.
import { describe, expect, it } from "vitest";
import { WeChatError } from "../../src/wechat/errors";
import { createPayClient, type PayClientConfig, type RefundRequest } from "../../src/wechat/pay-client";
import { verifySign } from "../../src/wechat/sign";
import { fakeFetch, signedXmlResponse, thrownBy, xmlResponse, type SeenRequest } from "./fake-wechat";

const KEY = "sim0key0for0local0dev0only000032";
const APPID = "wx5f0c3a9e7d1b2c4a";
const MCH_ID = "1900000109";

const REFUND: RefundRequest = {
  outTradeNo: "20260101ABCDEF",
  outRefundNo: "20260101ABCDEF-R1",
  totalFee: 1800,
  refundFee: 600,
};

const envelope = { return_code: "SUCCESS", return_msg: "OK", appid: APPID, mch_id: MCH_ID, nonce_str: "IITRi8Iabbblz1Jc" };

/** The success fields of a real refund answer for REFUND. */
const ACCEPTED = {
  transaction_id: "4200000560202005168434734774",
  out_trade_no: REFUND.outTradeNo,
  out_refund_no: REFUND.outRefundNo,
  refund_id: "50300604212020051600550537447",
  refund_channel: "",
  refund_fee: "600",
  coupon_refund_fee: "0",
  total_fee: "1800",
  cash_fee: "1800",
  coupon_refund_count: "0",
  cash_refund_fee: "600",
};

function client(overrides: Partial<PayClientConfig> = {}) {
  return createPayClient({
    apiBase: "https://api.mch.weixin.qq.com",
    appid: APPID,
    mchId: MCH_ID,
    key: KEY,
    signType: "HMAC-SHA256",
    nonce: () => "nonce0000000000000000000000000001",
    ...overrides,
  });
}

function answering(fields: Record<string, string>) {
  return fakeFetch(() => signedXmlResponse({ ...envelope, result_code: "SUCCESS", ...fields }, KEY, "HMAC-SHA256"));
}

function failing(errCode: string, errCodeDes = "") {
  return fakeFetch(() =>
    signedXmlResponse({ ...envelope, result_code: "FAIL", err_code: errCode, err_code_des: errCodeDes }, KEY, "HMAC-SHA256"),
  );
}

async function failureOf(work: () => Promise<unknown>) {
  const error = await thrownBy(work);
  expect(error).toBeInstanceOf(WeChatError);
  return error as WeChatError;
}

describe("refund: the request", () => {
  it("POSTs signed XML to /secapi/pay/refund with the order, refund number and amounts in fen", async () => {
    const fetch = answering(ACCEPTED);
    await client({ fetch }).refund({ ...REFUND, refundDesc: "缺货", notifyUrl: "https://pay.example.com/api/pay/refund-notify" });
    const [request] = fetch.seen as [SeenRequest];
    expect(request.method).toBe("POST");
    expect(request.url.href).toBe("https://api.mch.weixin.qq.com/secapi/pay/refund");
    expect(request.contentType).toBe("text/xml");
    expect(request.fields).toEqual({
      appid: APPID,
      mch_id: MCH_ID,
      nonce_str: "nonce0000000000000000000000000001",
      sign_type: "HMAC-SHA256",
      out_trade_no: "20260101ABCDEF",
      out_refund_no: "20260101ABCDEF-R1",
      total_fee: "1800",
      refund_fee: "600",
      refund_desc: "缺货",
      notify_url: "https://pay.example.com/api/pay/refund-notify",
      sign: expect.stringMatching(/^[0-9A-F]{64}$/),
    });
    expect(await verifySign(request.fields, KEY, ["HMAC-SHA256"])).toBe(true);
  });

  it("leaves refund_desc and notify_url out when not given", async () => {
    const fetch = answering(ACCEPTED);
    await client({ fetch }).refund(REFUND);
    expect(Object.keys(fetch.seen[0]!.fields)).not.toContain("refund_desc");
    expect(Object.keys(fetch.seen[0]!.fields)).not.toContain("notify_url");
  });

  it("refuses, before calling, amounts that are not positive integer fen and a refund above the total", async () => {
    const fetch = answering(ACCEPTED);
    for (const amounts of [
      { refundFee: 0 },
      { refundFee: 0.5 },
      { refundFee: 9.8 * 100 },
      { totalFee: -1 },
      { totalFee: Number.NaN },
      { refundFee: 1801 },
    ]) {
      await expect(client({ fetch }).refund({ ...REFUND, ...amounts }), JSON.stringify(amounts)).rejects.toThrow(RangeError);
    }
    expect(fetch.seen).toHaveLength(0);
  });

  it("refuses an out_refund_no outside [0-9A-Za-z_-|*@]{1,64} before calling", async () => {
    const fetch = answering(ACCEPTED);
    for (const outRefundNo of ["", "R 1", "退款", "x".repeat(65)]) {
      await expect(client({ fetch }).refund({ ...REFUND, outRefundNo }), outRefundNo).rejects.toThrow(RangeError);
    }
    expect(fetch.seen).toHaveLength(0);
  });
});

describe("the client certificate (certifiedFetch)", () => {
  it("carries /secapi/ calls when configured; every other call keeps the plain fetch", async () => {
    const plain = fakeFetch(() =>
      signedXmlResponse(
        { ...envelope, result_code: "SUCCESS", trade_state: "SUCCESS", out_trade_no: REFUND.outTradeNo, refund_count: "1", out_refund_no_0: REFUND.outRefundNo, refund_status_0: "SUCCESS" },
        KEY,
        "HMAC-SHA256",
      ),
    );
    const certified = answering(ACCEPTED);
    const payClient = client({ fetch: plain, certifiedFetch: certified });
    await payClient.refund(REFUND);
    await payClient.refundQuery({ outRefundNo: REFUND.outRefundNo });
    await payClient.orderQuery({ outTradeNo: REFUND.outTradeNo });
    await payClient.call("custom", "secapi/pay/whatever", {});
    expect(certified.seen.map((request) => request.url.pathname)).toEqual(["/secapi/pay/refund", "/secapi/pay/whatever"]);
    expect(plain.seen.map((request) => request.url.pathname)).toEqual(["/pay/refundquery", "/pay/orderquery"]);
  });

  it("without certifiedFetch, /secapi/ calls use the plain fetch (local development against the simulator)", async () => {
    const fetch = answering(ACCEPTED);
    await client({ fetch }).refund(REFUND);
    expect(fetch.seen.map((request) => request.url.pathname)).toEqual(["/secapi/pay/refund"]);
  });

  it("a failing certified fetch is a network failure, never a silent fallback to the plain fetch", async () => {
    const plain = answering(ACCEPTED);
    const certified: typeof fetch = () => Promise.reject(new TypeError("certificate rejected"));
    const failure = await failureOf(() => client({ fetch: plain, certifiedFetch: certified }).refund(REFUND));
    expect(failure.failure).toEqual({ kind: "network" });
    expect(failure.retryable).toBe(true);
    expect(plain.seen).toHaveLength(0);
  });
});

describe("refund: the answer", () => {
  it("returns the refund id and the verified fields; an empty refund_channel stays out of the sign", async () => {
    const result = await client({ fetch: answering(ACCEPTED) }).refund(REFUND);
    expect(result).toEqual({
      outRefundNo: REFUND.outRefundNo,
      refundId: "50300604212020051600550537447",
      refundFee: 600,
      fields: expect.objectContaining({ refund_channel: "", cash_refund_fee: "600" }),
    });
  });

  it("an answer about another refund, order or amount, or without refund_id → malformed", async () => {
    for (const changed of [
      { out_refund_no: "OTHER" },
      { out_trade_no: "OTHER" },
      { refund_fee: "601" },
      { refund_id: "" },
    ]) {
      const failure = await failureOf(() => client({ fetch: answering({ ...ACCEPTED, ...changed }) }).refund(REFUND));
      expect(failure.failure, JSON.stringify(changed)).toEqual({ kind: "malformed" });
      expect(failure.api).toBe("refund");
    }
  });

  it("an answer with a bad sign → bad_signature", async () => {
    const fetch = fakeFetch(() => xmlResponse({ ...envelope, result_code: "SUCCESS", ...ACCEPTED, sign: "0".repeat(64) }));
    expect((await failureOf(() => client({ fetch }).refund(REFUND))).failure).toEqual({ kind: "bad_signature" });
  });

  it("the observed return-level refusal of a refund above the total → return_fail", async () => {
    const fetch = fakeFetch(() => xmlResponse({ return_code: "FAIL", return_msg: "invalid refund_fee" }));
    const failure = await failureOf(() => client({ fetch }).refund(REFUND));
    expect(failure.failure).toEqual({ kind: "return_fail", message: "invalid refund_fee" });
    expect(failure.retryable).toBe(false);
  });

  it.each([
    ["SYSTEMERROR", true],
    ["BIZERR_NEED_RETRY", true],
    ["NOTENOUGH", false],
    ["ERROR", false],
    ["INVALID_REQUEST", false],
    ["INVALID_REQ_TOO_MUCH", false],
    ["REFUND_FEE_MISMATCH", false],
    ["ORDERNOTEXIST", false],
    ["TRADE_OVERDUE", false],
    ["USER_ACCOUNT_ABNORMAL", false],
    ["FREQUENCY_LIMITED", false],
  ])("result_code FAIL %s → business, retryable: %s", async (code, retryable) => {
    const failure = await failureOf(() => client({ fetch: failing(code, "说明") }).refund(REFUND));
    expect(failure.failure).toEqual({ kind: "business", code, description: "说明" });
    expect(failure.api).toBe("refund");
    expect(failure.retryable).toBe(retryable);
  });
});

describe("refundQuery", () => {
  /** A refundquery answer listing the order's refunds R1 (SUCCESS) and R2 (PROCESSING). */
  const TWO_REFUNDS = {
    transaction_id: "4200000560202005168434734774",
    out_trade_no: REFUND.outTradeNo,
    total_fee: "1800",
    cash_fee: "1800",
    refund_count: "2",
    out_refund_no_0: "R1",
    refund_id_0: "50300000012026010100000000001",
    refund_fee_0: "500",
    refund_status_0: "SUCCESS",
    refund_success_time_0: "2026-01-01 12:00:05",
    out_refund_no_1: "R2",
    refund_id_1: "50300000012026010100000000002",
    refund_fee_1: "300",
    refund_status_1: "PROCESSING",
  };

  it("POSTs out_refund_no to /pay/refundquery", async () => {
    const fetch = answering(TWO_REFUNDS);
    await client({ fetch }).refundQuery({ outRefundNo: "R2" });
    expect(fetch.seen[0]!.url.pathname).toBe("/pay/refundquery");
    expect(fetch.seen[0]!.fields).toMatchObject({ out_refund_no: "R2" });
  });

  it("picks the _$n entry whose out_refund_no_$n matches, wherever it is listed", async () => {
    const payClient = client({ fetch: answering(TWO_REFUNDS) });
    expect(await payClient.refundQuery({ outRefundNo: "R2" })).toEqual({
      outRefundNo: "R2",
      refundId: "50300000012026010100000000002",
      refundStatus: "PROCESSING",
      refundFee: 300,
      fields: expect.objectContaining({ refund_count: "2" }),
    });
    expect(await payClient.refundQuery({ outRefundNo: "R1" })).toMatchObject({
      refundStatus: "SUCCESS",
      refundFee: 500,
      successTime: "2026-01-01 12:00:05",
    });
  });

  it("passes through statuses it does not interpret (CHANGE, REFUNDCLOSE, FAIL of older documents)", async () => {
    for (const status of ["CHANGE", "REFUNDCLOSE", "FAIL"]) {
      const fetch = answering({ ...TWO_REFUNDS, refund_status_1: status });
      expect((await client({ fetch }).refundQuery({ outRefundNo: "R2" })).refundStatus).toBe(status);
    }
  });

  it("reads an answer listing 50 refunds (well over the default field limit)", async () => {
    const fields: Record<string, string> = { out_trade_no: REFUND.outTradeNo, total_fee: "1800", refund_count: "50" };
    for (let n = 0; n < 50; n++) {
      Object.assign(fields, {
        [`out_refund_no_${n}`]: `R${n}`,
        [`refund_id_${n}`]: `5030000001202601010000000${String(n).padStart(4, "0")}`,
        [`refund_channel_${n}`]: "ORIGINAL",
        [`refund_fee_${n}`]: "1",
        [`settlement_refund_fee_${n}`]: "1",
        [`refund_status_${n}`]: "SUCCESS",
        [`refund_account_${n}`]: "REFUND_SOURCE_UNSETTLED_FUNDS",
        [`refund_recv_accout_${n}`]: "支付用户的零钱",
        [`refund_success_time_${n}`]: "2026-01-01 12:00:05",
      });
    }
    expect((await client({ fetch: answering(fields) }).refundQuery({ outRefundNo: "R49" })).refundFee).toBe(1);
  });

  it("REFUNDNOTEXIST → business, not retryable", async () => {
    const failure = await failureOf(() => client({ fetch: failing("REFUNDNOTEXIST", "退款订单查询失败") }).refundQuery({ outRefundNo: "R9" }));
    expect(failure.failure).toMatchObject({ kind: "business", code: "REFUNDNOTEXIST" });
    expect(failure.api).toBe("refundquery");
    expect(failure.retryable).toBe(false);
  });

  it("an answer without the refund asked about, without refund_count, without its status or with a bad fee → malformed", async () => {
    for (const fields of [
      { ...TWO_REFUNDS, out_refund_no_1: "R3" },
      { ...TWO_REFUNDS, refund_count: "1" },
      { ...TWO_REFUNDS, refund_count: "" },
      { ...TWO_REFUNDS, refund_count: "two" },
      { ...TWO_REFUNDS, refund_status_1: "" },
      { ...TWO_REFUNDS, refund_fee_1: "3.00" },
    ]) {
      const failure = await failureOf(() => client({ fetch: answering(fields) }).refundQuery({ outRefundNo: "R2" }));
      expect(failure.failure).toEqual({ kind: "malformed" });
    }
  });
});
