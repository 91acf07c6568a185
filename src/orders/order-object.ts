// One Durable Object per order (named by its out_trade_no): the single owner of the order's state,
// its refunds and its own schedule. Every change, whether from the API, a notification, a query, a
// close or an alarm, goes through checkTransition() here, so racing events leave one consistent
// state. Intent is stored before each call to WeChat, and an alarm finishes whatever a crash or a
// time-out left half done.
import { DurableObject } from "cloudflare:workers";
import { ApiError, toErrorData, type Outcome } from "../errors";
import type { Env } from "../env";
import { secretsOf } from "../config";
import { log, withLogContext } from "../log";
import { upstreamError } from "../upstream";
import { parseBeijingTime } from "../wechat/beijing-time";
import { WeChatError } from "../wechat/errors";
import type { PayClient } from "../wechat/pay-client";
import type { RefundNotice } from "../wechat/refund-notification";
import { checkTransition, type OrderStatus, type TransitionSource } from "./order-state";
import type { HistoryEntry, OrderRecord, RefundView, WeChatOrderParams } from "./order-record";
import { budgetedPayClient } from "./pay-gateway";
import type { LineItem } from "./pricing";
import { refundedAmount, refundRefusal, REFUND_LIMITS, statusAfterRefunds, publicRefundStatus } from "./refund-rules";
import { backoffDelay } from "./retry-schedule";
import { ORDER_SCHEMA, fromOrderRow, fromRefundRow, type OrderRow, type RefundRow } from "./order-schema";

/** A prepay_id is valid for 2 h; we stop handing it out 10 min before so the payer has time to pay. */
export const PREPAY_TTL_MS = 2 * 3600_000;
export const PREPAY_REUSE_MARGIN_MS = 10 * 60_000;
/** GET on a pending order asks WeChat at most this often. */
export const QUERY_MIN_INTERVAL_MS = 5_000;
/** An unpaid order is checked with WeChat this long after it expires (a payment may finish just then). */
export const EXPIRY_GRACE_MS = 60_000;
/** A refund WeChat accepted is checked with refundquery if no notification settled it by then. */
export const REFUND_CHECK_AFTER_MS = 5 * 60_000;
/** Back-off for checks that WeChat could not answer, or answered "not yet". */
export const CHECK_BACKOFF = { baseMs: 30_000, capMs: 3600_000 } as const;

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

export interface NewRefund {
  readonly id: string;
  readonly amount: number;
  readonly reason: string | null;
  readonly idempotencyKey: string | null;
  readonly requestHash: string;
}

/**
 * Whose request it is: a payer's openid (a payer may see and act on their own orders only), or null
 * for the operator and the service itself.
 */
export type Requester = string | null;

export class OrderObject extends DurableObject<Env> {
  readonly #sql: SqlStorage;
  /** One unifiedorder at a time: concurrent pay requests share its answer instead of racing. */
  #prepayInFlight: Promise<Outcome<OrderRecord>> | null = null;
  /** Work on WeChat that is under way in this instance, so an alarm and a request never do it twice at once. */
  readonly #busy = new Set<string>();

  /** Whether this object's tables exist: they are created with its order, so that asking for an id
   * that was never an order leaves nothing stored behind. */
  #hasSchema: boolean;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#sql = ctx.storage.sql;
    this.#hasSchema = this.#sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'order_record'").toArray().length > 0;
  }

  // --- reading -------------------------------------------------------------------------------

  /** The stored order, or null if this object holds none. */
  read(): OrderRecord | null {
    return this.#read();
  }

  history(): HistoryEntry[] {
    if (!this.#hasSchema) return [];
    return this.#sql
      .exec<{ at: number; from_status: string | null; to_status: string; source: string; note: string | null }>(
        "SELECT at, from_status, to_status, source, note FROM history ORDER BY seq",
      )
      .toArray()
      .map((r) => ({
        at: new Date(r.at).toISOString(),
        from: r.from_status as OrderStatus | null,
        to: r.to_status as OrderStatus,
        source: r.source as TransitionSource,
        ...(r.note !== null ? { note: r.note } : {}),
      }));
  }

  refunds(): RefundView[] {
    return this.#refundRows().map(fromRefundRow);
  }

  // --- creating and paying -------------------------------------------------------------------

  /**
   * Stores a new order (or keeps the one already stored under this id, for an Idempotency-Key
   * replay), then prepares its payment as preparePayment() does: one round trip to the object.
   */
  createAndPrepare(input: NewOrder, requestId?: string): Promise<Outcome<OrderRecord>> {
    return this.#logged(requestId, async () => {
      await this.#create(input);
      return this.#preparePayment(this.#mustRead(), requestId);
    });
  }

  /** Stores a new order; an order already stored under this id is kept as it is. */
  async #create(input: NewOrder): Promise<void> {
    if (this.#read()) return;
    if (!this.#hasSchema) {
      this.#sql.exec(ORDER_SCHEMA);
      this.#hasSchema = true;
    }
    this.#sql.exec(
      `INSERT INTO order_record (singleton, id, openid, status, amount, description, items, request_hash,
         wechat_params, created_at, expires_at, next_check_at) VALUES (1, ?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?)`,
      input.id, input.openid, input.amount, input.description, JSON.stringify(input.items),
      input.requestHash, JSON.stringify(input.wechat), input.createdAt, input.expiresAt, input.expiresAt + EXPIRY_GRACE_MS,
    );
    this.#appendHistory(input.createdAt, null, "pending", "api");
    log("info", "order_created", { orderId: input.id, amount: input.amount });
    // Stored first, then the alarm that will settle the order at its expiry if nothing else does.
    await this.#armAlarm();
  }

  /**
   * A prepay_id the payer can use now: the stored one while it is fresh, else a unifiedorder with the
   * order's fixed parameters. A pending order stays pending (without prepay_id) when WeChat fails
   * in a way that a retry can fix; a definitive refusal marks it failed.
   */
  preparePayment(requester: Requester, requestId?: string): Promise<Outcome<OrderRecord>> {
    return this.#forRequester(requester, requestId, (order) => this.#preparePayment(order, requestId));
  }

  async #preparePayment(order: OrderRecord, requestId?: string): Promise<Outcome<OrderRecord>> {
    const now = Date.now();
    const refusal = payable(order, now);
    if (refusal) return refusal;
    if (order.prepayId !== null && order.prepayIssuedAt !== null && now < order.prepayIssuedAt + PREPAY_TTL_MS - PREPAY_REUSE_MARGIN_MS) {
      return { ok: true, value: order };
    }
    this.#prepayInFlight ??= this.#unifiedOrder(order, this.#wechat(), requestId).finally(() => {
      this.#prepayInFlight = null;
    });
    return this.#prepayInFlight;
  }

  /**
   * The order after asking WeChat about it, if it is pending and was not asked in the last few
   * seconds. A failed query is logged and the stored state returned: reads never fail on WeChat.
   */
  refresh(requester: Requester, requestId?: string): Promise<Outcome<OrderRecord>> {
    return this.#forRequester(requester, requestId, async (order) => ({ ok: true, value: await this.#refresh(order, requestId) }));
  }

  async #refresh(order: OrderRecord, requestId?: string): Promise<OrderRecord> {
    if (order.status !== "pending") return order;
    const now = Date.now();
    if (order.lastQueriedAt !== null && now - order.lastQueriedAt < QUERY_MIN_INTERVAL_MS) return order;
    this.#sql.exec("UPDATE order_record SET last_queried_at = ?", now);
    try {
      await this.#queryAndApply("query", this.#wechat());
    } catch (error) {
      if (!(error instanceof WeChatError)) throw error;
      upstreamError(error, requestId);
    }
    return this.#mustRead();
  }

  /** Closes the order at WeChat, then here. A paid order (even one WeChat reveals as paid now) → 409. */
  close(requester: Requester, requestId?: string): Promise<Outcome<OrderRecord>> {
    return this.#forRequester(requester, requestId, (order) => this.#close(order, requestId));
  }

  async #close(order: OrderRecord, requestId?: string): Promise<Outcome<OrderRecord>> {
    if (order.status === "closed") return { ok: true, value: order };
    if (order.status !== "pending" && order.status !== "failed") return alreadyDone(order.status);
    // The intent is stored first: if the call below dies half way, the alarm finishes the close.
    this.#sql.exec("UPDATE order_record SET close_requested_at = COALESCE(close_requested_at, ?), next_check_at = ?", Date.now(), Date.now() + CHECK_BACKOFF.baseMs);
    await this.#armAlarm();
    const result = await this.#closeAtWeChat("close", this.#wechat());
    if (!result.ok) return { ok: false, error: toErrorData(upstreamError(result.error, requestId)) };
    const current = this.#mustRead();
    return current.status === "closed" ? { ok: true, value: current } : alreadyDone(current.status);
  }

  /**
   * Records a payment that WeChat has confirmed (the caller verified the notification's sign,
   * appid and mch_id). The amount must equal the order's, to the fen; repeats change nothing.
   */
  applyPayment(fact: PaymentFact, source: TransitionSource, requestId?: string): Outcome<PaymentOutcome> {
    return this.#logged(requestId, () => this.#applyPayment(fact, source));
  }

  #applyPayment(fact: PaymentFact, source: TransitionSource): Outcome<PaymentOutcome> {
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
    const afterClose = order.status === "closed" || order.status === "failed";
    // The payment's facts, then the one transition path every status change takes.
    this.#sql.exec(
      "UPDATE order_record SET transaction_id = ?, paid_at = ?, paid_after_close = ?",
      fact.transactionId, parsePaidAt(fact.timeEnd) ?? Date.now(), afterClose ? 1 : 0,
    );
    this.#transition("paid", source, afterClose ? "paid after the order was closed here: refund it" : undefined);
    if (afterClose) log("warn", "paid_after_close", { orderId: order.id, source });
    return { ok: true, value: "applied" };
  }

  // --- refunds -------------------------------------------------------------------------------

  /**
   * Reserves `amount` fen for a refund and sends it to WeChat (now, or once WeChat's one-minute
   * spacing between refunds of an order allows). The same Idempotency-Key with the same request
   * returns the earlier refund; with another request, 409.
   */
  createRefund(input: NewRefund, requestId?: string): Promise<Outcome<{ refund: RefundView; order: OrderRecord; created: boolean }>> {
    return this.#logged(requestId, () => this.#createRefund(input, requestId));
  }

  async #createRefund(input: NewRefund, requestId?: string): Promise<Outcome<{ refund: RefundView; order: OrderRecord; created: boolean }>> {
    const order = this.#read();
    if (!order) return notFound();
    if (input.idempotencyKey !== null) {
      const prior = this.#sql.exec<RefundRow>("SELECT * FROM refunds WHERE idempotency_key = ?", input.idempotencyKey).toArray()[0];
      if (prior) {
        if (prior.request_hash !== input.requestHash) {
          return { ok: false, error: { status: 409, code: "invalid_state", message: "This Idempotency-Key was already used with a different refund." } };
        }
        return { ok: true, value: { refund: fromRefundRow(prior), order: this.#mustRead(), created: false } };
      }
    }
    const refusal = refundRefusal({ orderStatus: order.status, orderAmount: order.amount, refunds: this.#refundRows() }, input.amount);
    if (refusal !== null) return { ok: false, error: { status: 409, code: "invalid_state", message: `Refund refused: ${refusal}.` } };

    const now = Date.now();
    // Reserved (stored as queued) before WeChat hears of it: concurrent requests see the reservation.
    this.#sql.exec(
      `INSERT INTO refunds (id, amount, reason, status, idempotency_key, request_hash, created_at, next_attempt_at)
       VALUES (?, ?, ?, 'queued', ?, ?, ?, ?)`,
      input.id, input.amount, input.reason, input.idempotencyKey, input.requestHash, now, this.#nextRefundSlot(now),
    );
    log("info", "refund_created", { orderId: order.id, refundId: input.id, amount: input.amount });
    await this.#armAlarm();
    const attempt = await this.#advanceRefund(input.id, this.#wechat());
    const refund = this.#refundRow(input.id);
    if (refund.status === "failed") {
      const message =
        attempt?.failure.kind === "unsendable"
          ? `The refund could not be sent to WeChat (${attempt.failure.reason}); nothing was refunded and the amount is released.`
          : `WeChat refused the refund (${refund.failure ?? "unknown reason"}); nothing was refunded and the amount is released.`;
      return { ok: false, error: { status: 502, code: "upstream_error", message } };
    }
    if (attempt !== null && !attempt.retryable) upstreamError(attempt, requestId);
    return { ok: true, value: { refund: fromRefundRow(refund), order: this.#mustRead(), created: true } };
  }

  /**
   * Applies WeChat's decrypted refund notification. It must name a refund of this order with the
   * same amounts; SUCCESS and REFUNDCLOSE are final, CHANGE (refund abnormal) flags the refund.
   */
  applyRefundNotice(notice: RefundNotice, requestId?: string): Promise<Outcome<"applied" | "repeated">> {
    return this.#logged(requestId, () => this.#applyRefundNotice(notice));
  }

  async #applyRefundNotice(notice: RefundNotice): Promise<Outcome<"applied" | "repeated">> {
    const order = this.#read();
    if (!order) return notFound();
    const refund = this.#sql.exec<RefundRow>("SELECT * FROM refunds WHERE id = ?", notice.outRefundNo).toArray()[0];
    if (!refund || notice.outTradeNo !== order.id) return notFound("No such refund.");
    if (notice.refundFee !== String(refund.amount) || notice.totalFee !== String(order.amount)) {
      log("warn", "refund_amount_mismatch", { orderId: order.id, refundId: refund.id });
      return { ok: false, error: toErrorData(ApiError.invalidRequest("The refund's amounts do not match.")) };
    }
    const changed = this.#settleRefund(refund.id, notice.refundStatus, "notify", notice.refundId);
    await this.#armAlarm();
    return { ok: true, value: changed ? "applied" : "repeated" };
  }

  /**
   * Cancels a refund that WeChat never received: it becomes failed with failure "cancelled" and its
   * amount is released. One that was tried before may have reached WeChat (an answer lost to a
   * time-out), so WeChat is asked first; a refund WeChat has is never cancelled here (409).
   */
  cancelRefund(refundId: string, requestId?: string): Promise<Outcome<{ refund: RefundView; order: OrderRecord }>> {
    return this.#forRequester(null, requestId, (order) => this.#cancelRefund(order, refundId, requestId));
  }

  async #cancelRefund(order: OrderRecord, id: string, requestId?: string): Promise<Outcome<{ refund: RefundView; order: OrderRecord }>> {
    const found = this.#sql.exec<RefundRow>("SELECT * FROM refunds WHERE id = ?", id).toArray()[0];
    if (!found) return notFound("No such refund.");
    const done = (): Outcome<{ refund: RefundView; order: OrderRecord }> => ({ ok: true, value: { refund: fromRefundRow(this.#refundRow(id)), order: this.#mustRead() } });
    const notCancellable = (why: string): Outcome<never> => ({ ok: false, error: { status: 409, code: "invalid_state", message: `The refund cannot be cancelled: ${why}.` } });
    if (found.status === "failed" && found.failure === "cancelled") return done();
    if (found.status !== "queued") return notCancellable(found.status === "processing" ? "WeChat has it" : `it is already ${found.status}`);
    if (this.#busy.has(id)) return notCancellable("it is being sent to WeChat right now");
    this.#busy.add(id);
    try {
      if (found.attempts > 0) {
        try {
          const known = await this.#wechat().refundQuery({ outRefundNo: id });
          // WeChat has it after all: record what WeChat says, and leave it to the usual checks.
          if (this.#refundRow(id).status === "queued") {
            this.#sql.exec(
              "UPDATE refunds SET status = 'processing', refund_id = ?, submitted_at = ?, attempts = 0, next_attempt_at = ? WHERE id = ?",
              known.refundId ?? null, Date.now(), Date.now() + REFUND_CHECK_AFTER_MS, id,
            );
          }
          this.#settleRefund(id, known.refundStatus, "query", known.refundId ?? null);
          return notCancellable("WeChat has it");
        } catch (error) {
          if (!(error instanceof WeChatError)) throw error;
          if (businessCode(error) !== "REFUNDNOTEXIST") return { ok: false, error: toErrorData(upstreamError(error, requestId)) };
        }
      }
      if (this.#refundRow(id).status !== "queued") return notCancellable("it changed while WeChat was asked");
      this.#sql.exec(
        "UPDATE refunds SET status = 'failed', failure = 'cancelled', finished_at = ?, next_attempt_at = NULL WHERE id = ?",
        Date.now(), id,
      );
      log("info", "refund_cancelled", { orderId: order.id, refundId: id });
      return done();
    } finally {
      this.#busy.delete(id);
      await this.#armAlarm();
    }
  }

  /** Asks WeChat about refunds still in processing (throttled like order queries), for the admin view. */
  refreshRefunds(requestId?: string): Promise<Outcome<void>> {
    return this.#forRequester(null, requestId, async () => ({ ok: true, value: await this.#refreshRefunds() }));
  }

  async #refreshRefunds(): Promise<void> {
    const now = Date.now();
    for (const refund of this.#refundRows()) {
      if (refund.status === "processing" && (refund.last_checked_at === null || now - refund.last_checked_at >= QUERY_MIN_INTERVAL_MS)) {
        await this.#checkRefund(refund.id, "query", this.#wechat()).catch(() => undefined);
      }
    }
    await this.#armAlarm();
  }

  // --- the alarm: each order keeps its own schedule -------------------------------------------

  /** Settles whatever is due: an unpaid order past its expiry, a close left half done, refunds to send or check. */
  override alarm(): Promise<void> {
    return this.#logged(undefined, () => this.#alarm());
  }

  async #alarm(): Promise<void> {
    const now = Date.now();
    const order = this.#read();
    if (!order) return;
    if (order.status === "pending" && order.nextCheckAt !== null && order.nextCheckAt <= now) {
      await this.#settlePending(this.#wechat());
    }
    for (const refund of this.#refundRows()) {
      if ((refund.status === "queued" || refund.status === "processing") && refund.next_attempt_at !== null && refund.next_attempt_at <= now) {
        await this.#advanceRefund(refund.id, this.#wechat());
      }
    }
    await this.#armAlarm();
  }

  /** The earliest time something is due, or null: what the alarm is armed for. */
  nextDueAt(): number | null {
    const order = this.#read();
    if (!order) return null;
    const times: number[] = [];
    if (order.status === "pending" && order.nextCheckAt !== null) times.push(order.nextCheckAt);
    for (const r of this.#refundRows()) if ((r.status === "queued" || r.status === "processing") && r.next_attempt_at !== null) times.push(r.next_attempt_at);
    return times.length === 0 ? null : Math.min(...times);
  }

  async #armAlarm(): Promise<void> {
    const due = this.nextDueAt();
    if (due === null) await this.ctx.storage.deleteAlarm();
    else await this.ctx.storage.setAlarm(due);
  }

  /** At expiry (+ grace), or after an interrupted close: ask WeChat, then pay, close, or look again later. */
  async #settlePending(wechat: PayClient): Promise<void> {
    const order = this.#mustRead();
    const now = Date.now();
    if (order.closeRequestedAt === null) {
      try {
        const tradeState = await this.#queryAndApply("alarm", wechat);
        if (this.#mustRead().status !== "pending") return;
        if (tradeState === "USERPAYING" || (tradeState === "NOTPAY" && now < order.expiresAt)) {
          this.#retryCheckLater(order, tradeState);
          return;
        }
      } catch (error) {
        if (!(error instanceof WeChatError)) throw error;
        this.#retryCheckLater(order, error.failure.kind);
        return;
      }
      this.#sql.exec("UPDATE order_record SET close_requested_at = ?", now);
    }
    const result = await this.#closeAtWeChat("alarm", wechat);
    if (!result.ok) this.#retryCheckLater(this.#mustRead(), result.error.failure.kind);
  }

  #retryCheckLater(order: OrderRecord, why: string): void {
    const next = Date.now() + backoffDelay(order.checkAttempts, CHECK_BACKOFF);
    this.#sql.exec("UPDATE order_record SET check_attempts = check_attempts + 1, next_check_at = ?", next);
    log("info", "order_check_again", { orderId: order.id, why, attempt: order.checkAttempts + 1 });
  }

  // --- WeChat round trips --------------------------------------------------------------------

  async #unifiedOrder(order: OrderRecord, wechat: PayClient, requestId?: string): Promise<Outcome<OrderRecord>> {
    try {
      const { prepayId } = await wechat.unifiedOrder({ outTradeNo: order.id, ...order.wechat });
      const current = this.#mustRead();
      if (current.status !== "pending") return alreadyDone(current.status);
      // The same prepay_id keeps the time WeChat first issued it: its 2 h run from then.
      const issuedAt = prepayId === current.prepayId && current.prepayIssuedAt !== null ? current.prepayIssuedAt : Date.now();
      this.#sql.exec("UPDATE order_record SET prepay_id = ?, prepay_issued_at = ?", prepayId, issuedAt);
      return { ok: true, value: this.#mustRead() };
    } catch (error) {
      if (!(error instanceof WeChatError)) throw error;
      return this.#unifiedOrderFailed(error, wechat, requestId);
    }
  }

  async #unifiedOrderFailed(error: WeChatError, wechat: PayClient, requestId?: string): Promise<Outcome<OrderRecord>> {
    const code = businessCode(error);
    if (code === "ORDERPAID" || code === "ORDERCLOSED" || code === "INVALID_REQUEST" || code === "OUT_TRADE_NO_USED") {
      // WeChat knows this out_trade_no in another state than ours (our parameters never change):
      // learn which, and answer with it.
      await this.#queryAndApply("query", wechat).catch(() => undefined);
      const current = this.#mustRead();
      if (current.status !== "pending") return alreadyDone(current.status);
    }
    if (!error.retryable) {
      this.#transition("failed", "api", code ?? error.failure.kind);
      await this.#armAlarm();
    }
    return { ok: false, error: toErrorData(upstreamError(error, requestId)) };
  }

  /** Asks WeChat for the order's trade_state, applies what it proves, and returns the state (null: unknown to WeChat). */
  async #queryAndApply(source: TransitionSource, wechat: PayClient): Promise<string | null> {
    let result;
    try {
      result = await wechat.orderQuery({ outTradeNo: this.#mustRead().id });
    } catch (error) {
      if (businessCode(error) === "ORDERNOTEXIST") return null;
      throw error;
    }
    if ((result.tradeState === "SUCCESS" || result.tradeState === "REFUND") && result.transactionId !== undefined) {
      this.#applyPayment(
        { transactionId: result.transactionId, totalFee: result.fields.total_fee ?? "", ...(result.timeEnd !== undefined ? { timeEnd: result.timeEnd } : {}) },
        source,
      );
    } else if (result.tradeState === "CLOSED" || result.tradeState === "REVOKED") {
      if (this.#mustRead().status === "pending") this.#transition("closed", source, `WeChat says ${result.tradeState}`);
    }
    return result.tradeState;
  }

  /** closeorder, then the matching local state. Returns the WeChat error if the close must be tried again. */
  async #closeAtWeChat(source: TransitionSource, wechat: PayClient): Promise<{ ok: true } | { ok: false; error: WeChatError }> {
    const id = this.#mustRead().id;
    try {
      await wechat.closeOrder({ outTradeNo: id });
    } catch (error) {
      if (!(error instanceof WeChatError)) throw error;
      const code = businessCode(error);
      if (code === "ORDERPAID") {
        await this.#queryAndApply(source, wechat).catch(() => undefined);
        return { ok: true };
      }
      // ORDERCLOSED: already closed at WeChat; ORDERNOTEXIST: WeChat never accepted it.
      if (code !== "ORDERCLOSED" && code !== "ORDERNOTEXIST") return { ok: false, error };
    }
    // A no-op if already closed; refused (and nothing to undo) if WeChat's answer came after a payment.
    this.#transition("closed", source);
    await this.#armAlarm();
    return { ok: true };
  }

  /** One step for a refund: send it if queued and its turn has come, or check on it if processing. */
  async #advanceRefund(id: string, wechat: PayClient): Promise<WeChatError | null> {
    const refund = this.#refundRow(id);
    if (refund.status === "processing") return this.#checkRefund(id, "alarm", wechat);
    if (refund.status !== "queued") return null;
    const now = Date.now();
    const slot = this.#nextRefundSlot(now, id);
    if (slot > now) {
      this.#sql.exec("UPDATE refunds SET next_attempt_at = ? WHERE id = ?", slot, id);
      await this.#armAlarm();
      return null;
    }
    return this.#submitRefund(id, wechat);
  }

  async #submitRefund(id: string, wechat: PayClient): Promise<WeChatError | null> {
    if (this.#busy.has(id)) return null;
    this.#busy.add(id);
    try {
      const order = this.#mustRead();
      const refund = this.#refundRow(id);
      const now = Date.now();
      // The attempt is recorded before the call: a crash leaves a queued refund the alarm retries
      // with the very same out_refund_no and amounts, which WeChat treats as one refund.
      this.#sql.exec(
        "UPDATE refunds SET attempts = attempts + 1, last_attempt_at = ?, next_attempt_at = ? WHERE id = ?",
        now, now + backoffDelay(refund.attempts, CHECK_BACKOFF), id,
      );
      await this.#armAlarm();
      try {
        const result = await wechat.refund({
          outTradeNo: order.id,
          outRefundNo: id,
          totalFee: order.amount,
          refundFee: refund.amount,
          ...(refund.reason !== null ? { refundDesc: refund.reason } : {}),
        });
        if (this.#refundRow(id).status === "queued") {
          this.#sql.exec(
            "UPDATE refunds SET status = 'processing', refund_id = ?, submitted_at = ?, attempts = 0, next_attempt_at = ? WHERE id = ?",
            result.refundId, Date.now(), Date.now() + REFUND_CHECK_AFTER_MS, id,
          );
        }
        return null;
      } catch (error) {
        if (!(error instanceof WeChatError)) throw error;
        const code = businessCode(error);
        if (code === "INVALID_REQ_TOO_MUCH" || code === "FREQUENCY_LIMITED") {
          this.#sql.exec("UPDATE refunds SET next_attempt_at = ? WHERE id = ?", Date.now() + REFUND_LIMITS.spacingMs, id);
        } else if (!error.retryable) {
          this.#settleRefund(id, "REFUSED", "api", null, code ?? error.failure.kind);
        }
        log("warn", "refund_submit_failed", { orderId: order.id, refundId: id, kind: error.failure.kind, code });
        return error;
      }
    } finally {
      this.#busy.delete(id);
      await this.#armAlarm();
    }
  }

  async #checkRefund(id: string, source: TransitionSource, wechat: PayClient): Promise<WeChatError | null> {
    if (this.#busy.has(id)) return null;
    this.#busy.add(id);
    try {
      const refund = this.#refundRow(id);
      this.#sql.exec(
        "UPDATE refunds SET last_checked_at = ?, attempts = attempts + 1, next_attempt_at = ? WHERE id = ?",
        Date.now(), Date.now() + backoffDelay(refund.attempts, CHECK_BACKOFF), id,
      );
      try {
        const result = await wechat.refundQuery({ outRefundNo: id });
        this.#settleRefund(id, result.refundStatus, source, result.refundId ?? null);
        return null;
      } catch (error) {
        if (!(error instanceof WeChatError)) throw error;
        // WeChat never registered it (e.g. the accepting answer was a lie of a proxy): send it again, same params.
        if (businessCode(error) === "REFUNDNOTEXIST") this.#sql.exec("UPDATE refunds SET status = 'queued' WHERE id = ?", id);
        return error;
      }
    } finally {
      this.#busy.delete(id);
      await this.#armAlarm();
    }
  }

  /**
   * Moves a refund to what WeChat says: SUCCESS → succeeded (and the order's refunded amount and
   * status follow), REFUNDCLOSE / FAIL / a refusal → failed (the reservation is released), CHANGE →
   * flagged for an operator. Final states never change again. Returns whether anything changed.
   */
  #settleRefund(id: string, wechatStatus: string, source: TransitionSource, refundId: string | null, failure?: string): boolean {
    const refund = this.#refundRow(id);
    if (refund.status === "succeeded" || refund.status === "failed") {
      if (publicRefundStatus(refund.status) !== (wechatStatus === "SUCCESS" ? "succeeded" : "failed")) {
        log("warn", "refund_contradiction", { refundId: id, stored: refund.status, wechat: wechatStatus });
      }
      return false;
    }
    const now = Date.now();
    if (wechatStatus === "SUCCESS") {
      this.#sql.exec(
        "UPDATE refunds SET status = 'succeeded', refund_id = COALESCE(?, refund_id), finished_at = ?, next_attempt_at = NULL WHERE id = ?",
        refundId, now, id,
      );
      const order = this.#mustRead();
      const refunded = refundedAmount(this.#refundRows());
      this.#sql.exec("UPDATE order_record SET refunded_amount = ?", refunded);
      this.#transition(statusAfterRefunds(order.amount, refunded), source, `refund ${id} of ${refund.amount} fen`);
      return true;
    }
    if (wechatStatus === "REFUNDCLOSE" || wechatStatus === "FAIL" || wechatStatus === "REFUSED") {
      log("warn", "refund_failed", { refundId: id, source, failure: failure ?? wechatStatus });
      this.#sql.exec(
        "UPDATE refunds SET status = 'failed', failure = ?, finished_at = ?, next_attempt_at = NULL WHERE id = ?",
        failure ?? wechatStatus, now, id,
      );
      return true;
    }
    if (wechatStatus === "CHANGE" && refund.needs_attention === 0) {
      // 退款异常: the money did not reach the payer; it must be handled in WeChat's merchant console.
      this.#sql.exec("UPDATE refunds SET needs_attention = 1, failure = 'CHANGE' WHERE id = ?", id);
      log("warn", "refund_needs_attention", { refundId: id });
      return true;
    }
    return false;
  }

  /** When the next refund of this order may be sent: WeChat wants a minute between them. */
  #nextRefundSlot(now: number, excluding?: string): number {
    const last = this.#sql
      .exec<{ last: number | null }>("SELECT MAX(last_attempt_at) AS last FROM refunds WHERE id IS NOT ?", excluding ?? null)
      .toArray()[0]?.last;
    return last === null || last === undefined ? now : Math.max(now, last + REFUND_LIMITS.spacingMs);
  }

  /** Runs an entry point with its log lines tagged by the request's id (an alarm run gets its own). */
  /**
   * Runs `action` on the stored order if `requester` may act on it; otherwise says why, before any
   * work: no such order (404), or another payer's (403). A refused request costs one call and
   * changes nothing.
   */
  #forRequester<T>(requester: Requester, requestId: string | undefined, action: (order: OrderRecord) => Promise<Outcome<T>>): Promise<Outcome<T>> {
    return this.#logged(requestId, async (): Promise<Outcome<T>> => {
      const order = this.#read();
      if (order === null) return notFound();
      if (requester !== null && order.openid !== requester) {
        return { ok: false, error: { status: 403, code: "forbidden", message: "This order belongs to another user." } };
      }
      return action(order);
    });
  }

  #logged<T>(requestId: string | undefined, fn: () => T): T {
    return withLogContext(requestId ?? `alarm-${crypto.randomUUID()}`, secretsOf(this.env), fn);
  }

  /** A WeChat client with a fresh retry budget: one per incoming request or alarm task. */
  #wechat(): PayClient {
    return budgetedPayClient(this.env);
  }

  // --- storage -------------------------------------------------------------------------------

  #transition(to: OrderStatus, source: TransitionSource, note?: string): Outcome<OrderRecord> {
    const order = this.#mustRead();
    const check = checkTransition(order.status, to, source);
    if (check.outcome === "illegal") return { ok: false, error: { status: 409, code: "invalid_state", message: check.reason } };
    if (check.outcome === "apply") {
      // Leaving pending ends the order's own checks and any close under way.
      this.#sql.exec("UPDATE order_record SET status = ?, next_check_at = NULL, close_requested_at = NULL", to);
      this.#appendHistory(Date.now(), order.status, to, source, note);
      log("info", "order_transition", { orderId: order.id, from: order.status, to, source });
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
    if (!this.#hasSchema) return null;
    const row = this.#sql.exec<OrderRow>("SELECT * FROM order_record WHERE singleton = 1").toArray()[0];
    return row ? fromOrderRow(row) : null;
  }

  #mustRead(): OrderRecord {
    const order = this.#read();
    if (!order) throw new Error("order record missing");
    return order;
  }

  #refundRows(): RefundRow[] {
    if (!this.#hasSchema) return [];
    return this.#sql.exec<RefundRow>("SELECT * FROM refunds ORDER BY created_at, id").toArray();
  }

  #refundRow(id: string): RefundRow {
    const row = this.#sql.exec<RefundRow>("SELECT * FROM refunds WHERE id = ?", id).toArray()[0];
    if (!row) throw new Error("refund missing");
    return row;
  }
}

function payable(order: OrderRecord, now: number): Outcome<never> | null {
  if (order.status !== "pending") return alreadyDone(order.status);
  if (now >= order.expiresAt || order.closeRequestedAt !== null) {
    return { ok: false, error: { status: 409, code: "invalid_state", message: "The order has expired or is being closed; place a new one." } };
  }
  return null;
}

function alreadyDone(status: OrderStatus): Outcome<never> {
  return { ok: false, error: { status: 409, code: "invalid_state", message: `The order is ${status}.` } };
}

function notFound(message = "No such order."): Outcome<never> {
  return { ok: false, error: toErrorData(ApiError.notFound(message)) };
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

