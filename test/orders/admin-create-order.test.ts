// POST /admin/orders: an order priced by the merchant's backend for one payer. Stored pending with no
// call to WeChat; its payer pays it and lists it like their own orders; nobody else can; bad input
// creates nothing; an Idempotency-Key replays the first answer and refuses another request.
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { startHarness, type Harness } from "../support/harness";

const ADMIN = env.ADMIN_TOKEN!;

let h: Harness;
let token: string;
let openid: string;
beforeEach(async () => {
  h = startHarness();
  ({ token, openid } = await h.login(`priced-${crypto.randomUUID()}`));
});
afterEach(() => vi.unstubAllGlobals());

type OrderBody = { order: { id: string; status: string; amount: number; description: string; items: unknown[] } };

function create(body: unknown, headers: Record<string, string> = {}) {
  return h.call("/admin/orders", { json: body, token: ADMIN, headers });
}

const ITEMS = [
  { sku: "custom-cake", name: "Birthday cake, 2 tiers", quantity: 1, price: 32_800 },
  { sku: "candle", name: "Candle", quantity: 12, price: 50 },
];

describe("POST /admin/orders", () => {
  it("stores a pending order at the merchant's prices without calling WeChat; its payer pays it and lists it", async () => {
    const response = await create({ openid, items: ITEMS });
    expect(response.status).toBe(201);
    const { order } = (await response.json()) as OrderBody;
    expect(order).toMatchObject({ status: "pending", amount: 32_800 + 12 * 50, description: "Birthday cake, 2 tiers", items: ITEMS });
    expect(await h.calls("prepay")).toEqual([]);

    const listed = (await (await h.call("/api/orders", { token })).json()) as { orders: { id: string }[] };
    expect(listed.orders.map((o) => o.id)).toEqual([order.id]);
    const pay = await h.call(`/api/orders/${order.id}/pay`, { method: "POST", token });
    expect(pay.status).toBe(200);
    const [prepay] = await h.calls("prepay");
    expect(prepay).toMatchObject({ outTradeNo: order.id, total: String(32_800 + 12 * 50), openid });
  });

  it("uses the description given", async () => {
    const { order } = (await (await create({ openid, items: ITEMS, description: "Party order #42" })).json()) as OrderBody;
    expect(order.description).toBe("Party order #42");
  });

  it("is another payer's business: 403 to them", async () => {
    const { order } = (await (await create({ openid, items: ITEMS })).json()) as OrderBody;
    const other = await h.login(`other-${crypto.randomUUID()}`);
    expect((await h.call(`/api/orders/${order.id}/pay`, { method: "POST", token: other.token })).status).toBe(403);
    expect((await h.call(`/api/orders/${order.id}`, { token: other.token })).status).toBe(403);
  });

  it("replays an Idempotency-Key with the same request, and refuses it with another", async () => {
    const first = (await (await create({ openid, items: ITEMS }, { "Idempotency-Key": "merchant-42" })).json()) as OrderBody;
    const again = await create({ openid, items: ITEMS }, { "Idempotency-Key": "merchant-42" });
    expect(again.status).toBe(201);
    expect(((await again.json()) as OrderBody).order.id).toBe(first.order.id);
    expect((await create({ openid, items: [ITEMS[0]] }, { "Idempotency-Key": "merchant-42" })).status).toBe(409);
    expect(((await (await h.call("/api/orders", { token })).json()) as { orders: unknown[] }).orders).toHaveLength(1);
  });

  it("refuses bad input with 400 and creates nothing", async () => {
    const item = ITEMS[0]!;
    const bad: unknown[] = [
      {},
      { openid, items: [] },
      { openid: "", items: ITEMS },
      { openid, items: [{ ...item, price: 0 }] },
      { openid, items: [{ ...item, price: 1.5 }] },
      { openid, items: [{ ...item, quantity: 0 }] },
      { openid, items: [{ ...item, quantity: 100 }] },
      { openid, items: [{ ...item, name: "" }] },
      { openid, items: [{ ...item, name: "x".repeat(65) }] },
      { openid, items: [{ ...item, name: "bell\u0007" }] },
      { openid, items: Array.from({ length: 21 }, () => item) },
      { openid, items: ITEMS, description: "d".repeat(128) },
      { openid, items: [{ ...item, price: 100_000_000, quantity: 2 }] },
    ];
    for (const body of bad) expect((await create(body)).status, JSON.stringify(body).slice(0, 80)).toBe(400);
    expect(((await (await h.call("/api/orders", { token })).json()) as { orders: unknown[] }).orders).toEqual([]);
  });

  it("needs the operator's token", async () => {
    expect((await h.call("/admin/orders", { json: { openid, items: ITEMS } })).status).toBe(401);
    expect((await h.call("/admin/orders", { json: { openid, items: ITEMS }, token })).status).toBe(403);
    expect(((await (await h.call("/api/orders", { token })).json()) as { orders: unknown[] }).orders).toEqual([]);
  });
});
