// What the order object answers across its RPC boundary: a value, or one reason from a closed set.
// Domain words only; routes/order-errors.ts maps each reason to the contract's HTTP error, and the
// webhooks map them to their replies.
import type { OrderStatus } from "./order-state";

/** Why the order object did not do what it was asked. */
export type OrderFailure =
  | { readonly reason: "not_found" }
  | { readonly reason: "refund_not_found" }
  | { readonly reason: "event_not_found" }
  /** the order belongs to another payer */
  | { readonly reason: "forbidden" }
  /** the order is past the point where this can be done */
  | { readonly reason: "already_final"; readonly status: OrderStatus }
  /** the order can no longer be paid for: it expired, or its close has begun */
  | { readonly reason: "expired" }
  | { readonly reason: "amount_mismatch" }
  | { readonly reason: "refund_amount_mismatch" }
  | { readonly reason: "illegal_transition"; readonly detail: string }
  /** an Idempotency-Key used before with another request */
  | { readonly reason: "idempotency_conflict" }
  /** the refund would exceed what is left, or the order cannot be refunded */
  | { readonly reason: "refund_exceeds"; readonly detail: string }
  | { readonly reason: "refund_not_cancellable"; readonly detail: string }
  /** WeChat refused the refund for good */
  | { readonly reason: "refund_rejected"; readonly detail: string }
  /** the refund could not be sent to WeChat at all */
  | { readonly reason: "refund_unsendable"; readonly detail: string }
  /** shipping: the order is not paid (or partly refunded), so nothing can be shipped */
  | { readonly reason: "not_shippable"; readonly status: OrderStatus }
  | { readonly reason: "shipping_in_progress" }
  /** WeChat allows one upload and one re-shipment per order */
  | { readonly reason: "reshipment_used_up" }
  /** a settlement push names another transaction than the order's */
  | { readonly reason: "settlement_mismatch" }
  | { readonly reason: "upstream_failed" }
  | { readonly reason: "upstream_timeout" };

/** A value, or why not. Plain data: it crosses the Durable Object RPC boundary as it is. */
export type Result<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: OrderFailure };

/** A value. */
export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

/** A refusal, with its reason. */
export function fail(error: OrderFailure): { readonly ok: false; readonly error: OrderFailure } {
  return { ok: false, error };
}
