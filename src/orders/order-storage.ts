// The order object's storage: its versioned SQLite schema and migrations, loading an order with its
// refunds, committing a decision's writes in one transaction, the histories and the alarm. The only
// code that runs SQL on an order object. Described in docs/storage.md; change both together.
import { EVENT_STATUSES, EVENT_TYPES, type EventPatch, type EventStatus, type EventType, type NewEvent, type OutboxEvent } from "../events/outbox";
import { applyChange, changesIndexedView, type HistoryWrite, type Change, type RefundHistoryWrite, type OrderPatch, type RefundPatch } from "./decisions";
import type { HistoryEntry, Order, OrderSnapshot, Refund, RefundHistoryEntry } from "./order-record";
import { ORDER_STATES, ORDER_STATUSES, TRANSITION_SOURCES, type OrderState, type OrderStatus, type TransitionSource } from "./order-state";
import type { LineItem } from "./pricing";
import { publicRefundStatus, REFUND_EVENTS, REFUND_STATES, type RefundState } from "./refund-state";
import { NO_SHIPPING, SHIPPING_STATUSES, WECHAT_SHIPPING_STATES, type Shipping, type ShippingRequest } from "./shipping";

/** The schema version this code reads and writes. */
export const SCHEMA_VERSION = 5;

/** A CHECK's list of allowed values, from the state tables themselves. */
const sqlList = (values: readonly string[]) => values.map((v) => `'${v}'`).join(", ");
const STATES_SQL = sqlList(ORDER_STATES);
const STATUSES_SQL = sqlList(ORDER_STATUSES);
const SOURCES_SQL = sqlList(TRANSITION_SOURCES);
const REFUND_STATES_SQL = sqlList(REFUND_STATES);
const REFUND_EVENTS_SQL = sqlList(["created", ...REFUND_EVENTS]);

/** The order's version for the operator's index (schema version 3). */
const VERSION_COLUMNS = ["version INTEGER NOT NULL DEFAULT 1", "indexed_version INTEGER NOT NULL DEFAULT 0"];

/**
 * `versionColumns`: with version 3's columns, as a new object creates them (an ALTER TABLE after the
 * CREATE would cost a schema rewrite), written as SQLite writes them when V3_COLUMNS adds them to an
 * older table: so a migrated object's schema reads exactly as a new one's.
 */
const ORDER_TABLE = (name: string, versionColumns = false) => `CREATE TABLE ${name} (
  singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
  id TEXT NOT NULL,
  openid TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN (${STATES_SQL})),
  amount INTEGER NOT NULL,
  description TEXT NOT NULL,
  items TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  client_ip TEXT NOT NULL,
  transaction_id TEXT,
  created_at INTEGER NOT NULL,
  paid_at INTEGER,
  expires_at INTEGER NOT NULL,
  prepay_id TEXT,
  prepay_issued_at INTEGER,
  last_queried_at INTEGER,
  paid_after_close INTEGER NOT NULL DEFAULT 0 CHECK (paid_after_close IN (0, 1)),
  next_check_at INTEGER,
  check_attempts INTEGER NOT NULL DEFAULT 0
${versionColumns ? VERSION_COLUMNS.map((column) => `, ${column}`).join("") : ""});`;

/** The order's history and its refunds' (refund_id set, with the refund table's event), append-only, in order of seq. */
const HISTORY_TABLE = (name: string) => `CREATE TABLE ${name} (
  seq INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  refund_id TEXT,
  from_status TEXT,
  to_status TEXT NOT NULL,
  event TEXT,
  source TEXT NOT NULL CHECK (source IN (${SOURCES_SQL})),
  note TEXT,
  CHECK (CASE WHEN refund_id IS NULL
    THEN to_status IN (${STATUSES_SQL}) AND (from_status IS NULL OR from_status IN (${STATUSES_SQL})) AND event IS NULL
    ELSE to_status IN (${REFUND_STATES_SQL}) AND (from_status IS NULL OR from_status IN (${REFUND_STATES_SQL})) AND event IN (${REFUND_EVENTS_SQL}) END)
);`;

const REFUNDS_TABLE = (name: string) => `CREATE TABLE ${name} (
  id TEXT PRIMARY KEY,
  amount INTEGER NOT NULL,
  reason TEXT,
  status TEXT NOT NULL CHECK (status IN (${REFUND_STATES_SQL})),
  idempotency_key TEXT UNIQUE,
  request_hash TEXT NOT NULL,
  refund_id TEXT,
  created_at INTEGER NOT NULL,
  submitted_at INTEGER,
  finished_at INTEGER,
  failure TEXT,
  needs_attention INTEGER NOT NULL DEFAULT 0 CHECK (needs_attention IN (0, 1)),
  attempts INTEGER NOT NULL DEFAULT 0,
  last_attempt_at INTEGER,
  last_checked_at INTEGER,
  next_attempt_at INTEGER
) WITHOUT ROWID;`;

/**
 * Version 3: the order's count of the changes the operator's index shows (version) beside the last
 * one written there (indexed_version). An order migrated from version 2 starts one version ahead of
 * the index, so that its first alarm indexes it.
 */
const V3_COLUMNS = VERSION_COLUMNS.map((column) => `ALTER TABLE order_record ADD COLUMN ${column};`).join("\n");

/** The event types version 3 knew; version 4 added the shipping events. */
const V3_EVENT_TYPES = ["order.paid", "order.closed", "refund.succeeded", "refund.failed"];

/** The outbox of merchant events (version 3), each type checked against `types`. */
const EVENTS_TABLE = (name: string, types: readonly string[]) => `CREATE TABLE ${name} (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  type TEXT NOT NULL CHECK (type IN (${sqlList(types)})),
  at INTEGER NOT NULL,
  body TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN (${sqlList(EVENT_STATUSES)})),
  attempts INTEGER NOT NULL DEFAULT 0,
  last_attempt_at INTEGER,
  last_error TEXT,
  next_attempt_at INTEGER
);`;

/**
 * Version 4: the order's shipping information and settlement (src/orders/shipping.ts), one row once
 * anything about it is known. A table of its own, not columns of order_record: an order without
 * shipping reads no row of it, and a new object creates it with one statement.
 */
const SHIPPING_TABLE = `CREATE TABLE shipping (
  singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
  status TEXT CHECK (status IS NULL OR status IN (${sqlList(SHIPPING_STATUSES)})),
  request TEXT,
  requested_by TEXT CHECK (requested_by IS NULL OR requested_by IN ('admin', 'auto')),
  requested_at INTEGER,
  attempts INTEGER NOT NULL DEFAULT 0,
  last_attempt_at INTEGER,
  next_attempt_at INTEGER,
  last_error TEXT,
  uncertain INTEGER NOT NULL DEFAULT 0 CHECK (uncertain IN (0, 1)),
  uploaded_at INTEGER,
  shipments INTEGER NOT NULL DEFAULT 0,
  settled_at INTEGER,
  estimated_settlement_at INTEGER,
  wechat_state TEXT CHECK (wechat_state IS NULL OR wechat_state IN (${sqlList(WECHAT_SHIPPING_STATES)})),
  checked_at INTEGER
);`;

const VERSION_TABLE = "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL);";

/**
 * The tables a new order object creates with its order. The migrations lead every older object to
 * the same tables, and to all of LATER_TABLES.
 */
const CURRENT_SCHEMA = [ORDER_TABLE("order_record", true), HISTORY_TABLE("history"), VERSION_TABLE].join("\n");

/**
 * Since version 5, tables most orders never use are created by the first write that needs them, in
 * its transaction: creating a table counts as rows written, billed like any other (SQLite counts two
 * per table, three with a UNIQUE index), and the full schema was 14 of them for every new order; the
 * three first tables are 6.
 */
const LATER_TABLES = {
  refunds: REFUNDS_TABLE("refunds"),
  events: EVENTS_TABLE("events", EVENT_TYPES),
  shipping: SHIPPING_TABLE,
} as const;
type LaterTable = keyof typeof LATER_TABLES;

/**
 * Numbered migrations from the version before. Version 1 is the first schema, which stored no
 * version: an object with an `order_record` table and no `schema_migrations` is at version 1.
 */
export const MIGRATIONS: readonly { readonly version: number; readonly description: string; readonly sql: string }[] = [
  {
    version: 2,
    description:
      "closing becomes a state instead of close_requested_at; unifiedorder parameters derived from the order's columns (client_ip kept) " +
      "instead of a copy in wechat_params; refunded_amount derived from the refunds; CHECK on every status; the refunds' history " +
      "in the history table (refund_id, event); no AUTOINCREMENT (rows are never deleted, so rowid order is insertion order)",
    sql: `
${ORDER_TABLE("order_record_v2")}
INSERT INTO order_record_v2 (singleton, id, openid, status, amount, description, items, request_hash, client_ip, transaction_id,
  created_at, paid_at, expires_at, prepay_id, prepay_issued_at, last_queried_at, paid_after_close, next_check_at, check_attempts)
SELECT singleton, id, openid, CASE WHEN status = 'pending' AND close_requested_at IS NOT NULL THEN 'closing' ELSE status END,
  amount, description, items, request_hash, COALESCE(json_extract(wechat_params, '$.spbillCreateIp'), ''), transaction_id,
  created_at, paid_at, expires_at, prepay_id, prepay_issued_at, last_queried_at, paid_after_close, next_check_at, check_attempts
FROM order_record;
DROP TABLE order_record;
ALTER TABLE order_record_v2 RENAME TO order_record;
${HISTORY_TABLE("history_v2")}
INSERT INTO history_v2 (seq, at, from_status, to_status, source, note) SELECT seq, at, from_status, to_status, source, note FROM history;
DROP TABLE history;
ALTER TABLE history_v2 RENAME TO history;
${REFUNDS_TABLE("refunds_v2")}
INSERT INTO refunds_v2 SELECT id, amount, reason, status, idempotency_key, request_hash, refund_id, created_at, submitted_at, finished_at,
  failure, needs_attention, attempts, last_attempt_at, last_checked_at, next_attempt_at FROM refunds;
DROP TABLE refunds;
ALTER TABLE refunds_v2 RENAME TO refunds;
${VERSION_TABLE}`,
  },
  {
    version: 3,
    description: "the outbox of merchant events (events), and the order's version for the operator's index (version, indexed_version)",
    sql: `${V3_COLUMNS}\n${EVENTS_TABLE("events", V3_EVENT_TYPES)}`,
  },
  {
    version: 4,
    description: "the order's shipping information and settlement (shipping); the events' types gain order.shipped and order.settled",
    sql: `
${EVENTS_TABLE("events_v4", EVENT_TYPES)}
INSERT INTO events_v4 SELECT seq, id, type, at, body, status, attempts, last_attempt_at, last_error, next_attempt_at FROM events;
DROP TABLE events;
ALTER TABLE events_v4 RENAME TO events;
${SHIPPING_TABLE}`,
  },
  {
    version: 5,
    description: "nothing changes in an older object (it has every table); a new object creates refunds, events and shipping when it first writes to them",
    sql: "",
  },
];

type OrderRow = {
  id: string;
  openid: string;
  status: OrderState;
  amount: number;
  description: string;
  items: string;
  request_hash: string;
  client_ip: string;
  transaction_id: string | null;
  created_at: number;
  paid_at: number | null;
  expires_at: number;
  prepay_id: string | null;
  prepay_issued_at: number | null;
  last_queried_at: number | null;
  paid_after_close: number;
  next_check_at: number | null;
  check_attempts: number;
};


/** A refund row as the load query packs it: the columns of REFUND_COLUMNS_IN_ORDER, in that order. */
type RefundTuple = [string, number, string | null, RefundState, string | null, string, string | null, number, number | null, number | null, string | null, number, number, number | null, number | null, number | null];

const REFUND_COLUMNS_IN_ORDER =
  "id, amount, reason, status, idempotency_key, request_hash, refund_id, created_at, submitted_at, finished_at, failure, needs_attention, attempts, last_attempt_at, last_checked_at, next_attempt_at";

/** A shipping row as the load query packs it: the columns of SHIPPING_COLUMNS_IN_ORDER, in that order. */
type ShippingTuple = [
  Shipping["status"], string | null, Shipping["requestedBy"], number | null, number, number | null, number | null, string | null, number,
  number | null, number, number | null, number | null, Shipping["wechatState"], number | null,
];

const SHIPPING_COLUMNS_IN_ORDER =
  "status, request, requested_by, requested_at, attempts, last_attempt_at, next_attempt_at, last_error, uncertain, uploaded_at, shipments, settled_at, estimated_settlement_at, wechat_state, checked_at";

/**
 * The order, its refunds and its shipping in one statement: the refunds as one JSON array of rows,
 * oldest first; the shipping row (if any) as one; with what the alarm's schedule needs besides (the
 * version columns, and when the first pending merchant event is due), so that arming the alarm
 * after a load costs no statement of its own.
 */
function loadQuery(tables: ReadonlySet<LaterTable>): string {
  const refunds = tables.has("refunds") ? `(SELECT json_group_array(json_array(${REFUND_COLUMNS_IN_ORDER}) ORDER BY created_at, id) FROM refunds)` : "'[]'";
  const shipping = tables.has("shipping") ? `(SELECT json_array(${SHIPPING_COLUMNS_IN_ORDER}) FROM shipping)` : "NULL";
  const nextEvent = tables.has("events") ? "(SELECT next_attempt_at FROM events WHERE status = 'pending' ORDER BY seq LIMIT 1)" : "NULL";
  return `SELECT o.*, ${refunds} AS refunds, ${shipping} AS shipping, ${nextEvent} AS next_event_at FROM order_record o`;
}

/** The order as stored, with what the alarm's schedule needs: what loadQuery reads, kept current by this storage's own writes. */
interface Loaded {
  readonly snapshot: OrderSnapshot | null;
  readonly version: number;
  readonly indexedVersion: number;
  readonly nextEventAt: number | null;
}

type SqlValue = string | number | null;

/** Columns of the order row a patch may set. */
const ORDER_COLUMNS: { readonly [K in keyof Required<OrderPatch>]: string } = {
  state: "status",
  transactionId: "transaction_id",
  paidAt: "paid_at",
  prepayId: "prepay_id",
  prepayIssuedAt: "prepay_issued_at",
  lastQueriedAt: "last_queried_at",
  paidAfterClose: "paid_after_close",
  nextCheckAt: "next_check_at",
  checkAttempts: "check_attempts",
};

const SHIPPING_COLUMNS: { readonly [K in keyof Required<Shipping>]: string } = {
  status: "status",
  request: "request",
  requestedBy: "requested_by",
  requestedAt: "requested_at",
  attempts: "attempts",
  lastAttemptAt: "last_attempt_at",
  nextAttemptAt: "next_attempt_at",
  lastError: "last_error",
  uncertain: "uncertain",
  uploadedAt: "uploaded_at",
  shipments: "shipments",
  settledAt: "settled_at",
  estimatedSettlementAt: "estimated_settlement_at",
  wechatState: "wechat_state",
  checkedAt: "checked_at",
};

const REFUND_COLUMNS: { readonly [K in keyof Required<RefundPatch & { state: RefundState }>]: string } = {
  state: "status",
  refundId: "refund_id",
  submittedAt: "submitted_at",
  finishedAt: "finished_at",
  failure: "failure",
  needsAttention: "needs_attention",
  attempts: "attempts",
  lastAttemptAt: "last_attempt_at",
  lastCheckedAt: "last_checked_at",
  nextAttemptAt: "next_attempt_at",
};

/** One order object's storage. */
export class OrderStorage {
  readonly #storage: DurableObjectStorage;
  readonly #sql: SqlStorage;
  /** 0: no tables (this object was never an order). */
  #version: number;
  /** the alarm as last set by this instance (undefined: not known since it started) */
  #armedAt: number | null | undefined;
  /** the order as stored, once read (see load()); null: read it again */
  #loaded: Loaded | null = null;
  /** which of LATER_TABLES this object has (all of them, once migrated from a version before 5) */
  #tables = new Set<LaterTable>();

  constructor(storage: DurableObjectStorage) {
    this.#storage = storage;
    this.#sql = storage.sql;
    this.#version = this.#storedVersion();
    if (this.#version !== 0 && this.#version < SCHEMA_VERSION) this.#migrate();
  }

  /** The schema version stored here: 0 without tables, 1 for the unversioned first schema. */
  get version(): number {
    return this.#version;
  }

  /**
   * The order with its refunds and shipping as stored, or null if this object holds none. Read from
   * SQLite once per instance: only this class writes an order object's tables, and each of its
   * writes carries its copy forward (applyChange, the same merge as the UPDATE it runs), so a call
   * that only reads, or a decision that writes nothing, costs no statement. A failed transaction
   * leaves the copy unset, and the runtime discards an object whose storage failed.
   */
  load(): OrderSnapshot | null {
    return this.#current().snapshot;
  }

  /** The copy of the order, read from SQLite if this instance has none. */
  #current(): Loaded {
    return this.#loaded ?? this.#read();
  }

  #read(): Loaded {
    if (this.#version === 0) return { snapshot: null, version: 0, indexedVersion: 0, nextEventAt: null };
    const row = this.#all<OrderRow & { refunds: string; shipping: string | null; version: number; indexed_version: number; next_event_at: number | null }>(loadQuery(this.#tables))[0];
    this.#loaded =
      row === undefined
        ? { snapshot: null, version: 0, indexedVersion: 0, nextEventAt: null }
        : {
            snapshot: {
              order: fromOrderRow(row),
              refunds: (JSON.parse(row.refunds) as RefundTuple[]).map(fromRefundTuple),
              shipping: row.shipping === null ? NO_SHIPPING : fromShippingTuple(JSON.parse(row.shipping) as ShippingTuple),
            },
            version: row.version,
            indexedVersion: row.indexed_version,
            nextEventAt: row.next_event_at,
          };
    return this.#loaded;
  }

  /** Stores a new order (creating the tables first) with its creation's writes, in one transaction. */
  create(order: Order, change: Change): void {
    this.#transaction(() => {
      if (this.#version === 0) {
        this.#exec(CURRENT_SCHEMA);
        this.#exec("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)", SCHEMA_VERSION, order.createdAt);
      }
      // The creation's change to the indexed view is counted in the row as it is inserted (version 1, the
      // column's default, plus one), not by an UPDATE after it.
      // Every column is written from `order`, so the row reads back as `order` (the copy below relies on it).
      this.#exec(
        `INSERT INTO order_record (singleton, id, openid, status, amount, description, items, request_hash, client_ip, transaction_id, created_at,
           paid_at, expires_at, prepay_id, prepay_issued_at, last_queried_at, paid_after_close, next_check_at, check_attempts, version)
         VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        order.id, order.openid, order.state, order.amount, order.description, JSON.stringify(order.items), order.requestHash, order.clientIp,
        order.transactionId, order.createdAt, order.paidAt, order.expiresAt, order.prepayId, order.prepayIssuedAt, order.lastQueriedAt,
        sqlValue(order.paidAfterClose), order.nextCheckAt, order.checkAttempts, changesIndexedView(change) ? 2 : 1,
      );
      this.#write(change, false);
    });
    this.#version = SCHEMA_VERSION;
    const created: Loaded = { snapshot: { order, refunds: [], shipping: NO_SHIPPING }, version: changesIndexedView(change) ? 2 : 1, indexedVersion: 0, nextEventAt: null };
    this.#loaded = afterChange(created, change, false);
  }

  /** Writes a decision's change: the row updates and the history entries together, or none of them. */
  commit(change: Change): void {
    const before = this.#loaded;
    this.#transaction(() => this.#write(change));
    this.#loaded = before === null ? null : afterChange(before, change, true);
  }

  /** The order's merchant events, oldest first (few per order: one per payment, close and finished refund). */
  outbox(): OutboxEvent[] {
    if (!this.#tables.has("events")) return [];
    return this.#all<EventRow>("SELECT id, type, at, body, status, attempts, last_attempt_at, last_error, next_attempt_at FROM events ORDER BY seq").map(fromEventRow);
  }

  /** Records an attempt's outcome or a redelivery: a change the index shows, so the order's version moves with it. */
  updateEvent(id: string, patch: EventPatch): void {
    this.#storage.transactionSync(() => {
      this.#exec(
        "UPDATE events SET status = ?, attempts = ?, last_attempt_at = ?, last_error = ?, next_attempt_at = ? WHERE id = ?",
        patch.status, patch.attempts, patch.lastAttemptAt, patch.lastError, patch.nextAttemptAt, id,
      );
      this.#exec("UPDATE order_record SET version = version + 1");
    });
  }

  /** The order's version (a count of the changes its index entry shows) and the last version written to the index, as load() sees them. */
  indexState(): { version: number; indexedVersion: number } | null {
    const loaded = this.#current();
    return loaded.snapshot === null ? null : { version: loaded.version, indexedVersion: loaded.indexedVersion };
  }

  /** When the oldest pending merchant event is due (null: none pending), as load() sees it. */
  nextEventDueAt(): number | null {
    return this.#current().nextEventAt;
  }

  /** The index holds `version` (or a newer one): never moves the marker back. */
  markIndexed(version: number): void {
    const before = this.#loaded;
    this.#exec("UPDATE order_record SET indexed_version = MAX(indexed_version, ?)", version);
    this.#loaded = before === null ? null : { ...before, indexedVersion: Math.max(before.indexedVersion, version) };
  }

  /** The order's public history, oldest first. */
  history(): HistoryEntry[] {
    if (this.#version === 0) return [];
    return this.#all<{ at: number; from_status: OrderStatus | null; to_status: OrderStatus; source: TransitionSource; note: string | null }>(
      "SELECT at, from_status, to_status, source, note FROM history WHERE refund_id IS NULL ORDER BY seq",
    ).map((r) => ({ at: new Date(r.at).toISOString(), from: r.from_status, to: r.to_status, source: r.source, ...(r.note !== null ? { note: r.note } : {}) }));
  }

  /** Every refund's steps, oldest first. */
  refundHistory(): RefundHistoryEntry[] {
    if (this.#version === 0) return [];
    return this.#all<{ refund_id: string; at: number; from_status: RefundState | null; to_status: RefundState; event: string; source: TransitionSource; note: string | null }>(
      "SELECT refund_id, at, from_status, to_status, event, source, note FROM history WHERE refund_id IS NOT NULL ORDER BY seq",
    ).map((r) => ({
      refundId: r.refund_id,
      at: new Date(r.at).toISOString(),
      from: r.from_status === null ? null : publicRefundStatus(r.from_status),
      to: publicRefundStatus(r.to_status),
      event: r.event,
      source: r.source,
      ...(r.note !== null ? { note: r.note } : {}),
    }));
  }

  /** Arms the object's one alarm for `due` (null: none), skipping the call when it is already so. */
  async arm(due: number | null): Promise<void> {
    if (due === this.#armedAt) return;
    if (due === null) await this.#storage.deleteAlarm();
    else await this.#storage.setAlarm(due);
    this.#armedAt = due;
  }

  /** The alarm fired: the runtime cleared it. */
  alarmFired(): void {
    this.#armedAt = null;
  }

  /** `countVersion`: whether a change to the indexed view counts one more version here (create() counts it in its INSERT). */
  #write(change: Change, countVersion = true): void {
    const sets = Object.entries(change.order) as [keyof OrderPatch, OrderPatch[keyof OrderPatch]][];
    // The version is counted in the same UPDATE as the row's other columns: one statement and one row written, not two.
    const columns = sets.map(([k]) => `${ORDER_COLUMNS[k]} = ?`);
    if (countVersion && changesIndexedView(change)) columns.push("version = version + 1");
    if (columns.length > 0) this.#exec(`UPDATE order_record SET ${columns.join(", ")}`, ...sets.map(([, v]) => sqlValue(v)));
    for (const h of change.history) this.#insertHistory(h);
    if (change.newRefunds.length > 0) this.#ensure("refunds");
    for (const r of change.newRefunds) {
      this.#exec(
        `INSERT INTO refunds (id, amount, reason, status, idempotency_key, request_hash, created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        r.id, r.amount, r.reason, r.state, r.idempotencyKey, r.requestHash, r.createdAt, r.nextAttemptAt,
      );
    }
    for (const [id, patch] of change.refunds) {
      const entries = Object.entries(patch) as [keyof typeof REFUND_COLUMNS, SqlValue | boolean][];
      if (entries.length === 0) continue;
      this.#exec(`UPDATE refunds SET ${entries.map(([k]) => `${REFUND_COLUMNS[k]} = ?`).join(", ")} WHERE id = ?`, ...entries.map(([, v]) => sqlValue(v)), id);
    }
    for (const h of change.refundHistory) this.#insertRefundHistory(h);
    const shipping = Object.entries(change.shipping) as [keyof Shipping, Shipping[keyof Shipping]][];
    if (shipping.length > 0) {
      // One row, made by the first change that concerns shipping: an upsert of the columns the change sets.
      this.#ensure("shipping");
      const columns = shipping.map(([k]) => SHIPPING_COLUMNS[k]);
      this.#exec(
        `INSERT INTO shipping (singleton, ${columns.join(", ")}) VALUES (1, ${columns.map(() => "?").join(", ")})
         ON CONFLICT (singleton) DO UPDATE SET ${columns.map((c) => `${c} = excluded.${c}`).join(", ")}`,
        ...shipping.map(([k, v]) => (k === "request" ? (v === null ? null : JSON.stringify(v)) : sqlValue(v))),
      );
    }
    if (change.events.length > 0) this.#ensure("events");
    for (const e of change.events) this.#insertEvent(e);
  }

  /** Creates one of LATER_TABLES, in the caller's transaction, if this object does not have it yet. */
  #ensure(table: LaterTable): void {
    if (this.#tables.has(table)) return;
    this.#exec(LATER_TABLES[table]);
    this.#tables.add(table);
  }

  /** `write` in one transaction; if it fails, the tables it created are gone again, here as in SQLite. */
  #transaction(write: () => void): void {
    const tables = new Set(this.#tables);
    try {
      this.#storage.transactionSync(write);
    } catch (error) {
      this.#tables = tables;
      throw error;
    }
  }

  /** A new event is pending and due at once: the alarm armed after the commit sends it. */
  #insertEvent(e: NewEvent): void {
    this.#exec("INSERT INTO events (id, type, at, body, status, next_attempt_at) VALUES (?, ?, ?, ?, 'pending', ?)", e.id, e.type, e.at, e.body, e.at);
  }

  #insertHistory(h: HistoryWrite): void {
    this.#exec("INSERT INTO history (at, from_status, to_status, source, note) VALUES (?, ?, ?, ?, ?)", h.at, h.from, h.to, h.source, h.note);
  }

  #insertRefundHistory(h: RefundHistoryWrite): void {
    this.#exec(
      "INSERT INTO history (refund_id, at, from_status, to_status, event, source, note) VALUES (?, ?, ?, ?, ?, ?, ?)",
      h.refundId, h.at, h.from, h.to, h.event, h.source, h.note,
    );
  }

  #storedVersion(): number {
    const tables = this.#all<{ name: string }>(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('order_record', 'schema_migrations', 'refunds', 'events', 'shipping')",
    ).map((t) => t.name);
    for (const name of tables) if (name in LATER_TABLES) this.#tables.add(name as LaterTable);
    if (!tables.includes("schema_migrations")) return tables.includes("order_record") ? 1 : 0;
    return this.#all<{ version: number }>("SELECT MAX(version) AS version FROM schema_migrations")[0]?.version ?? 1;
  }

  /** Applies every migration newer than the stored version, each with its version row, in one transaction. */
  #migrate(): void {
    this.#storage.transactionSync(() => {
      for (const migration of MIGRATIONS) {
        if (migration.version <= this.#version) continue;
        if (migration.sql !== "") this.#exec(migration.sql);
        this.#exec("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)", migration.version, Date.now());
      }
    });
    // Every object from before version 5 has every table by now: versions 1 to 4 created them all.
    if (this.#version < 5) this.#tables = new Set(Object.keys(LATER_TABLES) as LaterTable[]);
    this.#version = SCHEMA_VERSION;
  }

  #all<T extends Record<string, SqlStorageValue>>(query: string, ...params: SqlValue[]): T[] {
    return this.#sql.exec<T>(query, ...params).toArray();
  }

  #exec(query: string, ...params: SqlValue[]): void {
    // Every write goes through here: the copy of the order is unset until the writer (if it can) carries it forward.
    this.#loaded = null;
    // Run to completion: a statement's work is done as its cursor is read.
    for (const _ of this.#sql.exec(query, ...params));
  }
}

/**
 * What loadQuery would read after `change` is written over `loaded`: the order by applyChange, one more
 * version if the change alters the indexed view (when `countVersion`: create() counts it in its
 * INSERT), and the first pending event's due time (a new event is pending and due at its time;
 * one already pending stays first).
 */
function afterChange(loaded: Loaded, change: Change, countVersion: boolean): Loaded | null {
  if (loaded.snapshot === null) return null;
  return {
    snapshot: applyChange(loaded.snapshot, change),
    version: loaded.version + (countVersion && changesIndexedView(change) ? 1 : 0),
    indexedVersion: loaded.indexedVersion,
    nextEventAt: loaded.nextEventAt ?? change.events[0]?.at ?? null,
  };
}

function sqlValue(value: unknown): SqlValue {
  if (typeof value === "boolean") return value ? 1 : 0;
  return value as SqlValue;
}

type EventRow = {
  id: string;
  type: EventType;
  at: number;
  body: string;
  status: EventStatus;
  attempts: number;
  last_attempt_at: number | null;
  last_error: string | null;
  next_attempt_at: number | null;
};

function fromEventRow(row: EventRow): OutboxEvent {
  return {
    id: row.id, type: row.type, at: row.at, body: row.body, status: row.status, attempts: row.attempts,
    lastAttemptAt: row.last_attempt_at, lastError: row.last_error, nextAttemptAt: row.next_attempt_at,
  };
}

function fromOrderRow(row: OrderRow): Order {
  return {
    id: row.id,
    openid: row.openid,
    state: row.status,
    amount: row.amount,
    description: row.description,
    items: JSON.parse(row.items) as LineItem[],
    requestHash: row.request_hash,
    clientIp: row.client_ip,
    transactionId: row.transaction_id,
    createdAt: row.created_at,
    paidAt: row.paid_at,
    expiresAt: row.expires_at,
    prepayId: row.prepay_id,
    prepayIssuedAt: row.prepay_issued_at,
    lastQueriedAt: row.last_queried_at,
    paidAfterClose: row.paid_after_close === 1,
    nextCheckAt: row.next_check_at,
    checkAttempts: row.check_attempts,
  };
}

function fromShippingTuple([status, request, requestedBy, requestedAt, attempts, lastAttemptAt, nextAttemptAt, lastError, uncertain, uploadedAt, shipments, settledAt, estimatedSettlementAt, wechatState, checkedAt]: ShippingTuple): Shipping {
  return {
    status, request: request === null ? null : (JSON.parse(request) as ShippingRequest), requestedBy, requestedAt, attempts, lastAttemptAt, nextAttemptAt, lastError,
    uncertain: uncertain === 1, uploadedAt, shipments, settledAt, estimatedSettlementAt, wechatState, checkedAt,
  };
}

function fromRefundTuple([id, amount, reason, state, idempotencyKey, requestHash, refundId, createdAt, submittedAt, finishedAt, failure, needsAttention, attempts, lastAttemptAt, lastCheckedAt, nextAttemptAt]: RefundTuple): Refund {
  return { id, amount, reason, state, idempotencyKey, requestHash, refundId, createdAt, submittedAt, finishedAt, failure, needsAttention: needsAttention === 1, attempts, lastAttemptAt, lastCheckedAt, nextAttemptAt };
}
