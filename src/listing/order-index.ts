// The operator's queryable index of orders, in D1 beside the order objects (one object per order
// cannot answer "all paid orders of yesterday"): the only module that touches the ORDER_INDEX
// binding. Each order object writes its order here after its own commit, with the version of its
// state; a write with an older version than the one stored changes nothing, so a late or retried
// write never replaces a newer state. The schema is created and upgraded by the service itself, on
// first use, so a fresh `wrangler dev` folder, the tests and a first deploy need no manual step.
import { EVENT_ID_PATTERN, type EventView } from "../events/outbox";
import type { OrderView } from "../orders/order-record";
import { fromBase64Url, toBase64Url } from "../base64url";
import { decodeCursor, encodeCursor } from "../orders/order-cursor";

/** What the index keeps of an order: its view, its buyer, and what daily reconciliation will read. */
export interface IndexedOrder {
  readonly order: OrderView;
  readonly openid: string;
  readonly paidAfterClose: boolean;
  /** ms since epoch of each refund that succeeded (the order's view has their sum, refundedAmount) */
  readonly refundedAt: readonly number[];
  /** the order's merchant events as they stand at this version */
  readonly events?: readonly EventView[];
}

export interface EventListing {
  readonly events: (EventView & { orderId: string })[];
  readonly cursor: string | null;
}

export interface OrderFilters {
  readonly status?: string;
  readonly openid?: string;
  readonly transactionId?: string;
  /** ms since epoch, inclusive */
  readonly from?: number;
  /** ms since epoch, exclusive */
  readonly to?: number;
}

export interface OrderListing {
  readonly orders: (OrderView & { openid: string })[];
  readonly cursor: string | null;
}

/** Numbered migrations; the applied number is stored in index_schema. Append, never edit. */
const MIGRATIONS: readonly string[][] = [
  [
    `CREATE TABLE IF NOT EXISTS orders (
       id TEXT PRIMARY KEY,
       openid TEXT NOT NULL,
       status TEXT NOT NULL,
       amount INTEGER NOT NULL,
       refunded_amount INTEGER NOT NULL,
       transaction_id TEXT,
       created_at INTEGER NOT NULL,
       paid_at INTEGER,
       refunded_at TEXT NOT NULL,
       paid_after_close INTEGER NOT NULL,
       view TEXT NOT NULL,
       version INTEGER NOT NULL,
       indexed_at INTEGER NOT NULL)`,
    "CREATE INDEX IF NOT EXISTS orders_by_created ON orders (created_at DESC, id DESC)",
    "CREATE INDEX IF NOT EXISTS orders_by_status ON orders (status, created_at DESC, id DESC)",
    "CREATE INDEX IF NOT EXISTS orders_by_openid ON orders (openid, created_at DESC, id DESC)",
    "CREATE INDEX IF NOT EXISTS orders_by_transaction ON orders (transaction_id)",
  ],
  [
    // Merchant events across orders, for the operator's GET /admin/events: written with their order's entry.
    `CREATE TABLE IF NOT EXISTS events (
       id TEXT PRIMARY KEY,
       order_id TEXT NOT NULL,
       status TEXT NOT NULL,
       at INTEGER NOT NULL,
       view TEXT NOT NULL,
       version INTEGER NOT NULL,
       indexed_at INTEGER NOT NULL)`,
    "CREATE INDEX IF NOT EXISTS events_by_at ON events (at DESC, id DESC)",
    "CREATE INDEX IF NOT EXISTS events_by_status ON events (status, at DESC, id DESC)",
  ],
];

export const INDEX_SCHEMA_VERSION = MIGRATIONS.length;

// Per isolate: the schema is checked once, then trusted.
const ready = new WeakMap<D1Database, Promise<void>>();

/** Creates or upgrades the index's schema, once per isolate; safe to run from many places at once. */
export function ensureIndexSchema(db: D1Database): Promise<void> {
  let done = ready.get(db);
  if (done === undefined) {
    done = migrate(db).catch((error: unknown) => {
      ready.delete(db);
      throw error;
    });
    ready.set(db, done);
  }
  return done;
}

async function migrate(db: D1Database): Promise<void> {
  await db.exec("CREATE TABLE IF NOT EXISTS index_schema (singleton INTEGER PRIMARY KEY CHECK (singleton = 1), version INTEGER NOT NULL)");
  const applied = (await db.prepare("SELECT version FROM index_schema WHERE singleton = 1").first<{ version: number }>())?.version ?? 0;
  if (applied >= MIGRATIONS.length) return;
  // One batch is one transaction in D1: the steps and the new version land together or not at all.
  const steps = MIGRATIONS.slice(applied).flat().map((sql) => db.prepare(sql));
  steps.push(db.prepare("INSERT INTO index_schema (singleton, version) VALUES (1, ?) ON CONFLICT (singleton) DO UPDATE SET version = excluded.version WHERE excluded.version > index_schema.version").bind(MIGRATIONS.length));
  await db.batch(steps);
}

/**
 * Writes `entry` at `version` (the order object's count of its own changes). Returns whether it was
 * stored: false when the index already holds this version or a newer one.
 */
export async function indexOrder(db: D1Database, entry: IndexedOrder, version: number, now: number): Promise<boolean> {
  await ensureIndexSchema(db);
  const { order } = entry;
  const upsertOrder = db
    .prepare(
      `INSERT INTO orders (id, openid, status, amount, refunded_amount, transaction_id, created_at, paid_at, refunded_at, paid_after_close, view, version, indexed_at)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
       ON CONFLICT (id) DO UPDATE SET openid = excluded.openid, status = excluded.status, amount = excluded.amount,
         refunded_amount = excluded.refunded_amount, transaction_id = excluded.transaction_id, paid_at = excluded.paid_at,
         refunded_at = excluded.refunded_at, paid_after_close = excluded.paid_after_close, view = excluded.view,
         version = excluded.version, indexed_at = excluded.indexed_at
       WHERE excluded.version > orders.version`,
    )
    .bind(
      order.id, entry.openid, order.status, order.amount, order.refundedAmount, order.transactionId, Date.parse(order.createdAt),
      order.paidAt === null ? null : Date.parse(order.paidAt), JSON.stringify(entry.refundedAt), entry.paidAfterClose ? 1 : 0,
      JSON.stringify(order), version, now,
    );
  // One batch, one transaction: the order's entry and its events at the same version.
  const upsertEvents = (entry.events ?? []).map((event) =>
    db
      .prepare(
        `INSERT INTO events (id, order_id, status, at, view, version, indexed_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (id) DO UPDATE SET status = excluded.status, view = excluded.view, version = excluded.version, indexed_at = excluded.indexed_at
         WHERE excluded.version > events.version`,
      )
      .bind(event.id, order.id, event.status, Date.parse(event.timestamp), JSON.stringify(event), version, now),
  );
  const [result] = await db.batch([upsertOrder, ...upsertEvents]);
  return (result?.meta.changes ?? 0) > 0;
}

/** Events of every order, newest first by their time, `limit` at a time, optionally of one status. */
export async function listIndexedEvents(db: D1Database, status: string | undefined, limit: number, cursor: string | null): Promise<EventListing> {
  await ensureIndexSchema(db);
  const after = cursor === null ? null : decodeEventCursor(cursor);
  if (cursor !== null && after === null) throw new RangeError("not a cursor we issued");
  const where: string[] = [];
  const params: (string | number)[] = [];
  if (status !== undefined) {
    params.push(status);
    where.push(`status = ?${params.length}`);
  }
  if (after !== null) {
    params.push(after.at, after.id);
    where.push(`(at < ?${params.length - 1} OR (at = ?${params.length - 1} AND id < ?${params.length}))`);
  }
  params.push(limit + 1);
  const sql = `SELECT id, order_id, at, view FROM events ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY at DESC, id DESC LIMIT ?${params.length}`;
  const { results } = await db.prepare(sql).bind(...params).all<{ id: string; order_id: string; at: number; view: string }>();
  const page = results.slice(0, limit);
  const last = page.at(-1);
  return {
    events: page.map((row) => ({ ...(JSON.parse(row.view) as EventView), orderId: row.order_id })),
    cursor: results.length > limit && last !== undefined ? toBase64Url(`${last.at}.${last.id}`) : null,
  };
}

/** The events listing's cursor: base64url of "<at>.<event id>", decoded only if it is one we could have issued. */
function decodeEventCursor(cursor: string): { at: number; id: string } | null {
  const text = fromBase64Url(cursor);
  const match = text === null ? null : /^([0-9]{1,15})\.(.+)$/.exec(text);
  return match?.[1] && match[2] && EVENT_ID_PATTERN.test(match[2]) ? { at: Number(match[1]), id: match[2] } : null;
}

/** Orders matching every filter given, newest first by createdAt, `limit` at a time. */
export async function listIndexedOrders(db: D1Database, filters: OrderFilters, limit: number, cursor: string | null): Promise<OrderListing> {
  await ensureIndexSchema(db);
  const where: string[] = [];
  const params: (string | number)[] = [];
  const add = (clause: string, value: string | number) => {
    params.push(value);
    where.push(clause.replace("?", `?${params.length}`));
  };
  if (filters.status !== undefined) add("status = ?", filters.status);
  if (filters.openid !== undefined) add("openid = ?", filters.openid);
  if (filters.transactionId !== undefined) add("transaction_id = ?", filters.transactionId);
  if (filters.from !== undefined) add("created_at >= ?", filters.from);
  if (filters.to !== undefined) add("created_at < ?", filters.to);
  const after = cursor === null ? null : decodeCursor(cursor);
  if (cursor !== null && after === null) throw new RangeError("not a cursor we issued");
  if (after !== null) {
    // Keyset pagination on (created_at, id): pages neither repeat nor skip an order while others change.
    params.push(after.createdAt, after.orderId);
    where.push(`(created_at < ?${params.length - 1} OR (created_at = ?${params.length - 1} AND id < ?${params.length}))`);
  }
  params.push(limit + 1);
  const sql = `SELECT openid, created_at, id, view FROM orders ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY created_at DESC, id DESC LIMIT ?${params.length}`;
  const { results } = await db.prepare(sql).bind(...params).all<{ openid: string; created_at: number; id: string; view: string }>();
  const page = results.slice(0, limit);
  const last = page.at(-1);
  return {
    orders: page.map((row) => ({ ...(JSON.parse(row.view) as OrderView), openid: row.openid })),
    cursor: results.length > limit && last !== undefined ? encodeCursor({ createdAt: last.created_at, orderId: last.id }) : null,
  };
}
