// When to try again: bounded exponential back-off with jitter, for the order object's alarm-driven
// work (submitting refunds, checking on refunds and unpaid orders). Pure: randomness passed in.

export interface BackoffPolicy {
  readonly baseMs: number;
  readonly capMs: number;
}

/** Delay before attempt `attempt` (0-based): base × 2^attempt, capped, then scaled by a random
 * factor in [0.5, 1) so that many orders retrying together spread out. */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const exponential = Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(exponential * (0.5 + random() / 2));
}
