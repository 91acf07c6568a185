// WeChat Pay API v3 merchant calls for a mini-program (JSAPI prepay, query, close, refunds, refund
// query, platform certificates): sign each request, send the exact bytes signed, and verify every
// answer's signature over its raw body before reading a byte of it. Failures are WeChatErrors with
// WeChat's v3 code; mapping those codes to what they mean for an order is the caller's adapter.
import { WeChatError, upstreamText, type WeChatApi } from "../errors";
import { checkTimeout, exchangeRaw, joinUrl, platformFetch } from "../http";
import { OUT_REFUND_NO } from "../pay-client";
import { readCertificatesAnswer } from "./key-ring";
import { normalizeSerial, type PlatformCertificate } from "./keys";
import { readTransaction, type V3Transaction } from "./notification";
import { authorizationHeader, type MerchantSigner } from "./signature";
import { verifyWeChatPaySignature, type VerificationKeys } from "./verifier";
import { jsonObject } from "../json";

export interface V3PayClientConfig {
  /** e.g. "https://api.mch.weixin.qq.com", or a simulator's origin */
  readonly apiBase: string;
  readonly appid: string;
  readonly signer: MerchantSigner;
  /** the keys WeChat's answers are verified with */
  readonly keys: VerificationKeys;
  /**
   * The WeChat Pay public key's id (PUB_KEY_ID_…), sent as Wechatpay-Serial: while WeChat migrates a
   * merchant, answers are signed with the public key only when the request names it.
   */
  readonly publicKeyId?: string;
  /** the APIv3 key, for /v3/certificates */
  readonly apiV3Key?: string;
  readonly fetch?: typeof fetch;
  readonly timeoutMs?: number;
  /** ms clock for the signature window, default Date.now */
  readonly now?: () => number;
}

export interface V3JsapiPrepayRequest {
  readonly outTradeNo: string;
  /** at most 127 characters */
  readonly description: string;
  /** integer fen, > 0 */
  readonly total: number;
  readonly openid: string;
  readonly notifyUrl: string;
  /** RFC 3339 with offset, e.g. 2026-12-01T22:35:06+08:00 */
  readonly timeExpire?: string;
  readonly payerClientIp?: string;
}

export interface V3RefundRequest {
  readonly outTradeNo: string;
  readonly outRefundNo: string;
  /** at most 80 characters; shown to the payer */
  readonly reason?: string;
  readonly notifyUrl?: string;
  /** integer fen */
  readonly refund: number;
  /** the order's full amount, integer fen */
  readonly total: number;
}

/** A refund as v3 reports it when it is created and queried. */
export interface V3Refund {
  readonly refundId: string;
  readonly outRefundNo: string;
  /** SUCCESS | CLOSED | PROCESSING | ABNORMAL */
  readonly status: string;
  readonly successTime: string | null;
}

export interface V3PayClient {
  /** POST /v3/pay/transactions/jsapi → the prepay_id (valid 2 hours). */
  jsapiPrepay(request: V3JsapiPrepayRequest): Promise<{ prepayId: string }>;
  /** GET /v3/pay/transactions/out-trade-no/{out_trade_no}?mchid=… An unknown order is business ORDER_NOT_EXIST. */
  queryOrder(outTradeNo: string): Promise<V3Transaction>;
  /** POST …/{out_trade_no}/close → 204. */
  closeOrder(outTradeNo: string): Promise<void>;
  /** POST /v3/refund/domestic/refunds (no client certificate in v3). */
  refund(request: V3RefundRequest): Promise<V3Refund>;
  /** GET /v3/refund/domestic/refunds/{out_refund_no}. Unknown → business RESOURCE_NOT_EXISTS. */
  refundQuery(outRefundNo: string): Promise<V3Refund>;
  /** GET /v3/certificates, each certificate decrypted with the APIv3 key. */
  certificates(): Promise<PlatformCertificate[]>;
}

const OUT_TRADE_NO = /^[0-9A-Za-z_\-|*]{6,32}$/;

/** Creates a v3 client. Throws TypeError at once for an unusable configuration (without echoing values). */
export function createV3PayClient(config: V3PayClientConfig): V3PayClient {
  if (config.apiBase === "" || config.appid === "" || config.signer.mchid === "" || config.signer.serialNo === "") {
    throw new TypeError("V3PayClientConfig needs apiBase, appid, signer.mchid and signer.serialNo");
  }
  const timeoutMs = checkTimeout(config.timeoutMs);
  const fetchFn = config.fetch ?? platformFetch;
  const now = config.now ?? Date.now;
  const mchid = config.signer.mchid;

  /** One signed exchange; returns the verified body (parsed JSON, or null for 204). */
  /**
   * One signed exchange; returns the verified body (parsed JSON, or null for 204). `keysFor` may add
   * keys that the answer's own (AEAD-authenticated) content brings: the certificates download.
   */
  async function call(
    api: WeChatApi,
    method: "GET" | "POST",
    pathWithQuery: string,
    payload?: unknown,
    keysFor: (body: Uint8Array) => Promise<VerificationKeys> = async () => config.keys,
  ): Promise<Record<string, unknown> | null> {
    const body = payload === undefined ? "" : JSON.stringify(payload);
    const headers: Record<string, string> = {
      Accept: "application/json",
      Authorization: await authorizationHeader(config.signer, { method, pathWithQuery, body }),
      "User-Agent": "wxpay-edge",
    };
    if (payload !== undefined) headers["Content-Type"] = "application/json";
    if (config.publicKeyId !== undefined) headers["Wechatpay-Serial"] = config.publicKeyId;
    const answer = await exchangeRaw(api, fetchFn, joinUrl(config.apiBase, pathWithQuery), { method, headers, ...(payload !== undefined ? { body } : {}) }, timeoutMs);
    // A 5xx from a proxy on the way carries no WeChat signature: a passing HTTP failure, retryable.
    if (answer.status >= 500 && !answer.headers.has("Wechatpay-Signature")) throw new WeChatError(api, { kind: "http", status: answer.status });
    const check = await verifyWeChatPaySignature(answer.headers, answer.body, await keysFor(answer.body), now());
    if (!check.ok) throw new WeChatError(api, { kind: "bad_signature" });
    const text = new TextDecoder().decode(answer.body);
    if (answer.status >= 200 && answer.status < 300) {
      if (text === "") return null;
      const data = jsonObject(text);
      if (data === null) throw new WeChatError(api, { kind: "malformed" });
      return data;
    }
    const error = jsonObject(text);
    const code = typeof error?.code === "string" ? error.code : "";
    if (code === "") throw new WeChatError(api, { kind: "http", status: answer.status });
    throw new WeChatError(api, { kind: "business", code, description: upstreamText(error?.message, config.apiV3Key !== undefined ? [config.apiV3Key] : []) });
  }

  return {
    async jsapiPrepay(request) {
      if (!OUT_TRADE_NO.test(request.outTradeNo)) throw new RangeError("outTradeNo must be 6-32 of [0-9A-Za-z_-|*]");
      if (!Number.isSafeInteger(request.total) || request.total <= 0) throw new RangeError("total must be a positive integer number of fen");
      const answer = await call("jsapi", "POST", "/v3/pay/transactions/jsapi", {
        appid: config.appid,
        mchid,
        description: request.description,
        out_trade_no: request.outTradeNo,
        ...(request.timeExpire !== undefined ? { time_expire: request.timeExpire } : {}),
        notify_url: request.notifyUrl,
        amount: { total: request.total, currency: "CNY" },
        payer: { openid: request.openid },
        ...(request.payerClientIp !== undefined ? { scene_info: { payer_client_ip: request.payerClientIp } } : {}),
      });
      const prepayId = answer?.prepay_id;
      if (typeof prepayId !== "string" || prepayId === "") throw new WeChatError("jsapi", { kind: "malformed" });
      return { prepayId };
    },

    async queryOrder(outTradeNo) {
      if (!OUT_TRADE_NO.test(outTradeNo)) throw new RangeError("outTradeNo must be 6-32 of [0-9A-Za-z_-|*]");
      const answer = await call("orderquery", "GET", `/v3/pay/transactions/out-trade-no/${outTradeNo}?mchid=${encodeURIComponent(mchid)}`);
      try {
        return readTransaction(answer ?? {}, { appid: config.appid, mchid });
      } catch {
        throw new WeChatError("orderquery", { kind: "malformed" });
      }
    },

    async closeOrder(outTradeNo) {
      if (!OUT_TRADE_NO.test(outTradeNo)) throw new RangeError("outTradeNo must be 6-32 of [0-9A-Za-z_-|*]");
      await call("closeorder", "POST", `/v3/pay/transactions/out-trade-no/${outTradeNo}/close`, { mchid });
    },

    async refund(request) {
      if (!OUT_REFUND_NO.test(request.outRefundNo)) throw new RangeError("outRefundNo must be 1-64 of [0-9A-Za-z_-|*@]");
      for (const amount of [request.refund, request.total]) {
        if (!Number.isSafeInteger(amount) || amount <= 0) throw new RangeError("refund amounts must be positive integers of fen");
      }
      if (request.refund > request.total) throw new RangeError("a refund cannot exceed the order's total");
      const answer = await call("refund", "POST", "/v3/refund/domestic/refunds", {
        out_trade_no: request.outTradeNo,
        out_refund_no: request.outRefundNo,
        ...(request.reason !== undefined ? { reason: request.reason } : {}),
        ...(request.notifyUrl !== undefined ? { notify_url: request.notifyUrl } : {}),
        amount: { refund: request.refund, total: request.total, currency: "CNY" },
      });
      return readRefund("refund", answer);
    },

    async refundQuery(outRefundNo) {
      if (!OUT_REFUND_NO.test(outRefundNo)) throw new RangeError("outRefundNo must be 1-64 of [0-9A-Za-z_-|*@]");
      return readRefund("refundquery", await call("refundquery", "GET", `/v3/refund/domestic/refunds/${outRefundNo}`));
    },

    async certificates() {
      const apiV3Key = config.apiV3Key;
      if (apiV3Key === undefined) throw new TypeError("V3PayClientConfig.apiV3Key is needed to read certificates");
      let certificates: PlatformCertificate[] = [];
      // The first download is signed with a certificate we do not hold yet. Its content decrypts only
      // with the APIv3 key (AEAD: authenticated), so a certificate inside it may verify the answer.
      await call("certificates", "GET", "/v3/certificates", undefined, async (body) => {
        try {
          certificates = await readCertificatesAnswer(new TextDecoder().decode(body), apiV3Key);
        } catch {
          throw new WeChatError("certificates", { kind: "malformed" });
        }
        const brought = new Map(certificates.map((c) => [normalizeSerial(c.serialNo), c.key]));
        return { keyFor: async (serial) => brought.get(serial) ?? (await config.keys.keyFor(serial)) };
      });
      return certificates;
    },
  };
}


function readRefund(api: WeChatApi, data: Record<string, unknown> | null): V3Refund {
  const refundId = data?.refund_id;
  const outRefundNo = data?.out_refund_no;
  const status = data?.status;
  if (typeof refundId !== "string" || typeof outRefundNo !== "string" || typeof status !== "string") throw new WeChatError(api, { kind: "malformed" });
  return { refundId, outRefundNo, status, successTime: typeof data?.success_time === "string" ? data.success_time : null };
}
