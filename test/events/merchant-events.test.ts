// Merchant events end to end: each change's event is stored with it, delivered by the order's alarm
// to the merchant's receiver (here in the test, verifying with the Standard Webhooks library),
// retried with the same id and body, in order per order, failed after the last attempt, redelivered
// on request, never lost across a restart, and never in the way of WeChat's acknowledgement.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { MAX_ATTEMPTS } from "../../src/events/schedule";
import { OrderObject } from "../../src/orders/order-object";
import { orderObject } from "../../src/orders/order-store";
import { startHarness, type Harness } from "../support/harness";

const ADMIN = env.ADMIN_TOKEN!;

type EventView = { id: string; type: string; timestamp: string; status: string; attempts: number; lastAttemptAt: string | null; lastError: string | null; nextAttemptAt: string | null };
type AdminView = { order: Record<string, unknown>; refunds: Record<string, unknown>[]; events: EventView[] };

let h: Harness;
let token: string;
beforeEach(async () => {
  h = startHarness();
  ({ token } = await h.login(`merchant-${crypto.randomUUID()}`));
});
afterEach(() => {
  h.merchant.release();
  vi.unstubAllGlobals();
});

async function newOrder(): Promise<string> {
  const response = await h.createOrder(token);
  expect(response.status).toBe(201);
  return ((await response.json()) as { order: { id: string } }).order.id;
}

async function paidOrder(): Promise<string> {
  const id = await newOrder();
  await h.simControl(`/__sim/orders/${id}/pay`, {});
  return id;
}

async function adminView(id: string): Promise<AdminView> {
  const response = await h.call(`/admin/orders/${id}`, { token: ADMIN });
  expect(response.status).toBe(200);
  return (await response.json()) as AdminView;
}

/**
 * Waits until the order's events reach `statuses`, as the admin view shows them; "retrying" is a
 * pending event already attempted (an event is pending from its change on, before its first try).
 */
async function eventsReach(id: string, statuses: ("pending" | "retrying" | "delivered" | "failed")[]): Promise<EventView[]> {
  return vi.waitFor(
    async () => {
      const { events } = await adminView(id);
      expect(events.map((e) => (e.status === "pending" && e.attempts > 0 ? "retrying" : e.status))).toEqual(statuses);
      return events;
    },
    { timeout: 5_000, interval: 50 },
  );
}

/** Makes the order's pending events due now and runs its alarm: the retry schedule, without the wait. */
async function retryNow(id: string): Promise<void> {
  await runInDurableObject(orderObject(env, id), async (instance: OrderObject, ctx) => {
    ctx.storage.sql.exec("UPDATE events SET next_attempt_at = ? WHERE status = 'pending'", Date.now());
    await instance.alarm();
  });
}

describe("a merchant event", () => {
  it("announces a payment once: signed, with the order as the admin view shows it, delivered within 5 s", async () => {
    const id = await paidOrder();
    const [event] = await eventsReach(id, ["delivered"]);
    expect(event).toMatchObject({ id: `evt_${id}.paid`, type: "order.paid", attempts: 1, lastError: null, nextAttemptAt: null });
    const [delivery] = h.merchant.of(event!.id);
    expect(delivery!.verified).toBe(true);
    expect(delivery!.event).toEqual({ id: event!.id, type: "order.paid", timestamp: event!.timestamp, data: { order: (await adminView(id)).order } });
    // A repeated notification is no second payment, and no second event.
    expect(await h.deliver(h.notifications.at(-1)!)).toBe("acknowledged");
    expect((await adminView(id)).events).toHaveLength(1);
    expect(h.merchant.deliveries.filter((d) => d.event.data.order && (d.event.data.order as { id: string }).id === id)).toHaveLength(1);
  });

  it("is retried with the same id and body (a fresh timestamp and signature) until the receiver recovers", async () => {
    const answers = [500, "refuse", 503] as const;
    let call = 0;
    h.merchant.answer = () => answers[call++] ?? 200;
    const id = await paidOrder();
    const [first] = await eventsReach(id, ["retrying"]);
    expect(first).toMatchObject({ attempts: 1, lastError: "HTTP 500" });
    // The first retry within 60 s of the failure.
    expect(Date.parse(first!.nextAttemptAt!) - Date.parse(first!.lastAttemptAt!)).toBeLessThanOrEqual(60_000);
    await retryNow(id);
    expect((await adminView(id)).events[0]).toMatchObject({ status: "pending", attempts: 2, lastError: "network error" });
    await retryNow(id);
    await retryNow(id);
    const [done] = await eventsReach(id, ["delivered"]);
    expect(done!.attempts).toBe(4);
    const attempts = h.merchant.of(`evt_${id}.paid`);
    expect(attempts.map((a) => a.answer)).toEqual([500, "refuse", 503, 200]);
    expect(new Set(attempts.map((a) => a.body)).size).toBe(1);
    expect(attempts.every((a) => a.verified)).toBe(true);
  });

  it("keeps an order's events in order: a later one waits while an earlier one keeps failing", async () => {
    h.merchant.answer = (event) => (event.type === "order.paid" ? 500 : 204);
    const id = await paidOrder();
    await eventsReach(id, ["retrying"]);
    const created = (await (await h.call(`/admin/orders/${id}/refunds`, { json: { amount: 1800 }, token: ADMIN })).json()) as { refund: { id: string } };
    await h.simControl(`/__sim/refunds/${created.refund.id}/complete`, {});
    // The refund's event waits, unattempted, behind the payment's.
    const events = await eventsReach(id, ["retrying", "pending"]);
    expect(events.map((e) => e.type)).toEqual(["order.paid", "refund.succeeded"]);
    await retryNow(id);
    expect(h.merchant.deliveries.map((d) => d.event.type)).toEqual(["order.paid", "order.paid"]);
    // The receiver recovers: the payment first, then the refund, in one alarm.
    h.merchant.answer = () => 204;
    await retryNow(id);
    await eventsReach(id, ["delivered", "delivered"]);
    expect(h.merchant.deliveries.map((d) => d.event.type)).toEqual(["order.paid", "order.paid", "order.paid", "refund.succeeded"]);
    const refundEvent = h.merchant.deliveries.at(-1)!.event;
    const view = await adminView(id);
    expect(refundEvent.data).toEqual({ order: view.order, refund: view.refunds[0] });
  });

  it(`is failed after ${MAX_ATTEMPTS} attempts, and an operator's redelivery sends it again with a fresh round`, async () => {
    h.merchant.answer = () => 500;
    const id = await paidOrder();
    await eventsReach(id, ["retrying"]);
    for (let attempt = 2; attempt <= MAX_ATTEMPTS; attempt++) await retryNow(id);
    const [failed] = await eventsReach(id, ["failed"]);
    expect(failed).toMatchObject({ attempts: MAX_ATTEMPTS, lastError: "HTTP 500", nextAttemptAt: null });
    expect(h.merchant.of(failed!.id)).toHaveLength(MAX_ATTEMPTS);
    // Nothing more is attempted on its own.
    await runDurableObjectAlarm(orderObject(env, id));
    expect(h.merchant.of(failed!.id)).toHaveLength(MAX_ATTEMPTS);

    h.merchant.answer = () => 204;
    const redelivered = await h.call(`/admin/orders/${id}/events/${failed!.id}/redeliver`, { method: "POST", token: ADMIN });
    expect(redelivered.status).toBe(202);
    expect(((await redelivered.json()) as { event: EventView }).event).toMatchObject({ id: failed!.id, status: "pending", attempts: 0 });
    const [delivered] = await eventsReach(id, ["delivered"]);
    expect(delivered!.attempts).toBe(1);
    expect(new Set(h.merchant.of(failed!.id).map((d) => d.body)).size).toBe(1);
  });

  it("redelivery of an unknown event or order is 404, and changes nothing", async () => {
    const id = await paidOrder();
    await eventsReach(id, ["delivered"]);
    for (const path of [`/admin/orders/${id}/events/evt_${id}.closed/redeliver`, `/admin/orders/${id}/events/nonsense/redeliver`, `/admin/orders/20261201000000NoSuchOrder0000001/events/evt_${id}.paid/redeliver`]) {
      expect((await h.call(path, { method: "POST", token: ADMIN })).status).toBe(404);
    }
    expect((await adminView(id)).events).toMatchObject([{ status: "delivered", attempts: 1 }]);
  });

  it("announces a close, and a refund that failed", async () => {
    const closedId = await newOrder();
    expect((await h.call(`/api/orders/${closedId}/close`, { method: "POST", token })).status).toBe(200);
    const [closed] = await eventsReach(closedId, ["delivered"]);
    expect(closed!.type).toBe("order.closed");
    expect(h.merchant.of(closed!.id)[0]!.event.data).toEqual({ order: (await adminView(closedId)).order });

    const id = await paidOrder();
    const created = (await (await h.call(`/admin/orders/${id}/refunds`, { json: { amount: 500 }, token: ADMIN })).json()) as { refund: { id: string } };
    await h.simControl(`/__sim/refunds/${created.refund.id}/complete`, { status: "REFUNDCLOSE" });
    const events = await eventsReach(id, ["delivered", "delivered"]);
    expect(events.map((e) => e.type)).toEqual(["order.paid", "refund.failed"]);
    expect(h.merchant.of(events[1]!.id)[0]!.event.data).toMatchObject({ refund: { id: created.refund.id, status: "failed" } });
  });

  it("is stored with its change and sent by a fresh instance of the object (nothing held in memory)", async () => {
    const id = await newOrder();
    const fact = { transactionId: "4200000000202612010000000001", totalFee: "1800", paidAt: null };
    await runInDurableObject(orderObject(env, id), async (instance: OrderObject, ctx) => {
      await instance.applyPayment(fact, "notify");
      // Committed with the payment, not yet attempted: what a restart right after the commit finds.
      expect(ctx.storage.sql.exec("SELECT type, status, attempts FROM events").toArray()).toEqual([{ type: "order.paid", status: "pending", attempts: 0 }]);
      await new OrderObject(ctx, env).alarm();
    });
    await eventsReach(id, ["delivered"]);
    expect(h.merchant.of(`evt_${id}.paid`)[0]!.verified).toBe(true);
  });

  it("never holds up WeChat's acknowledgement: a receiver that hangs does not delay the payment notification's answer", async () => {
    h.merchant.answer = () => "hang";
    const id = await newOrder();
    const started = Date.now();
    const paid = await h.simControl<{ delivered: boolean }>(`/__sim/orders/${id}/pay`, {});
    expect(paid.delivered).toBe(true);
    expect(Date.now() - started).toBeLessThan(2_000);
    await vi.waitFor(() => expect(h.merchant.deliveries).toHaveLength(1));
    // While the delivery hangs, the order answers as usual.
    const again = Date.now();
    expect(await h.deliver(h.notifications.at(-1)!)).toBe("acknowledged");
    expect(Date.now() - again).toBeLessThan(2_000);
    h.merchant.release();
    await eventsReach(id, ["delivered"]);
  });
});

describe("events recorded while MERCHANT_WEBHOOK_URL was set", () => {
  it("wait, pending, once it is unset: the alarm is not armed for them (it would fire again and again)", async () => {
    const id = await paidOrder();
    await eventsReach(id, ["delivered"]);
    await runInDurableObject(orderObject(env, id), (_instance, ctx) => {
      const due = Date.now() - 1_000;
      ctx.storage.sql.exec("UPDATE events SET status = 'pending', next_attempt_at = ?", due);
      expect(new OrderObject(ctx, env).nextDueAt()).toBe(due);
      expect(new OrderObject(ctx, { ...env, MERCHANT_WEBHOOK_URL: "" } as typeof env).nextDueAt()).toBeNull();
    });
  });
});

describe("GET /admin/events", () => {
  it("lists events of every order, newest first, by status, a page at a time", async () => {
    h.merchant.answer = (event) => ((event.data.order as { description: string }).description === "Green tea" ? 500 : 204);
    const delivered = [await paidOrder(), await paidOrder()];
    const teaResponse = await h.createOrder(token, [{ sku: "tea", quantity: 1 }]);
    const tea = ((await teaResponse.json()) as { order: { id: string } }).order.id;
    await h.simControl(`/__sim/orders/${tea}/pay`, {});
    await eventsReach(tea, ["retrying"]);
    const list = async (query: string) => {
      const response = await h.call(`/admin/events?${query}`, { token: ADMIN });
      expect(response.status).toBe(200);
      return (await response.json()) as { events: (EventView & { orderId: string })[]; cursor: string | null };
    };
    await vi.waitFor(async () => expect((await list("status=pending&limit=100")).events.map((e) => e.orderId)).toContain(tea), { timeout: 5_000 });
    const mine = async (query: string) => (await list(query)).events.filter((e) => [...delivered, tea].includes(e.orderId));
    await vi.waitFor(async () => expect((await mine("status=delivered&limit=100")).map((e) => e.orderId)).toEqual([...delivered].reverse()), { timeout: 5_000 });
    expect((await mine("status=pending&limit=100"))[0]).toMatchObject({ id: `evt_${tea}.paid`, type: "order.paid", attempts: 1, lastError: "HTTP 500" });

    const first = await list("limit=1");
    expect(first.events).toHaveLength(1);
    const second = await list(`limit=1&cursor=${first.cursor}`);
    expect(second.events[0]!.id).not.toBe(first.events[0]!.id);
    expect(Date.parse(second.events[0]!.timestamp)).toBeLessThanOrEqual(Date.parse(first.events[0]!.timestamp));
  });

  it("refuses a bad status, limit or cursor with 400", async () => {
    for (const query of ["status=lost", "limit=0", "limit=101", "cursor=nope"]) {
      expect((await h.call(`/admin/events?${query}`, { token: ADMIN })).status).toBe(400);
    }
  });
});
