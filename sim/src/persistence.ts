// The simulator's state in a store, so that a simulator built again (its Durable Object evicted
// when idle, `npm run dev` restarted) carries on where the last one stopped. Only what may have
// changed is written: the record maps note touched keys (state.ts), the call log what it appended.
import type { CallRecord } from "./call-log";
import type { SimContext } from "./context";
import type { FaultSpec } from "./faults";
import type { HeldPostView } from "./notifier";
import type { SimSettings } from "./settings";
import { STATE_COLLECTIONS, type NotificationKind, type RecordMap } from "./state";

/** One stored row: a collection (a record map, "calls" or "meta"), a key, and the value as JSON. */
export type StoredRow = [collection: string, key: string, json: string];

export interface StoreBatch {
  /** Collections emptied before the rows are put. */
  clear: string[];
  put: StoredRow[];
  delete: [collection: string, key: string][];
}

/**
 * Where a simulator's state lives between instances. Both calls are synchronous: a batch is
 * written whole, never interleaved with a request.
 */
export interface SimStore {
  /** Every row, in the order each was first put. */
  load(): StoredRow[];
  write(batch: StoreBatch): void;
}

/** The small things stored as one row, rewritten when any of them changes. */
interface Meta {
  offsetMs: number;
  settings: SimSettings;
  faults: FaultSpec[];
  holding: NotificationKind[];
  held: HeldPostView[];
}

/** Calls are keyed by their index, zero-padded so that keys sort as the calls were made. */
const callKey = (index: number) => String(index).padStart(12, "0");

export class Persistence {
  readonly #ctx: SimContext;
  readonly #store: SimStore;
  #storedMeta = "";
  /** Requests and runs of due work under way; touched keys are kept until none is. */
  #running = 0;

  constructor(ctx: SimContext, store: SimStore) {
    this.#ctx = ctx;
    this.#store = store;
  }

  /** Fills the (fresh) context with what the store holds. */
  load(): void {
    const { state } = this.#ctx;
    const calls: CallRecord[] = [];
    let meta: Meta | null = null;
    for (const [collection, key, json] of this.#store.load()) {
      if (collection === "calls") calls.push(JSON.parse(json) as CallRecord);
      else if (collection === "meta") meta = JSON.parse(json) as Meta;
      else if ((STATE_COLLECTIONS as readonly string[]).includes(collection)) {
        (state[collection as (typeof STATE_COLLECTIONS)[number]] as RecordMap<unknown>).set(key, JSON.parse(json));
      }
    }
    this.#ctx.calls.restore(calls);
    if (meta) {
      this.#ctx.time.restore(meta.offsetMs);
      Object.assign(this.#ctx.settings, meta.settings);
      for (const fault of meta.faults) this.#ctx.faults.add(fault);
      this.#ctx.notifier.restoreHold(meta);
      this.#storedMeta = JSON.stringify(meta);
    }
    // An attempt that was under way when the last instance stopped never got its answer: it is
    // made again now, as a retry of WeChat's would be.
    const now = this.#ctx.time.now();
    for (const record of [...state.orders.peek(), ...state.refunds.peek()]) {
      const job = record.notification;
      if (job?.inFlight) {
        job.inFlight = false;
        if (!job.acknowledged && !job.givenUp) job.nextAttemptAt = now;
      }
    }
    for (const name of STATE_COLLECTIONS) state[name].forgetTouched();
  }

  /**
   * Around each request and each run of due work. A record fetched by one may still change after
   * another one saved, so touched keys are forgotten only when nothing runs.
   */
  async around<T>(work: () => Promise<T>): Promise<T> {
    this.#running += 1;
    try {
      return await work();
    } finally {
      this.save();
      this.#running -= 1;
      if (this.#running === 0) for (const name of STATE_COLLECTIONS) this.#ctx.state[name].forgetTouched();
    }
  }

  /** Writes everything that may have changed since the last save. */
  save(): void {
    const batch: StoreBatch = { clear: [], put: [], delete: [] };
    const { state } = this.#ctx;
    for (const name of STATE_COLLECTIONS) {
      const map = state[name] as RecordMap<unknown>;
      const { cleared, keys } = map.touched();
      if (cleared) batch.clear.push(name);
      for (const key of keys) {
        // peek(): reading for the store is not a change.
        if (map.has(key)) batch.put.push([name, key, JSON.stringify(Map.prototype.get.call(map, key))]);
        else if (!cleared) batch.delete.push([name, key]);
      }
    }
    const calls = this.#ctx.calls.takeUnstored();
    if (calls.cleared) batch.clear.push("calls");
    calls.calls.forEach((call, i) => batch.put.push(["calls", callKey(calls.from + i), JSON.stringify(call)]));
    const meta: Meta = {
      offsetMs: this.#ctx.time.offsetMs,
      settings: this.#ctx.settings,
      faults: this.#ctx.faults.list(),
      ...this.#ctx.notifier.holdSnapshot(),
    };
    const metaJson = JSON.stringify(meta);
    if (metaJson !== this.#storedMeta) {
      batch.put.push(["meta", "meta", metaJson]);
      this.#storedMeta = metaJson;
    }
    if (batch.clear.length + batch.put.length + batch.delete.length > 0) this.#store.write(batch);
  }
}

/** A SimStore in a SQLite-backed Durable Object's own storage: one table of JSON rows. */
export class SqlSimStore implements SimStore {
  readonly #storage: DurableObjectStorage;

  constructor(storage: DurableObjectStorage) {
    this.#storage = storage;
    storage.sql.exec(
      "CREATE TABLE IF NOT EXISTS sim_state (collection TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (collection, key))",
    );
  }

  load(): StoredRow[] {
    // rowid: an upsert keeps a row's place, so this is the order in which keys were first stored.
    return this.#storage.sql
      .exec<{ collection: string; key: string; value: string }>("SELECT collection, key, value FROM sim_state ORDER BY rowid")
      .toArray()
      .map((row) => [row.collection, row.key, row.value]);
  }

  write(batch: StoreBatch): void {
    const { sql } = this.#storage;
    this.#storage.transactionSync(() => {
      for (const collection of batch.clear) sql.exec("DELETE FROM sim_state WHERE collection = ?", collection);
      for (const [collection, key] of batch.delete) sql.exec("DELETE FROM sim_state WHERE collection = ? AND key = ?", collection, key);
      for (const [collection, key, value] of batch.put) {
        sql.exec(
          "INSERT INTO sim_state (collection, key, value) VALUES (?, ?, ?) ON CONFLICT (collection, key) DO UPDATE SET value = excluded.value",
          collection,
          key,
          value,
        );
      }
    });
  }

  /** The real time the dev clock counts from (see index.ts), stored on first use so that it survives too. */
  clockOrigin(now: number): number {
    this.#storage.sql.exec("CREATE TABLE IF NOT EXISTS sim_clock (origin INTEGER NOT NULL)");
    const row = this.#storage.sql.exec<{ origin: number }>("SELECT origin FROM sim_clock").toArray()[0];
    if (row) return row.origin;
    this.#storage.sql.exec("INSERT INTO sim_clock (origin) VALUES (?)", now);
    return now;
  }
}
