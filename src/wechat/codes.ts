// WeChat Pay v2's vocabulary as closed unions: trade states, refund statuses and the business error
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
