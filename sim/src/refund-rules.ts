// Pure rules of v2 refunds: request validation, the decision on a refund request against the order
// and its earlier refunds, and the field sets of refund replies, refundquery replies and the
// decrypted refund notification. No state, clock or I/O of its own.
import { parseBeijingTime } from "./clock";
import { checkNotifyUrl, type BusinessError } from "./order-rules";
import type { OrderRecord, RefundRecord, RefundStatus } from "./state";
import type { XmlFields } from "./xml";

/** "每个支付订单的部分退款次数不能超过50次". */
export const MAX_REFUNDS_PER_ORDER = 50;
/** "交易时间超过一年的订单无法提交退款". */
export const REFUND_WINDOW_MS = 365 * 24 * 60 * 60 * 1000;
/** Refunds per refundquery page when `offset` is given ("当部分退款次数超过10次时可使用"). */
export const REFUND_QUERY_PAGE = 10;
/** Most refunds listed by an order-wide refundquery without `offset`. */
export const REFUND_QUERY_UNPAGED_MAX = 20;

const OUT_REFUND_NO = /^[0-9A-Za-z_\-|*@]{1,64}$/;
const TRANSACTION_ID = /^\d{28}$/;
const FEE = /^[1-9]\d{0,9}$/;
const MAX_FEE = 2_147_483_647;
const REFUND_ACCOUNTS = new Set(["REFUND_SOURCE_UNSETTLED_FUNDS", "REFUND_SOURCE_RECHARGE_FUNDS"]);
export const DEFAULT_REFUND_ACCOUNT = "REFUND_SOURCE_UNSETTLED_FUNDS";
/** Where the simulated payer's money goes back to (every simulated payment is from 零钱). */
export const REFUND_RECV_ACCOUNT = "支付用户的零钱";

const paramError = (errCodeDes: string): BusinessError => ({ errCode: "PARAM_ERROR", errCodeDes });

export const ORDER_NOT_EXIST: BusinessError = { errCode: "ORDERNOTEXIST", errCodeDes: "订单不存在" };
export const TRADE_OVERDUE: BusinessError = { errCode: "TRADE_OVERDUE", errCodeDes: "订单已经超过退款期限" };
/** Observed on real refunds for a repeated out_refund_no with other amounts, and for a wrong total_fee. */
export const REFUND_FEE_MISMATCH: BusinessError = {
  errCode: "REFUND_FEE_MISMATCH",
  errCodeDes: "订单金额或退款金额与之前请求不一致，请核实后再试",
};
/** Not documented: code and text are the simulator's own. */
export const OUT_REFUND_NO_USED: BusinessError = { errCode: "INVALID_REQUEST", errCodeDes: "商户退款单号已用于其他订单" };
/** Observed on real refunds once an order is refunded in full. */
export const FULLY_REFUNDED: BusinessError = { errCode: "ERROR", errCodeDes: "订单已全额退款" };
/** Observed on real refunds when this refund and the earlier ones add up to more than the order. */
export const OVER_REFUND: BusinessError = { errCode: "INVALID_REQUEST", errCodeDes: "refund_fee大于可退金额" };
/** The limit is documented, its error is not: code and text are the simulator's own. */
export const TOO_MANY_REFUNDS: BusinessError = {
  errCode: "INVALID_REQUEST",
  errCodeDes: `同一笔订单最多部分退款${MAX_REFUNDS_PER_ORDER}次`,
};
/** The documented code for refunds of one order less than a minute apart; the text is the simulator's own. */
export const REFUND_TOO_SOON: BusinessError = {
  errCode: "INVALID_REQ_TOO_MUCH",
  errCodeDes: "同一笔订单的两次退款需间隔1分钟以上，请稍后再试",
};
/** The documented code; the text is a guess. */
export const REFUND_NOT_EXIST: BusinessError = { errCode: "REFUNDNOTEXIST", errCodeDes: "退款订单查询失败" };

/**
 * The state-independent refund checks, in a fixed order: required fields, then formats. Whether
 * refund_fee exceeds total_fee is not here: WeChat answers that at the return level (see refund.ts).
 */
export function validateRefundRequest(fields: XmlFields): BusinessError | null {
  if (!fields.transaction_id && !fields.out_trade_no) {
    return { errCode: "LACK_PARAMS", errCodeDes: "缺少参数transaction_id或out_trade_no" };
  }
  for (const name of ["out_refund_no", "total_fee", "refund_fee"] as const) {
    if (!fields[name]) return { errCode: "LACK_PARAMS", errCodeDes: `缺少参数${name}` };
  }
  if (fields.transaction_id && !TRANSACTION_ID.test(fields.transaction_id)) {
    return { errCode: "INVALID_TRANSACTIONID", errCodeDes: "无效transaction_id" };
  }
  for (const name of ["total_fee", "refund_fee"] as const) {
    const value = fields[name]!;
    if (!FEE.test(value) || Number(value) > MAX_FEE) return paramError(`invalid ${name}`);
  }
  if (fields.refund_fee_type && fields.refund_fee_type !== "CNY") return paramError("refund_fee_type参数错误，仅支持CNY");
  if (!OUT_REFUND_NO.test(fields.out_refund_no!)) {
    return paramError("out_refund_no参数格式错误，须为1-64位数字、大小写字母或_-|*@");
  }
  if (fields.refund_desc && [...fields.refund_desc].length > 80) return paramError("refund_desc参数长度有误，不能超过80个字符");
  if (fields.refund_account && !REFUND_ACCOUNTS.has(fields.refund_account)) return paramError("refund_account参数错误");
  return fields.notify_url ? checkNotifyUrl(fields.notify_url) : null;
}

/** What a refund request does to an order that is paid. */
export type RefundDecision =
  | { kind: "refuse"; error: BusinessError }
  /** The same out_refund_no with the same amounts: the same refund again, nothing new. */
  | { kind: "repeat"; refund: RefundRecord }
  | { kind: "create" };

export interface RefundAsk {
  outRefundNo: string;
  totalFee: number;
  refundFee: number;
}

/** Money the order's refunds take back: all but closed ones (a REFUNDCLOSE refund returned nothing). */
export function refundedFee(refunds: readonly RefundRecord[]): number {
  return refunds.reduce((sum, refund) => (refund.status === "REFUNDCLOSE" ? sum : sum + refund.refundFee), 0);
}

/**
 * Judges a refund of a paid order, in this order: the refund window; a repeated out_refund_no
 * (idempotent with the same amounts, refused otherwise, so a retry never refunds twice); the total
 * matching the order; what is left to refund; the 50-refund limit; the spacing since the previous
 * refund of the order (`spacingMs`, 0 turns it off).
 */
export function decideRefund(
  order: OrderRecord,
  orderRefunds: readonly RefundRecord[],
  sameNumber: RefundRecord | undefined,
  ask: RefundAsk,
  now: number,
  spacingMs: number,
): RefundDecision {
  const paidAt = order.timeEnd === null ? null : parseBeijingTime(order.timeEnd);
  if (paidAt !== null && now - paidAt > REFUND_WINDOW_MS) return { kind: "refuse", error: TRADE_OVERDUE };

  if (sameNumber) {
    if (sameNumber.outTradeNo !== order.outTradeNo) return { kind: "refuse", error: OUT_REFUND_NO_USED };
    if (sameNumber.totalFee !== ask.totalFee || sameNumber.refundFee !== ask.refundFee) {
      return { kind: "refuse", error: REFUND_FEE_MISMATCH };
    }
    return { kind: "repeat", refund: sameNumber };
  }

  if (ask.totalFee !== order.totalFee) return { kind: "refuse", error: REFUND_FEE_MISMATCH };
  const left = order.totalFee - refundedFee(orderRefunds);
  if (left <= 0) return { kind: "refuse", error: FULLY_REFUNDED };
  if (ask.refundFee > left) return { kind: "refuse", error: OVER_REFUND };
  if (orderRefunds.length >= MAX_REFUNDS_PER_ORDER) return { kind: "refuse", error: TOO_MANY_REFUNDS };
  const previous = orderRefunds.at(-1);
  if (previous && now - previous.createdAt < spacingMs) return { kind: "refuse", error: REFUND_TOO_SOON };
  return { kind: "create" };
}

/** The business fields of a successful refund reply (after result_code), as observed on real replies. */
export function refundReplyFields(refund: RefundRecord): XmlFields {
  return {
    transaction_id: refund.transactionId,
    out_trade_no: refund.outTradeNo,
    out_refund_no: refund.outRefundNo,
    refund_id: refund.refundId,
    // Real replies carry an empty refund_channel, which the sign must skip.
    refund_channel: "",
    refund_fee: String(refund.refundFee),
    coupon_refund_fee: "0",
    total_fee: String(refund.totalFee),
    cash_fee: String(refund.totalFee),
    coupon_refund_count: "0",
    cash_refund_fee: String(refund.refundFee),
  };
}

/**
 * refundquery's business fields for `listed` refunds of `order`: the order's amounts, refund_count
 * (refunds in this answer), total_refund_count when paged, then the `_$n` entries from 0.
 */
export function refundQueryFields(order: OrderRecord, listed: readonly RefundRecord[], totalRefundCount?: number): XmlFields {
  const fields: XmlFields = {
    transaction_id: order.transactionId ?? "",
    out_trade_no: order.outTradeNo,
    total_fee: String(order.totalFee),
    fee_type: "CNY",
    cash_fee: String(order.totalFee),
    refund_count: String(listed.length),
  };
  if (totalRefundCount !== undefined) fields.total_refund_count = String(totalRefundCount);
  listed.forEach((refund, n) => {
    fields[`out_refund_no_${n}`] = refund.outRefundNo;
    fields[`refund_id_${n}`] = refund.refundId;
    fields[`refund_channel_${n}`] = "ORIGINAL";
    fields[`refund_fee_${n}`] = String(refund.refundFee);
    fields[`settlement_refund_fee_${n}`] = String(refund.refundFee);
    fields[`refund_status_${n}`] = refund.status;
    fields[`refund_account_${n}`] = refund.refundAccount;
    fields[`refund_recv_accout_${n}`] = REFUND_RECV_ACCOUNT;
    if (refund.successTime !== null) fields[`refund_success_time_${n}`] = refund.successTime;
  });
  return fields;
}

/** The statuses a refund may finish with. */
export const FINAL_REFUND_STATUSES: readonly RefundStatus[] = ["SUCCESS", "REFUNDCLOSE", "CHANGE"];

/**
 * The decrypted req_info of a refund notification, in the alphabetical order of the real one
 * (§2.9). success_time is written for SUCCESS only.
 */
export function refundInfoFields(refund: RefundRecord): XmlFields {
  const fields: XmlFields = {
    out_refund_no: refund.outRefundNo,
    out_trade_no: refund.outTradeNo,
    refund_account: refund.refundAccount,
    refund_fee: String(refund.refundFee),
    refund_id: refund.refundId,
    refund_recv_accout: REFUND_RECV_ACCOUNT,
    refund_request_source: "API",
    refund_status: refund.status,
    settlement_refund_fee: String(refund.refundFee),
    settlement_total_fee: String(refund.totalFee),
  };
  if (refund.successTime !== null) fields.success_time = refund.successTime;
  fields.total_fee = String(refund.totalFee);
  fields.transaction_id = refund.transactionId;
  return fields;
}
