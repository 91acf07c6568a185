// The timing loop shared by the Node and the workerd micro-benchmarks, so both runtimes run the
// very same measuring code. It never decides what is measured, only how often and for how long.

export type Op = () => unknown;

export interface Sample {
  /** operations completed */
  readonly ops: number;
  /** milliseconds the loop ran, by the runtime's own clock */
  readonly ms: number;
  /** ops per second */
  readonly rate: number;
}

/** Escapes the optimiser: results are kept reachable so no call can be dropped as dead code. */
export let sink: unknown;

const BATCH = 32;
/** Guards a runtime whose clock stands still during a request (it would otherwise loop forever). */
const MAX_OPS = 50_000_000;

/**
 * Runs `op` back to back for at least `ms` milliseconds and counts completions. An async op is
 * awaited one at a time (its promise and microtask hop are part of its cost); a sync op is not
 * awaited, so a synchronous library pays no promise overhead it does not have.
 */
export async function measure(op: Op, isAsync: boolean, ms: number, now: () => number = () => performance.now()): Promise<Sample> {
  let ops = 0;
  const start = now();
  let elapsed = 0;
  if (isAsync) {
    do {
      for (let i = 0; i < BATCH; i++) sink = await op();
      ops += BATCH;
      elapsed = now() - start;
    } while (elapsed < ms && ops < MAX_OPS);
  } else {
    do {
      for (let i = 0; i < BATCH; i++) sink = op();
      ops += BATCH;
      elapsed = now() - start;
    } while (elapsed < ms && ops < MAX_OPS);
  }
  return { ops, ms: elapsed, rate: elapsed > 0 ? (ops * 1000) / elapsed : Number.NaN };
}
