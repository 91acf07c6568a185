// When a merchant event is attempted again. Pure. The contract: first retry within 60 s, growing
// delays, at least 12 attempts over at least 24 h, then `failed` until an operator redelivers.

/**
 * Delays after attempt 1, 2, … (the 13th attempt is the last): 30 s, 1 min, 2 min, 5 min, 10 min,
 * 30 min, 1 h, 2 h, 4 h, 6 h, 8 h, 12 h — 34 h 18 min 30 s from the first attempt to the last.
 */
export const RETRY_DELAYS_MS: readonly number[] = [30, 60, 120, 300, 600, 1800, 3600, 7200, 14_400, 21_600, 28_800, 43_200].map((s) => s * 1000);

/** How many attempts an event gets before it is `failed`. */
export const MAX_ATTEMPTS = RETRY_DELAYS_MS.length + 1;

/** Each attempt's delay is stretched by up to this share, so that retries of many events spread out. */
const JITTER = 0.1;

/**
 * When to try again after `attempts` failed attempts (1 after the first), or null when there are no
 * attempts left. `random` in [0, 1) spreads the delay over [d, d × 1.1).
 */
export function nextAttemptAt(attempts: number, failedAt: number, random: number): number | null {
  const delay = RETRY_DELAYS_MS[attempts - 1];
  if (delay === undefined) return null;
  return failedAt + Math.round(delay * (1 + JITTER * random));
}
