// An order's shipping information under WeChat's order shipping management (发货信息管理), as the
// order core keeps it: what the operator (or the virtual-goods rule) asked to upload, how the upload
// is going, and what WeChat later said about the payment's settlement. Plain data and its view; the
// decisions are in shipping-decisions.ts, the storage in order-storage.ts (columns of the order's row).

/** How the goods reach the payer, in our API's words (WeChat's logistics_type 1–4). */
export const LOGISTICS_TYPES = ["express", "same_city", "virtual", "pickup"] as const;
export type LogisticsType = (typeof LOGISTICS_TYPES)[number];

/** uploading: stored, being sent (or waiting to be sent again); uploaded: WeChat has it; failed: WeChat refused it for good. */
export const SHIPPING_STATUSES = ["uploading", "uploaded", "failed"] as const;
export type ShippingStatus = (typeof SHIPPING_STATUSES)[number];

/** get_order's order_state, as names: 1 to ship … 6 funds pending settlement. */
export const WECHAT_SHIPPING_STATES = ["to_ship", "shipped", "received", "completed", "refunded", "settlement_pending"] as const;
export type WeChatShippingState = (typeof WECHAT_SHIPPING_STATES)[number];

/** One parcel, or for goods without one the single description of what was delivered. */
export interface ShippingPackage {
  readonly trackingNo?: string;
  readonly expressCompany?: string;
  readonly itemDesc: string;
  readonly receiverContact?: string;
}

/** What is to be uploaded, as stored: packages always hold what WeChat's shipping_list will (one entry unless split). */
export interface ShippingRequest {
  readonly logisticsType: LogisticsType;
  readonly packages: readonly ShippingPackage[];
  readonly split: boolean;
  /** split deliveries only: whether this upload completes the delivery */
  readonly isAllDelivered: boolean | null;
}

/** An order's shipping as stored (NO_SHIPPING until something is asked or WeChat reports a settlement). */
export interface Shipping {
  /** null: nothing was asked of this service (a settlement may still have been reported) */
  readonly status: ShippingStatus | null;
  readonly request: ShippingRequest | null;
  /** who asked: the operator, or the virtual-goods rule at payment */
  readonly requestedBy: "admin" | "auto" | null;
  readonly requestedAt: number | null;
  /** upload attempts for the current request */
  readonly attempts: number;
  readonly lastAttemptAt: number | null;
  /** when the alarm next sends (or checks) an upload that is still uploading */
  readonly nextAttemptAt: number | null;
  /** what went wrong last, with what to do; never a token */
  readonly lastError: string | null;
  /** the last attempt got no clear answer (time-out, 5xx): it may have landed, so get_order is asked before sending again */
  readonly uncertain: boolean;
  readonly uploadedAt: number | null;
  /** successful uploads of this order: WeChat allows the first and one re-shipment */
  readonly shipments: number;
  /** when WeChat settled the payment (trade_manage_order_settlement with settlement_time) */
  readonly settledAt: number | null;
  /** WeChat's estimate, sent when the goods were confirmed received */
  readonly estimatedSettlementAt: number | null;
  /** what get_order last said */
  readonly wechatState: WeChatShippingState | null;
  readonly checkedAt: number | null;
}

export const NO_SHIPPING: Shipping = Object.freeze({
  status: null, request: null, requestedBy: null, requestedAt: null, attempts: 0, lastAttemptAt: null, nextAttemptAt: null,
  lastError: null, uncertain: false, uploadedAt: null, shipments: 0, settledAt: null, estimatedSettlementAt: null, wechatState: null, checkedAt: null,
});

/** The contract's `shipping`. */
export interface ShippingView {
  readonly status: ShippingStatus;
  readonly logisticsType: LogisticsType | null;
  readonly packages: readonly ShippingPackage[];
  readonly attempts: number;
  readonly lastError: string | null;
  readonly uploadedAt: string | null;
  readonly settledAt: string | null;
  readonly estimatedSettlementAt: string | null;
  readonly wechatState: WeChatShippingState | null;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/**
 * The operator's view of an order's shipping, or null when there is none. A settlement WeChat reports
 * for an order this service never uploaded (the merchant shipped it in WeChat's own console) shows as
 * uploaded elsewhere: no logistics type, no packages, uploadedAt null.
 */
export function toShippingView(shipping: Shipping): ShippingView | null {
  if (shipping.status === null && shipping.settledAt === null && shipping.estimatedSettlementAt === null) return null;
  return {
    status: shipping.status ?? "uploaded",
    logisticsType: shipping.request?.logisticsType ?? null,
    packages: shipping.request?.packages ?? [],
    attempts: shipping.attempts,
    lastError: shipping.lastError,
    uploadedAt: iso(shipping.uploadedAt),
    settledAt: iso(shipping.settledAt),
    estimatedSettlementAt: iso(shipping.estimatedSettlementAt),
    wechatState: shipping.wechatState,
  };
}
