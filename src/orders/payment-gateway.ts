// The seam between the order core and a payment provider: what the order object asks, and the
// answers in the order core's words. Types only; orders/wechat-adapter.ts implements it for WeChat
// Pay API v2, and a v3 implementation can sit behind the same interface.
import type { PaymentFact, RefundOutcome } from "./order-record";

/** Why a call gave no answer the order can use. */
export interface GatewayFailure {
  /**
   * timeout: no answer in time; unavailable: repeating the same call may work; refused: it will
   * not; unsendable: the request could not be built or sent, so the provider never saw it.
   */
  readonly kind: "timeout" | "unavailable" | "refused" | "unsendable";
  /** what to record: the provider's code, or the kind; safe to show an operator */
  readonly note: string;
  /** for unsendable: why, naming no secret value */
  readonly detail?: string;
}

/** The order's fixed payment parameters: every request for one order is built from these alone. */
export interface PrepayRequest {
  readonly orderId: string;
  readonly description: string;
  readonly amount: number;
  readonly openid: string;
  readonly clientIp: string;
  readonly createdAt: number;
  readonly expiresAt: number;
}

/** unifiedorder's answer. */
export type PrepareResult =
  | { readonly kind: "prepared"; readonly prepayId: string }
  /** the provider holds this order in another state than ours (paid, closed): ask it which */
  | { readonly kind: "conflict"; readonly failure: GatewayFailure }
  | { readonly kind: "failed"; readonly failure: GatewayFailure };

/** What the provider says about an order's money. */
export type TradeReport =
  | { readonly kind: "paid"; readonly payment: PaymentFact }
  | { readonly kind: "closed"; readonly note: string }
  /** the payer is entering a password right now */
  | { readonly kind: "paying" }
  | { readonly kind: "unpaid" }
  /** no payment and none coming: unknown to the provider, or a payment attempt that failed */
  | { readonly kind: "no_payment" };

/** orderquery's answer. */
export type QueryResult = { readonly kind: "answered"; readonly report: TradeReport } | { readonly kind: "failed"; readonly failure: GatewayFailure };

/** closeorder's answer. */
export type CloseResult =
  | { readonly kind: "closed" }
  /** the provider took the money before it could close the order */
  | { readonly kind: "paid" }
  | { readonly kind: "failed"; readonly failure: GatewayFailure };

/** A refund to send: the same id and amounts on every attempt. */
export interface RefundRequest {
  readonly orderId: string;
  readonly refundId: string;
  readonly orderAmount: number;
  readonly amount: number;
  readonly reason: string | null;
}

/** The refund call's answer. */
export type RefundSubmitResult =
  | { readonly kind: "accepted"; readonly wechatRefundId: string }
  /** too many refunds too quickly: the same refund may be sent again after the spacing */
  | { readonly kind: "throttled"; readonly failure: GatewayFailure }
  | { readonly kind: "failed"; readonly failure: GatewayFailure };

/** refundquery's answer. */
export type RefundStatusResult =
  | { readonly kind: "answered"; readonly outcome: RefundOutcome; readonly wechatRefundId: string | null }
  /** the provider never registered the refund */
  | { readonly kind: "lost"; readonly failure: GatewayFailure }
  | { readonly kind: "failed"; readonly failure: GatewayFailure };

/** A payment provider, as the order object uses it. No method throws for the provider's failures. */
export interface PaymentGateway {
  prepare(request: PrepayRequest): Promise<PrepareResult>;
  query(orderId: string): Promise<QueryResult>;
  close(orderId: string): Promise<CloseResult>;
  refund(request: RefundRequest): Promise<RefundSubmitResult>;
  refundStatus(refundId: string): Promise<RefundStatusResult>;
}
