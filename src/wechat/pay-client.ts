// WeChat Pay API v2 merchant calls (unifiedorder, orderquery, closeorder, refund, refundquery): sign, send, verify, map. Never trusts an unsigned answer or puts the key or a sign into an error.
import { parseBeijingTime } from "./beijing-time";
import { WeChatError, upstreamText } from "./errors";
import { checkTimeout, exchange, joinUrl, platformFetch } from "./http";
import { randomNonce } from "./nonce";
import { isSignType, sign, verifySign, type Fields, type SignType } from "./sign";
import { XmlError, buildXml, parseXml, type XmlLimits } from "./xml";

/** Merchant identity and transport for v2 calls. */
export interface PayClientConfig {
  /** e.g. "https://api.mch.weixin.qq.com", or a simulator's origin. */
  apiBase: string;
  /** The Mini Program appid the orders are for. */
  appid: string;
  mchId: string;
  /** The merchant API v2 key (not the APIv3 key). */
  key: string;
  /** Used for requests, sent as sign_type, and the only algorithm accepted on responses. */
  signType: SignType;
  fetch?: typeof fetch;
  /**
   * Used instead of `fetch` for `/secapi/…` paths (the refund), which need the merchant's API client certificate:
   * in production the `fetch` of a Workers mTLS certificate binding. When absent, `fetch` is used for every path
   * (local development and tests against the simulator). Configuration decides; a failure never switches fetches.
   */
  certifiedFetch?: typeof fetch;
  /** Per-call deadline, default 5000 ms. */
  timeoutMs?: number;
  /** nonce_str source, default 32 random [A-Za-z0-9]. */
  nonce?: () => string;
}

/** A JSAPI (Mini Program) order. Times are yyyyMMddHHmmss Beijing time (see formatBeijingTime). */
export interface UnifiedOrderRequest {
  outTradeNo: string;
  /** Integer fen (分), > 0; checked before sending. */
  totalFee: number;
  body: string;
  openid: string;
  spbillCreateIp: string;
  notifyUrl: string;
  timeExpire?: string;
  timeStart?: string;
  attach?: string;
}

/** orderquery's answer; optional fields are absent when WeChat left them out or empty. `fields` holds everything sent. */
export interface OrderQueryResult {
  tradeState: string;
  tradeStateDesc?: string;
  outTradeNo: string;
  transactionId?: string;
  totalFee?: number;
  timeEnd?: string;
  openid?: string;
  fields: Fields;
}

/** A refund of (part of) a paid order. Amounts are integer fen; `outRefundNo` is idempotent at WeChat. */
export interface RefundRequest {
  outTradeNo: string;
  /** [0-9A-Za-z_-|*@]{1,64}; retry a failed refund with the same number and amounts, never a new number. */
  outRefundNo: string;
  /** The order's full amount (not what is left to refund). */
  totalFee: number;
  refundFee: number;
  /** At most 80 characters; shown to the payer. */
  refundDesc?: string;
  /** Where WeChat sends the refund notification; overrides the merchant platform setting. No query string. */
  notifyUrl?: string;
}

/** The refund WeChat accepted. Accepted is not refunded: the outcome comes by refundQuery or the notification. */
export interface RefundResult {
  outRefundNo: string;
  refundId: string;
  refundFee: number;
  fields: Fields;
}

/** One refund as refundquery reports it (the indexed `_$n` entry for the refund asked about). */
export interface RefundQueryResult {
  outRefundNo: string;
  refundId?: string;
  /** SUCCESS | REFUNDCLOSE | PROCESSING | CHANGE (退款异常); older documents name FAIL instead of REFUNDCLOSE. */
  refundStatus: string;
  refundFee?: number;
  /** yyyy-MM-dd HH:mm:ss Beijing time, once SUCCESS. */
  successTime?: string;
  /** Every field of the answer, all refunds' entries included. */
  fields: Fields;
}

/** The v2 calls this service makes. Every method throws WeChatError on failure. */
export interface PayClient {
  /**
   * Low-level v2 call: adds appid, mch_id, nonce_str, sign_type, sign; POSTs XML (Content-Type text/xml); parses;
   * return_code FAIL → return_fail; SUCCESS responses must carry a valid sign (verified with the configured sign
   * type) and matching appid/mch_id → else bad_signature/malformed; result_code FAIL → business. Returns the
   * verified response fields. Empty and undefined request fields are not sent. A `secapi/…` path goes through
   * `certifiedFetch` when one is configured.
   */
  call(api: string, path: string, fields: Readonly<Record<string, string | undefined>>): Promise<Fields>;
  /** POST /pay/unifiedorder with trade_type JSAPI; returns the prepay_id (valid 2 hours). */
  unifiedOrder(req: UnifiedOrderRequest): Promise<{ prepayId: string; fields: Fields }>;
  /** POST /pay/orderquery by out_trade_no. An unknown order is a business failure ORDERNOTEXIST. */
  orderQuery(q: { outTradeNo: string }): Promise<OrderQueryResult>;
  /** POST /pay/closeorder. ORDERPAID / ORDERCLOSED come back as business failures for the caller to judge. */
  closeOrder(q: { outTradeNo: string }): Promise<void>;
  /**
   * POST /secapi/pay/refund (through `certifiedFetch` when configured). Throws RangeError before sending for amounts
   * that are not positive integers, a refund above the total or a malformed outRefundNo. SYSTEMERROR and
   * BIZERR_NEED_RETRY are retryable (same outRefundNo and amounts); NOTENOUGH, ERROR, INVALID_REQUEST,
   * INVALID_REQ_TOO_MUCH (wait a minute), REFUND_FEE_MISMATCH, ORDERNOTEXIST… are business failures.
   */
  refund(req: RefundRequest): Promise<RefundResult>;
  /** POST /pay/refundquery by out_refund_no; picks the `_$n` entry for that refund. Unknown → business REFUNDNOTEXIST. */
  refundQuery(q: { outRefundNo: string }): Promise<RefundQueryResult>;
}

/** WeChat's out_refund_no alphabet and length (String(64)). */
export const OUT_REFUND_NO = /^[0-9A-Za-z_\-|*@]{1,64}$/;

/**
 * refundquery lists refunds as indexed fields (about a dozen per refund, and an order may have 50 refunds), far
 * more than any other answer: it gets its own bounds instead of raising everyone's.
 */
const REFUND_QUERY_LIMITS: Partial<XmlLimits> = { maxFields: 1000, maxBytes: 256 * 1024 };

/** Creates a v2 client. Throws TypeError/RangeError at once for an unusable configuration (without echoing values). */
export function createPayClient(config: PayClientConfig): PayClient {
  for (const name of ["apiBase", "appid", "mchId", "key"] as const) {
    if (typeof config[name] !== "string" || config[name] === "") {
      throw new TypeError(`PayClientConfig.${name} must be a non-empty string`);
    }
  }
  if (!isSignType(config.signType)) throw new TypeError("PayClientConfig.signType must be MD5 or HMAC-SHA256");
  const timeoutMs = checkTimeout(config.timeoutMs);
  const fetchFn = config.fetch ?? platformFetch;
  const certifiedFetchFn = config.certifiedFetch ?? fetchFn;
  const nonce = config.nonce ?? (() => randomNonce());
  const { appid, mchId, key, signType } = config;

  function call(api: string, path: string, fields: Readonly<Record<string, string | undefined>>): Promise<Fields> {
    return request(api, path, fields, undefined);
  }

  async function request(
    api: string,
    path: string,
    fields: Readonly<Record<string, string | undefined>>,
    limits: Partial<XmlLimits> | undefined,
  ): Promise<Fields> {
    // Ours last: a caller cannot send the order under another appid or merchant by accident.
    const request = { ...fields, appid, mch_id: mchId, nonce_str: nonce(), sign_type: signType };
    const body = buildXml({ ...nonEmptyOnly(request), sign: await sign(request, key, signType) });
    const init: RequestInit = { method: "POST", headers: { "Content-Type": "text/xml" }, body };
    // Only /secapi/ paths present the client certificate: it is never offered to calls that do not need it.
    const transport = /^\/*secapi\//.test(path) ? certifiedFetchFn : fetchFn;
    const text = await exchange(api, transport, joinUrl(config.apiBase, path), init, timeoutMs);

    let response: Fields;
    try {
      response = parseXml(text, limits === undefined ? undefined : { limits });
    } catch (error) {
      if (error instanceof XmlError) throw new WeChatError(api, { kind: "malformed" });
      throw error;
    }
    // Order matters: communication result, then envelope, then sign, and only then the business result.
    if (response.return_code === "FAIL") {
      throw new WeChatError(api, { kind: "return_fail", message: upstreamText(response.return_msg, [key]) });
    }
    if (response.return_code !== "SUCCESS") throw new WeChatError(api, { kind: "malformed" });
    if (response.appid !== appid || response.mch_id !== mchId) throw new WeChatError(api, { kind: "malformed" });
    // Only the configured algorithm: a response cannot downgrade us to MD5 by choosing a 32-character sign.
    if (!(await verifySign(response, key, [signType]))) throw new WeChatError(api, { kind: "bad_signature" });
    if (response.result_code === "FAIL") {
      throw new WeChatError(api, {
        kind: "business",
        code: upstreamText(response.err_code, [key]),
        description: upstreamText(response.err_code_des, [key]),
      });
    }
    if (response.result_code !== "SUCCESS") throw new WeChatError(api, { kind: "malformed" });
    return response;
  }

  return {
    call,

    async unifiedOrder(req) {
      // Integer fen only: 0.12 (yuan) or 9.8 * 100 = 980.0000000000001 must never reach WeChat.
      if (!Number.isSafeInteger(req.totalFee) || req.totalFee <= 0) {
        throw new RangeError("totalFee must be a positive integer number of fen");
      }
      for (const time of [req.timeStart, req.timeExpire]) if (time !== undefined) parseBeijingTime(time);
      const fields = await call("unifiedorder", "/pay/unifiedorder", {
        body: req.body,
        out_trade_no: req.outTradeNo,
        total_fee: String(req.totalFee),
        spbill_create_ip: req.spbillCreateIp,
        notify_url: req.notifyUrl,
        trade_type: "JSAPI",
        openid: req.openid,
        time_start: req.timeStart,
        time_expire: req.timeExpire,
        attach: req.attach,
      });
      const prepayId = fields.prepay_id;
      if (prepayId === undefined || prepayId === "") throw new WeChatError("unifiedorder", { kind: "malformed" });
      return { prepayId, fields };
    },

    async orderQuery(q) {
      const fields = await call("orderquery", "/pay/orderquery", { out_trade_no: q.outTradeNo });
      const tradeState = fields.trade_state;
      // An answer about another order is as useless as a forged one.
      if (tradeState === undefined || tradeState === "" || fields.out_trade_no !== q.outTradeNo) {
        throw new WeChatError("orderquery", { kind: "malformed" });
      }
      let totalFee: number | undefined;
      const fee = present(fields.total_fee);
      if (fee !== undefined) {
        if (!/^\d{1,15}$/.test(fee)) throw new WeChatError("orderquery", { kind: "malformed" });
        totalFee = Number(fee);
      }
      return withoutUndefined({
        tradeState,
        tradeStateDesc: present(fields.trade_state_desc),
        outTradeNo: q.outTradeNo,
        transactionId: present(fields.transaction_id),
        totalFee,
        timeEnd: present(fields.time_end),
        openid: present(fields.openid),
        fields,
      });
    },

    async closeOrder(q) {
      await call("closeorder", "/pay/closeorder", { out_trade_no: q.outTradeNo });
    },

    async refund(req) {
      for (const [name, fee] of [["totalFee", req.totalFee], ["refundFee", req.refundFee]] as const) {
        if (!Number.isSafeInteger(fee) || fee <= 0) throw new RangeError(`${name} must be a positive integer number of fen`);
      }
      if (req.refundFee > req.totalFee) throw new RangeError("refundFee must not exceed totalFee");
      if (!OUT_REFUND_NO.test(req.outRefundNo)) throw new RangeError("outRefundNo must be 1-64 of [0-9A-Za-z_-|*@]");
      const fields = await call("refund", "/secapi/pay/refund", {
        out_trade_no: req.outTradeNo,
        out_refund_no: req.outRefundNo,
        total_fee: String(req.totalFee),
        refund_fee: String(req.refundFee),
        refund_desc: req.refundDesc,
        notify_url: req.notifyUrl,
      });
      // An answer about another refund or amount is as useless as a forged one.
      const refundId = present(fields.refund_id);
      if (
        refundId === undefined ||
        fields.out_refund_no !== req.outRefundNo ||
        fields.out_trade_no !== req.outTradeNo ||
        fields.refund_fee !== String(req.refundFee)
      ) {
        throw new WeChatError("refund", { kind: "malformed" });
      }
      return { outRefundNo: req.outRefundNo, refundId, refundFee: req.refundFee, fields };
    },

    async refundQuery(q) {
      const fields = await request("refundquery", "/pay/refundquery", { out_refund_no: q.outRefundNo }, REFUND_QUERY_LIMITS);
      const count = fields.refund_count;
      if (count === undefined || !/^\d{1,4}$/.test(count)) throw new WeChatError("refundquery", { kind: "malformed" });
      // Whether WeChat lists only the refund asked about or all of the order's, the entry is found by its number.
      let index: number | undefined;
      for (let n = 0; n < Number(count); n++) {
        if (fields[`out_refund_no_${n}`] === q.outRefundNo) {
          index = n;
          break;
        }
      }
      const refundStatus = index === undefined ? undefined : present(fields[`refund_status_${index}`]);
      if (index === undefined || refundStatus === undefined) throw new WeChatError("refundquery", { kind: "malformed" });
      let refundFee: number | undefined;
      const fee = present(fields[`refund_fee_${index}`]);
      if (fee !== undefined) {
        if (!/^\d{1,15}$/.test(fee)) throw new WeChatError("refundquery", { kind: "malformed" });
        refundFee = Number(fee);
      }
      return withoutUndefined({
        outRefundNo: q.outRefundNo,
        refundId: present(fields[`refund_id_${index}`]),
        refundStatus,
        refundFee,
        successTime: present(fields[`refund_success_time_${index}`]),
        fields,
      });
    },
  };
}

function present(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}

/** The fields worth sending: empty values are not signed, so they are not sent either. */
function nonEmptyOnly(fields: Readonly<Record<string, string | undefined>>): Fields {
  const out: Fields = {};
  for (const [name, value] of Object.entries(fields)) if (value !== undefined && value !== "") out[name] = value;
  return out;
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
