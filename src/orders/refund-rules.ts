// What a refund may be, given the order and its earlier refunds. Pure. WeChat's limits: never more
// than was paid in total, at most 50 refunds per order, and refunds of one order at least a minute apart.
import type { OrderStatus } from "./order-state";

export type RefundStatus = "queued" | "processing" | "succeeded" | "failed";

/** The contract shows three statuses; a refund waiting for its turn at WeChat is "processing" to the operator. */
export type RefundPublicStatus = "processing" | "succeeded" | "failed";

export const REFUND_LIMITS = {
  maxRefundsPerOrder: 50,
  /** WeChat wants refunds of one order at least a minute apart; a second of margin for clock skew. */
  spacingMs: 61_000,
  maxReasonLength: 80,
} as const;

export interface RefundLedger {
  readonly orderStatus: OrderStatus;
  readonly orderAmount: number;
  /** every refund of the order so far, with its amount and status */
  readonly refunds: readonly { readonly amount: number; readonly status: RefundStatus }[];
}

/** Money that is refunded or on its way back: failed refunds release their reservation. */
export function reservedAmount(refunds: RefundLedger["refunds"]): number {
  return refunds.reduce((sum, r) => (r.status === "failed" ? sum : sum + r.amount), 0);
}

export function refundedAmount(refunds: RefundLedger["refunds"]): number {
  return refunds.reduce((sum, r) => (r.status === "succeeded" ? sum + r.amount : sum), 0);
}

/** Why a new refund of `amount` fen cannot be made, or null if it can. */
export function refundRefusal(ledger: RefundLedger, amount: number): string | null {
  if (ledger.orderStatus !== "paid" && ledger.orderStatus !== "partially_refunded") {
    return `only paid or partially refunded orders can be refunded; this one is ${ledger.orderStatus}`;
  }
  const left = ledger.orderAmount - reservedAmount(ledger.refunds);
  if (amount > left) return `the refund of ${amount} fen exceeds what is left to refund (${left} fen)`;
  if (ledger.refunds.filter((r) => r.status !== "failed").length >= REFUND_LIMITS.maxRefundsPerOrder) {
    return `WeChat allows at most ${REFUND_LIMITS.maxRefundsPerOrder} refunds per order`;
  }
  return null;
}

/** The order's status once `refunded` fen of its `amount` are back with the payer. */
export function statusAfterRefunds(amount: number, refunded: number): OrderStatus {
  return refunded >= amount ? "refunded" : refunded > 0 ? "partially_refunded" : "paid";
}

export function publicRefundStatus(status: RefundStatus): RefundPublicStatus {
  return status === "queued" ? "processing" : status;
}
