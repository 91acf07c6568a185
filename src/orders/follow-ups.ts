// What an order object owes the outside world after its own commits, run by its alarm and never
// awaited by the request that caused the change: the order's entry in the operator's index, and
// its merchant events, delivered one at a time and strictly in order. Both are driven by storage
// (the version not yet indexed, the pending events), so a restart between a commit and its
// follow-up loses nothing; neither ever blocks or fails the order's own work.
import { merchantWebhook, type MerchantWebhook } from "../config";
import { deliverEvent, type DeliveryOutcome } from "../events/delivery";
import { afterAttempt, eventToSend, redelivery, toEventView, type EventView } from "../events/outbox";
import { indexOrder } from "../listing/order-index";
import { log } from "../log";
import type { Env } from "../env";
import { toOrderView, toRecord } from "./order-record";
import type { OrderStorage } from "./order-storage";
import { backoffDelay } from "./retry-schedule";

/** A failed index write is tried again after a growing pause (in memory: a restarted object tries at once). */
const INDEX_RETRY = { baseMs: 2_000, capMs: 5 * 60_000 } as const;

export class OrderFollowUps {
  readonly #store: OrderStorage;
  readonly #env: Env;
  #indexFailures = 0;
  #indexRetryAt: number | null = null;
  /** one delivery at a time per order: an alarm and an operator's redelivery never send twice at once */
  #delivering = false;

  constructor(store: OrderStorage, env: Env) {
    this.#store = store;
    this.#env = env;
  }

  /** Whether this deployment records merchant events (MERCHANT_WEBHOOK_URL is set). */
  get recordsEvents(): boolean {
    return merchantWebhook(this.#env) !== null;
  }

  /** When the follow-ups next need the alarm: an index entry behind the order, or the oldest pending event. */
  dueAt(now: number): number | null {
    const state = this.#store.indexState();
    const indexDue = state !== null && state.indexedVersion < state.version ? Math.max(now, this.#indexRetryAt ?? now) : null;
    // Events recorded while MERCHANT_WEBHOOK_URL was set wait, pending, while it is not: without
    // this, the alarm would be armed for them again and again and never send them.
    const eventDue = this.recordsEvents ? this.#store.nextEventDueAt() : null;
    if (indexDue === null) return eventDue;
    return eventDue === null ? indexDue : Math.min(indexDue, eventDue);
  }

  /** Writes the order's entry (with its events) to the index if the index is behind. A failure is logged and retried, never thrown. */
  async writeIndex(): Promise<void> {
    // A failed write waits out its pause: the alarm's second pass (after the order's own work) does
    // not try again at once, which would count two failures, and double the pause, every run.
    if (this.#indexRetryAt !== null && Date.now() < this.#indexRetryAt) return;
    const state = this.#store.indexState();
    const snapshot = this.#store.load();
    if (state === null || snapshot === null || state.indexedVersion >= state.version) return;
    const record = toRecord(snapshot);
    try {
      await indexOrder(
        this.#env.ORDER_INDEX,
        {
          order: toOrderView(record),
          openid: record.openid,
          paidAfterClose: record.paidAfterClose,
          refundedAt: snapshot.refunds.flatMap((r) => (r.state === "succeeded" && r.finishedAt !== null ? [r.finishedAt] : [])),
          events: this.#store.outbox().map(toEventView),
        },
        state.version,
        Date.now(),
      );
      this.#store.markIndexed(state.version);
      this.#indexFailures = 0;
      this.#indexRetryAt = null;
    } catch {
      this.#indexRetryAt = Date.now() + backoffDelay(this.#indexFailures++, INDEX_RETRY);
      log("warn", "order_index_write_failed", { orderId: record.id, version: state.version, failures: this.#indexFailures });
    }
  }

  /** Attempts the order's due events, oldest first, one at a time; stops at the first that is not delivered. */
  async deliverDue(): Promise<void> {
    const webhook = merchantWebhook(this.#env);
    if (webhook === null || this.#delivering) return;
    this.#delivering = true;
    try {
      for (let event = eventToSend(this.#store.outbox(), Date.now()); event !== null; event = eventToSend(this.#store.outbox(), Date.now())) {
        const outcome = await attempt(webhook, event.id, event.body);
        const now = Date.now();
        const patch = afterAttempt(event, outcome, now, Math.random());
        this.#store.updateEvent(event.id, patch);
        log(outcome.delivered ? "info" : "warn", "merchant_event_attempt", {
          eventId: event.id, type: event.type, attempts: patch.attempts, status: patch.status, ...(outcome.delivered ? { httpStatus: outcome.status } : { error: outcome.error }),
        });
        if (!outcome.delivered) return;
      }
    } finally {
      this.#delivering = false;
    }
  }

  /** An operator's redelivery: the event is pending again, due now, with a fresh round of attempts. Null for an unknown event. */
  redeliver(eventId: string): EventView | null {
    const event = this.#store.outbox().find((e) => e.id === eventId);
    if (event === undefined) return null;
    const patch = redelivery(event, Date.now());
    this.#store.updateEvent(eventId, patch);
    return toEventView({ ...event, ...patch });
  }

  /** The order's events for the admin view, oldest first. */
  events(): EventView[] {
    return this.#store.outbox().map(toEventView);
  }
}

function attempt(webhook: MerchantWebhook, id: string, body: string): Promise<DeliveryOutcome> {
  // A URL or secret that cannot be used counts as a failed attempt: the event waits, retried, until the setting is fixed.
  if (webhook.target === null) return Promise.resolve({ delivered: false, error: "MERCHANT_WEBHOOK_URL or MERCHANT_WEBHOOK_SECRET is not usable" });
  return deliverEvent({ url: webhook.target.url, secret: webhook.target.secret, id, body, now: Date.now() });
}
