// One Durable Object per order (named by its out_trade_no): the single owner of the order's state.
// Every change, whether from the API, a notification, a query, a close or an alarm, goes
// through checkTransition() inside this object, so racing events still leave one consistent state.
import { DurableObject } from "cloudflare:workers";
import { requireConfig } from "../config";
import { ApiError, toErrorData, type Outcome } from "../errors";
import type { Env } from "../env";
import { log } from "../log";
import { upstreamError } from "../upstream-errors";
import { parseBeijingTime } from "../wechat/beijing-time";
import { WeChatError } from "../wechat/errors";
import { createPayClient, type PayClient } from "../wechat/pay-client";
import { checkTransition, type OrderStatus, type TransitionSource } from "./order-state";
import type { HistoryEntry, OrderRecord, WeChatOrderParams } from "./order-record";
import type { LineItem } from "./pricing";

/** A prepay_id is valid for 2 h; we stop handing it out 10 min before so the payer has time to pay. */
export const PREPAY_TTL_MS = 2 * 3600_000;
export const PREPAY_REUSE_MARGIN_MS = 10 * 60_000;
/** GET on a pending order asks WeChat at most this often. */
export const QUERY_MIN_INTERVAL_MS = 5_000;

export interface NewOrder {
  readonly id: string;
  readonly openid: string;
  readonly amount: number;
  readonly description: string;
  readonly items: readonly LineItem[];
  readonly requestHash: string;
  readonly wechat: WeChatOrderParams;
  readonly createdAt: number;
  readonly expiresAt: number;
}

/** What a verified payment notification (or query) says about the money. */
export interface PaymentFact {
  readonly transactionId: string;
  /** total_fee exactly as WeChat sent it: compared as a string, so "0100" never equals 100 */
  readonly totalFee: string;
  readonly timeEnd?: string;
}

export type PaymentOutcome = "applied" | "repeated";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS order_record (
  singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
  id TEXT NOT NULL,
  openid TEXT NOT NULL,
  status TEXT NOT NULL,
  amount INTEGER NOT NULL,
  refunded_amount INTEGER NOT NULL DEFAULT 0,
  description TEXT NOT NULL,
  items TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  wechat_params TEXT NOT NULL,
  transaction_id TEXT,
  created_at INTEGER NOT NULL,
  paid_at INTEGER,
  expires_at INTEGER NOT NULL,
  prepay_id TEXT,
  prepay_issued_at INTEGER,
  last_queried_at INTEGER,
  paid_after_close INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS history (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  at INTEGER NOT NULL,
  from_status TEXT,
  to_status TEXT NOT NULL,
  source TEXT NOT NULL,
  note TEXT
);`;

type OrderRow = {
  id: string;
  openid: string;
  status: string;
  amount: number;
  refunded_amount: number;
  description: string;
  items: string;
  request_hash: string;
  wechat_params: string;
  transaction_id: string | null;
  created_at: number;
  paid_at: number | null;
  expires_at: number;
  prepay_id: string | null;
  prepay_issued_at: number | null;
  last_queried_at: number | null;
  paid_after_close: number;
};

type HistoryRow = { at: number; from_status: string | null; to_status: string; source: string; note: string | null };

export class OrderObject extends DurableObject<Env> {
  readonly #sql: SqlStorage;
  /** One unifiedorder at a time: concurrent pay requests share its answer instead of racing. */
  #prepayInFlight: Promise<Outcome<OrderRecord>> | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#sql = ctx.storage.sql;
    this.#sql.exec(SCHEMA);
  }

  /** Stores a new order, or returns the one already stored under this id (created: false). */
  create(input: NewOrder): { order: OrderRecord; created: boolean } {
    const existing = this.#read();
    if (existing) return { order: existing, created: false };
    this.#sql.exec(
      `INSERT INTO order_record (singleton, id, openid, status, amount, description, items, request_hash,
         wechat_params, created_at, expires_at) VALUES (1, ?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?)`,
      input.id, input.openid, input.amount, input.description, JSON.stringify(input.items),
      input.requestHash, JSON.stringify(input.wechat), input.createdAt, input.expiresAt,
    );
    this.#appendHistory(input.createdAt, null, "pending", "api");
    return { order: this.#mustRead(), created: true };
  }

  /** The stored order, or null if this object holds none. */
  read(): OrderRecord | null {
    return this.#read();
  }

  history(): HistoryEntry[] {
    return this.#sql
      .exec<HistoryRow>("SELECT at, from_status, to_status, source, note FROM history ORDER BY seq")
      .toArray()
      .map((r) => ({
        at: new Date(r.at).toISOString(),
        from: r.from_status as OrderStatus | null,
        to: r.to_status as OrderStatus,
        source: r.source as TransitionSource,
        ...(r.note !== null ? { note: r.note } : {}),
      }));
  }

  /**
   * A prepay_id the payer can use now: the stored one while it is fresh, else a unifiedorder with the
   * order's fixed parameters. A pending order stays pending (without prepay_id) when WeChat fails
   * in a way that a retry can fix; a definitive refusal marks it failed.
   */
  async preparePayment(requestId?: string): Promise<Outcome<OrderRecord>> {
    const order = this.#read();
    if (!order) return notFound();
    const now = Date.now();
    const refusal = payable(order, now);
    if (refusal) return refusal;
    if (order.prepayId !== null && order.prepayIssuedAt !== null && now < order.prepayIssuedAt + PREPAY_TTL_MS - PREPAY_REUSE_MARGIN_MS) {
      return { ok: true, value: order };
    }
    this.#prepayInFlight ??= this.#unifiedOrder(order, requestId).finally(() => {
      this.#prepayInFlight = null;
    });
    return this.#prepayInFlight;
  }

  /**
   * The order after asking WeChat about it, if it is pending and was not asked in the last few
   * seconds. A failed query is logged and the stored state returned: reads never fail on WeChat.
   */
  async refresh(requestId?: string): Promise<OrderRecord | null> {
    const order = this.#read();
    if (!order || order.status !== "pending") return order;
    const now = Date.now();
    if (order.lastQueriedAt !== null && now - order.lastQueriedAt < QUERY_MIN_INTERVAL_MS) return order;
    this.#sql.exec("UPDATE order_record SET last_queried_at = ?", now);
    try {
      await this.#queryAndApply("query");
    } catch (error) {
      if (!(error instanceof WeChatError)) throw error;
      upstreamError(error, requestId);
    }
    return this.#read();
  }

  /** Closes the order at WeChat, then here. A paid order (even one WeChat reveals as paid now) → 409. */
  async close(requestId?: string): Promise<Outcome<OrderRecord>> {
    const order = this.#read();
    if (!order) return notFound();
    if (order.status === "closed") return { ok: true, value: order };
    if (order.status !== "pending" && order.status !== "failed") return alreadyDone(order.status);
    try {
      await this.#client().closeOrder({ outTradeNo: order.id });
    } catch (error) {
      if (!(error instanceof WeChatError)) throw error;
      const code = businessCode(error);
      if (code === "ORDERPAID") {
        await this.#queryAndApply("close").catch(() => undefined);
        return alreadyDone("paid");
      }
      // ORDERCLOSED: already closed at WeChat; ORDERNOTEXIST: WeChat never accepted it.
      if (code !== "ORDERCLOSED" && code !== "ORDERNOTEXIST") return { ok: false, error: toErrorData(upstreamError(error, requestId)) };
    }
    return this.#transition("closed", "close");
  }

  /**
   * Records a payment that WeChat has confirmed (the caller verified the notification's sign,
   * appid and mch_id). The amount must equal the order's, to the fen; repeats change nothing.
   */
  applyPayment(fact: PaymentFact, source: TransitionSource): Outcome<PaymentOutcome> {
    const order = this.#read();
    if (!order) return notFound();
    if (fact.totalFee !== String(order.amount)) {
      log("warn", "payment_amount_mismatch", { orderId: order.id, source });
      return { ok: false, error: toErrorData(ApiError.invalidRequest("The paid amount does not match the order.")) };
    }
    const check = checkTransition(order.status, "paid", source);
    if (check.outcome === "noop") {
      if (order.transactionId !== null && order.transactionId !== fact.transactionId) {
        log("warn", "payment_other_transaction", { orderId: order.id, source });
      }
      return { ok: true, value: "repeated" };
    }
    if (check.outcome === "illegal") {
      return { ok: false, error: { status: 409, code: "invalid_state", message: check.reason } };
    }
    const now = Date.now();
    const paidAt = parsePaidAt(fact.timeEnd) ?? now;
    const afterClose = order.status === "closed" || order.status === "failed";
    this.#sql.exec(
      "UPDATE order_record SET status = 'paid', transaction_id = ?, paid_at = ?, paid_after_close = ?",
      fact.transactionId, paidAt, afterClose ? 1 : 0,
    );
    this.#appendHistory(now, order.status, "paid", source, afterClose ? "paid after the order was closed here: refund it" : undefined);
    if (afterClose) log("warn", "paid_after_close", { orderId: order.id, source });
    return { ok: true, value: "applied" };
  }

  // --- WeChat round trips ------------------------------------------------------------------

  async #unifiedOrder(order: OrderRecord, requestId?: string): Promise<Outcome<OrderRecord>> {
    try {
      const { prepayId } = await this.#client().unifiedOrder({ outTradeNo: order.id, ...order.wechat, totalFee: order.wechat.totalFee });
      const current = this.#mustRead();
      if (current.status !== "pending") return alreadyDone(current.status);
      // The same prepay_id keeps the time WeChat first issued it: its 2 h run from then.
      const issuedAt = prepayId === current.prepayId && current.prepayIssuedAt !== null ? current.prepayIssuedAt : Date.now();
      this.#sql.exec("UPDATE order_record SET prepay_id = ?, prepay_issued_at = ?", prepayId, issuedAt);
      return { ok: true, value: this.#mustRead() };
    } catch (error) {
      if (!(error instanceof WeChatError)) throw error;
      return this.#unifiedOrderFailed(error, requestId);
    }
  }

  async #unifiedOrderFailed(error: WeChatError, requestId?: string): Promise<Outcome<OrderRecord>> {
    const code = businessCode(error);
    if (code === "ORDERPAID" || code === "ORDERCLOSED" || code === "INVALID_REQUEST" || code === "OUT_TRADE_NO_USED") {
      // WeChat knows this out_trade_no in another state than ours (our parameters never change):
      // learn which, and answer with it.
      await this.#queryAndApply("query").catch(() => undefined);
      const current = this.#mustRead();
      if (current.status !== "pending") return alreadyDone(current.status);
    }
    if (!error.retryable) {
      this.#transition("failed", "api", code ?? error.failure.kind);
    }
    return { ok: false, error: toErrorData(upstreamError(error, requestId)) };
  }

  /** Asks WeChat for the order's trade_state and applies what it proves. */
  async #queryAndApply(source: TransitionSource): Promise<void> {
    let result;
    try {
      result = await this.#client().orderQuery({ outTradeNo: this.#mustRead().id });
    } catch (error) {
      if (businessCode(error) === "ORDERNOTEXIST") return;
      throw error;
    }
    if ((result.tradeState === "SUCCESS" || result.tradeState === "REFUND") && result.transactionId !== undefined) {
      this.applyPayment(
        { transactionId: result.transactionId, totalFee: result.fields.total_fee ?? "", ...(result.timeEnd !== undefined ? { timeEnd: result.timeEnd } : {}) },
        source,
      );
    } else if (result.tradeState === "CLOSED" || result.tradeState === "REVOKED") {
      if (this.#mustRead().status === "pending") this.#transition("closed", source, `WeChat says ${result.tradeState}`);
    }
  }

  #client(): PayClient {
    const config = requireConfig(this.env, ["appid", "mchId", "payKey", "signType", "wechatPayApiBase"]);
    return createPayClient({
      apiBase: config.wechatPayApiBase,
      appid: config.appid,
      mchId: config.mchId,
      key: config.payKey,
      signType: config.signType,
    });
  }

  // --- storage -----------------------------------------------------------------------------

  #transition(to: OrderStatus, source: TransitionSource, note?: string): Outcome<OrderRecord> {
    const order = this.#mustRead();
    const check = checkTransition(order.status, to, source);
    if (check.outcome === "illegal") return { ok: false, error: { status: 409, code: "invalid_state", message: check.reason } };
    if (check.outcome === "apply") {
      this.#sql.exec("UPDATE order_record SET status = ?", to);
      this.#appendHistory(Date.now(), order.status, to, source, note);
    }
    return { ok: true, value: this.#mustRead() };
  }

  #appendHistory(at: number, from: OrderStatus | null, to: OrderStatus, source: TransitionSource, note?: string): void {
    this.#sql.exec(
      "INSERT INTO history (at, from_status, to_status, source, note) VALUES (?, ?, ?, ?, ?)",
      at, from, to, source, note ?? null,
    );
  }

  #read(): OrderRecord | null {
    const row = this.#sql.exec<OrderRow>("SELECT * FROM order_record WHERE singleton = 1").toArray()[0];
    return row ? fromRow(row) : null;
  }

  #mustRead(): OrderRecord {
    const order = this.#read();
    if (!order) throw new Error("order record missing");
    return order;
  }
}

function fromRow(row: OrderRow): OrderRecord {
  return {
    id: row.id,
    openid: row.openid,
    status: row.status as OrderStatus,
    amount: row.amount,
    refundedAmount: row.refunded_amount,
    description: row.description,
    items: JSON.parse(row.items) as LineItem[],
    requestHash: row.request_hash,
    wechat: JSON.parse(row.wechat_params) as WeChatOrderParams,
    transactionId: row.transaction_id,
    createdAt: row.created_at,
    paidAt: row.paid_at,
    expiresAt: row.expires_at,
    prepayId: row.prepay_id,
    prepayIssuedAt: row.prepay_issued_at,
    lastQueriedAt: row.last_queried_at,
    paidAfterClose: row.paid_after_close === 1,
  };
}

function payable(order: OrderRecord, now: number): Outcome<never> | null {
  if (order.status !== "pending") return alreadyDone(order.status);
  if (now >= order.expiresAt) {
    return { ok: false, error: { status: 409, code: "invalid_state", message: "The order has expired; place a new one." } };
  }
  return null;
}

function alreadyDone(status: OrderStatus): Outcome<never> {
  return { ok: false, error: { status: 409, code: "invalid_state", message: `The order is ${status}.` } };
}

function notFound(): Outcome<never> {
  return { ok: false, error: toErrorData(ApiError.notFound("No such order.")) };
}

function businessCode(error: unknown): string | undefined {
  return error instanceof WeChatError && error.failure.kind === "business" ? error.failure.code : undefined;
}

function parsePaidAt(timeEnd: string | undefined): number | null {
  if (timeEnd === undefined) return null;
  try {
    return parseBeijingTime(timeEnd);
  } catch {
    return null;
  }
}
