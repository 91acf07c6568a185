// The simulator's records (login codes, issued openids, orders, refunds and their notification
// jobs, mini-program access tokens, shipping information and message pushes), kept in maps that remember which keys may have changed so that a store (persistence.ts)
// rewrites only those. Shapes only: the modules that own each record change it.
import type { SignType } from "./sign";

export type TradeState = "NOTPAY" | "SUCCESS" | "CLOSED" | "REFUND";

export interface LoginCodeRecord {
  code: string;
  /** The appid the code was minted for; exchanging it under another appid is 40029. */
  appid: string;
  openid: string;
  issuedAt: number;
  consumed: boolean;
}

/** Which notifications a job sends, and so which fault queue (`notify` / `refund_notify`) its POSTs consult. */
export type NotificationKind = "notify" | "refund_notify";

/** One POST of a payment or refund notification (or one near-simultaneous copy of it). */
export interface NotificationAttempt {
  /** Sim time the attempt was due. */
  at: number;
  /** 1 for the first delivery, 2 for the first retry, … up to 16. */
  attempt: number;
  /** 0 for the primary POST, 1… for duplicate copies of the same attempt. */
  copy: number;
  acknowledged: boolean;
  /** The reply's HTTP status, or null when there was no reply (dropped, timeout, network error). */
  status: number | null;
  /** Why it was not acknowledged, or null. "held" marks a first attempt kept back by the hold fault. */
  error: string | null;
  /** Present (true) on a held first attempt that was finally POSTed by /__sim/notifications/release. */
  released?: true;
  /** Present (true) when this POST carried a v3 WECHATPAY/SIGNTEST/ probe signature; it never acknowledges. */
  probe?: true;
}

/** Delivery state of a payment or refund notification. The body is fixed when the job starts. */
export interface NotificationJob {
  kind: NotificationKind;
  /** "v3": a signed JSON notification, acknowledged by HTTP 200 or 204; absent: v2 XML. */
  protocol?: "v3";
  url: string;
  body: string;
  attemptsMade: number;
  /** Sim time of the next retry, or null (acknowledged, given up, or an attempt is running). */
  nextAttemptAt: number | null;
  acknowledged: boolean;
  givenUp: boolean;
  inFlight: boolean;
}

export interface OrderRecord {
  outTradeNo: string;
  /** "v3": placed through /v3/pay/transactions/jsapi, so notified in v3; absent: a v2 order. */
  protocol?: "v3";
  /**
   * The fields that must match on re-entry: v2, the unifiedorder fields but nonce_str, sign and
   * sign_type; v3, every field of the JSON body, flattened to dotted paths.
   */
  params: Record<string, string>;
  /** sign_type of the v2 request that created the order, the default for its notification; null for v3. */
  signType: SignType | null;
  tradeState: TradeState;
  totalFee: number;
  tradeType: string;
  openid: string;
  notifyUrl: string;
  attach: string | null;
  deviceInfo: string | null;
  createdAt: number;
  /** From time_expire; null means the order never stops being payable in the simulator. */
  expiresAt: number | null;
  prepayId: string;
  prepayIssuedAt: number;
  transactionId: string | null;
  /** Beijing yyyyMMddHHmmss of the payment. */
  timeEnd: string | null;
  notification: NotificationJob | null;
  notifications: NotificationAttempt[];
}

/** Anything that sends one notification with retries: a paid order, a finished refund. */
export interface Notifiable {
  notification: NotificationJob | null;
  notifications: NotificationAttempt[];
}

/** PROCESSING until it finishes as SUCCESS, REFUNDCLOSE (退款关闭) or CHANGE (退款异常). */
export type RefundStatus = "PROCESSING" | "SUCCESS" | "REFUNDCLOSE" | "CHANGE";

export interface RefundRecord extends Notifiable {
  outRefundNo: string;
  /** "v3": created through /v3/refund/domestic/refunds, so notified in v3; absent: v2. */
  protocol?: "v3";
  refundId: string;
  outTradeNo: string;
  transactionId: string;
  /** The order's amount, as the refund request repeated it. */
  totalFee: number;
  refundFee: number;
  refundDesc: string | null;
  /** REFUND_SOURCE_UNSETTLED_FUNDS (the default) or REFUND_SOURCE_RECHARGE_FUNDS. */
  refundAccount: string;
  /** From the refund request; null means no refund notification is ever sent. */
  notifyUrl: string | null;
  status: RefundStatus;
  createdAt: number;
  /** Sim time the refund finishes by itself (as SUCCESS); null once final or when only the control API finishes it. */
  completeAt: number | null;
  /** Sim time it became final, or null. */
  finishedAt: number | null;
  /** `yyyy-MM-dd HH:mm:ss` Beijing time, for SUCCESS only. */
  successTime: string | null;
}

/**
 * A Map that notes every key whose record may have changed: records are mutated in place after a
 * get() or while iterating values(), so both count as a possible change, as do set() and delete().
 * Scans use peek(), which notes nothing, and touch() what they are about to change.
 */
export class RecordMap<V> extends Map<string, V> {
  readonly #touched = new Set<string>();
  #cleared = false;

  override get(key: string): V | undefined {
    if (super.has(key)) this.#touched.add(key);
    return super.get(key);
  }

  override set(key: string, value: V): this {
    this.#touched.add(key);
    return super.set(key, value);
  }

  override delete(key: string): boolean {
    this.#touched.add(key);
    return super.delete(key);
  }

  override clear(): void {
    this.#cleared = true;
    this.#touched.clear();
    super.clear();
  }

  override values(): MapIterator<V> {
    for (const key of super.keys()) this.#touched.add(key);
    return super.values();
  }

  /** The values, in insertion order, without noting them as changed: for scans that only read. */
  peek(): MapIterator<V> {
    return super.values();
  }

  /** Notes that the record under `key`, found by a peek(), is about to change. */
  touch(key: string): void {
    this.#touched.add(key);
  }

  /** Whether clear() was called, and every key touched since forgetTouched(). */
  touched(): { cleared: boolean; keys: ReadonlySet<string> } {
    return { cleared: this.#cleared, keys: this.#touched };
  }

  forgetTouched(): void {
    this.#cleared = false;
    this.#touched.clear();
  }
}

/** A stable access token the simulator issued (mp.ts). */
export interface MpTokenRecord {
  token: string;
  appid: string;
  issuedAt: number;
  expiresAt: number;
  /** Sim time a force refresh replaced it: it then works 5 more minutes. null while it is the current token. */
  replacedAt: number | null;
  /** Set by the control API: "invalid" answers 40001 from then on, "expired" 42001. */
  revoked: "invalid" | "expired" | null;
}

/** Per appid: the current stable token and the day's force refreshes. */
export interface MpAppRecord {
  appid: string;
  currentToken: string | null;
  /** Beijing yyyyMMdd of the day `forceRefreshes` counts. */
  forceRefreshDay: string;
  forceRefreshes: number;
}

/** order_state of get_order: 2 shipped, 3 received, 4 completed, 6 funds pending settlement (1 and 5 are derived). */
export type ShippedState = 2 | 3 | 4 | 6;

/** What upload_shipping_info recorded for a paid order. */
export interface ShippingRecord {
  outTradeNo: string;
  orderState: ShippedState;
  /** Successful uploads: the second is the one re-shipment, a third is refused. */
  uploads: number;
  logisticsType: number;
  deliveryMode: number;
  isAllDelivered: boolean | null;
  shippingList: Record<string, unknown>[];
  uploadTime: string;
  /** Sim time of the last successful upload. */
  uploadedAt: number;
}

/** A message push POSTed by the control API, with the reply it got. */
export interface PushRecord {
  id: string;
  event: string;
  outTradeNo: string;
  mode: "plain" | "safe";
  url: string;
  at: number;
  /** The JSON message before encryption. */
  message: string;
  status: number | null;
  reply: string | null;
  error: string | null;
}

export interface SimState {
  codes: RecordMap<LoginCodeRecord>;
  /** openid → the appid it was issued under (unifiedorder checks ownership). */
  openids: RecordMap<string>;
  orders: RecordMap<OrderRecord>;
  /** transaction_id → out_trade_no. */
  transactions: RecordMap<string>;
  /** out_refund_no → refund, in creation order (the order of an order's refunds in refundquery). */
  refunds: RecordMap<RefundRecord>;
  /** refund_id → out_refund_no. */
  refundIds: RecordMap<string>;
  /** access_token → its record (mp.ts). */
  mpTokens: RecordMap<MpTokenRecord>;
  /** appid → its current token and force-refresh count. */
  mpApps: RecordMap<MpAppRecord>;
  /** out_trade_no → its shipping information. */
  shipping: RecordMap<ShippingRecord>;
  /** push id → the push and its reply, in the order sent. */
  pushes: RecordMap<PushRecord>;
}

export const STATE_COLLECTIONS = ["codes", "openids", "orders", "transactions", "refunds", "refundIds", "mpTokens", "mpApps", "shipping", "pushes"] as const satisfies readonly (keyof SimState)[];

export function createState(): SimState {
  return {
    codes: new RecordMap(),
    openids: new RecordMap(),
    orders: new RecordMap(),
    transactions: new RecordMap(),
    refunds: new RecordMap(),
    refundIds: new RecordMap(),
    mpTokens: new RecordMap(),
    mpApps: new RecordMap(),
    shipping: new RecordMap(),
    pushes: new RecordMap(),
  };
}

export function clearState(state: SimState): void {
  for (const name of STATE_COLLECTIONS) state[name].clear();
}

/** The refunds of one order, oldest first. */
export function refundsOf(state: SimState, outTradeNo: string): RefundRecord[] {
  return [...state.refunds.peek()].filter((refund) => refund.outTradeNo === outTradeNo);
}
