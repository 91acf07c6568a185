// The operator's order index in D1: a schema the service sets up itself, writes that never let an
// older state replace a newer one, and a listing with filters whose pages neither repeat nor skip
// an order while orders change. (Each order's object writes its entries; that is tested with the
// order core. Here the entries are written directly.)
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { INDEX_SCHEMA_VERSION, ensureIndexSchema, indexOrder, listIndexedOrders, type IndexedOrder } from "../../src/listing/order-index";
import type { OrderView } from "../../src/orders/order-record";
import { errorOf, startHarness } from "../support/harness";

const ADMIN = env.ADMIN_TOKEN!;
const db = env.ORDER_INDEX;
let run: string;

beforeEach(async () => {
  // Each test gets its own buyers and ids, so that tests sharing the database never see each other's rows.
  run = crypto.randomUUID().replaceAll("-", "").slice(0, 10);
});
afterEach(() => vi.unstubAllGlobals());

function entry(n: number, overrides: Partial<OrderView> = {}, openid = `o-${run}-a`): IndexedOrder {
  const createdAt = Date.UTC(2026, 11, 1, 0, 0, 0) + n * 1000;
  return {
    openid,
    paidAfterClose: false,
    refundedAt: [],
    order: {
      id: `2026120100${run}${String(n).padStart(4, "0")}`,
      status: "pending",
      amount: 1800,
      refundedAmount: 0,
      currency: "CNY",
      description: "Coffee",
      items: [{ sku: "coffee", name: "Coffee", quantity: 1, price: 1800 }],
      transactionId: null,
      createdAt: new Date(createdAt).toISOString(),
      paidAt: null,
      expiresAt: new Date(createdAt + 1800_000).toISOString(),
      ...overrides,
    },
  };
}

const onlyMine = async (filters: Parameters<typeof listIndexedOrders>[1], limit = 100, cursor: string | null = null) =>
  listIndexedOrders(db, { openid: `o-${run}-a`, ...filters }, limit, cursor);

describe("the index's schema", () => {
  it("is created on first use and its version stored; running it again, even at once, is harmless", async () => {
    await Promise.all([ensureIndexSchema(db), ensureIndexSchema(db), indexOrder(db, entry(1), 1, Date.now())]);
    const version = await db.prepare("SELECT version FROM index_schema").first<{ version: number }>();
    expect(version?.version).toBe(INDEX_SCHEMA_VERSION);
    const tables = await db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('orders', 'index_schema') ORDER BY name").all<{ name: string }>();
    expect(tables.results.map((t) => t.name)).toEqual(["index_schema", "orders"]);
  });
});

describe("writing an order's entry", () => {
  it("keeps the newest version: a late write of an older state changes nothing", async () => {
    expect(await indexOrder(db, entry(1, { status: "paid", transactionId: `42${run}` }), 3, Date.now())).toBe(true);
    expect(await indexOrder(db, entry(1, { status: "pending" }), 2, Date.now())).toBe(false);
    expect(await indexOrder(db, entry(1, { status: "pending" }), 3, Date.now())).toBe(false);
    expect((await onlyMine({})).orders.map((o) => o.status)).toEqual(["paid"]);
    expect(await indexOrder(db, entry(1, { status: "refunded", refundedAmount: 1800 }), 4, Date.now())).toBe(true);
    expect((await onlyMine({})).orders[0]).toMatchObject({ status: "refunded", refundedAmount: 1800, openid: `o-${run}-a` });
  });
});

describe("listing", () => {
  it("filters by status, openid, transaction id and a createdAt range (from inclusive, to exclusive), newest first", async () => {
    await indexOrder(db, entry(1), 1, 0);
    await indexOrder(db, entry(2, { status: "paid", transactionId: `4200${run}` }), 2, 0);
    await indexOrder(db, entry(3, { status: "closed" }), 2, 0);
    await indexOrder(db, entry(4, { status: "paid", transactionId: `4201${run}` }, `o-${run}-b`), 2, 0);
    const ids = (listing: { orders: { id: string }[] }) => listing.orders.map((o) => o.id.slice(-4));
    expect(ids(await onlyMine({}))).toEqual(["0003", "0002", "0001"]);
    expect(ids(await onlyMine({ status: "paid" }))).toEqual(["0002"]);
    expect(ids(await listIndexedOrders(db, { transactionId: `4201${run}` }, 10, null))).toEqual(["0004"]);
    const t = (n: number) => Date.UTC(2026, 11, 1, 0, 0, 0) + n * 1000;
    expect(ids(await onlyMine({ from: t(2), to: t(3) }))).toEqual(["0002"]);
    expect(ids(await onlyMine({ from: t(2) }))).toEqual(["0003", "0002"]);
  });

  it("pages without repeating or skipping an order while new orders arrive and old ones change", async () => {
    for (let n = 1; n <= 25; n++) await indexOrder(db, entry(n), 1, 0);
    const seen: string[] = [];
    let cursor: string | null = null;
    let round = 0;
    do {
      const page: Awaited<ReturnType<typeof onlyMine>> = await onlyMine({}, 7, cursor);
      seen.push(...page.orders.map((o) => o.id));
      cursor = page.cursor;
      // between pages: a newer order arrives and an already listed one changes
      round++;
      await indexOrder(db, entry(100 + round), 1, 0);
      await indexOrder(db, entry(25 - round, { status: "paid" }), 2 + round, 0);
    } while (cursor !== null);
    expect(seen).toHaveLength(25);
    expect(new Set(seen).size).toBe(25);
    expect(seen).toEqual([...seen].sort().reverse());
  });
});

describe("GET /admin/orders", () => {
  it("lists with the contract's filters for operators, and refuses others and bad parameters", async () => {
    const h = startHarness();
    await indexOrder(db, entry(1, { status: "paid", transactionId: `4300${run}` }), 2, 0);
    await indexOrder(db, entry(2), 1, 0);
    const response = await h.call(`/admin/orders?openid=o-${run}-a&status=paid&from=2026-12-01T08:00:00%2B08:00&to=2026-12-02T00:00:00Z&limit=10`, { token: ADMIN });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { orders: (OrderView & { openid: string })[]; cursor: string | null };
    expect(body).toEqual({ orders: [{ ...entry(1, { status: "paid", transactionId: `4300${run}` }).order, openid: `o-${run}-a` }], cursor: null });

    expect((await h.call("/admin/orders")).status).toBe(401);
    for (const query of ["status=shipped", "limit=0", "limit=101", "from=yesterday", "from=2026-12-01", "cursor=bm90LWEtY3Vyc29y", "transactionId=%20"]) {
      const refused = await h.call(`/admin/orders?${query}`, { token: ADMIN });
      expect(refused.status, query).toBe(400);
      expect((await errorOf(refused)).code).toBe("invalid_request");
    }
  });
});
