// What a refund may be, given the order and its earlier refunds. Pure. WeChat's limits: never more
// than was paid in total, at most 50 refunds per order, and refunds of one order at least a minute apart.
import { publicStatus, type OrderState, type OrderStatus } from "./order-state";
import type { RefundState } from "./refund-state";

export const REFUND_LIMITS = {
  maxRefundsPerOrder: 50,
  /** WeChat wants refunds of one order at least a minute apart; a second of margin for clock skew. */
  spacingMs: 61_000,
  maxReasonLength: 80,
} as const;

/** Every refund of an order so far, with what the rules need of each. */
export type RefundLedger = readonly { readonly amount: number; readonly state: RefundState }[];

/** Money that is refunded or on its way back: failed refunds release their reservation. */
export function reservedAmount(refunds: RefundLedger): number {
  return refunds.reduce((sum, r) => (r.state === "failed" ? sum : sum + r.amount), 0);
}

/** Why a new refund of `amount` fen cannot be made, or null if it can. */
export function refundRefusal(order: { readonly state: OrderState; readonly amount: number }, refunds: RefundLedger, amount: number): string | null {
  if (order.state !== "paid" && order.state !== "partially_refunded") {
    return `only paid or partially refunded orders can be refunded; this one is ${publicStatus(order.state)}`;
  }
  const left = order.amount - reservedAmount(refunds);
  if (amount > left) return `the refund of ${amount} fen exceeds what is left to refund (${left} fen)`;
  if (refunds.filter((r) => r.state !== "failed").length >= REFUND_LIMITS.maxRefundsPerOrder) {
    return `WeChat allows at most ${REFUND_LIMITS.maxRefundsPerOrder} refunds per order`;
  }
  return null;
}

/** The order's status once `refunded` fen of its `amount` are back with the payer. */
export function statusAfterRefunds(amount: number, refunded: number): OrderStatus {
  return refunded >= amount ? "refunded" : refunded > 0 ? "partially_refunded" : "paid";
}

/** When a refund may next be sent: WeChat wants a minute between the refunds of one order. */
export function nextRefundSlot(refunds: readonly { readonly id: string; readonly lastAttemptAt: number | null }[], now: number, excluding?: string): number {
  let last: number | null = null;
  for (const r of refunds) if (r.id !== excluding && r.lastAttemptAt !== null && (last === null || r.lastAttemptAt > last)) last = r.lastAttemptAt;
  return last === null ? now : Math.max(now, last + REFUND_LIMITS.spacingMs);
}
