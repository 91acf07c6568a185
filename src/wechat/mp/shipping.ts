// Mini-program shipping information (发货信息管理): the upload_shipping_info body, checked before it is sent; the upload and get_order calls; and what to do about each failure. Never puts the access token (it is in the URL) into an error.
//
// Facts from WeChat's documentation: "发货信息录入" uploadShippingInfo
// (https://developers.weixin.qq.com/miniprogram/dev/server/API/order_shipping/api_uploadshippinginfo) and the
// order-shipping guide with its errcode tables
// (https://developers.weixin.qq.com/miniprogram/dev/platform-capabilities/business-capabilities/order-shipping/order-shipping.html):
// - logistics_type 1 express, 2 same-city, 3 virtual goods, 4 picked up by the user;
//   delivery_mode 1 UNIFIED_DELIVERY (exactly one entry: 268485228), 2 SPLIT_DELIVERY (express only: 10060006;
//   is_all_delivered required: 10060007);
// - shipping_list is an array (an object gives 47001, pitfall 19) of [1, 15] entries (the API reference's
//   multiplicity; the older order-shipping guide still says split delivery takes at most 10 parcels and lists
//   10060024 "不可大于 10": should WeChat enforce 10, that errcode is final with its advice); express needs
//   tracking_no (268485226) and express_company (268485227) in each; item_desc must not be empty (10060008) and
//   is at most 120 characters (10060009);
// - upload_time is RFC 3339, e.g. 2022-12-15T13:29:35.120+08:00 (268485216 otherwise), and orders updates;
// - a second upload for a shipped order, or one that changes the mode, is the order's one re-shipment (10060003
//   once it is used up).
import { formatRfc3339Beijing } from "../beijing-time";
import { WeChatError } from "../errors";
import { MpApiError, callMpApi, errcodeOf, type MpApiConfig } from "./api-call";
import { isInvalidTokenError } from "./stable-token";

/** How the goods reach the payer, as our API names it; the wire value is LOGISTICS_TYPE_CODES[type]. */
export type LogisticsType = "express" | "same_city" | "virtual" | "pickup";

export const LOGISTICS_TYPE_CODES: Readonly<Record<LogisticsType, 1 | 2 | 3 | 4>> = Object.freeze({
  express: 1,
  same_city: 2,
  virtual: 3,
  pickup: 4,
});

/** One parcel (or, for goods without one, the single description of what was delivered). */
export interface ShippingPackage {
  /** required for express */
  trackingNo?: string;
  /** WeChat's express company code (get_delivery_list), required for express */
  expressCompany?: string;
  /** what is in it, 1–120 characters */
  itemDesc: string;
  /** the sender's phone, masked as WeChat asks (e.g. "+86-177****1234") */
  consignorContact?: string;
  receiverContact?: string;
}

/** What the order core knows when it uploads shipping information. */
export interface ShippingInfo {
  mchid: string;
  outTradeNo: string;
  /** the payer's openid (10060031 when it is not the payer's) */
  payerOpenid: string;
  logisticsType: LogisticsType;
  /** 1–15 packages; more than one needs `split` */
  packages: readonly ShippingPackage[];
  /** SPLIT_DELIVERY (express only) instead of UNIFIED_DELIVERY */
  split?: boolean;
  /** required when split: whether this upload completes the delivery (WeChat then tells the payer) */
  isAllDelivered?: boolean;
}

/** The JSON body of upload_shipping_info, exactly as WeChat spells it. */
export interface UploadShippingBody {
  order_key: { order_number_type: 1; mchid: string; out_trade_no: string };
  logistics_type: 1 | 2 | 3 | 4;
  delivery_mode: 1 | 2;
  is_all_delivered?: boolean;
  shipping_list: {
    tracking_no?: string;
    express_company?: string;
    item_desc: string;
    contact?: { consignor_contact?: string; receiver_contact?: string };
  }[];
  upload_time: string;
  payer: { openid: string };
}

/** The most packages one upload may carry. */
export const MAX_PACKAGES = 15;
/** The longest item_desc, in characters. */
export const MAX_ITEM_DESC_CHARS = 120;

export type ShippingInputReason =
  | "missing_order_key"
  | "missing_payer"
  | "unknown_logistics_type"
  | "no_packages"
  | "too_many_packages"
  | "unified_needs_one_package"
  | "split_needs_express"
  | "split_needs_is_all_delivered"
  | "missing_tracking_no"
  | "missing_express_company"
  | "empty_item_desc"
  | "item_desc_too_long";

const INPUT_MESSAGES: Readonly<Record<ShippingInputReason, string>> = {
  missing_order_key: "mchid and outTradeNo are required",
  missing_payer: "the payer's openid is required",
  unknown_logistics_type: "logisticsType must be express, same_city, virtual or pickup",
  no_packages: "at least one package is required",
  too_many_packages: `at most ${MAX_PACKAGES} packages`,
  unified_needs_one_package: "more than one package needs split delivery",
  split_needs_express: "split delivery is for express only",
  split_needs_is_all_delivered: "split delivery needs isAllDelivered",
  missing_tracking_no: "express needs a tracking number in every package",
  missing_express_company: "express needs an express company code in every package",
  empty_item_desc: "itemDesc must not be empty",
  item_desc_too_long: `itemDesc is at most ${MAX_ITEM_DESC_CHARS} characters`,
};

/** Shipping information WeChat would refuse; `packageIndex` says which package. The message quotes no value. */
export class ShippingInputError extends Error {
  readonly reason: ShippingInputReason;
  readonly packageIndex: number | undefined;

  constructor(reason: ShippingInputReason, packageIndex?: number) {
    super(packageIndex === undefined ? INPUT_MESSAGES[reason] : `package ${packageIndex}: ${INPUT_MESSAGES[reason]}`);
    this.name = "ShippingInputError";
    this.reason = reason;
    this.packageIndex = packageIndex;
  }
}


/**
 * Checks `info` and builds the upload_shipping_info body, upload_time from `nowMs`. shipping_list is always
 * an array. Throws ShippingInputError for anything WeChat documents as refused (see the header).
 */
export function buildShippingBody(info: ShippingInfo, nowMs: number): UploadShippingBody {
  if (!isFilled(info.mchid) || !isFilled(info.outTradeNo)) throw new ShippingInputError("missing_order_key");
  if (!isFilled(info.payerOpenid)) throw new ShippingInputError("missing_payer");
  const logisticsType = Object.hasOwn(LOGISTICS_TYPE_CODES, info.logisticsType) ? LOGISTICS_TYPE_CODES[info.logisticsType] : undefined;
  if (logisticsType === undefined) throw new ShippingInputError("unknown_logistics_type");
  const packages = info.packages;
  if (!Array.isArray(packages) || packages.length === 0) throw new ShippingInputError("no_packages");
  if (packages.length > MAX_PACKAGES) throw new ShippingInputError("too_many_packages");
  const split = info.split === true;
  if (split && logisticsType !== LOGISTICS_TYPE_CODES.express) throw new ShippingInputError("split_needs_express");
  if (split && typeof info.isAllDelivered !== "boolean") throw new ShippingInputError("split_needs_is_all_delivered");
  if (!split && packages.length !== 1) throw new ShippingInputError("unified_needs_one_package");

  const shippingList = packages.map((item, index) => {
    if (logisticsType === LOGISTICS_TYPE_CODES.express) {
      if (!isFilled(item.trackingNo)) throw new ShippingInputError("missing_tracking_no", index);
      if (!isFilled(item.expressCompany)) throw new ShippingInputError("missing_express_company", index);
    }
    if (!isFilled(item.itemDesc)) throw new ShippingInputError("empty_item_desc", index);
    // Characters, not UTF-16 units: an emoji counts once.
    if ([...item.itemDesc].length > MAX_ITEM_DESC_CHARS) throw new ShippingInputError("item_desc_too_long", index);
    const entry: UploadShippingBody["shipping_list"][number] = { item_desc: item.itemDesc };
    if (isFilled(item.trackingNo)) entry.tracking_no = item.trackingNo;
    if (isFilled(item.expressCompany)) entry.express_company = item.expressCompany;
    const contact: { consignor_contact?: string; receiver_contact?: string } = {};
    if (isFilled(item.consignorContact)) contact.consignor_contact = item.consignorContact;
    if (isFilled(item.receiverContact)) contact.receiver_contact = item.receiverContact;
    if (Object.keys(contact).length > 0) entry.contact = contact;
    return entry;
  });

  const body: UploadShippingBody = {
    order_key: { order_number_type: 1, mchid: info.mchid, out_trade_no: info.outTradeNo },
    logistics_type: logisticsType,
    delivery_mode: split ? 2 : 1,
    shipping_list: shippingList,
    upload_time: formatRfc3339Beijing(nowMs, { millis: true }),
    payer: { openid: info.payerOpenid },
  };
  if (split) body.is_all_delivered = info.isAllDelivered;
  return body;
}

/** The shipping APIs' configuration: where to reach WeChat, and the clock that stamps upload_time. */
export interface ShippingClientConfig extends MpApiConfig {
  /** ms clock, default Date.now */
  now?: () => number;
}

/**
 * POST /wxa/sec/order/upload_shipping_info?access_token=…. The body is checked first (ShippingInputError,
 * nothing sent). Throws MpApiError (a WeChatError) for every failure; classifyShippingError says what to do.
 */
export async function uploadShippingInfo(config: ShippingClientConfig, accessToken: string, info: ShippingInfo): Promise<void> {
  if (accessToken === "") throw new RangeError("accessToken must not be empty");
  const body = buildShippingBody(info, (config.now ?? Date.now)());
  await callMpApi(config, {
    api: "upload_shipping_info",
    path: "/wxa/sec/order/upload_shipping_info",
    query: { access_token: accessToken },
    body,
    secrets: [accessToken],
  });
}

/** get_order's order_state: 1 to ship, 2 shipped, 3 receipt confirmed, 4 completed, 5 refunded, 6 funds pending settlement. */
export type ShippingOrderState = 1 | 2 | 3 | 4 | 5 | 6;

/** The names of order_state, in WeChat's order: 待发货, 已发货, 确认收货, 交易完成, 已退款, 资金待结算. */
export const SHIPPING_ORDER_STATES: Readonly<Record<ShippingOrderState, string>> = Object.freeze({
  1: "to_ship",
  2: "shipped",
  3: "received",
  4: "completed",
  5: "refunded",
  6: "settlement_pending",
});

/** What get_order says about one payment. */
export interface ShippingOrder {
  orderState: ShippingOrderState;
  /** SHIPPING_ORDER_STATES[orderState] */
  state: string;
  transactionId: string;
  merchantId: string;
  merchantTradeNo: string;
  /** fen, when WeChat sends it */
  paidAmount?: number;
  openid?: string;
  inComplaint?: boolean;
}

/**
 * POST /wxa/sec/order/get_order?access_token=… with {merchant_id, merchant_trade_no} (this API names the order
 * key so, unlike upload_shipping_info's order_key). order_state per the order-shipping guide: (1) 待发货
 * (2) 已发货 (3) 确认收货 (4) 交易完成 (5) 已退款 (6) 资金待结算 — 6 lies between 3 and 4 (WeChat's answer on the
 * developer community: receipt confirmed, funds not yet settleable). An answer about another order, or a state
 * outside 1–6, is malformed.
 */
export async function getShippingOrder(config: MpApiConfig, accessToken: string, order: { mchid: string; outTradeNo: string }): Promise<ShippingOrder> {
  if (accessToken === "") throw new RangeError("accessToken must not be empty");
  if (!isFilled(order.mchid) || !isFilled(order.outTradeNo)) throw new ShippingInputError("missing_order_key");
  const answer = await callMpApi(config, {
    api: "get_order",
    path: "/wxa/sec/order/get_order",
    query: { access_token: accessToken },
    body: { merchant_id: order.mchid, merchant_trade_no: order.outTradeNo },
    secrets: [accessToken],
  });
  const found = answer.order;
  if (typeof found !== "object" || found === null || Array.isArray(found)) throw new MpApiError("get_order", { kind: "malformed" });
  const fields = found as Record<string, unknown>;
  const state = fields.order_state;
  if (typeof state !== "number" || !Number.isInteger(state) || state < 1 || state > 6) throw new MpApiError("get_order", { kind: "malformed" });
  if (fields.merchant_trade_no !== order.outTradeNo || typeof fields.transaction_id !== "string") {
    throw new MpApiError("get_order", { kind: "malformed" });
  }
  // merchant_id is checked only when WeChat sends one (its examples always do).
  if (fields.merchant_id !== undefined && fields.merchant_id !== order.mchid) throw new MpApiError("get_order", { kind: "malformed" });
  const orderState = state as ShippingOrderState;
  const result: ShippingOrder = {
    orderState,
    state: SHIPPING_ORDER_STATES[orderState],
    transactionId: fields.transaction_id,
    merchantId: order.mchid,
    merchantTradeNo: order.outTradeNo,
  };
  if (typeof fields.paid_amount === "number" && Number.isInteger(fields.paid_amount)) result.paidAmount = fields.paid_amount;
  if (typeof fields.openid === "string" && fields.openid !== "") result.openid = fields.openid;
  if (typeof fields.in_complaint === "boolean") result.inComplaint = fields.in_complaint;
  return result;
}

/** What the caller does after a failed shipping call. */
export type ShippingErrorAction = "retry" | "refresh_token" | "final";

interface Verdict {
  action: ShippingErrorAction;
  advice: string;
}

const RETRY_LATER = "WeChat is busy: send the identical upload again later";
const REFRESH = "the access token was refused: invalidate it, fetch the token once more (normal mode) and send again";

/**
 * errcodes of upload_shipping_info and get_order (the tables of the uploadShippingInfo page and the
 * order-shipping guide, see the header) and the common ones (40001, 42001, 40014, 45009, 45011, 47001, 48001).
 * Where this differs from a first guess, WeChat's tables decide: 10060012 and 10060019 are "系统错误… 稍候再试"
 * (retry), and 10060002 is "already fully shipped".
 */
const VERDICTS: Readonly<Record<string, Verdict>> = {
  "-1": { action: "retry", advice: RETRY_LATER },
  "10060012": { action: "retry", advice: RETRY_LATER },
  "10060019": { action: "retry", advice: RETRY_LATER },
  "45011": { action: "retry", advice: "the per-minute quota is spent: send again after the next minute" },
  // Documented as "check transaction_id / mchid, out_trade_no", but a payment also stays unknown to the
  // shipping service for about a minute after it is paid (pitfall 19): retry, within the first minutes only.
  "10060001": {
    action: "retry",
    advice: "WeChat does not know this payment (yet): normal in the first minutes after payment; if it lasts, check mchid and out_trade_no",
  },
  "40001": { action: "refresh_token", advice: REFRESH },
  "42001": { action: "refresh_token", advice: REFRESH },
  "40014": { action: "refresh_token", advice: REFRESH },
  "10060002": { action: "final", advice: "the order is already fully shipped: nothing more can be uploaded" },
  "10060003": {
    action: "final",
    advice: "the order's one re-shipment is used up (a second upload or a mode change uses it): correct it by hand in the mini-program admin",
  },
  "10060004": { action: "final", advice: "the payment is in a state that cannot be shipped (e.g. refunded or closed): check the order" },
  "10060005": { action: "final", advice: "logistics_type is not one WeChat knows" },
  "10060006": { action: "final", advice: "split delivery is allowed for express only" },
  "10060007": { action: "final", advice: "split delivery needs is_all_delivered" },
  "10060008": { action: "final", advice: "item_desc must not be empty" },
  "10060009": { action: "final", advice: "item_desc is too long (at most 120 characters)" },
  "10060014": { action: "final", advice: "WeChat refused a parameter: see its message" },
  "10060020": { action: "final", advice: "delivery cannot complete without an item description: add item_desc" },
  "10060023": { action: "final", advice: "WeChat already holds exactly this shipping information (an earlier attempt landed): treat it as uploaded" },
  "10060024": { action: "final", advice: "too many shipping entries for WeChat" },
  "10060025": { action: "final", advice: "the express company code is too long: check it" },
  "10060026": { action: "final", advice: "the tracking number is too long: check it" },
  "10060031": { action: "final", advice: "the payment does not belong to this openid: check the payer" },
  "268485216": { action: "final", advice: "upload_time is not RFC 3339" },
  "268485224": { action: "final", advice: "delivery_mode is not one WeChat knows" },
  "268485194": { action: "final", advice: "order_number_type is not one WeChat knows" },
  "268485195": { action: "final", advice: "transaction_id is required for order_number_type 2" },
  "268485196": { action: "final", advice: "mchid is required for order_number_type 1" },
  "268485197": { action: "final", advice: "out_trade_no is required for order_number_type 1" },
  "268485226": { action: "final", advice: "express needs a tracking number" },
  "268485227": { action: "final", advice: "express needs an express company code" },
  "268485228": { action: "final", advice: "unified delivery takes exactly one shipping entry" },
  "47001": { action: "final", advice: "WeChat could not read the body (e.g. shipping_list not an array): a bug on our side" },
  "48001": {
    action: "final",
    advice: "no permission: the mini-program has no order-shipping service enabled, or the token belongs to another account",
  },
  "45009": { action: "final", advice: "the daily API quota is spent: nothing passes before it resets" },
};

function verdictOf(error: unknown): Verdict {
  if (error instanceof ShippingInputError) return { action: "final", advice: `not sent: ${error.message}` };
  if (!(error instanceof WeChatError)) return { action: "final", advice: "an unexpected error, not from WeChat" };
  const failure = error.failure;
  switch (failure.kind) {
    case "timeout":
    case "network":
      return { action: "retry", advice: "no answer from WeChat: the upload may have landed; check get_order before sending it again" };
    case "http":
      return failure.status >= 500
        ? { action: "retry", advice: "WeChat answered with a server error: the upload may have landed; check get_order before sending it again" }
        : { action: "final", advice: `WeChat answered HTTP ${failure.status}` };
    case "business":
      return VERDICTS[failure.code] ?? { action: "final", advice: `WeChat refused the upload with errcode ${failure.code}: see its message` };
    case "malformed":
      return { action: "final", advice: "WeChat's answer could not be read" };
    default:
      return { action: "final", advice: "the request could not be completed" };
  }
}

/**
 * What to do after a failed upload_shipping_info or get_order: "retry" the identical call later (busy,
 * time-outs, 5xx, 10060001 in the first minutes), "refresh_token" (40001 / 42001 / 40014) and send once more,
 * or "final" (shippingErrorAdvice says what a person should do). Pure.
 */
export function classifyShippingError(error: unknown): ShippingErrorAction {
  if (isInvalidTokenError(error)) return "refresh_token";
  return verdictOf(error).action;
}

/** A sentence for the order's lastError / an operator: what happened and what to do. Never holds a token. */
export function shippingErrorAdvice(error: unknown): string {
  const code = errcodeOf(error);
  const advice = verdictOf(error).advice;
  return code === undefined ? advice : `${code}: ${advice}`;
}

function isFilled(value: unknown): value is string {
  return typeof value === "string" && value.trim() !== "";
}
