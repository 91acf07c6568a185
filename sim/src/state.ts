// The simulator's in-memory records (login codes, issued openids, orders and their notification
// jobs). Shapes only: the modules that own each record change it.
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

/** One POST of a payment notification (or one near-simultaneous copy of it). */
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
  /** Why it was not acknowledged, or null. */
  error: string | null;
}

/** Delivery state of an order's payment notification. The body is fixed at payment time. */
export interface NotificationJob {
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
  /** The unifiedorder fields that must match on re-entry (all but nonce_str, sign, sign_type). */
  params: Record<string, string>;
  /** sign_type of the request that created the order; the default for its notification. */
  signType: SignType;
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

export interface SimState {
  codes: Map<string, LoginCodeRecord>;
  /** openid → the appid it was issued under (unifiedorder checks ownership). */
  openids: Map<string, string>;
  orders: Map<string, OrderRecord>;
  /** transaction_id → out_trade_no. */
  transactions: Map<string, string>;
}

export function createState(): SimState {
  return { codes: new Map(), openids: new Map(), orders: new Map(), transactions: new Map() };
}

export function clearState(state: SimState): void {
  state.codes.clear();
  state.openids.clear();
  state.orders.clear();
  state.transactions.clear();
}
