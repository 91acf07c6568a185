// Pure rules of the v2 order: unifiedorder parameter validation, the re-entry comparison, and the
// field sets of orderquery replies and payment notifications. No state, clock or I/O of its own.
import { parseBeijingTime } from "./clock";
import type { OrderRecord, TradeState } from "./state";
import type { XmlFields } from "./xml";

export interface BusinessError {
  errCode: string;
  errCodeDes: string;
}

/** prepay_id lifetime: a re-entry after this gets a fresh prepay_id. */
export const PREPAY_ID_TTL_MS = 2 * 60 * 60 * 1000;
/** Shortest accepted distance between now and time_expire (current doc: "最短失效时间间隔大于1分钟"). */
export const MIN_EXPIRE_INTERVAL_MS = 60_000;

const REQUIRED_UNIFIED_ORDER_FIELDS = [
  "body",
  "out_trade_no",
  "total_fee",
  "spbill_create_ip",
  "notify_url",
  "trade_type",
] as const;

const OUT_TRADE_NO = /^[0-9A-Za-z_\-|*]{6,32}$/;
const MAX_TOTAL_FEE = 2_147_483_647;

const paramError = (errCodeDes: string): BusinessError => ({ errCode: "PARAM_ERROR", errCodeDes });

/** notify_url rules shared by unifiedorder and refund: ≤256 chars, no query string, absolute http(s). */
export function checkNotifyUrl(value: string): BusinessError | null {
  if (value.length > 256) return paramError("notify_url参数长度有误");
  if (value.includes("?")) return paramError("notify_url参数格式错误，不能携带参数");
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return paramError("notify_url参数格式错误");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return paramError("notify_url参数格式错误，必须是http(s)地址");
  return null;
}

function checkTimeField(fields: XmlFields, name: "time_start" | "time_expire"): BusinessError | null {
  const value = fields[name];
  if (!value || parseBeijingTime(value) !== null) return null;
  return paramError(`${name}参数格式错误，应为yyyyMMddHHmmss（北京时间）`);
}

/**
 * The time-independent unifiedorder checks, in a fixed order: required fields, then formats, then
 * openid ownership. `openidOwner` says which appid an openid was issued under.
 */
export function validateUnifiedOrder(
  fields: XmlFields,
  appid: string,
  openidOwner: (openid: string) => string | undefined,
): BusinessError | null {
  for (const name of REQUIRED_UNIFIED_ORDER_FIELDS) {
    if (!fields[name]) return { errCode: "LACK_PARAMS", errCodeDes: `缺少参数${name}` };
  }
  const totalFee = fields.total_fee!;
  if (!/^[1-9]\d{0,9}$/.test(totalFee) || Number(totalFee) > MAX_TOTAL_FEE) return paramError("invalid total_fee");
  if (fields.fee_type && fields.fee_type !== "CNY") return paramError("fee_type参数错误，仅支持CNY");
  if (!OUT_TRADE_NO.test(fields.out_trade_no!)) {
    return paramError("out_trade_no参数格式错误，须为6-32位数字、大小写字母或_-|*");
  }
  // Characters, not bytes: the docs leave the unit open and clients usually cut by characters.
  if ([...fields.body!].length > 127) return paramError("body参数长度有误，不能超过127个字符");
  if (fields.attach && [...fields.attach].length > 127) return paramError("attach参数长度有误，不能超过127个字符");
  if (!/^[0-9A-Fa-f.:]{2,64}$/.test(fields.spbill_create_ip!)) return paramError("spbill_create_ip参数格式错误");
  const notifyUrlError = checkNotifyUrl(fields.notify_url!);
  if (notifyUrlError) return notifyUrlError;
  const timeError = checkTimeField(fields, "time_start") ?? checkTimeField(fields, "time_expire");
  if (timeError) return timeError;
  if (fields.trade_type !== "JSAPI") return paramError("trade_type参数错误，模拟器只支持JSAPI");
  const openid = fields.openid;
  if (!openid) return { errCode: "LACK_PARAMS", errCodeDes: "JSAPI支付必须传openid" };
  if (openidOwner(openid) !== appid) return paramError("appid和openid不匹配");
  return null;
}

/**
 * Checks of a new order against the clock: time_expire at least a minute away and after
 * time_start. Not applied to an identical re-entry, which is judged by the order's expiry instead.
 */
export function validateOrderWindow(fields: XmlFields, now: number): BusinessError | null {
  if (!fields.time_expire) return null;
  const expiresAt = parseBeijingTime(fields.time_expire)!;
  if (expiresAt - now < MIN_EXPIRE_INTERVAL_MS) {
    return { errCode: "INVALID_REQUEST", errCodeDes: "time_expire时间过短，至少1分钟" };
  }
  if (fields.time_start && expiresAt <= parseBeijingTime(fields.time_start)!) {
    return { errCode: "INVALID_REQUEST", errCodeDes: "time_expire必须晚于time_start" };
  }
  return null;
}

const NOT_BUSINESS = new Set(["nonce_str", "sign", "sign_type"]);

/** The fields a re-entry must repeat exactly: all non-empty fields but nonce_str, sign, sign_type. */
export function businessParams(fields: XmlFields): Record<string, string> {
  return Object.fromEntries(
    Object.entries(fields).filter(([name, value]) => !NOT_BUSINESS.has(name) && value !== ""),
  );
}

export function sameBusinessParams(a: Record<string, string>, b: Record<string, string>): boolean {
  const names = Object.keys(a);
  return names.length === Object.keys(b).length && names.every((name) => a[name] === b[name]);
}

/** The re-entry error for a changed, closed or expired order: "201 商户订单号重复". */
export const DUPLICATE_OUT_TRADE_NO: BusinessError = { errCode: "INVALID_REQUEST", errCodeDes: "201 商户订单号重复" };
export const ORDER_PAID: BusinessError = { errCode: "ORDERPAID", errCodeDes: "该订单已支付" };

export const TRADE_STATE_DESC: Record<TradeState, string> = {
  NOTPAY: "订单未支付",
  SUCCESS: "支付成功",
  CLOSED: "订单已关闭",
  REFUND: "订单发生过退款，退款详情请查询退款单",
};

export function isPaid(order: OrderRecord): boolean {
  return order.tradeState === "SUCCESS" || order.tradeState === "REFUND";
}

export function isExpired(order: OrderRecord, now: number): boolean {
  return order.expiresAt !== null && now >= order.expiresAt;
}

/**
 * The order's own fields shared by orderquery and the notification. Payment fields appear once it
 * is paid; `trade_state` is not here, so a notification is exactly a query minus the state.
 */
export function orderFields(order: OrderRecord): XmlFields {
  const fields: XmlFields = { openid: order.openid };
  const paid = isPaid(order) && order.transactionId !== null && order.timeEnd !== null;
  if (paid) fields.is_subscribe = "N";
  fields.trade_type = order.tradeType;
  if (paid) fields.bank_type = "CFT";
  fields.total_fee = String(order.totalFee);
  if (paid) {
    fields.fee_type = "CNY";
    fields.cash_fee = String(order.totalFee);
    fields.transaction_id = order.transactionId!;
  }
  fields.out_trade_no = order.outTradeNo;
  if (order.attach !== null) fields.attach = order.attach;
  if (paid) fields.time_end = order.timeEnd!;
  return fields;
}

/** orderquery's business fields (after result_code). */
export function queryFields(order: OrderRecord): XmlFields {
  return {
    ...orderFields(order),
    trade_state: order.tradeState,
    trade_state_desc: TRADE_STATE_DESC[order.tradeState],
  };
}
