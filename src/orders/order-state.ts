// The order state machine: which state may follow which, and from which kind of event. Pure; the
// order object applies it through the decisions, and every path (API, notification, query, close,
// alarm) goes through the same table.

/** The contract's order statuses. */
export type OrderStatus = "pending" | "paid" | "closed" | "failed" | "partially_refunded" | "refunded";

/**
 * What is stored: the public statuses, plus `closing` — a pending order whose close (by its payer,
 * or at expiry) has begun and that can no longer be paid for here. The public sees it as pending.
 */
export type OrderState = OrderStatus | "closing";

/** What caused a transition: a user's API call, WeChat's notification, our orderquery, a close, an alarm. */
export type TransitionSource = "api" | "notify" | "query" | "close" | "alarm" | "admin";

export const ORDER_STATUSES: readonly OrderStatus[] = ["pending", "paid", "closed", "failed", "partially_refunded", "refunded"];

/** Every stored state, public or not. */
export const ORDER_STATES: readonly OrderState[] = [...ORDER_STATUSES, "closing"];

export const TRANSITION_SOURCES: readonly TransitionSource[] = ["api", "notify", "query", "close", "alarm", "admin"];

/**
 * Allowed next states. `closed → paid` and `failed → paid` exist because a verified payment is a
 * fact: if WeChat took the money after we gave up on the order, we record it (flagged for a refund)
 * rather than lose it.
 */
const NEXT: Readonly<Record<OrderState, readonly OrderState[]>> = {
  pending: ["paid", "closing", "closed", "failed"],
  closing: ["paid", "closed"],
  failed: ["paid", "closed"],
  closed: ["paid"],
  paid: ["partially_refunded", "refunded"],
  partially_refunded: ["refunded"],
  refunded: [],
};

/** Only WeChat's word (a verified notification or query) may make an order paid. */
const PAYMENT_SOURCES: ReadonlySet<TransitionSource> = new Set(["notify", "query", "close", "alarm"]);

export type TransitionCheck =
  | { readonly outcome: "apply" }
  /** Already there: repeating a legal transition changes nothing. */
  | { readonly outcome: "noop" }
  | { readonly outcome: "illegal"; readonly reason: string };

/** Whether moving an order from `from` to `to`, caused by `source`, applies, repeats, or is illegal. */
export function checkTransition(from: OrderState, to: OrderState, source: TransitionSource): TransitionCheck {
  if (from === to) return { outcome: "noop" };
  if (to === "paid" && !PAYMENT_SOURCES.has(source)) {
    return { outcome: "illegal", reason: "only WeChat can confirm a payment" };
  }
  if (to === "paid" && (from === "partially_refunded" || from === "refunded")) return { outcome: "noop" };
  return NEXT[from].includes(to)
    ? { outcome: "apply" }
    : { outcome: "illegal", reason: `an order that is ${publicStatus(from)} cannot become ${publicStatus(to)}` };
}

/** The status the contract shows for a stored state. */
export function publicStatus(state: OrderState): OrderStatus {
  return state === "closing" ? "pending" : state;
}

/** Whether money was taken for an order in this status. */
export function isPaidStatus(status: OrderState): boolean {
  return status === "paid" || status === "partially_refunded" || status === "refunded";
}
