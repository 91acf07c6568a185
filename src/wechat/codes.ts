// WeChat Pay's vocabulary (v2, and v3 below) as closed unions: trade states, refund statuses and error
// codes this service acts on. Pure data, no app types: orders/wechat-adapter.ts maps them, once, to
// the order core's domain results.
import { WeChatError } from "./errors";

/** orderquery's trade_state. */
export type TradeState = "SUCCESS" | "REFUND" | "NOTPAY" | "CLOSED" | "REVOKED" | "USERPAYING" | "PAYERROR";

/** A refund's status in refundquery and the refund notification; older documents name FAIL instead of REFUNDCLOSE. */
export type RefundStatusCode = "SUCCESS" | "REFUNDCLOSE" | "FAIL" | "PROCESSING" | "CHANGE";

/** The result_code=FAIL err_codes whose meaning changes what the service does next. */
export type PayErrorCode =
  | "ORDERPAID"
  | "ORDERCLOSED"
  | "ORDERNOTEXIST"
  | "REFUNDNOTEXIST"
  | "INVALID_REQUEST"
  | "OUT_TRADE_NO_USED"
  | "INVALID_REQ_TOO_MUCH"
  | "FREQUENCY_LIMITED";

const TRADE_STATES: ReadonlySet<string> = new Set<TradeState>(["SUCCESS", "REFUND", "NOTPAY", "CLOSED", "REVOKED", "USERPAYING", "PAYERROR"]);
const REFUND_STATUSES: ReadonlySet<string> = new Set<RefundStatusCode>(["SUCCESS", "REFUNDCLOSE", "FAIL", "PROCESSING", "CHANGE"]);
const PAY_ERROR_CODES: ReadonlySet<string> = new Set<PayErrorCode>([
  "ORDERPAID",
  "ORDERCLOSED",
  "ORDERNOTEXIST",
  "REFUNDNOTEXIST",
  "INVALID_REQUEST",
  "OUT_TRADE_NO_USED",
  "INVALID_REQ_TOO_MUCH",
  "FREQUENCY_LIMITED",
]);

/** The trade_state WeChat sent, or null for one this service does not know. */
export function tradeState(value: string): TradeState | null {
  return TRADE_STATES.has(value) ? (value as TradeState) : null;
}

/** The refund_status WeChat sent, or null for one this service does not know. */
export function refundStatusCode(value: string): RefundStatusCode | null {
  return REFUND_STATUSES.has(value) ? (value as RefundStatusCode) : null;
}

/** The err_code of a business failure, if it is one the service acts on. */
export function payErrorCode(error: WeChatError): PayErrorCode | null {
  const failure = error.failure;
  return failure.kind === "business" && PAY_ERROR_CODES.has(failure.code) ? (failure.code as PayErrorCode) : null;
}

/** API v3's refund status (create, query, notification). */
export type V3RefundStatus = "SUCCESS" | "CLOSED" | "PROCESSING" | "ABNORMAL";

/** The v3 error codes whose meaning changes what the service does next (HTTP status aside). */
export type V3ErrorCode =
  | "ORDER_NOT_EXIST"
  | "ORDERNOTEXIST"
  | "ORDERPAID"
  | "ORDER_CLOSED"
  | "OUT_TRADE_NO_USED"
  | "RESOURCE_NOT_EXISTS"
  | "FREQUENCY_LIMITED"
  | "USER_PAYING";

const V3_REFUND_STATUSES: ReadonlySet<string> = new Set<V3RefundStatus>(["SUCCESS", "CLOSED", "PROCESSING", "ABNORMAL"]);
const V3_ERROR_CODES: ReadonlySet<string> = new Set<V3ErrorCode>([
  "ORDER_NOT_EXIST",
  "ORDERNOTEXIST",
  "ORDERPAID",
  "ORDER_CLOSED",
  "OUT_TRADE_NO_USED",
  "RESOURCE_NOT_EXISTS",
  "FREQUENCY_LIMITED",
  "USER_PAYING",
]);

/** The v3 refund status WeChat sent, or null for one this service does not know. */
export function v3RefundStatus(value: string): V3RefundStatus | null {
  return V3_REFUND_STATUSES.has(value) ? (value as V3RefundStatus) : null;
}

/** The code of a v3 business failure, if it is one the service acts on. */
export function v3ErrorCode(error: WeChatError): V3ErrorCode | null {
  const failure = error.failure;
  return failure.kind === "business" && V3_ERROR_CODES.has(failure.code) ? (failure.code as V3ErrorCode) : null;
}
