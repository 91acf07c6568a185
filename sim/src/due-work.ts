// Everything the simulator does on its own when sim time reaches it: notification attempts and
// retries (payment and refund) and scheduled refund completions. Run by Simulator.runDue, by
// POST /__sim/clock/advance, and by the dev Durable Object's alarm.
import type { SimContext } from "./context";
import { finishDueRefunds, nextRefundCompletionAt } from "./refund-completion";

/** Runs all due work, including work that falls due while it runs (after a clock jump). */
export async function runDueWork(ctx: SimContext): Promise<void> {
  do {
    await ctx.notifier.runDue();
    // A finished refund starts a notification whose overdue retries the next round runs.
  } while (await finishDueRefunds(ctx));
}

/** Sim time of the next due piece of work, or null. */
export function nextDueAt(ctx: SimContext): number | null {
  const times = [ctx.notifier.nextDueAt(), nextRefundCompletionAt(ctx.state)].filter((at): at is number => at !== null);
  return times.length === 0 ? null : Math.min(...times);
}
