// withRetries: only WeChat's retryable failures are retried, within the budget, with the time-out
// shrinking so that no attempt outlives the deadline.
import { describe, expect, it } from "vitest";
import { WeChatError } from "../../src/wechat/errors";
import { withRetries } from "../../src/wechat/retry";

function fakeClock() {
  let t = 0;
  return { now: () => t, sleep: async (ms: number) => void (t += ms), advance: (ms: number) => void (t += ms) };
}

const systemError = () => new WeChatError("unifiedorder", { kind: "business", code: "SYSTEMERROR", description: "系统错误" });
const final = () => new WeChatError("unifiedorder", { kind: "business", code: "ORDERPAID", description: "已支付" });

describe("withRetries", () => {
  it("retries retryable failures and returns the first success", async () => {
    const clock = fakeClock();
    let calls = 0;
    const result = await withRetries(
      async () => {
        calls++;
        if (calls < 3) throw systemError();
        return "ok";
      },
      { deadline: 10_000, perCallMs: 3000, ...clock, random: () => 0.5 },
    );
    expect(result).toBe("ok");
    expect(calls).toBe(3);
  });

  it("does not retry a final failure", async () => {
    const clock = fakeClock();
    let calls = 0;
    await expect(withRetries(async () => { calls++; throw final(); }, { deadline: 10_000, perCallMs: 3000, ...clock })).rejects.toMatchObject({ failure: { code: "ORDERPAID" } });
    expect(calls).toBe(1);
  });

  it("does not retry errors that are not WeChat's", async () => {
    let calls = 0;
    await expect(withRetries(async () => { calls++; throw new TypeError("bug"); }, { deadline: 10_000, perCallMs: 3000, ...fakeClock() })).rejects.toBeInstanceOf(TypeError);
    expect(calls).toBe(1);
  });

  it("stops when the budget is spent and rethrows the last failure", async () => {
    const clock = fakeClock();
    const timeouts: number[] = [];
    await expect(
      withRetries(
        async (timeoutMs) => {
          timeouts.push(timeoutMs);
          clock.advance(timeoutMs);
          throw new WeChatError("orderquery", { kind: "timeout" });
        },
        { deadline: 7000, perCallMs: 3000, pausesMs: [100], ...clock, random: () => 0.999 },
      ),
    ).rejects.toMatchObject({ failure: { kind: "timeout" } });
    // 3000 + 100 + 3000 + 100 leaves 800 ms: the last attempt gets exactly that, and nothing outlives 7 s
    expect(timeouts).toEqual([3000, 3000, 800]);
    expect(clock.now()).toBeLessThanOrEqual(7000);
  });
});
