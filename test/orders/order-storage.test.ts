// The order object's schema versions: a new order gets the current schema (its later tables with
// their first writes); an object stored by an older schema is upgraded in place, its data intact;
// an unknown id stores nothing.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { OrderObject } from "../../src/orders/order-object";
import * as decide from "../../src/orders/decisions";
import { MIGRATIONS, OrderStorage, SCHEMA_VERSION } from "../../src/orders/order-storage";
import { decideShippingRequest } from "../../src/orders/shipping-decisions";
import { orderObject } from "../../src/orders/order-store";
import { startHarness } from "../support/harness";
import V1_SCHEMA from "./fixtures/order-schema-v1.sql?raw";

const CREATED = Date.UTC(2026, 11, 1, 6, 0, 0);
const PARAMS = JSON.stringify({
  body: "Coffee", totalFee: 1800, openid: "o-old-payer", spbillCreateIp: "203.0.113.7", notifyUrl: "http://127.0.0.1:8787/api/pay/notify",
  timeStart: "20261201140000", timeExpire: "20261201143000",
});

/** Writes a v1 order (and, if asked, two refunds) straight into the object's SQLite, as the old code left it. */
function storeV1(sql: SqlStorage, order: { id: string; status: string; closeRequested?: boolean; refunded?: boolean }): void {
  sql.exec(V1_SCHEMA);
  sql.exec(
    `INSERT INTO order_record (singleton, id, openid, status, amount, refunded_amount, description, items, request_hash, wechat_params,
       transaction_id, created_at, paid_at, expires_at, close_requested_at, next_check_at) VALUES (1, ?, 'o-old-payer', ?, 1800, ?, 'Coffee',
       '[{"sku":"coffee","name":"Coffee","unitPrice":1800,"quantity":1,"lineTotal":1800}]', 'h', ?, ?, ?, ?, ?, ?, ?)`,
    order.id, order.status, order.refunded ? 500 : 0, PARAMS, order.status === "pending" ? null : "4200000000000000000000000001",
    CREATED, order.status === "pending" ? null : CREATED + 60_000, CREATED + 1_800_000, order.closeRequested ? CREATED + 10_000 : null,
    order.status === "pending" ? CREATED + 1_860_000 : null,
  );
  sql.exec("INSERT INTO history (at, from_status, to_status, source) VALUES (?, NULL, 'pending', 'api')", CREATED);
  if (order.status !== "pending") sql.exec("INSERT INTO history (at, from_status, to_status, source) VALUES (?, 'pending', 'paid', 'notify')", CREATED + 60_000);
  if (order.refunded) {
    sql.exec("INSERT INTO history (at, from_status, to_status, source, note) VALUES (?, 'paid', 'partially_refunded', 'notify', 'refund R1 of 500 fen')", CREATED + 90_000);
    sql.exec(
      `INSERT INTO refunds (id, amount, reason, status, idempotency_key, request_hash, refund_id, created_at, submitted_at, finished_at)
       VALUES ('20261201140100R0000000000000001', 500, 'cold', 'succeeded', 'k1', 'x', '50000000000000000000000000001', ?, ?, ?)`,
      CREATED + 70_000, CREATED + 71_000, CREATED + 90_000,
    );
    sql.exec(
      `INSERT INTO refunds (id, amount, status, request_hash, created_at, attempts, last_attempt_at, next_attempt_at)
       VALUES ('20261201140200R0000000000000002', 300, 'queued', 'y', ?, 1, ?, ?)`,
      CREATED + 100_000, CREATED + 100_000, CREATED + 4_000_000,
    );
  }
}

/** Each table's definition (SQLite keeps the CREATE statement; a renamed table's name comes back quoted). */
function schemaOf(sql: SqlStorage): Record<string, string> {
  const rows = sql.exec<{ name: string; sql: string }>("SELECT name, sql FROM sqlite_master WHERE type IN ('table', 'index') AND sql IS NOT NULL ORDER BY name").toArray();
  return Object.fromEntries(
    rows.filter((r) => !r.name.startsWith("_cf_") && !r.name.startsWith("sqlite_")).map((r) => [r.name, r.sql.replace(/^CREATE TABLE "?(\w+?)"? \(/, "CREATE TABLE $1 (")]),
  );
}

const storedVersion = (sql: SqlStorage) => sql.exec<{ v: number }>("SELECT MAX(version) AS v FROM schema_migrations").one().v;

describe("the order object's schema", () => {
  it("upgrades a paid, partly refunded v1 object in place: order, history and refunds survive, the version is current", async () => {
    const id = "20261201140000OldSchemaPaid000001";
    await runInDurableObject(orderObject(env, id), async (_instance, ctx) => {
      storeV1(ctx.storage.sql, { id, status: "partially_refunded", refunded: true });
      const upgraded = new OrderObject(ctx, env);
      expect(storedVersion(ctx.storage.sql)).toBe(SCHEMA_VERSION);
      expect(upgraded.read()).toMatchObject({
        id, openid: "o-old-payer", status: "partially_refunded", amount: 1800, refundedAmount: 500, clientIp: "203.0.113.7",
        transactionId: "4200000000000000000000000001", paidAt: CREATED + 60_000, expiresAt: CREATED + 1_800_000,
      });
      expect(upgraded.history().map((e) => [e.from, e.to, e.source])).toEqual([[null, "pending", "api"], ["pending", "paid", "notify"], ["paid", "partially_refunded", "notify"]]);
      expect(upgraded.refunds()).toEqual([
        expect.objectContaining({ id: "20261201140100R0000000000000001", amount: 500, status: "succeeded", reason: "cold", refundId: "50000000000000000000000000001" }),
        expect.objectContaining({ id: "20261201140200R0000000000000002", amount: 300, status: "processing" }),
      ]);
      // The queued refund keeps its schedule.
      expect(upgraded.nextDueAt()).toBe(CREATED + 4_000_000);
    });
  });

  it("turns a v1 close under way into the closing state: pending to the public, not payable, and finished by the alarm", async () => {
    const h = startHarness();
    const id = "20261201140000OldSchemaClosing01";
    await runInDurableObject(orderObject(env, id), async (_instance, ctx) => {
      storeV1(ctx.storage.sql, { id, status: "pending", closeRequested: true });
      const upgraded = new OrderObject(ctx, env);
      expect(ctx.storage.sql.exec<{ status: string }>("SELECT status FROM order_record").one().status).toBe("closing");
      expect(upgraded.read()?.status).toBe("pending");
      expect(await upgraded.preparePayment("o-old-payer")).toEqual({ ok: false, error: { reason: "expired" } });
      await upgraded.alarm();
      expect(upgraded.read()?.status).toBe("closed");
      expect(upgraded.history().at(-1)).toMatchObject({ from: "pending", to: "closed", source: "alarm" });
    });
    expect((await h.calls("close")).map((c) => c.outTradeNo)).toEqual([id]);
  });

  it("gives a new order only the order, history and version tables; refunds, events and shipping come with their first write", async () => {
    const h = startHarness();
    const { token } = await h.login();
    const created = (await (await h.createOrder(token)).json()) as { order: { id: string } };
    const stub = orderObject(env, created.order.id);
    const tables = await runInDurableObject(stub, (_i, ctx) => Object.keys(schemaOf(ctx.storage.sql)));
    expect(tables).toEqual(["history", "order_record", "schema_migrations"]);
    const later = await runInDurableObject(stub, (_i, ctx) => {
      const store = new OrderStorage(ctx.storage);
      const added: string[][] = [];
      const step = (decided: decide.Decision<unknown>) => {
        store.commit(decided.change);
        added.push(Object.keys(schemaOf(ctx.storage.sql)).filter((t) => !tables.includes(t)));
      };
      const at = Date.now();
      step(decide.onPaymentConfirmed(store.load()!, { transactionId: "4200000000000000000000000001", totalFee: String(store.load()!.order.amount), paidAt: at }, "notify", at));
      step(decide.decideNewRefund(store.load()!, { id: "20261201140010R0000000000000001", amount: 100, reason: null, idempotencyKey: "k1", requestHash: "r" }, at));
      step(decideShippingRequest(store.load()!, { logisticsType: "virtual", packages: [{ itemDesc: "Coffee" }], split: false, isAllDelivered: null }, at));
      return added;
    });
    expect(later).toEqual([["events"], ["events", "refunds"], ["events", "refunds", "shipping"]]);
  });

  it("leaves a migrated object with the same tables, columns and constraints as a new one that has written to every table", async () => {
    const h = startHarness();
    const { token } = await h.login();
    const created = (await (await h.createOrder(token)).json()) as { order: { id: string } };
    const fresh = await runInDurableObject(orderObject(env, created.order.id), (_i, ctx) => {
      const store = new OrderStorage(ctx.storage);
      const at = Date.now();
      store.commit(decide.onPaymentConfirmed(store.load()!, { transactionId: "4200000000000000000000000001", totalFee: String(store.load()!.order.amount), paidAt: at }, "notify", at).change);
      store.commit(decide.decideNewRefund(store.load()!, { id: "20261201140010R0000000000000001", amount: 100, reason: null, idempotencyKey: "k1", requestHash: "r" }, at).change);
      store.commit(decideShippingRequest(store.load()!, { logisticsType: "virtual", packages: [{ itemDesc: "Coffee" }], split: false, isAllDelivered: null }, at).change);
      return schemaOf(ctx.storage.sql);
    });
    const migrated = await runInDurableObject(orderObject(env, "20261201140000OldSchemaColumns01"), (_i, ctx) => {
      storeV1(ctx.storage.sql, { id: "20261201140000OldSchemaColumns01", status: "paid" });
      new OrderObject(ctx, env);
      return schemaOf(ctx.storage.sql);
    });
    expect(Object.keys(fresh)).toEqual(["events", "history", "order_record", "refunds", "schema_migrations", "shipping"]);
    expect(migrated).toEqual(fresh);
  });

  it("upgrades a version 3 object in place: its merchant events kept, the shipping events allowed, no shipping yet", async () => {
    const id = "20261201140000OldSchemaEvents001";
    await runInDurableObject(orderObject(env, id), async (_instance, ctx) => {
      storeV1(ctx.storage.sql, { id, status: "paid" });
      // What the version 3 code left: the migrations up to 3, and an event of the order's payment.
      for (const migration of MIGRATIONS.filter((m) => m.version <= 3)) {
        ctx.storage.sql.exec(migration.sql);
        ctx.storage.sql.exec("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)", migration.version, CREATED);
      }
      ctx.storage.sql.exec("INSERT INTO events (id, type, at, body, status, attempts) VALUES (?, 'order.paid', ?, '{}', 'delivered', 1)", `evt_${id}.paid`, CREATED + 60_000);
      expect(() => ctx.storage.sql.exec("INSERT INTO events (id, type, at, body, status) VALUES ('e2', 'order.shipped', 1, '{}', 'pending')")).toThrow(/CHECK/);

      const upgraded = new OrderObject(ctx, env);
      expect(storedVersion(ctx.storage.sql)).toBe(SCHEMA_VERSION);
      expect((await upgraded.adminView()).ok && (await upgraded.adminView())).toMatchObject({ value: { events: [{ id: `evt_${id}.paid`, type: "order.paid", status: "delivered", attempts: 1 }], shipping: null } });
      ctx.storage.sql.exec("INSERT INTO events (id, type, at, body, status) VALUES ('e2', 'order.shipped', 1, '{}', 'pending')");
    });
  });

  it("refuses a status the state tables do not know", async () => {
    const h = startHarness();
    const { token } = await h.login();
    const created = (await (await h.createOrder(token)).json()) as { order: { id: string } };
    await runInDurableObject(orderObject(env, created.order.id), (_i, ctx) => {
      expect(() => ctx.storage.sql.exec("UPDATE order_record SET status = 'shipped'")).toThrow(/CHECK/);
      expect(() => ctx.storage.sql.exec("INSERT INTO history (at, to_status, source) VALUES (1, 'closing', 'api')")).toThrow(/CHECK/);
    });
  });
});
