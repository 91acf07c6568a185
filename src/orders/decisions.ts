// The order core's decisions: given the loaded order and its refunds, a fact and the time, what
// changes (the rows, the history, the log lines) and what to answer. Pure: no SQL, no fetch, no
// clock or randomness of their own. The order object loads, asks one of these, and commits.
import { newEvent, type EventType, type NewEvent } from "../events/outbox";
import type { LogFields, LogLevel } from "../log";
import { refundedAmount, toAdminOrderView, toRecord, toRefundView, type Order, type OrderSnapshot, type PaymentFact, type Refund, type RefundOutcome, type RefundReport } from "./order-record";
import { fail, ok, type OrderFailure, type Result } from "./order-result";
import { checkTransition, publicStatus, type OrderState, type OrderStatus, type TransitionSource } from "./order-state";
import type { GatewayFailure, PrepayRequest, QueryResult, TradeReport } from "./payment-gateway";
import type { LineItem } from "./pricing";
import { nextRefundSlot, refundRefusal, REFUND_LIMITS, statusAfterRefunds } from "./refund-rules";
import { isFinalRefund, publicRefundStatus, refundTransition, type RefundEvent, type RefundState } from "./refund-state";
import { backoffDelay } from "./retry-schedule";
import { NO_SHIPPING, toShippingView, type Shipping } from "./shipping";

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

/** The order's columns a decision may change. */
export type OrderPatch = Partial<
  Pick<Order, "state" | "transactionId" | "paidAt" | "prepayId" | "prepayIssuedAt" | "lastQueriedAt" | "paidAfterClose" | "nextCheckAt" | "checkAttempts">
>;
/** A refund's columns a decision may change; `state` only through the refund table. */
export type RefundPatch = Partial<
  Pick<Refund, "refundId" | "submittedAt" | "finishedAt" | "failure" | "needsAttention" | "attempts" | "lastAttemptAt" | "lastCheckedAt" | "nextAttemptAt">
>;

/** The shipping columns a decision may change. */
export type ShippingPatch = Partial<Shipping>;

/** One entry of the order's public history: written when the status the contract shows changes. */
export interface HistoryWrite {
  readonly at: number;
  readonly from: OrderStatus | null;
  readonly to: OrderStatus;
  readonly source: TransitionSource;
  readonly note: string | null;
}

/** One step of a refund's life. */
export interface RefundHistoryWrite {
  readonly refundId: string;
  readonly at: number;
  readonly from: RefundState | null;
  readonly to: RefundState;
  readonly event: RefundEvent | "created";
  readonly source: TransitionSource;
  readonly note: string | null;
}

/** A log line a decision asks for; the shell writes it after the commit. */
export interface LogWrite {
  readonly level: Extract<LogLevel, "info" | "warn">;
  readonly event: string;
  readonly fields: LogFields;
}

/** Everything one decision writes, committed by the storage module in one transaction. */
export interface Change {
  readonly order: OrderPatch;
  readonly history: readonly HistoryWrite[];
  readonly newRefunds: readonly Refund[];
  readonly refunds: ReadonlyMap<string, RefundPatch & { readonly state?: RefundState }>;
  readonly refundHistory: readonly RefundHistoryWrite[];
  readonly shipping: ShippingPatch;
  /** the merchant events this change causes, stored with it (the shell drops them when no MERCHANT_WEBHOOK_URL is set) */
  readonly events: readonly NewEvent[];
  /** written after the commit, by the shell */
  readonly logs: readonly LogWrite[];
}

/** A decision: the change to commit, the order and refunds as they are once it is committed, and the answer. */
export interface Decision<T> {
  readonly change: Change;
  readonly next: OrderSnapshot;
  readonly result: T;
}

/** Whether committing `change` writes nothing. */
export function isEmptyChange(change: Change): boolean {
  return (
    Object.keys(change.order).length === 0 &&
    change.history.length === 0 &&
    change.newRefunds.length === 0 &&
    change.refunds.size === 0 &&
    change.refundHistory.length === 0 &&
    Object.keys(change.shipping).length === 0 &&
    change.events.length === 0
  );
}

/**
 * Whether `change` alters what the operator's index shows (a status, a payment, a refund, an
 * event): such a change counts one more version of the order, which the object writes to the index.
 * Bookkeeping alone (a prepay_id, when WeChat was last asked) does not.
 */
export function changesIndexedView(change: Change): boolean {
  return change.history.length > 0 || change.refundHistory.length > 0 || change.newRefunds.length > 0 || change.events.length > 0 || "state" in change.order;
}

/**
 * The order as it is once `change` is committed over `snapshot`: each patch merged into its row,
 * new refunds added in the order storage lists them (by creation time, then id). Storage keeps its
 * copy of the order current with this, so the change is applied to what is stored, even when the
 * decision was made on an older snapshot.
 */
export function applyChange(snapshot: OrderSnapshot, change: Change): OrderSnapshot {
  let refunds = snapshot.refunds;
  if (change.newRefunds.length > 0) {
    refunds = [...refunds, ...change.newRefunds].sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }
  if (change.refunds.size > 0) refunds = refunds.map((r) => ({ ...r, ...change.refunds.get(r.id) }));
  return {
    order: Object.keys(change.order).length === 0 ? snapshot.order : { ...snapshot.order, ...change.order },
    refunds,
    shipping: Object.keys(change.shipping).length === 0 ? snapshot.shipping : { ...snapshot.shipping, ...change.shipping },
  };
}

/** Accumulates one decision's writes over a snapshot; pure from the outside. */
export class Draft {
  order: Order;
  refunds: Refund[];
  shipping: Shipping;
  readonly #orderPatch: OrderPatch = {};
  readonly #shippingPatch: ShippingPatch = {};
  readonly #history: HistoryWrite[] = [];
  readonly #newRefunds: Refund[] = [];
  readonly #refundPatches = new Map<string, RefundPatch & { state?: RefundState }>();
  readonly #refundHistory: RefundHistoryWrite[] = [];
  /** what happened, in order; the events' bodies are built in done(), from the order as the change leaves it */
  readonly #eventCauses: { readonly type: EventType; readonly refundId: string | null; readonly suffix?: string }[] = [];
  readonly #logs: LogWrite[] = [];

  constructor(
    snapshot: OrderSnapshot,
    readonly now: number,
  ) {
    this.order = snapshot.order;
    this.refunds = [...snapshot.refunds];
    this.shipping = snapshot.shipping;
  }

  set(patch: OrderPatch): void {
    Object.assign(this.#orderPatch, patch);
    this.order = { ...this.order, ...patch };
  }

  /** Moves the order through the state table; a repeat or an illegal move changes nothing. */
  transition(to: OrderState, source: TransitionSource, note?: string, patch: OrderPatch = {}): ReturnType<typeof checkTransition> {
    const from = this.order.state;
    const check = checkTransition(from, to, source);
    if (check.outcome !== "apply") return check;
    // Leaving pending ends the order's own checks; closing keeps them, so a close cut short is finished.
    this.set({ state: to, ...(to === "closing" ? {} : { nextCheckAt: null }), ...patch });
    if (publicStatus(from) !== publicStatus(to)) {
      this.#history.push({ at: this.now, from: publicStatus(from), to: publicStatus(to), source, note: note ?? null });
      if (publicStatus(to) === "paid") this.#eventCauses.push({ type: "order.paid", refundId: null });
      if (publicStatus(to) === "closed") this.#eventCauses.push({ type: "order.closed", refundId: null });
    }
    this.log("info", "order_transition", { orderId: this.order.id, from, to, source });
    return check;
  }

  setShipping(patch: ShippingPatch): void {
    Object.assign(this.#shippingPatch, patch);
    this.shipping = { ...this.shipping, ...patch };
  }

  /** A merchant event about the order's shipping (order.shipped, order.settled); `suffix` tells a re-shipment's event from the first's. */
  shippingEvent(type: "order.shipped" | "order.settled", suffix?: string): void {
    this.#eventCauses.push({ type, refundId: null, ...(suffix === undefined ? {} : { suffix }) });
  }

  refund(id: string): Refund | undefined {
    return this.refunds.find((r) => r.id === id);
  }

  addRefund(refund: Refund, source: TransitionSource): void {
    this.#newRefunds.push(refund);
    this.refunds.push(refund);
    this.#refundHistory.push({ refundId: refund.id, at: this.now, from: null, to: refund.state, event: "created", source, note: null });
  }

  setRefund(id: string, patch: RefundPatch & { state?: RefundState }): void {
    this.#refundPatches.set(id, { ...this.#refundPatches.get(id), ...patch });
    this.refunds = this.refunds.map((r) => (r.id === id ? { ...r, ...patch } : r));
  }

  /** Moves a refund through the refund table; returns false (and changes nothing) if the event does not apply. */
  refundEvent(id: string, event: RefundEvent, source: TransitionSource, patch: RefundPatch = {}, note?: string): boolean {
    const refund = this.refund(id);
    if (refund === undefined) return false;
    const move = refundTransition(refund.state, event);
    if (move.outcome !== "apply") return false;
    this.setRefund(id, { ...patch, state: move.to });
    this.#refundHistory.push({ refundId: id, at: this.now, from: refund.state, to: move.to, event, source, note: note ?? null });
    if (move.to === "succeeded") this.#eventCauses.push({ type: "refund.succeeded", refundId: id });
    if (move.to === "failed") this.#eventCauses.push({ type: "refund.failed", refundId: id });
    return true;
  }

  /** The order's first history entry: it came into being pending. */
  created(): void {
    this.#history.push({ at: this.now, from: null, to: "pending", source: "api", note: null });
  }

  log(level: LogWrite["level"], event: string, fields: LogFields): void {
    this.#logs.push({ level, event, fields });
  }

  done<T>(result: T): Decision<T> {
    const next = { order: this.order, refunds: this.refunds, shipping: this.shipping };
    // The order's view goes into events only, and most decisions cause none.
    const order = this.#eventCauses.length === 0 ? null : toAdminOrderView(toRecord(next));
    const events = order === null ? [] : this.#eventCauses.map(({ type, refundId, suffix }) => {
      if (type === "order.shipped" || type === "order.settled") return newEvent(type, order.id, this.now, { order, shipping: toShippingView(this.shipping) }, suffix);
      const refund = refundId === null ? undefined : this.refund(refundId);
      return refund === undefined ? newEvent(type, order.id, this.now, { order }) : newEvent(type, refund.id, this.now, { order, refund: toRefundView(refund) });
    });
    return {
      change: {
        order: this.#orderPatch,
        history: this.#history,
        newRefunds: this.#newRefunds,
        refunds: this.#refundPatches,
        refundHistory: this.#refundHistory,
        shipping: this.#shippingPatch,
        events,
        logs: this.#logs,
      },
      next,
      result,
    };
  }
}

/** Nothing to write: the answer alone. */
function unchanged<T>(snapshot: OrderSnapshot, now: number, result: T): Decision<T> {
  return new Draft(snapshot, now).done(result);
}

// --- the order -------------------------------------------------------------------------------

/** A priced order, as the create route hands it to its object. */
export interface NewOrder {
  readonly id: string;
  readonly openid: string;
  readonly amount: number;
  readonly description: string;
  readonly items: readonly LineItem[];
  readonly requestHash: string;
  readonly clientIp: string;
  readonly createdAt: number;
  readonly expiresAt: number;
}

/** A new order as stored: pending, checked with WeChat a little after it expires unless something settles it first. */
export function newPendingOrder(input: NewOrder): Order {
  return {
    ...input, state: "pending", transactionId: null, paidAt: null, prepayId: null, prepayIssuedAt: null, lastQueriedAt: null,
    paidAfterClose: false, nextCheckAt: input.expiresAt + EXPIRY_GRACE_MS, checkAttempts: 0,
  };
}

/** A new order: its first history entry. */
export function onCreated(order: Order): Decision<void> {
  const draft = new Draft({ order, refunds: [], shipping: NO_SHIPPING }, order.createdAt);
  draft.created();
  draft.log("info", "order_created", { orderId: order.id, amount: order.amount });
  return draft.done(undefined);
}

/** The unifiedorder parameters, derived from the order's stored columns alone: identical on every call for this order. */
export function prepayRequest(order: Order): PrepayRequest {
  return {
    orderId: order.id,
    description: order.description,
    amount: order.amount,
    openid: order.openid,
    clientIp: order.clientIp,
    createdAt: order.createdAt,
    expiresAt: order.expiresAt,
  };
}

/** Whether to hand out the stored prepay_id, ask WeChat for one, or refuse. */
export type PrepareDecision = { readonly kind: "reuse" } | { readonly kind: "call" } | { readonly kind: "refuse"; readonly error: OrderFailure };

/** Whether a payer may have a prepay_id now: the stored one while it is fresh, or a new one. */
export function decidePrepare(order: Order, now: number): PrepareDecision {
  if (order.state === "closing") return { kind: "refuse", error: { reason: "expired" } };
  if (order.state !== "pending") return { kind: "refuse", error: { reason: "already_final", status: publicStatus(order.state) } };
  if (now >= order.expiresAt) return { kind: "refuse", error: { reason: "expired" } };
  if (order.prepayId !== null && order.prepayIssuedAt !== null && now < order.prepayIssuedAt + PREPAY_TTL_MS - PREPAY_REUSE_MARGIN_MS) {
    return { kind: "reuse" };
  }
  return { kind: "call" };
}

/** WeChat issued `prepayId`: stored, keeping the time it was first issued (its 2 h run from then). */
export function onPrepared(snapshot: OrderSnapshot, prepayId: string, now: number): Decision<Result<void>> {
  const draft = new Draft(snapshot, now);
  const order = draft.order;
  if (publicStatus(order.state) !== "pending") return draft.done(fail({ reason: "already_final", status: publicStatus(order.state) }));
  const issuedAt = prepayId === order.prepayId && order.prepayIssuedAt !== null ? order.prepayIssuedAt : now;
  draft.set({ prepayId, prepayIssuedAt: issuedAt });
  return draft.done(ok(undefined));
}

/**
 * unifiedorder failed (after any query a conflict called for). A refusal for good fails a pending
 * order; one a retry can fix leaves it pending, without prepay_id. Either way the caller hears of it.
 */
export function onPrepareFailed(snapshot: OrderSnapshot, failure: GatewayFailure, now: number): Decision<Result<never>> {
  const draft = new Draft(snapshot, now);
  const status = publicStatus(draft.order.state);
  if (status !== "pending") return draft.done(fail({ reason: "already_final", status }));
  if (isFinalFailure(failure)) draft.transition("failed", "api", failure.note);
  return draft.done(fail(upstreamFailure(failure)));
}

/**
 * A payment WeChat confirmed (a verified notification, or a query). The amount must equal the
 * order's to the fen; a repeat changes nothing; one after the order was closed or failed here is
 * recorded and flagged for a refund.
 */
export function onPaymentConfirmed(snapshot: OrderSnapshot, payment: PaymentFact, source: TransitionSource, now: number): Decision<Result<"applied" | "repeated">> {
  const draft = new Draft(snapshot, now);
  return draft.done(applyPayment(draft, payment, source));
}

function applyPayment(draft: Draft, payment: PaymentFact, source: TransitionSource): Result<"applied" | "repeated"> {
  const order = draft.order;
  if (payment.totalFee !== String(order.amount)) {
    draft.log("warn", "payment_amount_mismatch", { orderId: order.id, source });
    return fail({ reason: "amount_mismatch" });
  }
  const afterClose = order.state === "closed" || order.state === "failed";
  const check = draft.transition("paid", source, afterClose ? "paid after the order was closed here: refund it" : undefined, {
    transactionId: payment.transactionId,
    paidAt: payment.paidAt ?? draft.now,
    paidAfterClose: afterClose,
  });
  if (check.outcome === "illegal") return fail({ reason: "illegal_transition", detail: check.reason });
  if (check.outcome === "noop") {
    if (order.transactionId !== null && order.transactionId !== payment.transactionId) {
      draft.log("warn", "payment_other_transaction", { orderId: order.id, source });
    }
    return ok("repeated");
  }
  if (afterClose) draft.log("warn", "paid_after_close", { orderId: order.id, source });
  return ok("applied");
}

/** What a query's answer proves: a payment, or a close at WeChat. Anything else changes nothing. */
export function onTradeReport(snapshot: OrderSnapshot, report: TradeReport, source: TransitionSource, now: number): Decision<void> {
  const draft = new Draft(snapshot, now);
  applyTradeReport(draft, report, source);
  return draft.done(undefined);
}

function applyTradeReport(draft: Draft, report: TradeReport, source: TransitionSource): void {
  if (report.kind === "paid") applyPayment(draft, report.payment, source);
  else if (report.kind === "closed" && publicStatus(draft.order.state) === "pending") draft.transition("closed", source, report.note);
}

/** Whether a read should ask WeChat first: a pending order not asked in the last few seconds. The time is stored before asking. */
export function decideRefresh(snapshot: OrderSnapshot, now: number): Decision<boolean> {
  const order = snapshot.order;
  if (publicStatus(order.state) !== "pending") return unchanged(snapshot, now, false);
  if (order.lastQueriedAt !== null && now - order.lastQueriedAt < QUERY_MIN_INTERVAL_MS) return unchanged(snapshot, now, false);
  const draft = new Draft(snapshot, now);
  draft.set({ lastQueriedAt: now });
  return draft.done(true);
}

/** Whether a payer's close is already done, refused, or goes to WeChat. */
export type CloseDecision = { readonly kind: "done" } | { readonly kind: "call" } | { readonly kind: "refuse"; readonly error: OrderFailure };

/**
 * A close asked for by the payer. A pending order becomes closing first (it can no longer be paid
 * for, and if the call to WeChat is cut short the alarm finishes the close); a failed one is closed
 * at WeChat as it is.
 */
export function decideClose(snapshot: OrderSnapshot, now: number): Decision<CloseDecision> {
  const state = snapshot.order.state;
  if (state === "closed") return unchanged(snapshot, now, { kind: "done" });
  if (state !== "pending" && state !== "closing" && state !== "failed") {
    return unchanged(snapshot, now, { kind: "refuse", error: { reason: "already_final", status: publicStatus(state) } });
  }
  const draft = new Draft(snapshot, now);
  if (state === "pending") draft.transition("closing", "close", undefined, { nextCheckAt: now + CHECK_BACKOFF.baseMs });
  return draft.done({ kind: "call" });
}

/** WeChat closed the order (or never had it): closed here too, unless a payment came first. */
export function onClosed(snapshot: OrderSnapshot, source: TransitionSource, now: number): Decision<void> {
  const draft = new Draft(snapshot, now);
  draft.transition("closed", source);
  return draft.done(undefined);
}

/** The answer to a payer's close, from the order as it is once WeChat was asked. */
export function closeAnswer(order: Order): Result<void> {
  return order.state === "closed" ? ok(undefined) : fail({ reason: "already_final", status: publicStatus(order.state) });
}

/** What the alarm does for the order itself. */
export type SettleDecision = { readonly kind: "nothing" } | { readonly kind: "query" } | { readonly kind: "close" };

/** What the alarm does for the order itself: finish a close under way, or ask WeChat about a pending order that is due. */
export function decideSettle(order: Order, now: number): SettleDecision {
  if (order.nextCheckAt === null || order.nextCheckAt > now) return { kind: "nothing" };
  if (order.state === "closing") return { kind: "close" };
  return order.state === "pending" ? { kind: "query" } : { kind: "nothing" };
}

/**
 * The alarm's query answered (or failed): pay, close (unpaid past its expiry, or unknown to WeChat),
 * or look again later (the payer is paying, it is not yet expired, or WeChat did not answer).
 */
export function onSettleQuery(snapshot: OrderSnapshot, answer: QueryResult, now: number, random: () => number): Decision<"closing" | "settled" | "later"> {
  const draft = new Draft(snapshot, now);
  if (answer.kind === "failed") {
    scheduleCheck(draft, answer.failure.kind, random);
    return draft.done("later");
  }
  const report = answer.report;
  applyTradeReport(draft, report, "alarm");
  if (draft.order.state !== "pending") return draft.done("settled");
  if (report.kind === "paying" || (report.kind === "unpaid" && now < draft.order.expiresAt)) {
    scheduleCheck(draft, report.kind, random);
    return draft.done("later");
  }
  draft.transition("closing", "alarm");
  return draft.done("closing");
}

/** The alarm's close failed: try again after a back-off. */
export function onSettleCloseFailed(snapshot: OrderSnapshot, failure: GatewayFailure, now: number, random: () => number): Decision<"later"> {
  const draft = new Draft(snapshot, now);
  scheduleCheck(draft, failure.kind, random);
  return draft.done("later");
}

function scheduleCheck(draft: Draft, why: string, random: () => number): void {
  const attempts = draft.order.checkAttempts;
  draft.set({ checkAttempts: attempts + 1, nextCheckAt: draft.now + backoffDelay(attempts, CHECK_BACKOFF, random) });
  draft.log("info", "order_check_again", { orderId: draft.order.id, why, attempt: attempts + 1 });
}

// --- refunds ---------------------------------------------------------------------------------

/** An operator's refund request, as the admin route hands it to the order object. */
export interface NewRefund {
  readonly id: string;
  readonly amount: number;
  readonly reason: string | null;
  readonly idempotencyKey: string | null;
  readonly requestHash: string;
}

/** A new refund reserved, an Idempotency-Key replay, or a refusal. */
export type NewRefundDecision =
  | { readonly kind: "created"; readonly refundId: string }
  | { readonly kind: "replay"; readonly refundId: string }
  | { readonly kind: "refuse"; readonly error: OrderFailure };

/**
 * Reserves `amount` fen as a queued refund (concurrent requests see the reservation), or says why
 * not. The same Idempotency-Key with the same request names the earlier refund; with another, a conflict.
 */
export function decideNewRefund(snapshot: OrderSnapshot, input: NewRefund, now: number): Decision<NewRefundDecision> {
  if (input.idempotencyKey !== null) {
    const prior = snapshot.refunds.find((r) => r.idempotencyKey === input.idempotencyKey);
    if (prior !== undefined) {
      return unchanged(snapshot, now, prior.requestHash === input.requestHash ? { kind: "replay", refundId: prior.id } : { kind: "refuse", error: { reason: "idempotency_conflict" } });
    }
  }
  const refusal = refundRefusal(snapshot.order, snapshot.refunds, input.amount);
  if (refusal !== null) return unchanged(snapshot, now, { kind: "refuse", error: { reason: "refund_exceeds", detail: refusal } });
  const draft = new Draft(snapshot, now);
  draft.addRefund(
    {
      id: input.id,
      amount: input.amount,
      reason: input.reason,
      state: "queued",
      idempotencyKey: input.idempotencyKey,
      requestHash: input.requestHash,
      refundId: null,
      createdAt: now,
      submittedAt: null,
      finishedAt: null,
      failure: null,
      needsAttention: false,
      attempts: 0,
      lastAttemptAt: null,
      lastCheckedAt: null,
      nextAttemptAt: nextRefundSlot(snapshot.refunds, now),
    },
    "api",
  );
  draft.log("info", "refund_created", { orderId: snapshot.order.id, refundId: input.id, amount: input.amount });
  return draft.done({ kind: "created", refundId: input.id });
}

/** What one step for a refund does: nothing, wait for its turn, send it, or check on it. */
export type RefundStepDecision = { readonly kind: "nothing" } | { readonly kind: "wait" } | { readonly kind: "submit" } | { readonly kind: "check" };

/**
 * One step for a refund: check on it if WeChat has it; send it if it is queued and its turn has
 * come (the attempt is stored before the call, so a crash leaves a queued refund the alarm retries
 * with the very same out_refund_no and amounts); otherwise wait for its turn.
 */
export function decideRefundStep(snapshot: OrderSnapshot, id: string, now: number, random: () => number): Decision<RefundStepDecision> {
  const refund = snapshot.refunds.find((r) => r.id === id);
  if (refund === undefined) return unchanged(snapshot, now, { kind: "nothing" });
  if (refund.state === "processing") return unchanged(snapshot, now, { kind: "check" });
  if (refund.state !== "queued") return unchanged(snapshot, now, { kind: "nothing" });
  const draft = new Draft(snapshot, now);
  const slot = nextRefundSlot(snapshot.refunds, now, id);
  if (slot > now) {
    draft.setRefund(id, { nextAttemptAt: slot });
    return draft.done({ kind: "wait" });
  }
  draft.setRefund(id, { attempts: refund.attempts + 1, lastAttemptAt: now, nextAttemptAt: now + backoffDelay(refund.attempts, CHECK_BACKOFF, random) });
  return draft.done({ kind: "submit" });
}

/** A check of a refund with WeChat is about to be made: recorded first, with when to look again. */
export function decideRefundCheck(snapshot: OrderSnapshot, id: string, now: number, random: () => number): Decision<RefundStepDecision> {
  const refund = snapshot.refunds.find((r) => r.id === id);
  if (refund === undefined) return unchanged(snapshot, now, { kind: "nothing" });
  const draft = new Draft(snapshot, now);
  draft.setRefund(id, { lastCheckedAt: now, attempts: refund.attempts + 1, nextAttemptAt: now + backoffDelay(refund.attempts, CHECK_BACKOFF, random) });
  return draft.done({ kind: "check" });
}

/** WeChat accepted the refund: it is processing, and checked if no notification settles it. */
export function onRefundAccepted(snapshot: OrderSnapshot, id: string, wechatRefundId: string, source: TransitionSource, now: number): Decision<void> {
  const draft = new Draft(snapshot, now);
  draft.refundEvent(id, "accepted", source, { refundId: wechatRefundId, submittedAt: now, attempts: 0, nextAttemptAt: now + REFUND_CHECK_AFTER_MS });
  return draft.done(undefined);
}

/** Sending the refund failed: too soon (wait the spacing), for good (failed, amount released), or for now (the alarm retries). */
export function onRefundSubmitFailed(snapshot: OrderSnapshot, id: string, failure: GatewayFailure, throttled: boolean, now: number): Decision<void> {
  const draft = new Draft(snapshot, now);
  if (throttled) draft.setRefund(id, { nextAttemptAt: now + REFUND_LIMITS.spacingMs });
  else if (isFinalFailure(failure)) settleRefund(draft, id, { kind: "failed", note: failure.note }, "api", null);
  draft.log("warn", "refund_submit_failed", { orderId: snapshot.order.id, refundId: id, kind: failure.kind, code: failure.note });
  return draft.done(undefined);
}

/** WeChat never registered a refund it had accepted: queued again, to be sent with the same parameters. */
export function onRefundLost(snapshot: OrderSnapshot, id: string, source: TransitionSource, now: number): Decision<void> {
  const draft = new Draft(snapshot, now);
  draft.refundEvent(id, "lost", source);
  return draft.done(undefined);
}

/** What WeChat says became of a refund (refundquery), applied. Returns whether anything changed. */
export function onRefundOutcome(snapshot: OrderSnapshot, id: string, outcome: RefundOutcome, source: TransitionSource, wechatRefundId: string | null, now: number): Decision<boolean> {
  const draft = new Draft(snapshot, now);
  return draft.done(settleRefund(draft, id, outcome, source, wechatRefundId));
}

/** A verified refund notification: it must name a refund of this order with the same amounts. */
export function onRefundReport(snapshot: OrderSnapshot, report: RefundReport, now: number): Decision<Result<"applied" | "repeated">> {
  const refund = snapshot.refunds.find((r) => r.id === report.refundId);
  if (refund === undefined || report.orderId !== snapshot.order.id) return unchanged(snapshot, now, fail({ reason: "refund_not_found" }));
  if (report.refundFee !== String(refund.amount) || report.totalFee !== String(snapshot.order.amount)) {
    const draft = new Draft(snapshot, now);
    draft.log("warn", "refund_amount_mismatch", { orderId: snapshot.order.id, refundId: refund.id });
    return draft.done(fail({ reason: "refund_amount_mismatch" }));
  }
  const draft = new Draft(snapshot, now);
  const changed = settleRefund(draft, refund.id, report.outcome, "notify", report.wechatRefundId);
  return draft.done(ok(changed ? "applied" : "repeated"));
}

/**
 * Moves a refund to what WeChat says: succeeded (and the order's status follows the refunded
 * amount), failed (the reservation is released), or flagged for an operator. Final states never
 * change again. Returns whether anything changed.
 */
function settleRefund(draft: Draft, id: string, outcome: RefundOutcome, source: TransitionSource, wechatRefundId: string | null): boolean {
  const refund = draft.refund(id);
  if (refund === undefined) return false;
  if (isFinalRefund(refund.state)) {
    if (outcome.kind !== "processing" && outcome.kind !== publicRefundStatus(refund.state)) {
      draft.log("warn", "refund_contradiction", { refundId: id, stored: refund.state, wechat: outcome.kind });
    }
    return false;
  }
  switch (outcome.kind) {
    case "succeeded": {
      draft.refundEvent(id, "succeeded", source, { refundId: wechatRefundId ?? refund.refundId, finishedAt: draft.now, nextAttemptAt: null });
      draft.transition(statusAfterRefunds(draft.order.amount, refundedAmount(draft.refunds)), source, `refund ${id} of ${refund.amount} fen`);
      return true;
    }
    case "failed":
      draft.log("warn", "refund_failed", { refundId: id, source, failure: outcome.note });
      draft.refundEvent(id, "failed", source, { failure: outcome.note, finishedAt: draft.now, nextAttemptAt: null }, outcome.note);
      return true;
    case "attention":
      if (refund.needsAttention) return false;
      draft.refundEvent(id, "flagged", source, { needsAttention: true, failure: "CHANGE" }, "CHANGE");
      draft.log("warn", "refund_needs_attention", { refundId: id });
      return true;
    case "processing":
      return false;
  }
}

/** Whether an operator's cancel is done already, refused, asks WeChat first, or goes ahead. */
export type CancelDecision = { readonly kind: "done" } | { readonly kind: "ask" } | { readonly kind: "cancel" } | { readonly kind: "refuse"; readonly error: OrderFailure };

/**
 * Whether an operator's cancel may go ahead. Only a queued refund WeChat never received can be
 * cancelled; one that was tried before may have reached WeChat, so WeChat is asked first.
 */
export function decideCancel(snapshot: OrderSnapshot, id: string, busy: boolean): CancelDecision {
  const refund = snapshot.refunds.find((r) => r.id === id);
  if (refund === undefined) return { kind: "refuse", error: { reason: "refund_not_found" } };
  if (refund.state === "failed" && refund.failure === "cancelled") return { kind: "done" };
  if (refund.state !== "queued") return notCancellable(refund.state === "processing" ? "WeChat has it" : `it is already ${refund.state}`);
  if (busy) return notCancellable("it is being sent to WeChat right now");
  return refund.attempts > 0 ? { kind: "ask" } : { kind: "cancel" };
}

/** WeChat has the refund after all: record what it says, and refuse the cancel. */
export function onCancelFoundAtWeChat(snapshot: OrderSnapshot, id: string, outcome: RefundOutcome, wechatRefundId: string | null, now: number): Decision<Result<never>> {
  const draft = new Draft(snapshot, now);
  draft.refundEvent(id, "accepted", "query", { refundId: wechatRefundId, submittedAt: now, attempts: 0, nextAttemptAt: now + REFUND_CHECK_AFTER_MS });
  settleRefund(draft, id, outcome, "query", wechatRefundId);
  return draft.done(fail(notCancellable("WeChat has it").error));
}

/** Cancels a queued refund: failed with failure "cancelled", its amount released. */
export function onCancel(snapshot: OrderSnapshot, id: string, now: number): Decision<Result<void>> {
  const draft = new Draft(snapshot, now);
  if (!draft.refundEvent(id, "cancelled", "admin", { failure: "cancelled", finishedAt: now, nextAttemptAt: null })) {
    return draft.done(fail(notCancellable("it changed while WeChat was asked").error));
  }
  draft.log("info", "refund_cancelled", { orderId: snapshot.order.id, refundId: id });
  return draft.done(ok(undefined));
}

function notCancellable(detail: string): { readonly kind: "refuse"; readonly error: OrderFailure } {
  return { kind: "refuse", error: { reason: "refund_not_cancellable", detail } };
}

/** Refunds the admin view should check with WeChat first: processing, and not asked in the last few seconds. */
export function refundsToRefresh(refunds: readonly Refund[], now: number): string[] {
  return refunds.filter((r) => r.state === "processing" && (r.lastCheckedAt === null || now - r.lastCheckedAt >= QUERY_MIN_INTERVAL_MS)).map((r) => r.id);
}

/** Refunds whose next send or check is due. */
export function refundsDue(refunds: readonly Refund[], now: number): string[] {
  return refunds.filter((r) => (r.state === "queued" || r.state === "processing") && r.nextAttemptAt !== null && r.nextAttemptAt <= now).map((r) => r.id);
}

// --- the schedule ----------------------------------------------------------------------------

/** The earliest time something is due, or null: what the order object's alarm is armed for. */
export function nextDueAt({ order, refunds, shipping }: OrderSnapshot): number | null {
  let due: number | null = publicStatus(order.state) === "pending" ? order.nextCheckAt : null;
  if (shipping.status === "uploading" && shipping.nextAttemptAt !== null && (due === null || shipping.nextAttemptAt < due)) due = shipping.nextAttemptAt;
  for (const r of refunds) {
    if ((r.state === "queued" || r.state === "processing") && r.nextAttemptAt !== null && (due === null || r.nextAttemptAt < due)) due = r.nextAttemptAt;
  }
  return due;
}

// --- failures --------------------------------------------------------------------------------

/** Whether repeating the call cannot help. */
export function isFinalFailure(failure: GatewayFailure): boolean {
  return failure.kind === "refused" || failure.kind === "unsendable";
}

/** What the caller is told of a failed call to WeChat. */
export function upstreamFailure(failure: GatewayFailure): OrderFailure {
  return { reason: failure.kind === "timeout" ? "upstream_timeout" : "upstream_failed" };
}
