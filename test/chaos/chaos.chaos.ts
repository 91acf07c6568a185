// `npm run chaos`: the chaos scenario of chaos.test.ts at full size, 500 users with the fixed seed,
// 10 at a time. Not part of `npm test` (vitest.chaos.config.ts includes only *.chaos.ts files).
import { afterEach, expect, it, vi } from "vitest";
import { runChaos } from "./scenario";

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

it("500 users under random faults end in the same state as WeChat (seed 20260520)", async () => {
  const report = await runChaos({
    users: 500,
    seed: 20260520,
    concurrency: 10,
    harsh: { burst: 0.05, timeout: 0.25 },
    progress: (line) => console.log(line),
  });
  console.log(report.text);
  expect(report.mismatches).toEqual([]);
  expect(report.figures.heldPostsReleased).toBeGreaterThan(0);
  expect(report.figures.lostNotifications.notRecovered).toBe(0);
});
