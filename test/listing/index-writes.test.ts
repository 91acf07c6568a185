// The order objects keep the operator's index current: each change that the listing shows is
// written by the order's alarm within seconds, never in the way of the order's own work; a failed
// write is tried again until it lands; pages neither repeat nor skip an order while orders change.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { OrderObject } from "../../src/orders/order-object";
import { orderObject } from "../../src/orders/order-store";
import { startHarness, type Harness } from "../support/harness";
import { restartObject } from "../support/stored";

const ADMIN = env.ADMIN_TOKEN!;

let h: Harness;
let token: string;
let openid: string;
beforeEach(async () => {
  h = startHarness();
  ({ token, openid } = await h.login(`listing-${crypto.randomUUID()}`));
});
afterEach(() => vi.unstubAllGlobals());

type Listed = { id: string; status: string; refundedAmount: number; openid: string };

async function listing(query: string): Promise<{ orders: Listed[]; cursor: string | null }> {
  const response = await h.call(`/admin/orders?${query}`, { token: ADMIN });
  expect(response.status).toBe(200);
  return (await response.json()) as { orders: Listed[]; cursor: string | null };
}

/** Waits (at most 5 s, the contract's bound) until the listing shows `id` as `expected`. */
async function listedAs(id: string, expected: Partial<Listed>, timeout = 5_000): Promise<void> {
  await vi.waitFor(async () => expect((await listing(`openid=${openid}&limit=100`)).orders.find((o) => o.id === id)).toMatchObject(expected), { timeout, interval: 50 });
}

async function newOrder(): Promise<string> {
  const response = await h.createOrder(token);
  expect(response.status).toBe(201);
  return ((await response.json()) as { order: { id: string } }).order.id;
}

describe("the operator's listing", () => {
  it("shows an order created, paid, then refunded through the API, each within 5 s", async () => {
    const id = await newOrder();
    await listedAs(id, { status: "pending", openid });
    await h.simControl(`/__sim/orders/${id}/pay`, {});
    await listedAs(id, { status: "paid" });
    const created = (await (await h.call(`/admin/orders/${id}/refunds`, { json: { amount: 1800 }, token: ADMIN })).json()) as { refund: { id: string } };
    await h.simControl(`/__sim/refunds/${created.refund.id}/complete`, {});
    await listedAs(id, { status: "refunded", refundedAmount: 1800 });
  });

  it("catches up after a failed index write, without holding up the order", async () => {
    await env.ORDER_INDEX.exec("CREATE TRIGGER IF NOT EXISTS index_down BEFORE INSERT ON orders BEGIN SELECT RAISE(ABORT, 'index down'); END");
    try {
      const id = await newOrder();
      await h.simControl(`/__sim/orders/${id}/pay`, {});
      const view = (await (await h.call(`/api/orders/${id}`, { token })).json()) as { order: { status: string } };
      expect(view.order.status).toBe("paid");
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect((await listing(`openid=${openid}`)).orders).toEqual([]);
      await env.ORDER_INDEX.exec("DROP TRIGGER index_down");
      // The alarm tries again after a short pause that grows with each failure.
      await listedAs(id, { status: "paid" }, 10_000);
    } finally {
      await env.ORDER_INDEX.exec("DROP TRIGGER IF EXISTS index_down");
    }
  });

  it("waits out its pause after a failed index write: an alarm run tries once, and the next run within the pause not at all", async () => {
    const id = await newOrder();
    let attempts = 0;
    const down = new Proxy({}, { get: () => () => {
      attempts++;
      throw new Error("index down");
    } }) as D1Database;
    await runInDurableObject(orderObject(env, id), async (_instance, ctx) => {
      const object = new OrderObject(ctx, { ...env, ORDER_INDEX: down });
      const order = object.read()!;
      await object.applyPayment({ transactionId: "4200000000000000000000000001", totalFee: String(order.amount), paidAt: null }, "notify");
      await object.alarm();
      expect(attempts).toBe(1);
      await object.alarm();
      expect(attempts).toBe(1);
    });
    // The instance that ran before this one has not seen the payment: start the next one from storage.
    await restartObject(orderObject(env, id));
  });

  it("pages without repeating or skipping an order while orders are paid between pages", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await newOrder());
    await vi.waitFor(async () => expect((await listing(`openid=${openid}&limit=100`)).orders).toHaveLength(5), { timeout: 5_000 });
    const seen: string[] = [];
    let cursor: string | null = null;
    let page = 0;
    do {
      const result: { orders: Listed[]; cursor: string | null } = await listing(`openid=${openid}&limit=2${cursor === null ? "" : `&cursor=${cursor}`}`);
      seen.push(...result.orders.map((o) => o.id));
      cursor = result.cursor;
      // A change between pages: an order already seen, and one not yet seen, are paid.
      if (page++ === 0) for (const id of [ids[4]!, ids[0]!]) await h.simControl(`/__sim/orders/${id}/pay`, {});
    } while (cursor !== null);
    expect(seen).toEqual([...ids].reverse());
  });
});
