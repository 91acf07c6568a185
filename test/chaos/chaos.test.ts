// The chaos scenario, small enough for the suite: 25 users with a fixed seed, faults injected at
// random into the simulated WeChat, then our state compared with WeChat's, order by order.
// `npm run chaos` runs the same scenario with 500 users (test/chaos/chaos.chaos.ts).
import { afterEach, expect, it, vi } from "vitest";
import { runChaos } from "./scenario";

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

it("25 users under random faults end in the same state as WeChat (seed 20260520)", async () => {
  const report = await runChaos({ users: 25, seed: 20260520, concurrency: 5 });
  console.log(report.text);
  expect(report.mismatches).toEqual([]);
  // the run did what it is for
  expect(report.figures.payments).toBeGreaterThan(5);
  expect(report.figures.heldPostsReleased).toBeGreaterThan(0);
  expect(report.figures.faultsConsumedTotal).toBeGreaterThan(0);
  expect(report.figures.shipping.accepted).toBeGreaterThan(0);
}, 60_000);
