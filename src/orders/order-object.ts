// One Durable Object per order (named by its out_trade_no): the RPC shell around the order core.
// It decides who may act, tags log lines with the request's id, and hands each call to a decision
// (decisions.ts) over the order as loaded once (order-storage.ts), or to a step that calls WeChat
// (order-steps.ts). Racing events are applied one after another, and the alarm finishes whatever
// a crash or a time-out left half done.
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";
import { secretsOf, shippingMode } from "../config";
import { wechatShippingGateway } from "../mp/shipping-adapter";
import { withLogContext } from "../log";
import * as decide from "./decisions";
import type { EventView } from "../events/outbox";
import { fail, ok, type Result } from "./order-result";
import type { TransitionSource } from "./order-state";
import { refundAndOrder, toRecord, toRefundView, type HistoryEntry, type OrderRecord, type OrderSnapshot, type PaymentFact, type RefundHistoryEntry, type RefundReport, type RefundView } from "./order-record";
import { OrderFollowUps } from "./follow-ups";
import { OrderSteps } from "./order-steps";
import { OrderStorage } from "./order-storage";
import { paymentGateway } from "./pay-gateway";
import { toShippingView, type ShippingRequest, type ShippingView } from "./shipping";
import { decideShippingRequest, onSettlement, type SettlementReport } from "./shipping-decisions";
import { ShippingSteps } from "./shipping-steps";

/** Everything the operator's view of one order shows. */
export interface AdminView {
  readonly order: OrderRecord;
  readonly history: HistoryEntry[];
  readonly refunds: RefundView[];
  readonly refundHistory: RefundHistoryEntry[];
  /** merchant events, oldest first */
  readonly events: EventView[];
  /** null until shipping was asked for or WeChat reported a settlement */
  readonly shipping: ShippingView | null;
}

/** Whose request it is: a payer's openid (a payer may act on their own orders only), or null for the operator and the service. */
export type Requester = string | null;

export class OrderObject extends DurableObject<Env> {
  readonly #store: OrderStorage;
  readonly #steps: OrderSteps;
  readonly #followUps: OrderFollowUps;
  readonly #shipping: ShippingSteps;
  /** cut out of every log line this object writes */
  readonly #secrets: readonly (string | undefined)[];

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#secrets = secretsOf(env);
    this.#store = new OrderStorage(ctx.storage);
    this.#followUps = new OrderFollowUps(this.#store, env);
    this.#steps = new OrderSteps(this.#store, () => paymentGateway(this.env), this.#followUps, { virtualShipping: shippingMode(env) === "virtual" });
    this.#shipping = new ShippingSteps(this.#steps, () => wechatShippingGateway(this.env));
  }

  // --- reading -------------------------------------------------------------------------------

  /** The stored order, or null if this object holds none. */
  read(): OrderRecord | null {
    const snapshot = this.#store.load();
    return snapshot && toRecord(snapshot);
  }

  /** The order's public history, oldest first. */
  history(): HistoryEntry[] {
    return this.#store.history();
  }

  /** The order's refunds, oldest first. */
  refunds(): RefundView[] {
    return (this.#store.load()?.refunds ?? []).map(toRefundView);
  }

  /** The earliest time something is due, merchant events and the index entry included, or null: what the alarm is armed for. */
  nextDueAt(): number | null {
    const snapshot = this.#store.load();
    return snapshot && this.#steps.dueAt(snapshot);
  }

  /**
   * The operator's view in one call: refunds still processing, a pending order and shipping under
   * way or awaiting settlement are checked with WeChat first.
   */
  adminView(requestId?: string): Promise<Result<AdminView>> {
    return this.#forRequester(null, requestId, async (snapshot) => {
      for (const id of decide.refundsToRefresh(snapshot.refunds, Date.now())) await this.#steps.checkRefund(id, "query", this.#steps.gateway());
      await this.#steps.refresh(this.#steps.mustLoad());
      await this.#shipping.refresh();
      const current = this.#steps.mustLoad();
      return ok({
        order: toRecord(current), history: this.#store.history(), refunds: current.refunds.map(toRefundView), refundHistory: this.#store.refundHistory(),
        events: this.#followUps.events(), shipping: toShippingView(current.shipping),
      });
    });
  }

  // --- creating and paying -------------------------------------------------------------------

  /** Stores a new order (or keeps the one already stored under this id, for an Idempotency-Key replay), then prepares its payment. */
  createAndPrepare(input: decide.NewOrder, requestId?: string): Promise<Result<OrderRecord>> {
    return this.#logged(requestId, async () => {
      const snapshot = this.#store.load() ?? (await this.#steps.create(decide.newPendingOrder(input)));
      return this.#steps.prepare(snapshot);
    });
  }

  /** Stores a new order (or keeps the one already stored under this id) without calling WeChat: it is prepared when its payer pays. */
  create(input: decide.NewOrder, requestId?: string): Promise<OrderRecord> {
    return this.#logged(requestId, async () => {
      const snapshot = this.#store.load() ?? (await this.#steps.create(decide.newPendingOrder(input)));
      return toRecord(snapshot);
    });
  }

  /** A prepay_id the payer can use now: the stored one while it is fresh, else a unifiedorder. */
  preparePayment(requester: Requester, requestId?: string): Promise<Result<OrderRecord>> {
    return this.#forRequester(requester, requestId, (snapshot) => this.#steps.prepare(snapshot));
  }

  /** The order after asking WeChat about it, if it is pending and was not asked in the last few seconds. Reads never fail on WeChat. */
  refresh(requester: Requester, requestId?: string): Promise<Result<OrderRecord>> {
    return this.#forRequester(requester, requestId, async (snapshot) => ok(toRecord(await this.#steps.refresh(snapshot))));
  }

  /** Closes the order at WeChat, then here. A paid order (even one WeChat reveals as paid now) is refused. */
  close(requester: Requester, requestId?: string): Promise<Result<OrderRecord>> {
    return this.#forRequester(requester, requestId, (snapshot) => this.#steps.close(snapshot));
  }

  /** Records a payment WeChat confirmed (the caller verified the notification). The amount must equal the order's; repeats change nothing. */
  applyPayment(fact: PaymentFact, source: TransitionSource, requestId?: string): Promise<Result<"applied" | "repeated">> {
    return this.#forRequester(null, requestId, async (snapshot) => this.#steps.commit(decide.onPaymentConfirmed(snapshot, fact, source, Date.now())).result);
  }

  // --- refunds -------------------------------------------------------------------------------

  /** Reserves `amount` fen for a refund and sends it to WeChat (now, or once WeChat's spacing allows). */
  createRefund(input: decide.NewRefund, requestId?: string): Promise<Result<{ refund: RefundView; order: OrderRecord; created: boolean }>> {
    return this.#forRequester(null, requestId, async (snapshot): Promise<Result<{ refund: RefundView; order: OrderRecord; created: boolean }>> => {
      const decided = this.#steps.commit(decide.decideNewRefund(snapshot, input, Date.now()));
      const outcome = decided.result;
      if (outcome.kind === "refuse") return fail(outcome.error);
      if (outcome.kind === "replay") return ok({ ...refundAndOrder(decided.next, outcome.refundId), created: false });
      await this.#steps.rearm(decided.next);
      const failure = await this.#steps.advanceRefund(input.id, this.#steps.gateway(), "api");
      const current = this.#steps.mustLoad();
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
      const decided = this.#steps.commit(decide.onRefundReport(snapshot, report, Date.now()));
      await this.#steps.rearm(decided.next);
      return decided.result;
    });
  }

  /** Cancels a refund WeChat never received (failed, "cancelled", amount released); a refund WeChat has is never cancelled here. */
  cancelRefund(refundId: string, requestId?: string): Promise<Result<{ refund: RefundView; order: OrderRecord }>> {
    return this.#forRequester(null, requestId, async (snapshot) => {
      const cancelled = await this.#steps.cancelRefund(snapshot, refundId);
      return cancelled.ok ? ok(refundAndOrder(cancelled.value, refundId)) : cancelled;
    });
  }

  // --- shipping -------------------------------------------------------------------------------

  /** An operator's shipping information: stored first, then uploaded now; passing failures are retried by the alarm. */
  requestShipping(request: ShippingRequest, requestId?: string): Promise<Result<{ order: OrderRecord; shipping: ShippingView }>> {
    return this.#forRequester(null, requestId, async (snapshot) => {
      const decided = this.#steps.commit(decideShippingRequest(snapshot, request, Date.now()));
      if (!decided.result.ok) return decided.result;
      await this.#shipping.advance();
      const current = this.#steps.mustLoad();
      return ok({ order: toRecord(current), shipping: toShippingView(current.shipping)! });
    });
  }

  /** Applies WeChat's verified settlement push: it must name the order's transaction. */
  applySettlement(report: SettlementReport, requestId?: string): Promise<Result<"applied" | "repeated">> {
    return this.#forRequester(null, requestId, async (snapshot) => this.#steps.commit(onSettlement(snapshot, report, Date.now())).result);
  }

  // --- merchant events ------------------------------------------------------------------------

  /** An operator's redelivery of one event: pending again, attempted by the alarm now, with a fresh round of retries. */
  redeliverEvent(eventId: string, requestId?: string): Promise<Result<EventView>> {
    return this.#forRequester(null, requestId, async () => {
      const event = this.#followUps.redeliver(eventId);
      return event === null ? fail({ reason: "event_not_found" }) : ok(event);
    });
  }

  // --- the alarm: each order keeps its own schedule -------------------------------------------

  /**
   * Settles whatever is due: an unpaid order past its expiry, a close left half done, refunds to
   * send or check, a shipping upload; and the follow-ups: the index entry first (it is quick), the events after the
   * order's own work, and the index again for what that changed.
   */
  override alarm(): Promise<void> {
    return this.#logged(undefined, async () => {
      this.#store.alarmFired();
      const snapshot = this.#store.load();
      if (snapshot === null) return;
      await this.#followUps.writeIndex();
      const now = Date.now();
      const settled = await this.#steps.settle(snapshot, now);
      const due = decide.refundsDue(settled.refunds, now);
      for (const id of due) await this.#steps.advanceRefund(id, this.#steps.gateway(), "alarm");
      await this.#shipping.advance();
      await this.#followUps.deliverDue();
      await this.#followUps.writeIndex();
      await this.#steps.rearm();
    });
  }

  /**
   * Runs `action` on the stored order if `requester` may act on it; otherwise says why (not found,
   * another payer's) before any work. Afterwards the alarm is armed for whatever the action left
   * due, the follow-ups of its commits included: they run there, never in this request.
   */
  #forRequester<T>(requester: Requester, requestId: string | undefined, action: (snapshot: OrderSnapshot) => Promise<Result<T>>): Promise<Result<T>> {
    return this.#logged(requestId, async (): Promise<Result<T>> => {
      const snapshot = this.#store.load();
      if (snapshot === null) return fail({ reason: "not_found" });
      if (requester !== null && snapshot.order.openid !== requester) return fail({ reason: "forbidden" });
      const result = await action(snapshot);
      await this.#steps.rearm();
      return result;
    });
  }

  /** Runs an entry point with its log lines tagged by the request's id (an alarm run gets its own). */
  #logged<T>(requestId: string | undefined, fn: () => T): T {
    return withLogContext(requestId ?? `alarm-${crypto.randomUUID()}`, this.#secrets, fn);
  }
}
