// The order core's plain data: a stored order and its refunds as the decisions see them, the facts
// that arrive from outside, and the public views. Pure data and mappings; no storage, no WeChat.
import type { LineItem } from "./pricing";
import { publicStatus, type OrderState, type OrderStatus, type TransitionSource } from "./order-state";
import { publicRefundStatus, type RefundPublicStatus, type RefundState } from "./refund-state";
import type { Shipping } from "./shipping";

/** An order as stored: `state` may be the internal `closing`, which the public sees as `pending`. */
export interface Order {
  readonly id: string;
  readonly openid: string;
  readonly state: OrderState;
  /** integer fen */
  readonly amount: number;
  readonly description: string;
  readonly items: readonly LineItem[];
  /** hash of the creating request, to tell an Idempotency-Key replay from a reuse with another body */
  readonly requestHash: string;
  /** the payer's address when the order was placed (unifiedorder's spbill_create_ip) */
  readonly clientIp: string;
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
  /** when the alarm should next ask WeChat about this pending order */
  readonly nextCheckAt: number | null;
  readonly checkAttempts: number;
}

/** A refund as stored. */
export interface Refund {
  /** our out_refund_no */
  readonly id: string;
  readonly amount: number;
  readonly reason: string | null;
  readonly state: RefundState;
  readonly idempotencyKey: string | null;
  readonly requestHash: string;
  /** WeChat's refund_id once WeChat accepted the refund */
  readonly refundId: string | null;
  readonly createdAt: number;
  readonly submittedAt: number | null;
  readonly finishedAt: number | null;
  /** why it failed (WeChat's code, REFUNDCLOSE, unsendable, cancelled), or CHANGE for a refund that needs attention */
  readonly failure: string | null;
  readonly needsAttention: boolean;
  readonly attempts: number;
  readonly lastAttemptAt: number | null;
  readonly lastCheckedAt: number | null;
  readonly nextAttemptAt: number | null;
}

/** An order with its refunds and shipping: what every entry point of the order object loads, once. */
export interface OrderSnapshot {
  readonly order: Order;
  readonly refunds: readonly Refund[];
  readonly shipping: Shipping;
}

/** What a verified payment notification (or query) says about the money. */
export interface PaymentFact {
  readonly transactionId: string;
  /** total_fee exactly as WeChat sent it: compared as a string, so "0100" never equals 100 */
  readonly totalFee: string;
  /** ms since epoch, when WeChat says the payment completed (absent or unreadable: unknown) */
  readonly paidAt: number | null;
}

/** What WeChat says became of a refund, in the order core's words. */
export type RefundOutcome =
  | { readonly kind: "succeeded" }
  | { readonly kind: "failed"; readonly note: string }
  /** the money did not reach the payer (退款异常): an operator must act in WeChat's merchant console */
  | { readonly kind: "attention" }
  | { readonly kind: "processing" };

/** A verified refund notification, in the order core's words. */
export interface RefundReport {
  readonly orderId: string;
  readonly refundId: string;
  /** the amounts exactly as WeChat sent them */
  readonly refundFee: string;
  readonly totalFee: string;
  readonly wechatRefundId: string;
  readonly outcome: RefundOutcome;
}

/** A stored order as the service's other parts see it: the public status, with refunded amount derived from its refunds. */
export interface OrderRecord extends Omit<Order, "state"> {
  readonly status: OrderStatus;
  readonly refundedAmount: number;
}

/** A refund as the operator API shows it. */
export interface RefundView {
  readonly id: string;
  readonly amount: number;
  readonly status: RefundPublicStatus;
  readonly reason: string | null;
  readonly refundId: string | null;
  readonly createdAt: string;
  readonly finishedAt: string | null;
  readonly failure: string | null;
  readonly needsAttention: boolean;
}

/** One entry of the order's public history, as the admin view shows it. */
export interface HistoryEntry {
  readonly at: string;
  readonly from: OrderStatus | null;
  readonly to: OrderStatus;
  readonly source: TransitionSource;
  readonly note?: string;
}

/** One step of a refund's life, as the operator's view lists it. */
export interface RefundHistoryEntry {
  readonly refundId: string;
  readonly at: string;
  readonly from: RefundPublicStatus | null;
  readonly to: RefundPublicStatus;
  readonly event: string;
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

/** Fen refunded so far: succeeded refunds only. */
export function refundedAmount(refunds: readonly Pick<Refund, "amount" | "state">[]): number {
  return refunds.reduce((sum, r) => (r.state === "succeeded" ? sum + r.amount : sum), 0);
}

/** The order as the rest of the service sees it. */
export function toRecord({ order, refunds }: OrderSnapshot): OrderRecord {
  const { state, ...rest } = order;
  return { ...rest, status: publicStatus(state), refundedAmount: refundedAmount(refunds) };
}

/** The contract's view of an order. */
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

/** The contract's `Order` as the operator sees it (the admin view, the merchant events): with paidAfterClose. */
export interface AdminOrderView extends OrderView {
  readonly paidAfterClose: boolean;
}

export function toAdminOrderView(order: OrderRecord): AdminOrderView {
  return { ...toOrderView(order), paidAfterClose: order.paidAfterClose };
}

/** One refund of the order and the order, as the refund endpoints answer. */
export function refundAndOrder(snapshot: OrderSnapshot, refundId: string): { refund: RefundView; order: OrderRecord } {
  return { refund: toRefundView(snapshot.refunds.find((r) => r.id === refundId)!), order: toRecord(snapshot) };
}

/** The operator API's view of a refund. */
export function toRefundView(refund: Refund): RefundView {
  return {
    id: refund.id,
    amount: refund.amount,
    status: publicRefundStatus(refund.state),
    reason: refund.reason,
    refundId: refund.refundId,
    createdAt: new Date(refund.createdAt).toISOString(),
    finishedAt: refund.finishedAt === null ? null : new Date(refund.finishedAt).toISOString(),
    failure: refund.failure,
    needsAttention: refund.needsAttention,
  };
}
