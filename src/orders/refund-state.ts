// The refund state machine: named events, the states each may start from, and where it leads.
// Pure; every change of a stored refund's state goes through refundTransition().

/** A refund's stored state: `queued` is reserved here but not (yet) accepted by WeChat. */
export type RefundState = "queued" | "processing" | "succeeded" | "failed";

/** The contract shows three statuses; a refund waiting for its turn at WeChat is "processing" to the operator. */
export type RefundPublicStatus = "processing" | "succeeded" | "failed";

export const REFUND_STATES: readonly RefundState[] = ["queued", "processing", "succeeded", "failed"];

/** What can happen to a refund. */
export type RefundEvent =
  /** WeChat accepted it (the refund call answered, or refundquery found it) */
  | "accepted"
  /** WeChat does not know it after all (REFUNDNOTEXIST): it is sent again with the same parameters */
  | "lost"
  | "succeeded"
  /** WeChat closed or refused it, or it could not be sent: its amount is released */
  | "failed"
  /** WeChat reports it abnormal (CHANGE): the state stays, the refund is flagged for an operator */
  | "flagged"
  /** an operator ended it before WeChat received it */
  | "cancelled";

export const REFUND_EVENTS: readonly RefundEvent[] = ["accepted", "lost", "succeeded", "failed", "flagged", "cancelled"];

/** From which states each event may happen, and the state it leads to (null: the state stays). */
const TABLE: Readonly<Record<RefundEvent, { readonly from: readonly RefundState[]; readonly to: RefundState | null }>> = {
  accepted: { from: ["queued"], to: "processing" },
  lost: { from: ["processing"], to: "queued" },
  succeeded: { from: ["queued", "processing"], to: "succeeded" },
  failed: { from: ["queued", "processing"], to: "failed" },
  flagged: { from: ["queued", "processing"], to: null },
  cancelled: { from: ["queued"], to: "failed" },
};

export type RefundTransition = { readonly outcome: "apply"; readonly to: RefundState } | { readonly outcome: "illegal" };

/** Where `event` takes a refund in state `from`, or illegal (final states never change). */
export function refundTransition(from: RefundState, event: RefundEvent): RefundTransition {
  const row = TABLE[event];
  return row.from.includes(from) ? { outcome: "apply", to: row.to ?? from } : { outcome: "illegal" };
}

/** Whether a refund in this state is settled for good. */
export function isFinalRefund(state: RefundState): boolean {
  return state === "succeeded" || state === "failed";
}

/** The status the operator API shows for a stored refund state. */
export function publicRefundStatus(state: RefundState): RefundPublicStatus {
  return state === "queued" ? "processing" : state;
}
