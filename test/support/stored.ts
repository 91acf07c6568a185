// Writing an order object's rows behind its back, as a test must to set up a state the service
// would not reach by itself (a row an older version left, a close WeChat never saw).
import { runInDurableObject } from "cloudflare:test";

/**
 * Runs `write` on the object's SQLite, then restarts the object: its storage keeps the order in
 * memory between calls (OrderStorage.load), so the next call must start a new instance, as after
 * an eviction, to read what `write` left.
 */
export async function writeBehindObject(stub: DurableObjectStub, write: (sql: SqlStorage) => void): Promise<void> {
  await runInDurableObject(stub, (_instance, ctx) => {
    write(ctx.storage.sql);
  });
  await restartObject(stub);
}

/** Discards the object's instance (ctx.abort): the next call starts a new one from what is stored. */
export async function restartObject(stub: DurableObjectStub): Promise<void> {
  await runInDurableObject(stub, (_instance, ctx) => ctx.abort("restarted by the test")).then(
    () => {
      throw new Error("ctx.abort() did not end the call");
    },
    () => undefined,
  );
}

/** The rows of one of the object's tables; none when it has no such table (since schema version 5, refunds, events and shipping come with their first write). */
export function storedRows(stub: DurableObjectStub, table: "shipping" | "refunds" | "events"): Promise<Record<string, SqlStorageValue>[]> {
  return runInDurableObject(stub, (_instance, ctx) => {
    const exists = ctx.storage.sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", table).toArray().length > 0;
    return exists ? ctx.storage.sql.exec(`SELECT * FROM ${table}`).toArray() : [];
  });
}
