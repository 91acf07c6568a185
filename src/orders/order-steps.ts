// The order object's work that spans a call to WeChat: each step loads the order, asks a decision,
// commits it, calls the payment gateway, and loads again to decide on the answer (other requests
// may have changed the order while the call was out). The intent is committed before each call.
import { log } from "../log";
import * as decide from "./decisions";
import { fail, ok, type Result } from "./order-result";
import type { TransitionSource } from "./order-state";
import { toRecord, type Order, type OrderRecord, type OrderSnapshot } from "./order-record";
import type { OrderStorage } from "./order-storage";
import type { GatewayFailure, PaymentGateway } from "./payment-gateway";
import { withVirtualShipping } from "./shipping-decisions";

/** What the steps need of the order's follow-ups (follow-ups.ts): whether events are recorded, and when the alarm is due for them. */
export interface FollowUpSchedule {
  readonly recordsEvents: boolean;
  dueAt(now: number): number | null;
}

/** The deployment's rules that shape a decision's writes: WECHAT_SHIPPING=virtual stores a paid order's upload with its payment. */
export interface OrderPolicy {
  readonly virtualShipping: boolean;
}

/** One order object's steps, over its storage and a source of payment gateways (one retry budget each). */
export class OrderSteps {
  readonly #store: OrderStorage;
  readonly #gateway: () => PaymentGateway;
  readonly #followUps: FollowUpSchedule;
  readonly #policy: OrderPolicy;
  /** One unifiedorder at a time: concurrent pay requests share its answer instead of racing. */
  #prepayInFlight: Promise<Result<OrderRecord>> | null = null;
  /** Refunds being sent or checked by this instance, so an alarm and a request never do it twice at once. */
  readonly busy = new Set<string>();

  constructor(store: OrderStorage, gateway: () => PaymentGateway, followUps: FollowUpSchedule, policy: OrderPolicy) {
    this.#store = store;
    this.#gateway = gateway;
    this.#followUps = followUps;
    this.#policy = policy;
  }

  /** A fresh gateway: one per incoming request or alarm task. */
  gateway(): PaymentGateway {
    return this.#gateway();
  }

  /**
   * Commits a decision's writes (if any) in one transaction, with its merchant events when this
   * deployment records them and, under WECHAT_SHIPPING=virtual, a payment's virtual-goods upload;
   * then writes its log lines. The caller's entry point arms the alarm
   * afterwards (see the shell), which indexes the change and sends the events.
   */
  commit<T>(decided: decide.Decision<T>): decide.Decision<T> {
    const decision = this.#policy.virtualShipping ? withVirtualShipping(decided) : decided;
    const change = this.#followUps.recordsEvents ? decision.change : { ...decision.change, events: [] };
    if (!decide.isEmptyChange(change)) this.#store.commit(change);
    writeLogs(decision);
    return decision;
  }

  /** The order as stored, which must exist (see OrderStorage.load). */
  mustLoad(): OrderSnapshot {
    const snapshot = this.#store.load();
    if (snapshot === null) throw new Error("order record missing");
    return snapshot;
  }

  /** Arms the alarm for what is due in `snapshot` (by default, the order as stored now). */
  async rearm(snapshot: OrderSnapshot = this.mustLoad()): Promise<void> {
    await this.#store.arm(this.dueAt(snapshot));
  }

  /** The earliest time something is due, the follow-ups (index entry, events) included: what the alarm is armed for. */
  dueAt(snapshot: OrderSnapshot): number | null {
    const own = decide.nextDueAt(snapshot);
    const followUps = this.#followUps.dueAt(Date.now());
    return own === null ? followUps : followUps === null ? own : Math.min(own, followUps);
  }

  /** Stores a new order with its first history entry, then the alarm that settles it at its expiry if nothing else does. */
  async create(order: Order): Promise<OrderSnapshot> {
    const created = decide.onCreated(order);
    this.#store.create(order, created.change);
    writeLogs(created);
    await this.rearm(created.next);
    return created.next;
  }

  /** A prepay_id the payer can use now: the stored one while it is fresh, else a unifiedorder (shared by concurrent requests). */
  prepare(snapshot: OrderSnapshot): Promise<Result<OrderRecord>> {
    const decision = decide.decidePrepare(snapshot.order, Date.now());
    if (decision.kind === "refuse") return Promise.resolve(fail(decision.error));
    if (decision.kind === "reuse") return Promise.resolve(ok(toRecord(snapshot)));
    this.#prepayInFlight ??= this.#unifiedOrder(snapshot.order).finally(() => {
      this.#prepayInFlight = null;
    });
    return this.#prepayInFlight;
  }

  async #unifiedOrder(order: Order): Promise<Result<OrderRecord>> {
    const gateway = this.gateway();
    const result = await gateway.prepare(decide.prepayRequest(order));
    if (result.kind === "prepared") {
      const prepared = this.commit(decide.onPrepared(this.mustLoad(), result.prepayId, Date.now()));
      return prepared.result.ok ? ok(toRecord(prepared.next)) : prepared.result;
    }
    // WeChat knows this out_trade_no in another state than ours: learn which, and answer with it.
    if (result.kind === "conflict") await this.queryAndApply(order.id, "query", gateway);
    const failed = this.commit(decide.onPrepareFailed(this.mustLoad(), result.failure, Date.now()));
    await this.rearm(failed.next);
    return failed.result;
  }

  /** The order after asking WeChat about it, if a read should (see decideRefresh). A failed query leaves it as stored. */
  async refresh(snapshot: OrderSnapshot): Promise<OrderSnapshot> {
    const decided = this.commit(decide.decideRefresh(snapshot, Date.now()));
    if (!decided.result) return decided.next;
    await this.queryAndApply(snapshot.order.id, "query", this.gateway());
    return this.mustLoad();
  }

  async queryAndApply(orderId: string, source: TransitionSource, gateway: PaymentGateway): Promise<void> {
    const answer = await gateway.query(orderId);
    if (answer.kind === "answered") this.commit(decide.onTradeReport(this.mustLoad(), answer.report, source, Date.now()));
  }

  /** A payer's close: closing is stored first (the alarm finishes a close cut short), then closeorder. */
  async close(snapshot: OrderSnapshot): Promise<Result<OrderRecord>> {
    const decided = this.commit(decide.decideClose(snapshot, Date.now()));
    if (decided.result.kind === "refuse") return fail(decided.result.error);
    if (decided.result.kind === "done") return ok(toRecord(decided.next));
    await this.rearm(decided.next);
    const failure = await this.closeAtWeChat("close", this.gateway());
    if (failure !== null) return fail(decide.upstreamFailure(failure));
    const current = this.mustLoad();
    const answer = decide.closeAnswer(current.order);
    return answer.ok ? ok(toRecord(current)) : answer;
  }

  /** closeorder, then the matching local state. Returns the failure if the close must be tried again. */
  async closeAtWeChat(source: TransitionSource, gateway: PaymentGateway): Promise<GatewayFailure | null> {
    const orderId = this.mustLoad().order.id;
    const result = await gateway.close(orderId);
    if (result.kind === "failed") return result.failure;
    if (result.kind === "paid") await this.queryAndApply(orderId, source, gateway);
    else await this.rearm(this.commit(decide.onClosed(this.mustLoad(), source, Date.now())).next);
    return null;
  }

  /**
   * The alarm's own work for the order: finish a close under way, or ask WeChat about a pending
   * order that is due. Returns the order as it is afterwards (`snapshot` itself when nothing was due).
   */
  async settle(snapshot: OrderSnapshot, now: number): Promise<OrderSnapshot> {
    const settle = decide.decideSettle(snapshot.order, now);
    if (settle.kind === "nothing") return snapshot;
    if (settle.kind === "query") {
      const answer = await this.gateway().query(snapshot.order.id);
      if (this.commit(decide.onSettleQuery(this.mustLoad(), answer, Date.now(), Math.random)).result !== "closing") return this.mustLoad();
    }
    const failure = await this.closeAtWeChat("alarm", this.gateway());
    if (failure !== null) this.commit(decide.onSettleCloseFailed(this.mustLoad(), failure, Date.now(), Math.random));
    return this.mustLoad();
  }

  /** One step for a refund: send it if queued and its turn has come, or check on it if WeChat has it. */
  async advanceRefund(id: string, gateway: PaymentGateway, source: TransitionSource): Promise<GatewayFailure | null> {
    if (this.busy.has(id)) return null;
    const step = this.commit(decide.decideRefundStep(this.mustLoad(), id, Date.now(), Math.random));
    if (step.result.kind === "check") return this.checkRefund(id, "alarm", gateway);
    if (step.result.kind !== "submit") {
      await this.rearm(step.next);
      return null;
    }
    this.busy.add(id);
    try {
      await this.rearm(step.next);
      const { order, refunds } = step.next;
      const refund = refunds.find((r) => r.id === id)!;
      const result = await gateway.refund({ orderId: order.id, refundId: id, orderAmount: order.amount, amount: refund.amount, reason: refund.reason });
      if (result.kind === "accepted") {
        this.commit(decide.onRefundAccepted(this.mustLoad(), id, result.wechatRefundId, source, Date.now()));
        return null;
      }
      this.commit(decide.onRefundSubmitFailed(this.mustLoad(), id, result.failure, result.kind === "throttled", Date.now()));
      return result.failure;
    } finally {
      this.busy.delete(id);
      await this.rearm();
    }
  }

  /** Asks WeChat what became of a refund (the check is recorded first, with when to look again) and applies the answer. */
  async checkRefund(id: string, source: TransitionSource, gateway: PaymentGateway): Promise<GatewayFailure | null> {
    if (this.busy.has(id)) return null;
    this.busy.add(id);
    try {
      this.commit(decide.decideRefundCheck(this.mustLoad(), id, Date.now(), Math.random));
      const result = await gateway.refundStatus(id);
      if (result.kind === "answered") {
        this.commit(decide.onRefundOutcome(this.mustLoad(), id, result.outcome, source, result.wechatRefundId, Date.now()));
        return null;
      }
      if (result.kind === "lost") this.commit(decide.onRefundLost(this.mustLoad(), id, source, Date.now()));
      return result.failure;
    } finally {
      this.busy.delete(id);
      await this.rearm();
    }
  }

  /** An operator's cancel of a queued refund; one tried before is looked up at WeChat first. */
  async cancelRefund(snapshot: OrderSnapshot, id: string): Promise<Result<OrderSnapshot>> {
    const decision = decide.decideCancel(snapshot, id, this.busy.has(id));
    if (decision.kind === "refuse") return fail(decision.error);
    if (decision.kind === "done") return ok(snapshot);
    this.busy.add(id);
    try {
      if (decision.kind === "ask") {
        const known = await this.gateway().refundStatus(id);
        if (known.kind === "answered") return this.commit(decide.onCancelFoundAtWeChat(this.mustLoad(), id, known.outcome, known.wechatRefundId, Date.now())).result;
        if (known.kind === "failed") return fail(decide.upstreamFailure(known.failure));
      }
      const cancelled = this.commit(decide.onCancel(this.mustLoad(), id, Date.now()));
      return cancelled.result.ok ? ok(cancelled.next) : cancelled.result;
    } finally {
      this.busy.delete(id);
      await this.rearm();
    }
  }
}

function writeLogs(decision: decide.Decision<unknown>): void {
  for (const line of decision.change.logs) log(line.level, line.event, line.fields);
}
