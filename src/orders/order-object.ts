// One Durable Object per order (named by its out_trade_no): the RPC shell around the order core.
// Each entry point loads the order and its refunds once, asks a pure decision (decisions.ts) what to
// do, and commits the result in one transaction (order-storage.ts); WeChat is reached only through
// the PaymentGateway. Intent is stored before each call to WeChat, and the alarm finishes whatever
// a crash or a time-out left half done.
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";
import { secretsOf } from "../config";
import { log, withLogContext } from "../log";
import * as decide from "./decisions";
import { fail, ok, type Result } from "./order-result";
import type { TransitionSource } from "./order-state";
import { toRecord, toRefundView, type HistoryEntry, type Order, type OrderRecord, type OrderSnapshot, type PaymentFact, type RefundHistoryEntry, type RefundReport, type RefundView } from "./order-record";
import { OrderStorage, type RowCounts } from "./order-storage";
import { paymentGateway } from "./pay-gateway";
import type { GatewayFailure, PaymentGateway } from "./payment-gateway";
import type { LineItem } from "./pricing";

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

/** Everything the operator's view of one order shows. */
export interface AdminView {
  readonly order: OrderRecord;
  readonly history: HistoryEntry[];
  readonly refunds: RefundView[];
  readonly refundHistory: RefundHistoryEntry[];
}

/** Whose request it is: a payer's openid (a payer may act on their own orders only), or null for the operator and the service. */
export type Requester = string | null;

export class OrderObject extends DurableObject<Env> {
  readonly #store: OrderStorage;
  /** One unifiedorder at a time: concurrent pay requests share its answer instead of racing. */
  #prepayInFlight: Promise<Result<OrderRecord>> | null = null;
  /** Refunds being sent or checked by this instance, so an alarm and a request never do it twice at once. */
  readonly #busy = new Set<string>();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#store = new OrderStorage(ctx.storage);
  }

  // --- reading -------------------------------------------------------------------------------

  /** The stored order, or null if this object holds none. */
  read(): OrderRecord | null {
    const snapshot = this.#store.load();
    return snapshot && toRecord(snapshot);
  }

  history(): HistoryEntry[] {
    return this.#store.history();
  }

  refunds(): RefundView[] {
    return (this.#store.load()?.refunds ?? []).map(toRefundView);
  }

  /** The earliest time something is due, or null: what the alarm is armed for. */
  nextDueAt(): number | null {
    const snapshot = this.#store.load();
    return snapshot && decide.nextDueAt(snapshot);
  }

  /** SQLite rows this instance has read and written since it started (for the bench's cost table). */
  rowCounts(): RowCounts {
    return { ...this.#store.rows };
  }

  /** The operator's view in one call: refunds still processing and a pending order are checked with WeChat first. */
  adminView(requestId?: string): Promise<Result<AdminView>> {
    return this.#forRequester(null, requestId, async (snapshot) => {
      for (const id of decide.refundsToRefresh(snapshot.refunds, Date.now())) await this.#checkRefund(id, "query", paymentGateway(this.env));
      const current = await this.#refresh(this.#mustLoad());
      return ok({ order: toRecord(current), history: this.#store.history(), refunds: current.refunds.map(toRefundView), refundHistory: this.#store.refundHistory() });
    });
  }

  // --- creating and paying -------------------------------------------------------------------

  /** Stores a new order (or keeps the one already stored under this id, for an Idempotency-Key replay), then prepares its payment. */
  createAndPrepare(input: NewOrder, requestId?: string): Promise<Result<OrderRecord>> {
    return this.#logged(requestId, async () => {
      let snapshot = this.#store.load();
      if (snapshot === null) {
        const order: Order = {
          ...input, state: "pending", transactionId: null, paidAt: null, prepayId: null, prepayIssuedAt: null, lastQueriedAt: null,
          paidAfterClose: false, nextCheckAt: input.expiresAt + decide.EXPIRY_GRACE_MS, checkAttempts: 0,
        };
        const created = decide.onCreated(order);
        this.#store.create(order, created.change);
        this.#log(created);
        snapshot = created.next;
        // Stored first, then the alarm that settles the order at its expiry if nothing else does.
        await this.#store.arm(decide.nextDueAt(snapshot));
      }
      return this.#prepare(snapshot);
    });
  }

  /** A prepay_id the payer can use now: the stored one while it is fresh, else a unifiedorder. */
  preparePayment(requester: Requester, requestId?: string): Promise<Result<OrderRecord>> {
    return this.#forRequester(requester, requestId, (snapshot) => this.#prepare(snapshot));
  }

  /** The order after asking WeChat about it, if it is pending and was not asked in the last few seconds. Reads never fail on WeChat. */
  refresh(requester: Requester, requestId?: string): Promise<Result<OrderRecord>> {
    return this.#forRequester(requester, requestId, async (snapshot) => ok(toRecord(await this.#refresh(snapshot))));
  }

  /** Closes the order at WeChat, then here. A paid order (even one WeChat reveals as paid now) is refused. */
  close(requester: Requester, requestId?: string): Promise<Result<OrderRecord>> {
    return this.#forRequester(requester, requestId, async (snapshot) => {
      const decided = this.#commit(decide.decideClose(snapshot, Date.now()));
      if (decided.result.kind === "refuse") return fail(decided.result.error);
      if (decided.result.kind === "done") return ok(toRecord(decided.next));
      await this.#store.arm(decide.nextDueAt(decided.next));
      const failure = await this.#closeAtWeChat("close", paymentGateway(this.env));
      if (failure !== null) return fail(decide.upstreamFailure(failure));
      const current = this.#mustLoad();
      const answer = decide.closeAnswer(current.order);
      return answer.ok ? ok(toRecord(current)) : answer;
    });
  }

  /** Records a payment WeChat confirmed (the caller verified the notification). The amount must equal the order's; repeats change nothing. */
  applyPayment(fact: PaymentFact, source: TransitionSource, requestId?: string): Result<"applied" | "repeated"> {
    return this.#logged(requestId, () => {
      const snapshot = this.#store.load();
      if (snapshot === null) return fail({ reason: "not_found" });
      return this.#commit(decide.onPaymentConfirmed(snapshot, fact, source, Date.now())).result;
    });
  }

  // --- refunds -------------------------------------------------------------------------------

  /** Reserves `amount` fen for a refund and sends it to WeChat (now, or once WeChat's spacing allows). */
  createRefund(input: decide.NewRefund, requestId?: string): Promise<Result<{ refund: RefundView; order: OrderRecord; created: boolean }>> {
    return this.#forRequester(null, requestId, async (snapshot): Promise<Result<{ refund: RefundView; order: OrderRecord; created: boolean }>> => {
      const decided = this.#commit(decide.decideNewRefund(snapshot, input, Date.now()));
      const outcome = decided.result;
      if (outcome.kind === "refuse") return fail(outcome.error);
      if (outcome.kind === "replay") return ok({ ...refundAndOrder(decided.next, outcome.refundId), created: false });
      await this.#store.arm(decide.nextDueAt(decided.next));
      const failure = await this.#advanceRefund(input.id, paymentGateway(this.env), "api");
      const current = this.#mustLoad();
      const refund = current.refunds.find((r) => r.id === input.id);
      if (refund?.state === "failed") {
        return fail(failure?.kind === "unsendable" ? { reason: "refund_unsendable", detail: failure.detail ?? failure.note } : { reason: "refund_rejected", detail: refund.failure ?? "unknown reason" });
      }
      return ok({ ...refundAndOrder(current, input.id), created: true });
    });
  }

  /** Applies WeChat's verified refund notification: it must name a refund of this order with the same amounts. */
  applyRefundNotice(report: RefundReport, requestId?: string): Promise<Result<"applied" | "repeated">> {
    return this.#forRequester(null, requestId, async (snapshot) => {
      const decided = this.#commit(decide.onRefundReport(snapshot, report, Date.now()));
      await this.#store.arm(decide.nextDueAt(decided.next));
      return decided.result;
    });
  }

  /** Cancels a refund WeChat never received (failed, "cancelled", amount released); one that was tried before is looked up at WeChat first. */
  cancelRefund(refundId: string, requestId?: string): Promise<Result<{ refund: RefundView; order: OrderRecord }>> {
    return this.#forRequester(null, requestId, async (snapshot) => {
      const decision = decide.decideCancel(snapshot, refundId, this.#busy.has(refundId));
      if (decision.kind === "refuse") return fail(decision.error);
      if (decision.kind === "done") return ok(refundAndOrder(snapshot, refundId));
      this.#busy.add(refundId);
      try {
        if (decision.kind === "ask") {
          const known = await paymentGateway(this.env).refundStatus(refundId);
          if (known.kind === "answered") return this.#commit(decide.onCancelFoundAtWeChat(this.#mustLoad(), refundId, known.outcome, known.wechatRefundId, Date.now())).result;
          if (known.kind === "failed") return fail(decide.upstreamFailure(known.failure));
        }
        const cancelled = this.#commit(decide.onCancel(this.#mustLoad(), refundId, Date.now()));
        return cancelled.result.ok ? ok(refundAndOrder(cancelled.next, refundId)) : cancelled.result;
      } finally {
        this.#busy.delete(refundId);
        await this.#rearm();
      }
    });
  }

  // --- the alarm: each order keeps its own schedule -------------------------------------------

  /** Settles whatever is due: an unpaid order past its expiry, a close left half done, refunds to send or check. */
  override alarm(): Promise<void> {
    return this.#logged(undefined, async () => {
      this.#store.alarmFired();
      const snapshot = this.#store.load();
      if (snapshot === null) return;
      const now = Date.now();
      const settle = decide.decideSettle(snapshot.order, now);
      if (settle.kind === "query") {
        const answer = await paymentGateway(this.env).query(snapshot.order.id);
        const decided = this.#commit(decide.onSettleQuery(this.#mustLoad(), answer, Date.now(), Math.random));
        if (decided.result === "closing") await this.#settleByClose();
      } else if (settle.kind === "close") {
        await this.#settleByClose();
      }
      for (const id of decide.refundsDue(this.#mustLoad().refunds, now)) await this.#advanceRefund(id, paymentGateway(this.env), "alarm");
      await this.#rearm();
    });
  }

  async #settleByClose(): Promise<void> {
    const failure = await this.#closeAtWeChat("alarm", paymentGateway(this.env));
    if (failure !== null) this.#commit(decide.onSettleCloseFailed(this.#mustLoad(), failure, Date.now(), Math.random));
  }

  // --- steps that call WeChat ----------------------------------------------------------------

  #prepare(snapshot: OrderSnapshot): Promise<Result<OrderRecord>> {
    const decision = decide.decidePrepare(snapshot.order, Date.now());
    if (decision.kind === "refuse") return Promise.resolve(fail(decision.error));
    if (decision.kind === "reuse") return Promise.resolve(ok(toRecord(snapshot)));
    this.#prepayInFlight ??= this.#unifiedOrder(snapshot.order).finally(() => {
      this.#prepayInFlight = null;
    });
    return this.#prepayInFlight;
  }

  async #unifiedOrder(order: Order): Promise<Result<OrderRecord>> {
    const gateway = paymentGateway(this.env);
    const result = await gateway.prepare(decide.prepayRequest(order));
    if (result.kind === "prepared") {
      const prepared = this.#commit(decide.onPrepared(this.#mustLoad(), result.prepayId, Date.now()));
      return prepared.result.ok ? ok(toRecord(prepared.next)) : prepared.result;
    }
    // WeChat knows this out_trade_no in another state than ours: learn which, and answer with it.
    if (result.kind === "conflict") await this.#queryAndApply(order.id, "query", gateway);
    const failed = this.#commit(decide.onPrepareFailed(this.#mustLoad(), result.failure, Date.now()));
    await this.#store.arm(decide.nextDueAt(failed.next));
    return failed.result;
  }

  async #refresh(snapshot: OrderSnapshot): Promise<OrderSnapshot> {
    const decided = this.#commit(decide.decideRefresh(snapshot, Date.now()));
    if (!decided.result) return decided.next;
    await this.#queryAndApply(snapshot.order.id, "query", paymentGateway(this.env));
    return this.#mustLoad();
  }

  async #queryAndApply(orderId: string, source: TransitionSource, gateway: PaymentGateway): Promise<void> {
    const answer = await gateway.query(orderId);
    if (answer.kind === "answered") this.#commit(decide.onTradeReport(this.#mustLoad(), answer.report, source, Date.now()));
  }

  /** closeorder, then the matching local state. Returns the failure if the close must be tried again. */
  async #closeAtWeChat(source: TransitionSource, gateway: PaymentGateway): Promise<GatewayFailure | null> {
    const orderId = this.#mustLoad().order.id;
    const result = await gateway.close(orderId);
    if (result.kind === "failed") return result.failure;
    if (result.kind === "paid") await this.#queryAndApply(orderId, source, gateway);
    else await this.#store.arm(decide.nextDueAt(this.#commit(decide.onClosed(this.#mustLoad(), source, Date.now())).next));
    return null;
  }

  /** One step for a refund: send it if queued and its turn has come, or check on it if WeChat has it. */
  async #advanceRefund(id: string, gateway: PaymentGateway, source: TransitionSource): Promise<GatewayFailure | null> {
    if (this.#busy.has(id)) return null;
    const step = this.#commit(decide.decideRefundStep(this.#mustLoad(), id, Date.now(), Math.random));
    if (step.result.kind === "check") return this.#checkRefund(id, "alarm", gateway);
    if (step.result.kind !== "submit") {
      await this.#store.arm(decide.nextDueAt(step.next));
      return null;
    }
    this.#busy.add(id);
    try {
      await this.#store.arm(decide.nextDueAt(step.next));
      const { order, refunds } = step.next;
      const refund = refunds.find((r) => r.id === id)!;
      const result = await gateway.refund({ orderId: order.id, refundId: id, orderAmount: order.amount, amount: refund.amount, reason: refund.reason });
      if (result.kind === "accepted") {
        this.#commit(decide.onRefundAccepted(this.#mustLoad(), id, result.wechatRefundId, source, Date.now()));
        return null;
      }
      this.#commit(decide.onRefundSubmitFailed(this.#mustLoad(), id, result.failure, result.kind === "throttled", Date.now()));
      return result.failure;
    } finally {
      this.#busy.delete(id);
      await this.#rearm();
    }
  }

  async #checkRefund(id: string, source: TransitionSource, gateway: PaymentGateway): Promise<GatewayFailure | null> {
    if (this.#busy.has(id)) return null;
    this.#busy.add(id);
    try {
      this.#commit(decide.decideRefundCheck(this.#mustLoad(), id, Date.now(), Math.random));
      const result = await gateway.refundStatus(id);
      if (result.kind === "answered") {
        this.#commit(decide.onRefundOutcome(this.#mustLoad(), id, result.outcome, source, result.wechatRefundId, Date.now()));
        return null;
      }
      if (result.kind === "lost") this.#commit(decide.onRefundLost(this.#mustLoad(), id, source, Date.now()));
      return result.failure;
    } finally {
      this.#busy.delete(id);
      await this.#rearm();
    }
  }

  // --- plumbing ------------------------------------------------------------------------------

  /** Commits a decision's writes (if any) in one transaction, then writes its log lines. */
  #commit<T>(decision: decide.Decision<T>): decide.Decision<T> {
    if (!decide.isEmptyChange(decision.change)) this.#store.commit(decision.change);
    this.#log(decision);
    return decision;
  }

  #log(decision: decide.Decision<unknown>): void {
    for (const line of decision.change.logs) log(line.level, line.event, line.fields);
  }

  async #rearm(): Promise<void> {
    await this.#store.arm(decide.nextDueAt(this.#mustLoad()));
  }

  #mustLoad(): OrderSnapshot {
    const snapshot = this.#store.load();
    if (snapshot === null) throw new Error("order record missing");
    return snapshot;
  }

  /** Runs `action` on the stored order if `requester` may act on it; otherwise says why (not found, another payer's) before any work. */
  #forRequester<T>(requester: Requester, requestId: string | undefined, action: (snapshot: OrderSnapshot) => Promise<Result<T>>): Promise<Result<T>> {
    return this.#logged(requestId, async (): Promise<Result<T>> => {
      const snapshot = this.#store.load();
      if (snapshot === null) return fail({ reason: "not_found" });
      if (requester !== null && snapshot.order.openid !== requester) return fail({ reason: "forbidden" });
      return action(snapshot);
    });
  }

  /** Runs an entry point with its log lines tagged by the request's id (an alarm run gets its own). */
  #logged<T>(requestId: string | undefined, fn: () => T): T {
    return withLogContext(requestId ?? `alarm-${crypto.randomUUID()}`, secretsOf(this.env), fn);
  }
}

function refundAndOrder(snapshot: OrderSnapshot, refundId: string): { refund: RefundView; order: OrderRecord } {
  return { refund: toRefundView(snapshot.refunds.find((r) => r.id === refundId)!), order: toRecord(snapshot) };
}
