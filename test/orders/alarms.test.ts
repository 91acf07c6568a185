// Self-reconciling orders: each order object keeps its own alarm and settles itself with WeChat
// when nobody asks: a lost notification becomes paid, an expired unpaid order becomes closed on
// both sides, a failed check is retried with back-off, and nothing depends on memory. The same
// specification in both API versions (test/support/wechat-pay.ts names WeChat's APIs in each).
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { EXPIRY_GRACE_MS } from "../../src/orders/decisions";
import { OrderObject } from "../../src/orders/order-object";
import { orderObject } from "../../src/orders/order-store";
import { startHarness, type Harness } from "../support/harness";
import { restartObject } from "../support/stored";

let h: Harness;
let token: string;
beforeEach(async () => {
  h = startHarness();
  ({ token } = await h.login(`alarm-${crypto.randomUUID()}`));
});
afterEach(() => {
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

/** A new order, once its alarm has run its first follow-up (the operator's index entry) and is armed for the order's own schedule. */
async function newOrder(): Promise<{ id: string; expiresAt: number }> {
  const response = await h.createOrder(token);
  expect(response.status).toBe(201);
  const { order } = (await response.json()) as { order: { id: string; expiresAt: string } };
  const expiresAt = Date.parse(order.expiresAt);
  await vi.waitFor(async () => expect(await alarmAt(order.id)).toBe(expiresAt + EXPIRY_GRACE_MS), { timeout: 5_000, interval: 20 });
  return { id: order.id, expiresAt };
}

async function alarmAt(id: string): Promise<number | null> {
  return runInDurableObject(orderObject(env, id), (_instance, ctx) => ctx.storage.getAlarm());
}

/** Moves the service's (and the simulator's) clock to `at` and runs the order's alarm. */
async function runAlarmAt(id: string, at: number): Promise<boolean> {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(at);
  return runDurableObjectAlarm(orderObject(env, id));
}

const status = async (id: string) => (await orderObject(env, id).read())!.status;
const lastEntry = async (id: string) => (await orderObject(env, id).history()).at(-1);

describe("an unpaid order's own alarm", () => {
  it("is armed at expiry plus a grace period once the order is stored (and its index entry written)", async () => {
    const response = await h.createOrder(token);
    const { order } = (await response.json()) as { order: { id: string; expiresAt: string } };
    await vi.waitFor(async () => expect(await alarmAt(order.id)).toBe(Date.parse(order.expiresAt) + EXPIRY_GRACE_MS), { timeout: 5_000, interval: 20 });
  });

  it("recovers a payment whose notification never came", async () => {
    const { id, expiresAt } = await newOrder();
    const { transactionId } = await h.simControl<{ transactionId: string }>(`/__sim/orders/${id}/pay`, { deliver: false });
    expect(await runAlarmAt(id, expiresAt + EXPIRY_GRACE_MS)).toBe(true);
    expect(await orderObject(env, id).read()).toMatchObject({ status: "paid", transactionId });
    expect(await lastEntry(id)).toMatchObject({ from: "pending", to: "paid", source: "alarm" });
    expect(await alarmAt(id)).toBeNull();
  });

  it("closes an expired unpaid order at WeChat and here", async () => {
    const { id, expiresAt } = await newOrder();
    await runAlarmAt(id, expiresAt + EXPIRY_GRACE_MS);
    expect(await status(id)).toBe("closed");
    expect(await lastEntry(id)).toMatchObject({ from: "pending", to: "closed", source: "alarm" });
    expect((await h.simControl<{ tradeState: string }>(`/__sim/orders/${id}`)).tradeState).toBe("CLOSED");
    expect(await alarmAt(id)).toBeNull();
  });

  it("does nothing before its time", async () => {
    const { id, expiresAt } = await newOrder();
    await runAlarmAt(id, expiresAt - 1000);
    expect(await status(id)).toBe("pending");
    expect(await h.calls("query")).toEqual([]);
    expect(await alarmAt(id)).toBe(expiresAt + EXPIRY_GRACE_MS);
  });

  it("retries a failing check later with back-off, then settles", async () => {
    const { id, expiresAt } = await newOrder();
    await h.fault("query", "SYSTEMERROR", { times: 100 });
    const first = expiresAt + EXPIRY_GRACE_MS;
    await runAlarmAt(id, first);
    expect(await status(id)).toBe("pending");
    const retryAt = (await alarmAt(id))!;
    expect(retryAt).toBeGreaterThan(first);
    await runAlarmAt(id, retryAt + 10);
    const laterRetry = (await alarmAt(id))!;
    expect(laterRetry - (retryAt + 10)).toBeGreaterThan(0);

    await h.clearFaults();
    await runAlarmAt(id, laterRetry);
    expect(await status(id)).toBe("closed");
  });

  it("finishes a close that a failing WeChat cut short", async () => {
    const { id } = await newOrder();
    await h.fault("close", "SYSTEMERROR", { times: 100 });
    expect((await h.call(`/api/orders/${id}/close`, { method: "POST", token })).status).toBe(502);
    expect(await status(id)).toBe("pending");
    // the close is remembered: the order can no longer be paid, and the alarm is armed soon
    expect((await h.call(`/api/orders/${id}/pay`, { method: "POST", token })).status).toBe(409);
    const due = (await alarmAt(id))!;
    await h.clearFaults();
    await runAlarmAt(id, due);
    expect(await status(id)).toBe("closed");
  });

  it("keeps working across a restart: a fresh instance sees the same schedule and does the work", async () => {
    const { id, expiresAt } = await newOrder();
    await h.simControl(`/__sim/orders/${id}/pay`, { deliver: false });
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(expiresAt + EXPIRY_GRACE_MS);
    await runInDurableObject(orderObject(env, id), async (_instance, ctx) => {
      const fresh = new OrderObject(ctx, env);
      expect(fresh.nextDueAt()).toBe(await ctx.storage.getAlarm());
      await fresh.alarm();
    });
    // The instance that was running before sees the fresh one's writes only once it too is restarted.
    await restartObject(orderObject(env, id));
    expect(await status(id)).toBe("paid");
  });

  it("applies a notification arriving during its check exactly once", async () => {
    for (let round = 0; round < 3; round++) {
      const { id, expiresAt } = await newOrder();
      h.loseNotifications = true;
      await h.simControl(`/__sim/orders/${id}/pay`, {});
      h.loseNotifications = false;
      const notification = h.notifications.at(-1)!;
      vi.useFakeTimers({ toFake: ["Date"] });
      vi.setSystemTime(expiresAt + EXPIRY_GRACE_MS);
      await Promise.all([
        runDurableObjectAlarm(orderObject(env, id)),
        h.deliver(notification),
      ]);
      vi.useRealTimers();
      const history = await orderObject(env, id).history();
      expect(history.filter((e) => e.to === "paid")).toHaveLength(1);
      expect(history.some((e) => e.to === "closed")).toBe(false);
    }
  });
});
