// Pure rules of the simulated mini-program server APIs: the stable token's lifetime and force-refresh quota, which token a call may use, and the upload_shipping_info body checks, each answered with WeChat's errcode.
//
// From WeChat's documentation (getStableAccessToken; uploadShippingInfo and the order-shipping guide's errcode
// tables; the common errcode table): normal mode hands out the current token while it is valid and a new one in
// its last 5 minutes (both then work); force_refresh replaces it at once, the old one working 5 more minutes,
// 20 times a day (45009). A refused token is 40001 (invalid or replaced) or 42001 (expired).
import { parseRfc3339 } from "./clock";
import type { MpTokenRecord } from "./state";

export const TOKEN_TTL_MS = 7200_000;
/** Normal mode issues a new token this long before the current one expires; force refresh keeps the old one this long. */
export const TOKEN_OVERLAP_MS = 300_000;
export const FORCE_REFRESHES_PER_DAY = 20;

export const MAX_SHIPPING_ENTRIES = 15;
export const MAX_ITEM_DESC_CHARS = 120;

/** An errcode with WeChat's errmsg. */
export interface MpError {
  errcode: number;
  errmsg: string;
}

const fail = (errcode: number, errmsg: string): MpError => ({ errcode, errmsg });

/** Whether `record` (looked up by the access_token a call carried) may be used at `now`. */
export function checkToken(record: MpTokenRecord | undefined, now: number): MpError | null {
  if (record === undefined || record.revoked === "invalid") return fail(40001, "invalid credential, access_token is invalid or not latest");
  if (record.revoked === "expired" || now >= record.expiresAt) return fail(42001, "access_token expired");
  if (record.replacedAt !== null && now >= record.replacedAt + TOKEN_OVERLAP_MS) {
    return fail(40001, "invalid credential, access_token is invalid or not latest");
  }
  return null;
}

/** Normal mode reuses the current token until its last TOKEN_OVERLAP_MS, and never one the control API revoked. */
export function reusable(record: MpTokenRecord | undefined, now: number): record is MpTokenRecord {
  return record !== undefined && record.revoked === null && record.replacedAt === null && now < record.expiresAt - TOKEN_OVERLAP_MS;
}

/** The stable_token body's credentials, checked in the order WeChat reports them. */
export function checkStableTokenBody(body: Record<string, unknown>, ours: { appid: string; secret: string }): MpError | null {
  const { grant_type: grantType, appid, secret, force_refresh: forceRefresh } = body;
  if (typeof appid !== "string" || appid === "") return fail(41002, "appid missing");
  if (appid !== ours.appid) return fail(40013, "invalid appid");
  if (typeof secret !== "string" || secret === "") return fail(41004, "appsecret missing");
  if (secret !== ours.secret) return fail(40125, "invalid appsecret");
  if (grantType !== "client_credential") return fail(40002, "invalid grant_type");
  if (forceRefresh !== undefined && typeof forceRefresh !== "boolean") return fail(47001, "data format error");
  return null;
}

/** The order an upload names, once its body passed the checks. */
export type OrderKey = { kind: "out_trade_no"; mchid: string; outTradeNo: string } | { kind: "transaction_id"; transactionId: string };

export interface CheckedUpload {
  orderKey: OrderKey;
  logisticsType: number;
  deliveryMode: number;
  isAllDelivered: boolean | null;
  shippingList: Record<string, unknown>[];
  uploadTime: string;
  payerOpenid: string;
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);
const isFilled = (value: unknown): value is string => typeof value === "string" && value.trim() !== "";

/**
 * The upload_shipping_info body as WeChat checks it before looking at the order. shipping_list must be an array
 * (an object is 47001, as the real API answers a body it cannot read); other errcodes from the tables.
 */
export function checkUploadBody(body: Record<string, unknown>): { ok: true; upload: CheckedUpload } | { ok: false; error: MpError } {
  const refuse = (errcode: number, errmsg: string) => ({ ok: false as const, error: fail(errcode, errmsg) });
  const key = body.order_key;
  if (!isObject(key)) return refuse(47001, "data format error: order_key");
  let orderKey: OrderKey;
  if (key.order_number_type === 1) {
    if (!isFilled(key.mchid)) return refuse(268485196, "mchid is required when order_number_type is 1");
    if (!isFilled(key.out_trade_no)) return refuse(268485197, "out_trade_no is required when order_number_type is 1");
    orderKey = { kind: "out_trade_no", mchid: key.mchid, outTradeNo: key.out_trade_no };
  } else if (key.order_number_type === 2) {
    if (!isFilled(key.transaction_id)) return refuse(268485195, "transaction_id is required when order_number_type is 2");
    orderKey = { kind: "transaction_id", transactionId: key.transaction_id };
  } else return refuse(268485194, "invalid order_number_type");

  const logisticsType = body.logistics_type;
  if (typeof logisticsType !== "number" || !Number.isInteger(logisticsType) || logisticsType < 1 || logisticsType > 4) {
    return refuse(10060005, "invalid logistics_type");
  }
  const deliveryMode = body.delivery_mode;
  if (deliveryMode !== 1 && deliveryMode !== 2) return refuse(268485224, "invalid delivery_mode");
  const list = body.shipping_list;
  if (!Array.isArray(list)) return refuse(47001, "data format error: shipping_list must be an array");
  if (list.length > MAX_SHIPPING_ENTRIES) return refuse(10060024, `shipping_list has more than ${MAX_SHIPPING_ENTRIES} entries`);
  if (deliveryMode === 1 && list.length !== 1) return refuse(268485228, "unified delivery takes exactly one shipping_list entry");
  if (deliveryMode === 2 && list.length === 0) return refuse(47001, "data format error: shipping_list is empty");
  if (deliveryMode === 2 && logisticsType !== 1) return refuse(10060006, "split delivery is for express only");
  const isAllDelivered = body.is_all_delivered;
  if (deliveryMode === 2 && typeof isAllDelivered !== "boolean") return refuse(10060007, "is_all_delivered is required for split delivery");
  for (const entry of list) {
    if (!isObject(entry)) return refuse(47001, "data format error: shipping_list entry");
    if (logisticsType === 1 && !isFilled(entry.tracking_no)) return refuse(268485226, "tracking_no is required for express");
    if (logisticsType === 1 && !isFilled(entry.express_company)) return refuse(268485227, "express_company is required for express");
    if (!isFilled(entry.item_desc)) return refuse(10060008, "item_desc is required");
    if ([...entry.item_desc].length > MAX_ITEM_DESC_CHARS) return refuse(10060009, "item_desc is too long");
  }
  const uploadTime = body.upload_time;
  if (typeof uploadTime !== "string" || parseRfc3339(uploadTime) === null) return refuse(268485216, "upload_time must be RFC 3339");
  const payer = body.payer;
  if (!isObject(payer) || !isFilled(payer.openid)) return refuse(47001, "data format error: payer.openid");
  return {
    ok: true,
    upload: {
      orderKey,
      logisticsType,
      deliveryMode,
      isAllDelivered: typeof isAllDelivered === "boolean" ? isAllDelivered : null,
      shippingList: list as Record<string, unknown>[],
      uploadTime,
      payerOpenid: payer.openid,
    },
  };
}
