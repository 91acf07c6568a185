// The order object's outbox of merchant events, as pure data and decisions: which event a change
// causes (its body fixed then, sent byte-identical on every attempt), which event is due next
// (strictly in order within an order), and what an attempt's outcome writes. No storage, no fetch.
import { MAX_ATTEMPTS, nextAttemptAt } from "./schedule";
import type { DeliveryOutcome } from "./delivery";

export const EVENT_TYPES = ["order.paid", "order.closed", "refund.succeeded", "refund.failed", "order.shipped", "order.settled"] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export const EVENT_STATUSES = ["pending", "delivered", "failed"] as const;
export type EventStatus = (typeof EVENT_STATUSES)[number];

/** What an event id looks like: "evt_" and the id of the order or refund it is about, then what happened. */
export const EVENT_ID_PATTERN = /^evt_[0-9A-Za-z_-]{6,32}\.(paid|closed|succeeded|failed|shipped|reshipped|settled)$/;

/** An event as a decision writes it: its body is final. */
export interface NewEvent {
  readonly id: string;
  readonly type: EventType;
  /** ms since epoch of the change */
  readonly at: number;
  /** the exact JSON sent on every attempt */
  readonly body: string;
}

/** An event as stored, with its delivery's bookkeeping. */
export interface OutboxEvent extends NewEvent {
  readonly status: EventStatus;
  readonly attempts: number;
  readonly lastAttemptAt: number | null;
  readonly lastError: string | null;
  readonly nextAttemptAt: number | null;
}

/** The columns an attempt or a redelivery changes. */
export type EventPatch = Pick<OutboxEvent, "status" | "attempts" | "lastAttemptAt" | "lastError" | "nextAttemptAt">;

/** The contract's view of an event (the admin view and GET /admin/events). */
export interface EventView {
  readonly id: string;
  readonly type: EventType;
  readonly timestamp: string;
  readonly status: EventStatus;
  readonly attempts: number;
  readonly lastAttemptAt: string | null;
  readonly lastError: string | null;
  readonly nextAttemptAt: string | null;
}

/**
 * The event `type` about `subjectId` (the order, or the refund for refund events), at `at`. Its id
 * follows from what happened: an order is paid, closed and settled once and a refund ends once, so a
 * decision replayed after a crash can never write the same change's event twice under two ids. An
 * order is shipped at most twice (WeChat allows one re-shipment): the second is `what` "reshipped".
 */
export function newEvent(type: EventType, subjectId: string, at: number, data: Record<string, unknown>, what = type.split(".")[1]): NewEvent {
  const id = `evt_${subjectId}.${what}`;
  return { id, type, at, body: JSON.stringify({ id, type, timestamp: new Date(at).toISOString(), data }) };
}

/** The event to attempt now, if any: the oldest pending one, once its time has come. Later ones wait for it. */
export function eventToSend(events: readonly OutboxEvent[], now: number): OutboxEvent | null {
  const first = events.find((e) => e.status === "pending");
  return first !== undefined && first.nextAttemptAt !== null && first.nextAttemptAt <= now ? first : null;
}

/** When the oldest pending event is due, or null when none is pending. */
export function nextEventDueAt(events: readonly OutboxEvent[]): number | null {
  return events.find((e) => e.status === "pending")?.nextAttemptAt ?? null;
}

/** What an attempt at `now` writes: delivered, or the next attempt's time, or failed after the last one. */
export function afterAttempt(event: OutboxEvent, outcome: DeliveryOutcome, now: number, random: number): EventPatch {
  const attempts = event.attempts + 1;
  if (outcome.delivered) return { status: "delivered", attempts, lastAttemptAt: now, lastError: null, nextAttemptAt: null };
  const next = attempts >= MAX_ATTEMPTS ? null : nextAttemptAt(attempts, now, random);
  return { status: next === null ? "failed" : "pending", attempts, lastAttemptAt: now, lastError: outcome.error, nextAttemptAt: next };
}

/** An operator's redelivery: pending again, due now, with a fresh round of attempts (the last attempt's record kept). */
export function redelivery(event: OutboxEvent, now: number): EventPatch {
  return { status: "pending", attempts: 0, lastAttemptAt: event.lastAttemptAt, lastError: event.lastError, nextAttemptAt: now };
}

export function toEventView(event: OutboxEvent): EventView {
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  return {
    id: event.id,
    type: event.type,
    timestamp: new Date(event.at).toISOString(),
    status: event.status,
    attempts: event.attempts,
    lastAttemptAt: iso(event.lastAttemptAt),
    lastError: event.lastError,
    nextAttemptAt: iso(event.nextAttemptAt),
  };
}
