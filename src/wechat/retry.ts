// Retrying a WeChat call within a time budget: only failures WeChat documents as "call again with
// the same parameters" (SYSTEMERROR, BIZERR_NEED_RETRY, time-outs, network errors, 5xx) are
// retried; the caller's operation must send identical business fields every time.
import { WeChatError } from "./errors";

export interface RetryPolicy {
  /** when the last attempt must have finished, on the `now` clock (by default performance.now(),
   * a monotonic clock: a budget measures elapsed time, not the date) */
  readonly deadline: number;
  /** the time-out of one attempt; the last attempt gets whatever is left of the budget */
  readonly perCallMs: number;
  /** pauses between attempts (the last one repeats), each scaled by a random factor in [0.5, 1) */
  readonly pausesMs?: readonly number[];
  /** an attempt with less time than this left is not started */
  readonly minCallMs?: number;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
}

const DEFAULT_PAUSES = [100, 400, 1000] as const;

/**
 * Runs `operation(timeoutMs)` until it succeeds, fails for good, or the budget runs out; the last
 * failure is rethrown. `timeoutMs` shrinks so that no attempt outlives the deadline.
 */
export async function withRetries<T>(operation: (timeoutMs: number) => Promise<T>, policy: RetryPolicy): Promise<T> {
  const now = policy.now ?? (() => performance.now());
  const sleep = policy.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const random = policy.random ?? Math.random;
  const pauses = policy.pausesMs ?? DEFAULT_PAUSES;
  const minCallMs = policy.minCallMs ?? 250;
  for (let attempt = 0; ; attempt++) {
    const timeoutMs = Math.max(1, Math.min(policy.perCallMs, policy.deadline - now()));
    try {
      return await operation(timeoutMs);
    } catch (error) {
      if (!(error instanceof WeChatError) || !error.retryable) throw error;
      const pause = Math.round((pauses[Math.min(attempt, pauses.length - 1)] ?? 0) * (0.5 + random() / 2));
      if (now() + pause + minCallMs > policy.deadline) throw error;
      await sleep(pause);
    }
  }
}
