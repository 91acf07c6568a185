// The shape of a stored order and its public views. Pure data; order-object.ts owns storage.
import type { LineItem } from "./pricing";
import type { OrderStatus, TransitionSource } from "./order-state";

/** The unifiedorder business parameters, fixed when the order is created so that every call to
 * WeChat for this out_trade_no (retries, re-orders after a prepay_id expires) is identical. */
export interface WeChatOrderParams {
  readonly body: string;
  readonly totalFee: number;
  readonly openid: string;
  readonly spbillCreateIp: string;
  readonly notifyUrl: string;
  readonly timeStart: string;
  readonly timeExpire: string;
}

export interface OrderRecord {
  readonly id: string;
  readonly openid: string;
  readonly status: OrderStatus;
  readonly amount: number;
  readonly refundedAmount: number;
  readonly description: string;
  readonly items: readonly LineItem[];
  /** hash of the creating request, to tell an Idempotency-Key replay from a reuse with another body */
  readonly requestHash: string;
  readonly wechat: WeChatOrderParams;
  readonly transactionId: string | null;
  /** ms since epoch */
  readonly createdAt: number;
  readonly paidAt: number | null;
  readonly expiresAt: number;
  readonly prepayId: string | null;
  /** when WeChat first issued the current prepay_id (ms); it is valid for 2 h from then */
  readonly prepayIssuedAt: number | null;
  /** when we last asked WeChat about this order (ms) */
  readonly lastQueriedAt: number | null;
  /** set when WeChat took the money after we had closed or failed the order: an operator should refund it */
  readonly paidAfterClose: boolean;
  /** set while a close is under way (by a user or at expiry): the alarm finishes it if a call was cut short */
  readonly closeRequestedAt: number | null;
  /** when the alarm should next ask WeChat about this pending order */
  readonly nextCheckAt: number | null;
  readonly checkAttempts: number;
}

/** A refund as the operator API shows it. */
export interface RefundView {
  /** our out_refund_no */
  readonly id: string;
  readonly amount: number;
  readonly status: "processing" | "succeeded" | "failed";
  readonly reason: string | null;
  /** WeChat's refund_id once WeChat accepted the refund */
  readonly refundId: string | null;
  readonly createdAt: string;
  readonly finishedAt: string | null;
  /** why it failed (WeChat's code or REFUNDCLOSE), or CHANGE for a refund that needs attention */
  readonly failure: string | null;
  /** WeChat reported the refund abnormal (CHANGE): it must be handled in WeChat's merchant console */
  readonly needsAttention: boolean;
}

export interface HistoryEntry {
  readonly at: string;
  readonly from: OrderStatus | null;
  readonly to: OrderStatus;
  readonly source: TransitionSource;
  readonly note?: string;
}

/** The contract's `Order`. */
export interface OrderView {
  readonly id: string;
  readonly status: OrderStatus;
  readonly amount: number;
  readonly refundedAmount: number;
  readonly currency: "CNY";
  readonly description: string;
  readonly items: readonly LineItem[];
  readonly transactionId: string | null;
  readonly createdAt: string;
  readonly paidAt: string | null;
  readonly expiresAt: string;
}

export function toOrderView(order: OrderRecord): OrderView {
  return {
    id: order.id,
    status: order.status,
    amount: order.amount,
    refundedAmount: order.refundedAmount,
    currency: "CNY",
    description: order.description,
    items: order.items,
    transactionId: order.transactionId,
    createdAt: new Date(order.createdAt).toISOString(),
    paidAt: order.paidAt === null ? null : new Date(order.paidAt).toISOString(),
    expiresAt: new Date(order.expiresAt).toISOString(),
  };
}
