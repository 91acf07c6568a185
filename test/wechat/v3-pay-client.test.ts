// The v3 merchant client against a hand-made WeChat that checks our Authorization header with the
// merchant's public key and signs its answers with a platform key or the WeChat Pay public key's
// private half: every answer is verified before it is read, errors keep WeChat's v3 code, and a
// proxy's unsigned 5xx is a passing HTTP failure.
import { describe, expect, it } from "vitest";
import { WeChatError } from "../../src/wechat/errors";
import {
  VerificationKeyRing,
  createV3PayClient,
  encryptAead,
  importMerchantPrivateKey,
  importWeChatPayPublicKey,
  parsePlatformCertificate,
  requestMessage,
  responseMessage,
  rsaSign,
  rsaVerify,
  type V3PayClientConfig,
} from "../../src/wechat/v3";
import { MERCHANT_KEY, PLATFORM_CERT, PLATFORM_KEY, WECHATPAY_PUBKEY_PRIVATE, WECHATPAY_PUBLIC_KEY } from "../fixtures/v3-keys";
import { thrownBy } from "./fake-wechat";

const MCHID = "1230000109";
const APPID = "wxd678efh567hg6787";
const MERCHANT_SERIAL = "1DDE55AD98ED71D6EDD4A4A16996DE7B47773A8C";
const PLATFORM_SERIAL = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1";
const PUBLIC_KEY_ID = "PUB_KEY_ID_0000000000000024101100397200000006";
const API_V3_KEY = "0123456789abcdef0123456789abcdef";

/** The merchant's public key, as WeChat holds it from the merchant's API certificate. */
async function merchantPublicKey(): Promise<CryptoKey> {
  const extractable = await crypto.subtle.importKey(
    "pkcs8",
    Uint8Array.from(atob(MERCHANT_KEY.replace(/-----[A-Z ]+-----|\s/g, "")), (c) => c.charCodeAt(0)),
    { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
    true,
    ["sign"],
  );
  const { n, e } = (await crypto.subtle.exportKey("jwk", extractable)) as JsonWebKey;
  return crypto.subtle.importKey("jwk", { kty: "RSA", n, e, alg: "RS256", ext: true }, { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, false, ["verify"]);
}

interface Seen {
  method: string;
  path: string;
  body: string;
  headers: Headers;
  authorized: boolean;
}

/** A WeChat v3 endpoint: checks our signature, answers with `handler`, signs with the chosen key. */
async function fakeWeChat(handler: (seen: Seen) => { status: number; body?: unknown; sign?: "platform" | "public_key" | "none" | "tampered" }) {
  const verifyKey = await merchantPublicKey();
  const platformKey = await importMerchantPrivateKey(PLATFORM_KEY);
  const publicKeyPrivate = await importMerchantPrivateKey(WECHATPAY_PUBKEY_PRIVATE);
  const seen: Seen[] = [];
  const fetchFn = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    const body = await request.text();
    const fields = Object.fromEntries([...(request.headers.get("Authorization") ?? "").matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
    const authorized =
      (request.headers.get("Authorization") ?? "").startsWith("WECHATPAY2-SHA256-RSA2048 ") &&
      fields.mchid === MCHID &&
      fields.serial_no === MERCHANT_SERIAL &&
      (await rsaVerify(verifyKey, requestMessage(request.method, url.pathname + url.search, fields.timestamp!, fields.nonce_str!, body), fields.signature!));
    const entry = { method: request.method, path: url.pathname + url.search, body, headers: request.headers, authorized };
    seen.push(entry);
    const answer = authorized ? handler(entry) : { status: 401, body: { code: "SIGN_ERROR", message: "签名错误" } };
    const text = answer.body === undefined ? "" : JSON.stringify(answer.body);
    const headers = new Headers({ "Content-Type": "application/json", "Request-ID": "08F78BB5AF0610D302" });
    if (answer.sign !== "none") {
      const timestamp = String(Math.floor(Date.now() / 1000));
      const nonce = "nonce-from-wechat-0001";
      const byPublicKey = answer.sign === "public_key";
      const signature = await rsaSign(byPublicKey ? publicKeyPrivate : platformKey, responseMessage(timestamp, nonce, answer.sign === "tampered" ? `${text} ` : text));
      headers.set("Wechatpay-Timestamp", timestamp);
      headers.set("Wechatpay-Nonce", nonce);
      headers.set("Wechatpay-Serial", byPublicKey ? PUBLIC_KEY_ID : PLATFORM_SERIAL);
      headers.set("Wechatpay-Signature", signature);
    }
    return new Response(answer.status === 204 ? null : text, { status: answer.status, headers });
  }) as typeof fetch;
  return { fetchFn, seen };
}

async function client(fetchFn: typeof fetch, extra: Partial<V3PayClientConfig> = {}) {
  const certificate = await parsePlatformCertificate(PLATFORM_CERT);
  const keys = new VerificationKeyRing({ publicKey: { id: PUBLIC_KEY_ID, key: await importWeChatPayPublicKey(WECHATPAY_PUBLIC_KEY) }, fetchCertificates: async () => [{ ...certificate, notBefore: 0 }] });
  return createV3PayClient({
    apiBase: "https://api.mch.weixin.qq.com",
    appid: APPID,
    signer: { mchid: MCHID, serialNo: MERCHANT_SERIAL, privateKey: await importMerchantPrivateKey(MERCHANT_KEY) },
    keys,
    apiV3Key: API_V3_KEY,
    fetch: fetchFn,
    timeoutMs: 1000,
    ...extra,
  });
}

const transaction = { appid: APPID, mchid: MCHID, out_trade_no: "20261201223506abcdef", transaction_id: "4200000000000000000000000001", trade_type: "JSAPI", trade_state: "SUCCESS", trade_state_desc: "支付成功", success_time: "2026-12-01T22:40:00+08:00", payer: { openid: "oUser" }, amount: { total: 1800, payer_total: 1800, currency: "CNY", payer_currency: "CNY" } };

describe("the v3 client", () => {
  it("places a JSAPI prepay signed over the exact body it sends, and reads the prepay_id once the answer verifies", async () => {
    const wechat = await fakeWeChat(() => ({ status: 200, body: { prepay_id: "wx26112221580621e9b071c00d9e093b0000" } }));
    const pay = await client(wechat.fetchFn);
    const answer = await pay.jsapiPrepay({ outTradeNo: "20261201223506abcdef", description: "咖啡 ×2", total: 3600, openid: "oUser", notifyUrl: "https://pay.example.com/api/v3/pay/notify", timeExpire: "2026-12-01T23:05:06+08:00" });
    expect(answer).toEqual({ prepayId: "wx26112221580621e9b071c00d9e093b0000" });
    const [seen] = wechat.seen;
    expect(seen).toMatchObject({ method: "POST", path: "/v3/pay/transactions/jsapi", authorized: true });
    expect(JSON.parse(seen!.body)).toEqual({
      appid: APPID, mchid: MCHID, description: "咖啡 ×2", out_trade_no: "20261201223506abcdef", time_expire: "2026-12-01T23:05:06+08:00",
      notify_url: "https://pay.example.com/api/v3/pay/notify", amount: { total: 3600, currency: "CNY" }, payer: { openid: "oUser" },
    });
    expect(seen!.headers.get("Accept")).toBe("application/json");
  });

  it("queries by out_trade_no with the mchid, closes (204), refunds and queries a refund", async () => {
    const wechat = await fakeWeChat(({ path, method }) => {
      if (method === "GET" && path.startsWith("/v3/pay/transactions/out-trade-no/")) return { status: 200, body: transaction };
      if (path.endsWith("/close")) return { status: 204 };
      return { status: 200, body: { refund_id: "50000000000000000000000000001", out_refund_no: "R20261201", status: "PROCESSING", amount: { total: 1800, refund: 800 } } };
    });
    const pay = await client(wechat.fetchFn);
    expect(await pay.queryOrder("20261201223506abcdef")).toMatchObject({ tradeState: "SUCCESS", amountTotal: 1800, transactionId: "4200000000000000000000000001" });
    await pay.closeOrder("20261201223506abcdef");
    expect(await pay.refund({ outTradeNo: "20261201223506abcdef", outRefundNo: "R20261201", refund: 800, total: 1800, reason: "cold coffee" })).toEqual({
      refundId: "50000000000000000000000000001", outRefundNo: "R20261201", status: "PROCESSING", successTime: null,
    });
    expect((await pay.refundQuery("R20261201")).status).toBe("PROCESSING");
    expect(wechat.seen.map((s) => `${s.method} ${s.path}`)).toEqual([
      `GET /v3/pay/transactions/out-trade-no/20261201223506abcdef?mchid=${MCHID}`,
      "POST /v3/pay/transactions/out-trade-no/20261201223506abcdef/close",
      "POST /v3/refund/domestic/refunds",
      "GET /v3/refund/domestic/refunds/R20261201",
    ]);
    expect(JSON.parse(wechat.seen[1]!.body)).toEqual({ mchid: MCHID });
    expect(JSON.parse(wechat.seen[2]!.body)).toEqual({ out_trade_no: "20261201223506abcdef", out_refund_no: "R20261201", reason: "cold coffee", amount: { refund: 800, total: 1800, currency: "CNY" } });
    expect(wechat.seen.every((s) => s.authorized)).toBe(true);
  });

  it("accepts answers signed with the WeChat Pay public key, and names it in Wechatpay-Serial when configured", async () => {
    const wechat = await fakeWeChat(() => ({ status: 200, body: transaction, sign: "public_key" }));
    const pay = await client(wechat.fetchFn, { publicKeyId: PUBLIC_KEY_ID });
    expect((await pay.queryOrder("20261201223506abcdef")).tradeState).toBe("SUCCESS");
    expect(wechat.seen[0]!.headers.get("Wechatpay-Serial")).toBe(PUBLIC_KEY_ID);
  });

  it.each([
    ["an unsigned answer", "none", "bad_signature"],
    ["an answer whose body was changed", "tampered", "bad_signature"],
  ] as const)("refuses %s before reading it", async (_what, sign, kind) => {
    const wechat = await fakeWeChat(() => ({ status: 200, body: transaction, sign }));
    const error = await thrownBy(async () => (await client(wechat.fetchFn)).queryOrder("20261201223506abcdef"));
    expect(error).toBeInstanceOf(WeChatError);
    expect((error as WeChatError).failure.kind).toBe(kind);
  });

  it.each([
    [404, { code: "ORDER_NOT_EXIST", message: "订单不存在" }, { kind: "business", code: "ORDER_NOT_EXIST" }, false],
    [400, { code: "ORDER_CLOSED", message: "订单已关闭" }, { kind: "business", code: "ORDER_CLOSED" }, false],
    [403, { code: "NO_AUTH", message: "此商家的收款功能已被限制" }, { kind: "business", code: "NO_AUTH" }, false],
    [429, { code: "FREQUENCY_LIMITED", message: "频率超限" }, { kind: "business", code: "FREQUENCY_LIMITED" }, false],
    [500, { code: "SYSTEM_ERROR", message: "系统错误" }, { kind: "business", code: "SYSTEM_ERROR" }, true],
  ])("keeps WeChat's v3 code of a signed %i answer", async (status, body, failure, retryable) => {
    const wechat = await fakeWeChat(() => ({ status, body }));
    const error = (await thrownBy(async () => (await client(wechat.fetchFn)).queryOrder("20261201223506abcdef"))) as WeChatError;
    expect(error.failure).toMatchObject(failure);
    expect(error.retryable).toBe(retryable);
  });

  it("treats a proxy's unsigned 502 as a passing HTTP failure", async () => {
    const wechat = await fakeWeChat(() => ({ status: 502, body: { oops: true }, sign: "none" }));
    const error = (await thrownBy(async () => (await client(wechat.fetchFn)).queryOrder("20261201223506abcdef"))) as WeChatError;
    expect(error.failure).toEqual({ kind: "http", status: 502 });
    expect(error.retryable).toBe(true);
  });

  it("refuses amounts in yuan, fractions and refunds above the total before sending anything", async () => {
    const wechat = await fakeWeChat(() => ({ status: 200, body: {} }));
    const pay = await client(wechat.fetchFn);
    await expect(pay.jsapiPrepay({ outTradeNo: "20261201223506abcdef", description: "x", total: 9.8, openid: "o", notifyUrl: "https://a.example" })).rejects.toBeInstanceOf(RangeError);
    await expect(pay.refund({ outTradeNo: "20261201223506abcdef", outRefundNo: "R1", refund: 1801, total: 1800 })).rejects.toBeInstanceOf(RangeError);
    expect(wechat.seen).toEqual([]);
  });

  it("downloads platform certificates, decrypting each with the APIv3 key", async () => {
    const ciphertext = await encryptAead(API_V3_KEY, PLATFORM_CERT, { nonce: "a1b2c3d4e5f6", associatedData: "certificate" });
    const wechat = await fakeWeChat(() => ({ status: 200, body: { data: [{ serial_no: PLATFORM_SERIAL, encrypt_certificate: { algorithm: "AEAD_AES_256_GCM", nonce: "a1b2c3d4e5f6", associated_data: "certificate", ciphertext } }] }, sign: "public_key" }));
    const certificates = await (await client(wechat.fetchFn)).certificates();
    expect(certificates.map((c) => c.serialNo)).toEqual([PLATFORM_SERIAL]);
    expect(wechat.seen[0]).toMatchObject({ method: "GET", path: "/v3/certificates", body: "" });
  });

  it("never puts the merchant key, the APIv3 key or a signature into an error", async () => {
    const wechat = await fakeWeChat(() => ({ status: 401, body: { code: "SIGN_ERROR", message: `签名错误 ${API_V3_KEY}` } }));
    const error = (await thrownBy(async () => (await client(wechat.fetchFn)).queryOrder("20261201223506abcdef"))) as WeChatError;
    expect(error.failure).toMatchObject({ kind: "business", code: "SIGN_ERROR" });
    expect(error.message).not.toContain(API_V3_KEY);
    expect(error.message).not.toContain("PRIVATE KEY");
    expect(error.message).not.toMatch(/signature="/);
  });
});
