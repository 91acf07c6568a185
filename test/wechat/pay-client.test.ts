// The v2 pay client against a fake WeChat: what it sends, and how every kind of answer maps to a result or a WeChatError.
import { describe, expect, it } from "vitest";
import { WeChatError } from "../../src/wechat/errors";
import { createPayClient, type PayClientConfig, type UnifiedOrderRequest } from "../../src/wechat/pay-client";
import { sign, verifySign, type SignType } from "../../src/wechat/sign";
import { fakeFetch, hangingFetch, signedXmlResponse, thrownBy, xmlResponse, type SeenRequest } from "./fake-wechat";

const KEY = "sim0key0for0local0dev0only000032";
const APPID = "wx5f0c3a9e7d1b2c4a";
const MCH_ID = "1900000109";

const ORDER: UnifiedOrderRequest = {
  outTradeNo: "20260101ABCDEF",
  totalFee: 1800,
  body: "Coffee shop-咖啡",
  openid: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
  spbillCreateIp: "203.0.113.7",
  notifyUrl: "https://pay.example.com/api/pay/notify",
  timeExpire: "20260101123000",
};

/** The envelope of every return_code=SUCCESS answer. */
const envelope = { return_code: "SUCCESS", return_msg: "OK", appid: APPID, mch_id: MCH_ID, nonce_str: "IITRi8Iabbblz1Jc" };

function client(fetch: typeof globalThis.fetch, overrides: Partial<PayClientConfig> = {}) {
  return createPayClient({
    apiBase: "https://api.mch.weixin.qq.com",
    appid: APPID,
    mchId: MCH_ID,
    key: KEY,
    signType: "HMAC-SHA256",
    fetch,
    nonce: () => "nonce0000000000000000000000000001",
    ...overrides,
  });
}

/** A fake WeChat that answers every call with `fields` under the envelope, signed with `signType`. */
function answering(fields: Record<string, string>, signType: SignType = "HMAC-SHA256") {
  return fakeFetch(() => signedXmlResponse({ ...envelope, result_code: "SUCCESS", ...fields }, KEY, signType));
}

async function failureOf(work: () => Promise<unknown>) {
  const error = await thrownBy(work);
  expect(error).toBeInstanceOf(WeChatError);
  return error as WeChatError;
}

describe("unifiedOrder: the request", () => {
  it("POSTs signed XML with Content-Type text/xml to /pay/unifiedorder", async () => {
    const fetch = answering({ trade_type: "JSAPI", prepay_id: "wx201411101639507cbf6ffd8b0779950874" });
    await client(fetch).unifiedOrder(ORDER);
    const [request] = fetch.seen as [SeenRequest];
    expect(request.method).toBe("POST");
    expect(request.url.href).toBe("https://api.mch.weixin.qq.com/pay/unifiedorder");
    expect(request.contentType).toBe("text/xml");
    expect(request.fields).toEqual({
      appid: APPID,
      mch_id: MCH_ID,
      nonce_str: "nonce0000000000000000000000000001",
      sign_type: "HMAC-SHA256",
      body: "Coffee shop-咖啡",
      out_trade_no: "20260101ABCDEF",
      total_fee: "1800",
      spbill_create_ip: "203.0.113.7",
      notify_url: "https://pay.example.com/api/pay/notify",
      trade_type: "JSAPI",
      openid: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
      time_expire: "20260101123000",
      sign: expect.stringMatching(/^[0-9A-F]{64}$/),
    });
    expect(await verifySign(request.fields, KEY, ["HMAC-SHA256"])).toBe(true);
  });

  it("sends sign_type=MD5 and a 32-character MD5 sign when configured for MD5", async () => {
    const fetch = answering({ prepay_id: "wx1" }, "MD5");
    await client(fetch, { signType: "MD5" }).unifiedOrder(ORDER);
    const [request] = fetch.seen as [SeenRequest];
    expect(request.fields.sign_type).toBe("MD5");
    expect(await verifySign(request.fields, KEY, ["MD5"])).toBe(true);
  });

  it("sends total_fee as integer fen in decimal, and refuses anything that is not a positive integer (pitfall 11)", async () => {
    const fetch = answering({ prepay_id: "wx1" });
    for (const totalFee of [0, -1, 0.12, 9.8 * 100, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
      await expect(client(fetch).unifiedOrder({ ...ORDER, totalFee }), String(totalFee)).rejects.toThrow(RangeError);
    }
    expect(fetch.seen).toHaveLength(0);
    await client(fetch).unifiedOrder({ ...ORDER, totalFee: 1 });
    expect(fetch.seen[0]?.fields.total_fee).toBe("1");
  });

  it("refuses a time_expire or time_start that is not yyyyMMddHHmmss, before calling", async () => {
    const fetch = answering({ prepay_id: "wx1" });
    await expect(client(fetch).unifiedOrder({ ...ORDER, timeExpire: "2026-01-01 12:30" })).rejects.toThrow(RangeError);
    await expect(client(fetch).unifiedOrder({ ...ORDER, timeStart: "20261301000000" })).rejects.toThrow(RangeError);
    expect(fetch.seen).toHaveLength(0);
  });

  it("leaves out optional fields that are not given", async () => {
    const fetch = answering({ prepay_id: "wx1" });
    await client(fetch).unifiedOrder({ ...ORDER, timeExpire: undefined, attach: "" });
    const fields = fetch.seen[0]?.fields ?? {};
    expect(Object.keys(fields)).not.toContain("time_expire");
    expect(Object.keys(fields)).not.toContain("time_start");
    expect(Object.keys(fields)).not.toContain("attach");
  });

  it("joins apiBase and path without doubling slashes, keeping a path prefix", async () => {
    const fetch = answering({ prepay_id: "wx1" });
    await client(fetch, { apiBase: "http://127.0.0.1:8788/wx/" }).unifiedOrder(ORDER);
    expect(fetch.seen[0]?.url.href).toBe("http://127.0.0.1:8788/wx/pay/unifiedorder");
  });

  it("uses a fresh random nonce_str per call by default", async () => {
    const fetch = answering({ prepay_id: "wx1" });
    const payClient = client(fetch, { nonce: undefined });
    await payClient.unifiedOrder(ORDER);
    await payClient.unifiedOrder(ORDER);
    const [a, b] = fetch.seen.map((request) => request.fields.nonce_str);
    expect(a).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(a).not.toBe(b);
  });
});

describe("unifiedOrder: the answer", () => {
  it("returns prepay_id and the verified fields", async () => {
    const result = await client(answering({ trade_type: "JSAPI", prepay_id: "wx201411101639507cbf6ffd8b0779950874" })).unifiedOrder(ORDER);
    expect(result.prepayId).toBe("wx201411101639507cbf6ffd8b0779950874");
    expect(result.fields.trade_type).toBe("JSAPI");
  });

  it("a SUCCESS answer without prepay_id → malformed", async () => {
    const error = await failureOf(() => client(answering({ trade_type: "JSAPI" })).unifiedOrder(ORDER));
    expect(error.failure).toEqual({ kind: "malformed" });
  });

  it("return_code FAIL (e.g. 签名错误, unsigned) → return_fail with WeChat's message", async () => {
    const fetch = fakeFetch(() => xmlResponse({ return_code: "FAIL", return_msg: "签名错误" }));
    const error = await failureOf(() => client(fetch).unifiedOrder(ORDER));
    expect(error.api).toBe("unifiedorder");
    expect(error.failure).toEqual({ kind: "return_fail", message: "签名错误" });
    expect(error.retryable).toBe(false);
  });

  it("a SUCCESS answer without a sign → bad_signature", async () => {
    const fetch = fakeFetch(() => xmlResponse({ ...envelope, result_code: "SUCCESS", prepay_id: "wx1" }));
    expect((await failureOf(() => client(fetch).unifiedOrder(ORDER))).failure).toEqual({ kind: "bad_signature" });
  });

  it("a SUCCESS answer with a wrong sign → bad_signature", async () => {
    const fetch = fakeFetch(async () => {
      const fields = { ...envelope, result_code: "SUCCESS", prepay_id: "wx1" };
      return xmlResponse({ ...fields, sign: await sign({ ...fields, prepay_id: "wx2" }, KEY, "HMAC-SHA256") });
    });
    expect((await failureOf(() => client(fetch).unifiedOrder(ORDER))).failure).toEqual({ kind: "bad_signature" });
  });

  it("a SUCCESS answer signed with another key → bad_signature", async () => {
    const fetch = fakeFetch(() => signedXmlResponse({ ...envelope, result_code: "SUCCESS", prepay_id: "wx1" }, "not-the-merchant-key-000000000032", "HMAC-SHA256"));
    expect((await failureOf(() => client(fetch).unifiedOrder(ORDER))).failure).toEqual({ kind: "bad_signature" });
  });

  it("an HMAC-SHA256 client does not accept an MD5-signed answer (no downgrade)", async () => {
    const error = await failureOf(() => client(answering({ prepay_id: "wx1" }, "MD5")).unifiedOrder(ORDER));
    expect(error.failure).toEqual({ kind: "bad_signature" });
  });

  it("a correctly signed answer for another appid or mch_id → malformed", async () => {
    for (const other of [{ appid: "wx0000000000000000" }, { mch_id: "1000000000" }] as Record<string, string>[]) {
      const error = await failureOf(() => client(answering({ prepay_id: "wx1", ...other })).unifiedOrder(ORDER));
      expect(error.failure).toEqual({ kind: "malformed" });
    }
  });

  it("result_code FAIL SYSTEMERROR → business, retryable", async () => {
    const fetch = answering({ result_code: "FAIL", err_code: "SYSTEMERROR", err_code_des: "系统错误" });
    const error = await failureOf(() => client(fetch).unifiedOrder(ORDER));
    expect(error.failure).toEqual({ kind: "business", code: "SYSTEMERROR", description: "系统错误" });
    expect(error.retryable).toBe(true);
  });

  it("result_code FAIL INVALID_REQUEST 201 商户订单号重复 → business, not retryable", async () => {
    const fetch = answering({ result_code: "FAIL", err_code: "INVALID_REQUEST", err_code_des: "201 商户订单号重复" });
    const error = await failureOf(() => client(fetch).unifiedOrder(ORDER));
    expect(error.failure).toEqual({ kind: "business", code: "INVALID_REQUEST", description: "201 商户订单号重复" });
    expect(error.retryable).toBe(false);
  });

  it("a result_code FAIL whose sign does not verify is a bad_signature, not a business answer", async () => {
    const fetch = fakeFetch(() => xmlResponse({ ...envelope, result_code: "FAIL", err_code: "ORDERPAID", err_code_des: "商户订单已支付" }));
    expect((await failureOf(() => client(fetch).unifiedOrder(ORDER))).failure).toEqual({ kind: "bad_signature" });
  });

  it("HTTP 5xx → http, retryable; HTTP 4xx → http, not retryable", async () => {
    const server = await failureOf(() => client(fakeFetch(() => new Response("Bad Gateway", { status: 502 }))).unifiedOrder(ORDER));
    expect(server.failure).toEqual({ kind: "http", status: 502 });
    expect(server.retryable).toBe(true);
    const notFound = await failureOf(() => client(fakeFetch(() => new Response("", { status: 404 }))).unifiedOrder(ORDER));
    expect(notFound.failure).toEqual({ kind: "http", status: 404 });
    expect(notFound.retryable).toBe(false);
  });

  it("an answer that is not flat v2 XML → malformed", async () => {
    for (const body of ["<html><body>502</body></html>", "", "{}", "<xml><return_code>SUCCESS</return_code>", '<!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]><xml><return_code>&x;</return_code></xml>']) {
      const error = await failureOf(() => client(fakeFetch(() => new Response(body))).unifiedOrder(ORDER));
      expect(error.failure, body).toEqual({ kind: "malformed" });
    }
  });

  it("a return_code that is neither SUCCESS nor FAIL → malformed", async () => {
    const error = await failureOf(() => client(fakeFetch(() => xmlResponse({ return_msg: "OK" }))).unifiedOrder(ORDER));
    expect(error.failure).toEqual({ kind: "malformed" });
  });
});

describe("transport", () => {
  it("no answer within timeoutMs → timeout, retryable (even if fetch ignores the abort signal)", async () => {
    const started = Date.now();
    const error = await failureOf(() => client(hangingFetch, { timeoutMs: 20 }).unifiedOrder(ORDER));
    expect(error.failure).toEqual({ kind: "timeout" });
    expect(error.retryable).toBe(true);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("a fetch that honours the abort signal → timeout too", async () => {
    const abortable: typeof fetch = (_input, init) =>
      new Promise((_resolve, reject) => init?.signal?.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError"))));
    const error = await failureOf(() => client(abortable, { timeoutMs: 20 }).orderQuery({ outTradeNo: "20260101ABCDEF" }));
    expect(error.failure).toEqual({ kind: "timeout" });
  });

  it("a body that never finishes within timeoutMs → timeout", async () => {
    const slowBody: typeof fetch = async () => new Response(new ReadableStream({ start() {} }));
    const error = await failureOf(() => client(slowBody, { timeoutMs: 20 }).closeOrder({ outTradeNo: "20260101ABCDEF" }));
    expect(error.failure).toEqual({ kind: "timeout" });
  });

  it("fetch throwing → network, retryable, with no cause attached", async () => {
    const broken: typeof fetch = async () => {
      throw new TypeError(`connect failed: https://api.mch.weixin.qq.com?key=${KEY}`);
    };
    const error = await failureOf(() => client(broken).unifiedOrder(ORDER));
    expect(error.failure).toEqual({ kind: "network" });
    expect(error.retryable).toBe(true);
    expect(error.cause).toBeUndefined();
    expect(error.message).not.toContain(KEY);
  });
});

describe("orderQuery", () => {
  it("maps the real NOTPAY shape (empty device_info, no transaction_id or time_end)", async () => {
    const fetch = answering({
      device_info: "",
      total_fee: "10",
      out_trade_no: "20260101ABCDEF",
      trade_state: "NOTPAY",
      trade_state_desc: "订单未支付",
    });
    const result = await client(fetch).orderQuery({ outTradeNo: "20260101ABCDEF" });
    expect(fetch.seen[0]?.url.pathname).toBe("/pay/orderquery");
    expect(fetch.seen[0]?.fields.out_trade_no).toBe("20260101ABCDEF");
    expect(result).toEqual({
      tradeState: "NOTPAY",
      tradeStateDesc: "订单未支付",
      outTradeNo: "20260101ABCDEF",
      totalFee: 10,
      fields: expect.objectContaining({ trade_state: "NOTPAY", device_info: "" }),
    });
    expect("transactionId" in result).toBe(false);
  });

  it("maps a paid order", async () => {
    const fetch = answering({
      openid: "oUpF8uMEb4qRXf22hE3X68TekukE",
      trade_type: "JSAPI",
      trade_state: "SUCCESS",
      bank_type: "CMC",
      total_fee: "1800",
      cash_fee: "1800",
      transaction_id: "4200000000202601011234567890",
      out_trade_no: "20260101ABCDEF",
      time_end: "20260101121530",
      trade_state_desc: "支付成功",
    });
    expect(await client(fetch).orderQuery({ outTradeNo: "20260101ABCDEF" })).toMatchObject({
      tradeState: "SUCCESS",
      transactionId: "4200000000202601011234567890",
      totalFee: 1800,
      timeEnd: "20260101121530",
      openid: "oUpF8uMEb4qRXf22hE3X68TekukE",
    });
  });

  it("ORDERNOTEXIST → business", async () => {
    const fetch = answering({ result_code: "FAIL", err_code: "ORDERNOTEXIST", err_code_des: "order not exist" });
    const error = await failureOf(() => client(fetch).orderQuery({ outTradeNo: "20260101ABCDEF" }));
    expect(error.failure).toEqual({ kind: "business", code: "ORDERNOTEXIST", description: "order not exist" });
    expect(error.api).toBe("orderquery");
  });

  it("an answer about another order, without trade_state, or with a non-integer total_fee → malformed", async () => {
    for (const fields of [
      { out_trade_no: "OTHER0000001", trade_state: "SUCCESS" },
      { out_trade_no: "20260101ABCDEF" },
      { out_trade_no: "20260101ABCDEF", trade_state: "SUCCESS", total_fee: "18.00" },
    ] as Record<string, string>[]) {
      const error = await failureOf(() => client(answering(fields)).orderQuery({ outTradeNo: "20260101ABCDEF" }));
      expect(error.failure).toEqual({ kind: "malformed" });
    }
  });
});

describe("closeOrder", () => {
  it("POSTs to /pay/closeorder and resolves on SUCCESS", async () => {
    const fetch = answering({ result_msg: "OK" });
    await expect(client(fetch).closeOrder({ outTradeNo: "20260101ABCDEF" })).resolves.toBeUndefined();
    expect(fetch.seen[0]?.url.pathname).toBe("/pay/closeorder");
    expect(fetch.seen[0]?.fields).toMatchObject({ out_trade_no: "20260101ABCDEF", appid: APPID, mch_id: MCH_ID });
  });

  it("ORDERPAID → business, for the caller to treat the order as paid", async () => {
    const fetch = answering({ result_code: "FAIL", err_code: "ORDERPAID", err_code_des: "订单已支付，不能发起关单" });
    const error = await failureOf(() => client(fetch).closeOrder({ outTradeNo: "20260101ABCDEF" }));
    expect(error.failure).toMatchObject({ kind: "business", code: "ORDERPAID" });
    expect(error.retryable).toBe(false);
  });
});

describe("call (low level)", () => {
  it("cannot be pointed at another appid or merchant by the fields passed in", async () => {
    const fetch = answering({});
    await client(fetch).call("downloadbill", "/pay/downloadbill", { appid: "wx0000000000000000", mch_id: "1", bill_date: "20260101" });
    expect(fetch.seen[0]?.fields).toMatchObject({ appid: APPID, mch_id: MCH_ID, bill_date: "20260101" });
  });

  it("verifies over every field received, including ones it does not know", async () => {
    const fetch = fakeFetch(async () => {
      const fields = { ...envelope, result_code: "SUCCESS", new_field_2030: "x" };
      const signed = await sign(fields, KEY, "HMAC-SHA256");
      return xmlResponse({ ...fields, sign: signed });
    });
    expect((await client(fetch).call("x", "/pay/x", {})).new_field_2030).toBe("x");
  });
});

describe("secrets", () => {
  it("never puts the key or a sign into an error message", async () => {
    const answers: (() => Response | Promise<Response>)[] = [
      () => xmlResponse({ return_code: "FAIL", return_msg: `签名错误 key=${KEY}` }),
      () => xmlResponse({ ...envelope, result_code: "SUCCESS", sign: "A".repeat(64) }),
      () => signedXmlResponse({ ...envelope, result_code: "FAIL", err_code: "SYSTEMERROR", err_code_des: `echo ${KEY}` }, KEY, "HMAC-SHA256"),
      () => new Response(`<xml><key>${KEY}</key>`),
      () => new Response(KEY, { status: 500 }),
    ];
    for (const answer of answers) {
      const fetch = fakeFetch(answer);
      const error = await failureOf(() => client(fetch).unifiedOrder(ORDER));
      const sentSign = fetch.seen[0]?.fields.sign ?? "";
      for (const text of [error.message, JSON.stringify(error.failure), String(error)]) {
        expect(text).not.toContain(KEY);
        expect(text).not.toContain(sentSign);
        expect(text).not.toContain("A".repeat(64));
      }
    }
  });
});

describe("createPayClient", () => {
  it("refuses an unusable configuration without echoing its values", () => {
    const base: PayClientConfig = { apiBase: "https://api.mch.weixin.qq.com", appid: APPID, mchId: MCH_ID, key: KEY, signType: "MD5" };
    for (const bad of [{ key: "" }, { appid: "" }, { mchId: "" }, { apiBase: "" }, { signType: "SHA1" as SignType }, { timeoutMs: 0 }]) {
      let thrown: unknown;
      try {
        createPayClient({ ...base, ...bad });
      } catch (error) {
        thrown = error;
      }
      expect(thrown, JSON.stringify(bad)).toBeInstanceOf(Error);
      expect(String(thrown)).not.toContain(KEY);
    }
  });
});
