// Pure rules of API v3: JSAPI prepay and refund body validation (§4.4, §4.7), the v3 errors as
// `{status, code, message}`, and the JSON shapes of a Transaction (§4.5), a Refund and a refund
// notification's resource. No state, clock or I/O of its own.
import { parseBeijingTime, parseRfc3339, rfc3339 } from "../clock";
import { TRADE_STATE_DESC, isPaid, type BusinessError } from "../order-rules";
import { ORDER_NOT_EXIST, REFUND_TOO_SOON } from "../refund-rules";
import type { OrderRecord, RefundRecord, RefundStatus } from "../state";

/** A v3 error answer: the HTTP status and the `{"code","message"}` body. */
export interface V3Error {
  status: number;
  code: string;
  message: string;
}

export const paramError = (message: string): V3Error => ({ status: 400, code: "PARAM_ERROR", message });

export const SIGN_ERROR: V3Error = { status: 401, code: "SIGN_ERROR", message: "签名错误,请检查后再试" };
export const SYSTEM_ERROR: V3Error = { status: 500, code: "SYSTEM_ERROR", message: "系统异常，请稍后重试" };
export const ORDER_NOT_FOUND: V3Error = { status: 404, code: "ORDER_NOT_EXIST", message: "订单不存在" };
export const OUT_TRADE_NO_USED: V3Error = { status: 403, code: "OUT_TRADE_NO_USED", message: "商户订单号重复" };
/** Not in the v3 tables of the reference: v2's code for a paid order, kept. */
export const ORDER_PAID: V3Error = { status: 400, code: "ORDERPAID", message: "该订单已支付" };
export const ORDER_CLOSED: V3Error = { status: 400, code: "ORDER_CLOSED", message: "订单已关闭" };
export const REFUND_NOT_FOUND: V3Error = { status: 404, code: "RESOURCE_NOT_EXISTS", message: "退款单不存在" };
export const APPID_MCHID_NOT_MATCH: V3Error = { status: 400, code: "APPID_MCHID_NOT_MATCH", message: "AppID和mch_id不匹配" };
export const MCH_NOT_EXISTS: V3Error = { status: 400, code: "MCH_NOT_EXISTS", message: "商户号不存在" };

/** A default time_expire and its bounds (§4.4): 7 days unset; at least 1 minute and at most 90 days ahead, silently adjusted. */
export const DEFAULT_EXPIRY_MS = 7 * 86_400_000;
export const MIN_EXPIRY_MS = 60_000;
export const MAX_EXPIRY_MS = 90 * 86_400_000;

const OUT_TRADE_NO = /^[0-9A-Za-z_\-|*]{6,32}$/;
const OUT_REFUND_NO = /^[0-9A-Za-z_\-|*@]{1,64}$/;
const MAX_FEN = 2_147_483_647;
const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);

type Json = Record<string, unknown>;

export function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A JSON body as dotted paths to strings (`amount.total` → "100"): re-entry comparison and the call log. */
export function flatten(value: unknown, prefix = "", out: Record<string, string> = {}): Record<string, string> {
  if (isObject(value) || Array.isArray(value)) {
    for (const [name, child] of Object.entries(value)) flatten(child, prefix === "" ? name : `${prefix}.${name}`, out);
  } else if (prefix !== "") out[prefix] = typeof value === "string" ? value : JSON.stringify(value);
  return out;
}

const characters = (text: string) => [...text].length;
const isFen = (value: unknown): value is number => typeof value === "number" && Number.isInteger(value) && value >= 1 && value <= MAX_FEN;

/** notify_url of v3: https, or http to a loopback host (the local service); no query string. */
export function checkV3NotifyUrl(value: unknown, maxLength: number): V3Error | null {
  if (typeof value !== "string" || value === "") return paramError("notify_url为必填项");
  if (value.length > maxLength) return paramError(`notify_url长度不能超过${maxLength}`);
  if (value.includes("?")) return paramError("notify_url不能携带查询参数");
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return paramError("notify_url格式错误");
  }
  if (url.protocol !== "https:" && !(url.protocol === "http:" && LOOPBACK_HOSTS.has(url.hostname))) {
    return paramError("notify_url必须为https地址");
  }
  return null;
}

/** What a valid prepay body carries. */
export interface JsapiPrepay {
  outTradeNo: string;
  total: number;
  openid: string;
  notifyUrl: string;
  attach: string | null;
  /** epoch ms of time_expire as sent, or null */
  timeExpire: number | null;
}

/**
 * The JSAPI prepay body checks, in a fixed order: required fields → appid and mchid ours →
 * description, out_trade_no, amount, attach, notify_url, time_expire → the openid issued for our appid.
 */
export function validateJsapi(
  body: Json,
  ours: { appid: string; mchid: string },
  openidOwner: (openid: string) => string | undefined,
): { ok: true; prepay: JsapiPrepay } | { ok: false; error: V3Error } {
  const fail = (error: V3Error) => ({ ok: false as const, error });
  for (const name of ["appid", "mchid", "description", "out_trade_no", "notify_url"] as const) {
    if (typeof body[name] !== "string" || body[name] === "") return fail(paramError(`${name}为必填项`));
  }
  if (!isObject(body.amount)) return fail(paramError("amount为必填项"));
  if (!isObject(body.payer)) return fail(paramError("payer为必填项"));
  if (body.mchid !== ours.mchid) return fail(MCH_NOT_EXISTS);
  if (body.appid !== ours.appid) return fail(APPID_MCHID_NOT_MATCH);
  if (characters(body.description as string) > 127) return fail(paramError("description长度不能超过127个字符"));
  const outTradeNo = body.out_trade_no as string;
  if (!OUT_TRADE_NO.test(outTradeNo)) return fail(paramError("out_trade_no须为6-32位数字、大小写字母或_-|*"));
  const { total, currency } = body.amount;
  if (!isFen(total)) return fail(paramError("amount.total须为大于0的整数（单位：分）"));
  if (currency !== undefined && currency !== "CNY") return fail(paramError("amount.currency仅支持CNY"));
  if (body.attach !== undefined && (typeof body.attach !== "string" || characters(body.attach) > 128)) {
    return fail(paramError("attach须为不超过128个字符的字符串"));
  }
  const urlError = checkV3NotifyUrl(body.notify_url, 255);
  if (urlError) return fail(urlError);
  let timeExpire: number | null = null;
  if (body.time_expire !== undefined) {
    timeExpire = typeof body.time_expire === "string" ? parseRfc3339(body.time_expire) : null;
    if (timeExpire === null) return fail(paramError("time_expire须为RFC 3339格式，如2018-06-08T10:34:56+08:00"));
  }
  const openid = body.payer.openid;
  if (typeof openid !== "string" || openid === "") return fail(paramError("payer.openid为必填项"));
  if (openidOwner(openid) !== ours.appid) return fail(paramError("openid和appid不匹配"));
  return {
    ok: true,
    prepay: { outTradeNo, total, openid, notifyUrl: body.notify_url as string, attach: (body.attach as string | undefined) ?? null, timeExpire },
  };
}

/** When a new order stops being payable: time_expire moved into [now + 1 min, now + 90 days], 7 days when unset. */
export function expiryOf(timeExpire: number | null, now: number): number {
  if (timeExpire === null) return now + DEFAULT_EXPIRY_MS;
  return Math.min(Math.max(timeExpire, now + MIN_EXPIRY_MS), now + MAX_EXPIRY_MS);
}

/** The Transaction JSON of the v3 query and the TRANSACTION.SUCCESS resource; payment fields once paid. */
export function transactionJson(order: OrderRecord, ours: { appid: string; mchid: string }): Json {
  const paidAt = order.timeEnd === null ? null : parseBeijingTime(order.timeEnd);
  const paid = isPaid(order) && order.transactionId !== null && paidAt !== null;
  return {
    appid: ours.appid,
    mchid: ours.mchid,
    out_trade_no: order.outTradeNo,
    ...(paid ? { transaction_id: order.transactionId, trade_type: order.tradeType } : {}),
    trade_state: order.tradeState,
    trade_state_desc: TRADE_STATE_DESC[order.tradeState],
    ...(paid ? { bank_type: "OTHERS" } : {}),
    attach: order.attach ?? "",
    ...(paid ? { success_time: rfc3339(paidAt), payer: { openid: order.openid } } : {}),
    amount: paid
      ? { total: order.totalFee, payer_total: order.totalFee, currency: "CNY", payer_currency: "CNY" }
      : { total: order.totalFee, currency: "CNY", payer_currency: "CNY" },
  };
}

/** What a valid refund body asks. */
export interface RefundAskV3 {
  transactionId: string | null;
  outTradeNo: string | null;
  outRefundNo: string;
  reason: string | null;
  notifyUrl: string | null;
  /** funds_account AVAILABLE: refund from the available balance (v2's REFUND_SOURCE_RECHARGE_FUNDS) */
  available: boolean;
  refund: number;
  total: number;
}

/** The refund body checks: an order reference, out_refund_no, reason, notify_url, funds_account, amounts. */
export function validateRefund(body: Json): { ok: true; ask: RefundAskV3 } | { ok: false; error: V3Error } {
  const fail = (error: V3Error) => ({ ok: false as const, error });
  const text = (name: string) => (typeof body[name] === "string" && body[name] !== "" ? (body[name] as string) : null);
  const transactionId = text("transaction_id");
  const outTradeNo = text("out_trade_no");
  if (transactionId === null && outTradeNo === null) return fail(paramError("transaction_id和out_trade_no必须二选一"));
  if (transactionId !== null && !/^\d{28}$/.test(transactionId)) return fail(paramError("transaction_id格式错误"));
  const outRefundNo = text("out_refund_no");
  if (outRefundNo === null) return fail(paramError("out_refund_no为必填项"));
  if (!OUT_REFUND_NO.test(outRefundNo)) return fail(paramError("out_refund_no须为1-64位数字、大小写字母或_-|*@"));
  const reason = text("reason");
  if (reason !== null && characters(reason) > 80) return fail(paramError("reason长度不能超过80个字符"));
  if (body.notify_url !== undefined) {
    const urlError = checkV3NotifyUrl(body.notify_url, 256);
    if (urlError) return fail(urlError);
  }
  if (body.funds_account !== undefined && body.funds_account !== "AVAILABLE") return fail(paramError("funds_account仅支持AVAILABLE"));
  if (!isObject(body.amount)) return fail(paramError("amount为必填项"));
  const { refund, total, currency } = body.amount;
  if (!isFen(refund)) return fail(paramError("amount.refund须为大于0的整数（单位：分）"));
  if (!isFen(total)) return fail(paramError("amount.total须为大于0的整数（单位：分）"));
  if (currency !== undefined && currency !== "CNY") return fail(paramError("amount.currency仅支持CNY"));
  if (refund > total) return fail(paramError("退款金额不能大于原订单金额"));
  return {
    ok: true,
    ask: { transactionId, outTradeNo, outRefundNo, reason, notifyUrl: text("notify_url"), available: body.funds_account === "AVAILABLE", refund, total },
  };
}

/**
 * The v3 answer for a refusal of the shared refund rules (refund-rules.ts): the one-minute spacing is
 * 429 FREQUENCY_LIMITED, an unpaid or unknown order 404 RESOURCE_NOT_EXISTS, the rest 400 INVALID_REQUEST
 * with the rule's own text.
 */
export function refundRefusal(error: BusinessError): V3Error {
  if (error === REFUND_TOO_SOON) return { status: 429, code: "FREQUENCY_LIMITED", message: "频率限制，同一笔订单的两次退款需间隔1分钟以上" };
  if (error === ORDER_NOT_EXIST) return { status: 404, code: "RESOURCE_NOT_EXISTS", message: "订单不存在" };
  return { status: 400, code: "INVALID_REQUEST", message: error.errCodeDes };
}

/** v2 refund states as v3 names them. */
export const V3_REFUND_STATUS: Record<RefundStatus, string> = {
  PROCESSING: "PROCESSING",
  SUCCESS: "SUCCESS",
  REFUNDCLOSE: "CLOSED",
  CHANGE: "ABNORMAL",
};

const USER_RECEIVED_ACCOUNT = "支付用户零钱";

/** The Refund JSON of the create and query answers. */
export function refundJson(refund: RefundRecord): Json {
  const success = refund.status === "SUCCESS" && refund.finishedAt !== null;
  return {
    refund_id: refund.refundId,
    out_refund_no: refund.outRefundNo,
    transaction_id: refund.transactionId,
    out_trade_no: refund.outTradeNo,
    channel: "ORIGINAL",
    user_received_account: USER_RECEIVED_ACCOUNT,
    ...(success ? { success_time: rfc3339(refund.finishedAt!) } : {}),
    create_time: rfc3339(refund.createdAt),
    status: V3_REFUND_STATUS[refund.status],
    funds_account: refund.refundAccount === "REFUND_SOURCE_RECHARGE_FUNDS" ? "AVAILABLE" : "UNSETTLED",
    amount: {
      total: refund.totalFee,
      refund: refund.refundFee,
      from: [],
      payer_total: refund.totalFee,
      payer_refund: refund.refundFee,
      settlement_refund: refund.refundFee,
      settlement_total: refund.totalFee,
      discount_refund: 0,
      currency: "CNY",
      refund_fee: 0,
    },
    promotion_detail: [],
  };
}

/** The decrypted resource of a REFUND.* notification. */
export function refundResourceJson(refund: RefundRecord, mchid: string): Json {
  return {
    mchid,
    out_trade_no: refund.outTradeNo,
    transaction_id: refund.transactionId,
    out_refund_no: refund.outRefundNo,
    refund_id: refund.refundId,
    refund_status: V3_REFUND_STATUS[refund.status],
    ...(refund.status === "SUCCESS" && refund.finishedAt !== null ? { success_time: rfc3339(refund.finishedAt) } : {}),
    user_received_account: USER_RECEIVED_ACCOUNT,
    amount: { total: refund.totalFee, refund: refund.refundFee, payer_total: refund.totalFee, payer_refund: refund.refundFee },
  };
}
