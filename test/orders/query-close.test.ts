// Reading, paying again, closing and listing orders: a lost notification is recovered by asking
// WeChat, racing events leave one consistent state, and nobody touches another user's order. The
// same specification in both API versions (test/support/wechat-pay.ts names WeChat's APIs in each).
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { PREPAY_REUSE_MARGIN_MS, PREPAY_TTL_MS, QUERY_MIN_INTERVAL_MS } from "../../src/orders/decisions";
import { OrderObject } from "../../src/orders/order-object";
import { orderObject } from "../../src/orders/order-store";
import { errorOf, startHarness, type Harness } from "../support/harness";

type OrderBody = { order: { id: string; status: string; transactionId: string | null }; payment?: Record<string, string> };

let h: Harness;
let token: string;
beforeEach(async () => {
  h = startHarness();
  ({ token } = await h.login(`user-${crypto.randomUUID()}`));
});
afterEach(() => {
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

async function newOrder(t: string = token): Promise<string> {
  const response = await h.createOrder(t);
  expect(response.status).toBe(201);
  return ((await response.json()) as OrderBody).order.id;
}

async function getOrder(id: string, t: string = token): Promise<OrderBody["order"]> {
  const response = await h.call(`/api/orders/${id}`, { token: t });
  expect(response.status).toBe(200);
  return ((await response.json()) as OrderBody).order;
}

const history = (id: string) => orderObject(env, id).history();

describe("GET /api/orders/:id", () => {
  it("recovers a payment whose notification was lost by asking WeChat", async () => {
    const id = await newOrder();
    const { transactionId } = await h.simControl<{ transactionId: string }>(`/__sim/orders/${id}/pay`, { deliver: false });
    const order = await getOrder(id);
    expect(order).toMatchObject({ status: "paid", transactionId });
    expect((await history(id)).at(-1)).toMatchObject({ from: "pending", to: "paid", source: "query" });
  });

  it(`asks WeChat at most once per ${QUERY_MIN_INTERVAL_MS / 1000} s for a pending order`, async () => {
    const id = await newOrder();
    await getOrder(id);
    await getOrder(id);
    await getOrder(id);
    expect(await h.calls("query")).toHaveLength(1);
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + QUERY_MIN_INTERVAL_MS + 1);
    await getOrder(id);
    expect(await h.calls("query")).toHaveLength(2);
  });

  it("does not ask WeChat about an order that is already paid", async () => {
    const id = await newOrder();
    await h.simControl(`/__sim/orders/${id}/pay`, {});
    await getOrder(id);
    expect(await h.calls("query")).toHaveLength(0);
  });

  it("still answers with the stored state when WeChat fails", async () => {
    const id = await newOrder();
    await h.fault("query", "http_500");
    expect((await getOrder(id)).status).toBe("pending");
  });
});

describe("POST /api/orders/:id/pay", () => {
  it("returns fresh payment parameters for the same prepay_id without calling WeChat again", async () => {
    const created = (await (await h.createOrder(token)).json()) as OrderBody;
    const again = await h.call(`/api/orders/${created.order.id}/pay`, { method: "POST", token });
    expect(again.status).toBe(200);
    const body = (await again.json()) as OrderBody;
    expect(body.payment!.package).toBe(created.payment!.package);
    expect(await h.calls("prepay")).toHaveLength(1);
  });

  it("re-orders with identical parameters once the prepay_id is near its 2 h end", async () => {
    // an order that stays payable longer than a prepay_id lives
    h = startHarness({ env: { ...env, ORDER_TTL_SECONDS: String(6 * 3600) } });
    ({ token } = await h.login(`long-${crypto.randomUUID()}`));
    vi.useFakeTimers({ toFake: ["Date"] });
    const start = Date.now();
    const created = (await (await h.createOrder(token)).json()) as OrderBody;
    vi.setSystemTime(start + PREPAY_TTL_MS - PREPAY_REUSE_MARGIN_MS + 1000);
    const response = await h.call(`/api/orders/${created.order.id}/pay`, { method: "POST", token });
    expect(response.status).toBe(200);
    const [first, second] = await h.calls("prepay");
    expect(second).toBeDefined();
    expect(second!.business).toEqual(first!.business);
  });

  it("is 409 for an order that is no longer pending", async () => {
    const id = await newOrder();
    await h.simControl(`/__sim/orders/${id}/pay`, {});
    const response = await h.call(`/api/orders/${id}/pay`, { method: "POST", token });
    expect(response.status).toBe(409);
    expect((await errorOf(response)).code).toBe("invalid_state");
  });

  it("is 409 for an expired order", async () => {
    const id = await newOrder();
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + Number(env.ORDER_TTL_SECONDS) * 1000 + 1000);
    const response = await h.call(`/api/orders/${id}/pay`, { method: "POST", token });
    expect(response.status).toBe(409);
  });
});

describe("POST /api/orders/:id/close", () => {
  it("closes a pending order at WeChat and here", async () => {
    const id = await newOrder();
    const response = await h.call(`/api/orders/${id}/close`, { method: "POST", token });
    expect(response.status).toBe(200);
    expect(((await response.json()) as OrderBody).order.status).toBe("closed");
    expect((await h.simControl<{ tradeState: string }>(`/__sim/orders/${id}`)).tradeState).toBe("CLOSED");
    expect((await history(id)).at(-1)).toMatchObject({ from: "pending", to: "closed", source: "close" });
    // closing again is harmless
    expect((await h.call(`/api/orders/${id}/close`, { method: "POST", token })).status).toBe(200);
    expect((await history(id)).filter((e) => e.to === "closed")).toHaveLength(1);
  });

  it("is 409 for a paid order", async () => {
    const id = await newOrder();
    await h.simControl(`/__sim/orders/${id}/pay`, {});
    const response = await h.call(`/api/orders/${id}/close`, { method: "POST", token });
    expect(response.status).toBe(409);
    expect((await getOrder(id)).status).toBe("paid");
  });

  it("turns WeChat's ORDERPAID into a paid order and a 409", async () => {
    const id = await newOrder();
    await h.simControl(`/__sim/orders/${id}/pay`, { deliver: false });
    const response = await h.call(`/api/orders/${id}/close`, { method: "POST", token });
    expect(response.status).toBe(409);
    const { order } = (await orderObject(env, id).read().then((order) => ({ order })))!;
    expect(order!.status).toBe("paid");
  });

  it("leaves the order pending when WeChat fails, so the close can be retried", async () => {
    const id = await newOrder();
    await h.fault("close", "SYSTEMERROR", { times: 20 });
    const response = await h.call(`/api/orders/${id}/close`, { method: "POST", token });
    expect(response.status).toBe(502);
    expect((await orderObject(env, id).read())!.status).toBe("pending");
    await h.clearFaults();
    expect((await h.call(`/api/orders/${id}/close`, { method: "POST", token })).status).toBe(200);
  });
});

describe("races", () => {
  it("a notification, a query and a close at once leave one truthful state with one transition", async () => {
    for (let round = 0; round < 5; round++) {
      const id = await newOrder();
      // WeChat took the money; its notification is in flight while the user closes and reads.
      h.loseNotifications = true;
      await h.simControl(`/__sim/orders/${id}/pay`, {});
      h.loseNotifications = false;
      vi.useFakeTimers({ toFake: ["Date"] });
      vi.setSystemTime(Date.now() + QUERY_MIN_INTERVAL_MS + 1);
      const notification = h.deliver(h.notifications.at(-1)!);
      const [close, read] = await Promise.all([
        h.call(`/api/orders/${id}/close`, { method: "POST", token }),
        h.call(`/api/orders/${id}`, { token }),
        notification,
      ]);
      vi.useRealTimers();
      expect(close.status).toBe(409);
      expect(read.status).toBe(200);
      const entries = await history(id);
      expect(entries.filter((e) => e.to === "paid")).toHaveLength(1);
      expect(entries.some((e) => e.to === "closed")).toBe(false);
      expect((await orderObject(env, id).read())!.status).toBe("paid");
    }
  });
});

describe("ownership and listing", () => {
  it("refuses another user's order with 403 and unknown ids with 404, changing nothing", async () => {
    const id = await newOrder();
    const other = await h.login(`intruder-${crypto.randomUUID()}`);
    for (const [method, path] of [["GET", `/api/orders/${id}`], ["POST", `/api/orders/${id}/pay`], ["POST", `/api/orders/${id}/close`]] as const) {
      const response = await h.call(path, { method, token: other.token });
      expect(response.status).toBe(403);
      expect((await errorOf(response)).code).toBe("forbidden");
    }
    for (const path of ["/api/orders/20990101000000NoSuchOrder000000", "/api/orders/bad!id"]) {
      expect((await h.call(path, { token })).status).toBe(404);
    }
    expect((await orderObject(env, id).read())!.status).toBe("pending");
    // refused before any work: no query, no new prepay, no close at WeChat
    expect(await h.calls("query")).toEqual([]);
    expect(await h.calls("prepay")).toHaveLength(1);
    expect(await h.calls("close")).toEqual([]);
  });

  it("lists the caller's orders newest first, page by page with a cursor", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await newOrder());
    const other = await h.login(`neighbour-${crypto.randomUUID()}`);
    await newOrder(other.token);

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor === null ? "?limit=2" : `?limit=2&cursor=${encodeURIComponent(cursor)}`;
      const page = (await (await h.call(`/api/orders${query}`, { token })).json()) as { orders: { id: string }[]; cursor: string | null };
      expect(page.orders.length).toBeLessThanOrEqual(2);
      seen.push(...page.orders.map((o) => o.id));
      cursor = page.cursor;
    } while (cursor !== null);
    expect(seen).toEqual([...ids].reverse());
  });

  it("refuses a bad limit or cursor with 400", async () => {
    for (const query of ["?limit=0", "?limit=51", "?limit=abc", "?limit=1.5", "?cursor=nonsense"]) {
      expect((await h.call(`/api/orders${query}`, { token })).status).toBe(400);
    }
  });
});

describe("the order object", () => {
  it("keeps its state across an eviction: a new instance reads the same order and history", async () => {
    const id = await newOrder();
    await h.simControl(`/__sim/orders/${id}/pay`, {});
    const stub = orderObject(env, id);
    const before = { order: await stub.read(), history: await stub.history() };
    await runInDurableObject(stub, (_instance, ctx) => {
      const fresh = new OrderObject(ctx, env);
      expect({ order: fresh.read(), history: fresh.history() }).toEqual(before);
    });
  });
});
