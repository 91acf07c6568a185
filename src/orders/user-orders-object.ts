// One Durable Object per mini-program user (named by openid): the index of that user's orders,
// newest first, and the user's Idempotency-Keys. It holds ids only; each order's state lives in
// its own OrderObject.
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";
import { encodeCursor, type ListPosition } from "./order-cursor";

export type Reservation =
  | { readonly kind: "new"; readonly orderId: string }
  /** the same Idempotency-Key with the same request: the order it created before */
  | { readonly kind: "replay"; readonly orderId: string }
  /** the same Idempotency-Key with a different request */
  | { readonly kind: "conflict" };

export interface OrderPage {
  readonly orderIds: readonly string[];
  readonly cursor: string | null;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS user_orders (
  order_id TEXT PRIMARY KEY,
  created_at INTEGER NOT NULL,
  idempotency_key TEXT UNIQUE,
  request_hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS user_orders_newest ON user_orders (created_at DESC, order_id DESC);`;

export class UserOrdersObject extends DurableObject<Env> {
  readonly #sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#sql = ctx.storage.sql;
    this.#sql.exec(SCHEMA);
  }

  /**
   * Claims an order id for a new order. With an Idempotency-Key the claim is remembered, so a
   * retry of the same request gets the same id back and a different request under that key is refused.
   */
  reserve(input: { orderId: string; createdAt: number; requestHash: string; idempotencyKey: string | null }): Reservation {
    if (input.idempotencyKey !== null) {
      const prior = this.#sql
        .exec<{ order_id: string; request_hash: string }>("SELECT order_id, request_hash FROM user_orders WHERE idempotency_key = ?", input.idempotencyKey)
        .toArray()[0];
      if (prior) return prior.request_hash === input.requestHash ? { kind: "replay", orderId: prior.order_id } : { kind: "conflict" };
    }
    this.#sql.exec(
      "INSERT INTO user_orders (order_id, created_at, idempotency_key, request_hash) VALUES (?, ?, ?, ?)",
      input.orderId, input.createdAt, input.idempotencyKey, input.requestHash,
    );
    return { kind: "new", orderId: input.orderId };
  }

  /** The user's order ids, newest first, `limit` at a time, after `after` (a decoded cursor) if given. */
  list(limit: number, after: ListPosition | null): OrderPage {
    const rows = this.#sql
      .exec<{ order_id: string; created_at: number }>(
        after === null
          ? "SELECT order_id, created_at FROM user_orders ORDER BY created_at DESC, order_id DESC LIMIT ?"
          : "SELECT order_id, created_at FROM user_orders WHERE (created_at, order_id) < (?, ?) ORDER BY created_at DESC, order_id DESC LIMIT ?",
        ...(after === null ? [limit + 1] : [after.createdAt, after.orderId, limit + 1]),
      )
      .toArray();
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      orderIds: page.map((r) => r.order_id),
      cursor: rows.length > limit && last ? encodeCursor({ createdAt: last.created_at, orderId: last.order_id }) : null,
    };
  }
}
