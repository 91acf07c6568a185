// The order core's decisions about shipping information (WeChat's order shipping management): an
// operator's request, the virtual-goods rule at payment, each upload attempt and its answer, what
// WeChat's get_order says, and the settlement WeChat pushes. Pure, like decisions.ts: the order
// object loads, asks one of these, and commits; the calls to WeChat are in shipping-steps.ts.
import { CHECK_BACKOFF, Draft, QUERY_MIN_INTERVAL_MS, type Decision, type ShippingPatch } from "./decisions";
import type { OrderSnapshot } from "./order-record";
import { fail, ok, type Result } from "./order-result";
import { publicStatus } from "./order-state";
import { backoffDelay } from "./retry-schedule";
import type { LogisticsType, ShippingRequest, WeChatShippingState } from "./shipping";

/** Virtual goods are uploaded this long after payment: WeChat's shipping service learns of a payment about a minute after it. */
export const VIRTUAL_SHIPPING_DELAY_MS = 60_000;
/** WeChat's "payment not found" (10060001) is expected this long after payment at most; later it is final. */
export const PAYMENT_NOT_FOUND_WINDOW_MS = 30 * 60_000;
/** Passing failures are retried for this long after the request; then the upload is failed with the last error. */
export const SHIPPING_RETRY_WINDOW_MS = 24 * 3600_000;
/** item_desc's limit, in characters. */
export const ITEM_DESC_MAX_CHARS = 120;
/** shipping_list's limit: a split delivery's parcels in one upload. */
export const MAX_PACKAGES = 15;

/** An operator's shipping information as the route validated its fields (types and lengths). */
export interface ShippingInput {
  readonly logisticsType: LogisticsType;
  readonly packages?: readonly { trackingNo: string; expressCompany: string; itemDesc: string; receiverContact?: string }[];
  readonly itemDesc?: string;
  readonly split?: boolean;
  readonly isAllDelivered?: boolean;
}

/**
 * The upload an operator's input asks for, or what is wrong with it (naming the field): express needs
 * its packages (one, or with split delivery up to 15 and isAllDelivered); the other kinds of delivery
 * have no parcels and need itemDesc, and only express can be split (WeChat's rules: 268485228,
 * 10060006, 10060007).
 */
export function shippingRequestFrom(input: ShippingInput): { readonly ok: true; readonly request: ShippingRequest } | { readonly ok: false; readonly problem: string } {
  const problem = (text: string) => ({ ok: false as const, problem: text });
  const split = input.split === true;
  if (input.logisticsType !== "express") {
    if (input.packages !== undefined) return problem("packages are for express only; describe other deliveries with itemDesc");
    if (input.itemDesc === undefined) return problem(`itemDesc is required for ${input.logisticsType}`);
    if (split) return problem("split delivery is for express only");
    return { ok: true, request: { logisticsType: input.logisticsType, packages: [{ itemDesc: input.itemDesc }], split: false, isAllDelivered: null } };
  }
  if (input.itemDesc !== undefined) return problem("itemDesc goes in each package for express");
  const packages = input.packages ?? [];
  if (packages.length === 0) return problem("packages is required for express: 1 to 15, each with trackingNo, expressCompany and itemDesc");
  if (!split && packages.length > 1) return problem("more than one package needs split: true");
  if (split && input.isAllDelivered === undefined) return problem("isAllDelivered is required with split: true");
  if (!split && input.isAllDelivered !== undefined) return problem("isAllDelivered is for split delivery only");
  return {
    ok: true,
    request: {
      logisticsType: "express",
      packages: packages.map((p) => ({ trackingNo: p.trackingNo, expressCompany: p.expressCompany, itemDesc: p.itemDesc, ...(p.receiverContact === undefined ? {} : { receiverContact: p.receiverContact }) })),
      split,
      isAllDelivered: split ? (input.isAllDelivered ?? null) : null,
    },
  };
}

/** What an upload attempt came to, in the order core's words (the adapter reads WeChat's errcodes). */
export type UploadOutcome =
  | { readonly kind: "uploaded" }
  | {
      readonly kind: "failed";
      /** whether the same upload later may pass */
      readonly retry: boolean;
      /** no clear answer (time-out, 5xx): the upload may have landed */
      readonly uncertain: boolean;
      /** WeChat's errcode, if it gave one */
      readonly code: string | null;
      /** what happened and what to do; never a token */
      readonly advice: string;
    };

/** What get_order said about the payment's shipping, or that it could not be asked. */
export type ShippingCheck = { readonly kind: "answered"; readonly state: WeChatShippingState } | { readonly kind: "failed"; readonly advice: string };

/** A verified trade_manage_order_settlement push, in the order core's words. */
export interface SettlementReport {
  readonly transactionId: string;
  /** "settled": the money is settled (settledAt); "shipped": receipt confirmed, with WeChat's estimate */
  readonly phase: "shipped" | "settled";
  readonly settledAt: number | null;
  readonly estimatedSettlementAt: number | null;
}

/** Whether an order's status allows shipping: only money WeChat holds for goods still to be delivered. */
function shippable(snapshot: OrderSnapshot): boolean {
  const status = publicStatus(snapshot.order.state);
  return status === "paid" || status === "partially_refunded";
}

/**
 * An operator's shipping request: stored as uploading and due at once (the caller sends it right
 * away). Refused unless the order is paid or partly refunded, while an upload is under way, and once
 * the order's one re-shipment is used.
 */
export function decideShippingRequest(snapshot: OrderSnapshot, request: ShippingRequest, now: number): Decision<Result<void>> {
  const draft = new Draft(snapshot, now);
  if (!shippable(snapshot)) return draft.done(fail({ reason: "not_shippable", status: publicStatus(snapshot.order.state) }));
  if (snapshot.shipping.status === "uploading") return draft.done(fail({ reason: "shipping_in_progress" }));
  if (snapshot.shipping.shipments >= 2) return draft.done(fail({ reason: "reshipment_used_up" }));
  draft.setShipping({ status: "uploading", request, requestedBy: "admin", requestedAt: now, attempts: 0, lastAttemptAt: null, nextAttemptAt: now, lastError: null, uncertain: false });
  draft.log("info", "shipping_requested", { orderId: snapshot.order.id, logisticsType: request.logisticsType, packages: request.packages.length });
  return draft.done(ok(undefined));
}

/** The virtual-goods upload for an order's description: one entry, item_desc cut to WeChat's 120 characters. */
export function virtualGoods(description: string): ShippingRequest {
  return { logisticsType: "virtual", packages: [{ itemDesc: [...description].slice(0, ITEM_DESC_MAX_CHARS).join("") }], split: false, isAllDelivered: null };
}

/**
 * WECHAT_SHIPPING=virtual: a decision that pays the order also stores its virtual-goods upload, in
 * the same transaction, due a minute after the payment. Not for a payment that arrived after the
 * order was closed (it is to be refunded, nothing was delivered), nor when shipping is already known.
 */
export function withVirtualShipping<T>(decision: Decision<T>): Decision<T> {
  const paid = decision.change.history.find((h) => h.to === "paid");
  const { order, shipping } = decision.next;
  if (paid === undefined || order.paidAfterClose || shipping.status !== null || shipping.settledAt !== null) return decision;
  const patch: ShippingPatch = {
    status: "uploading", request: virtualGoods(order.description), requestedBy: "auto", requestedAt: paid.at, attempts: 0,
    nextAttemptAt: Math.max(paid.at, (order.paidAt ?? paid.at) + VIRTUAL_SHIPPING_DELAY_MS),
  };
  return {
    ...decision,
    change: { ...decision.change, shipping: { ...decision.change.shipping, ...patch } },
    next: { ...decision.next, shipping: { ...shipping, ...patch } },
  };
}

/** What one shipping step does: nothing, ask get_order first (the last attempt may have landed), or send the upload. */
export type ShippingStep = { readonly kind: "nothing" } | { readonly kind: "check" } | { readonly kind: "upload"; readonly request: ShippingRequest };

/** WeChat's "the one re-shipment is used up": after a re-shipment's lost answer, the sign that it landed. */
const RESHIPMENT_USED_UP = "10060003";

/**
 * One step for an upload that is due. The attempt is stored before the call, with when to try
 * again, so a crash mid-call is retried by the alarm. An order refunded in full meanwhile has
 * nothing left to ship: failed without a call. After a lost answer a first upload is checked with
 * get_order; a re-shipment cannot be (get_order says "shipped" since the first upload), so it is
 * sent again, still in doubt: if the lost attempt landed, WeChat refuses this one with 10060003.
 */
export function decideShippingStep(snapshot: OrderSnapshot, now: number, random: () => number): Decision<ShippingStep> {
  const draft = new Draft(snapshot, now);
  const shipping = snapshot.shipping;
  if (shipping.status !== "uploading" || shipping.request === null || shipping.nextAttemptAt === null || shipping.nextAttemptAt > now) return draft.done({ kind: "nothing" });
  if (publicStatus(snapshot.order.state) === "refunded") {
    failShipping(draft, "the order was refunded in full: nothing is left to ship");
    return draft.done({ kind: "nothing" });
  }
  const retryAt = now + backoffDelay(shipping.attempts, CHECK_BACKOFF, random);
  if (shipping.uncertain && shipping.shipments === 0) {
    draft.setShipping({ nextAttemptAt: retryAt });
    return draft.done({ kind: "check" });
  }
  draft.setShipping({ attempts: shipping.attempts + 1, lastAttemptAt: now, nextAttemptAt: retryAt });
  return draft.done({ kind: "upload", request: shipping.request });
}

/**
 * An upload's answer: uploaded (order.shipped; the second time a re-shipment), a passing failure
 * (kept uploading, tried again at the time the attempt stored), or a final one (failed, with
 * WeChat's code and what to do). "Payment not found" is passing only in the first half hour after
 * payment, and passing failures only for a day after the request. A re-shipment an earlier attempt
 * of which may have landed stays in doubt until an answer settles it, and 10060003 does: it landed.
 */
export function onShippingUploadResult(snapshot: OrderSnapshot, outcome: UploadOutcome, now: number): Decision<void> {
  const draft = new Draft(snapshot, now);
  if (snapshot.shipping.status !== "uploading") return draft.done(undefined);
  if (outcome.kind === "uploaded") {
    markUploaded(draft);
    return draft.done(undefined);
  }
  const { shipping, order } = snapshot;
  if (outcome.code === RESHIPMENT_USED_UP && shipping.uncertain && shipping.shipments > 0) {
    markUploaded(draft);
    return draft.done(undefined);
  }
  const lastError = outcome.code === null || outcome.advice.startsWith(`${outcome.code}:`) ? outcome.advice : `${outcome.code}: ${outcome.advice}`;
  const tooLateForNotFound = outcome.code === "10060001" && now > (order.paidAt ?? now) + PAYMENT_NOT_FOUND_WINDOW_MS;
  const givingUp = now > (shipping.requestedAt ?? now) + SHIPPING_RETRY_WINDOW_MS;
  if (!outcome.retry || tooLateForNotFound || givingUp) {
    failShipping(draft, givingUp && outcome.retry && !tooLateForNotFound ? `gave up after ${shipping.attempts} attempts over a day: ${lastError}` : lastError);
    return draft.done(undefined);
  }
  draft.setShipping({ lastError, uncertain: (shipping.uncertain && shipping.shipments > 0) || outcome.uncertain });
  draft.log("warn", "shipping_upload_retry", { orderId: order.id, attempt: shipping.attempts, code: outcome.code, uncertain: outcome.uncertain });
  return draft.done(undefined);
}

/**
 * Whether an operator's view should ask get_order first (not more often than every few seconds):
 * for an upload WeChat has, to show how far the order got; for one whose last answer was lost, to
 * learn whether it landed.
 */
export function shouldCheckShipping(snapshot: OrderSnapshot, now: number): boolean {
  const { status, uncertain, checkedAt } = snapshot.shipping;
  return (status === "uploaded" || (status === "uploading" && uncertain)) && (checkedAt === null || now - checkedAt >= QUERY_MIN_INTERVAL_MS);
}

/**
 * What get_order said. For an upload still under way: shipped already (an attempt without an answer
 * landed) ends it as uploaded, "to ship" means it may be sent ("send"), refunded fails it; for a
 * re-shipment "shipped" tells nothing (so it was since the first upload). A failed check is noted
 * and changes nothing else.
 */
export function onShippingChecked(snapshot: OrderSnapshot, check: ShippingCheck, now: number): Decision<"send" | "settled" | "unchanged"> {
  const draft = new Draft(snapshot, now);
  if (check.kind === "failed") {
    if (snapshot.shipping.status === "uploading") draft.setShipping({ lastError: check.advice });
    return draft.done("unchanged");
  }
  draft.setShipping({ wechatState: check.state, checkedAt: now });
  if (snapshot.shipping.status !== "uploading") return draft.done("unchanged");
  if (check.state === "shipped" && snapshot.shipping.shipments > 0) return draft.done("unchanged");
  if (check.state === "to_ship") {
    draft.setShipping({ uncertain: false, nextAttemptAt: now });
    return draft.done("send");
  }
  if (check.state === "refunded") failShipping(draft, "WeChat says the payment was refunded: nothing is left to ship");
  else markUploaded(draft);
  return draft.done("settled");
}

/**
 * WeChat's settlement push for this order: "settled" records settledAt once (order.settled);
 * "shipped" records the estimated settlement time. A settlement also ends an upload still under
 * way: WeChat has shipping information (the merchant gave it elsewhere), and another upload would
 * spend the re-shipment. A push naming another transaction changes nothing.
 */
export function onSettlement(snapshot: OrderSnapshot, report: SettlementReport, now: number): Decision<Result<"applied" | "repeated">> {
  const draft = new Draft(snapshot, now);
  const { order, shipping } = snapshot;
  if (order.transactionId === null || order.transactionId !== report.transactionId) {
    draft.log("warn", "settlement_other_transaction", { orderId: order.id });
    return draft.done(fail({ reason: "settlement_mismatch" }));
  }
  let changed = false;
  if (report.estimatedSettlementAt !== null && report.estimatedSettlementAt !== shipping.estimatedSettlementAt) {
    draft.setShipping({ estimatedSettlementAt: report.estimatedSettlementAt });
    changed = true;
  }
  if (report.phase === "settled" && shipping.settledAt === null) {
    if (shipping.status === "uploading") draft.setShipping({ status: "uploaded", nextAttemptAt: null, uncertain: false });
    draft.setShipping({ settledAt: report.settledAt ?? now });
    draft.shippingEvent("order.settled");
    draft.log("info", "order_settled", { orderId: order.id });
    changed = true;
  }
  return draft.done(ok(changed ? "applied" : "repeated"));
}

function markUploaded(draft: Draft): void {
  const shipments = draft.shipping.shipments + 1;
  draft.setShipping({ status: "uploaded", uploadedAt: draft.now, shipments, nextAttemptAt: null, lastError: null, uncertain: false });
  draft.shippingEvent("order.shipped", shipments > 1 ? "reshipped" : undefined);
  draft.log("info", "shipping_uploaded", { orderId: draft.order.id, shipments });
}

function failShipping(draft: Draft, lastError: string): void {
  draft.setShipping({ status: "failed", nextAttemptAt: null, lastError, uncertain: false });
  draft.log("warn", "shipping_failed", { orderId: draft.order.id, error: lastError });
}
