// The service's JSON shapes as the mini-program sees them, mirroring the HTTP contract field for field.
// Amounts are integer fen; timestamps are ISO 8601 strings, except Payment.timeStamp (unix seconds, a string).

/** Where an order is in its life. Only WeChat's word (a notification or an order query) makes it `paid`. */
export type OrderStatus = "pending" | "paid" | "closed" | "failed" | "partially_refunded" | "refunded";

/** One line of an order: the catalog's name and unit price (fen) at the time the order was created. */
export interface OrderItem {
  readonly sku: string;
  readonly name: string;
  readonly quantity: number;
  readonly price: number;
}

/** The contract's `Order`. */
export interface Order {
  /** The out_trade_no: at most 32 characters of `0-9A-Za-z_-|*`. */
  readonly id: string;
  readonly status: OrderStatus;
  /** What the user pays, in fen. */
  readonly amount: number;
  readonly refundedAmount: number;
  readonly currency: "CNY";
  readonly description: string;
  readonly items: readonly OrderItem[];
  /** WeChat's transaction_id once paid. */
  readonly transactionId: string | null;
  readonly createdAt: string;
  readonly paidAt: string | null;
  /** After this the order can no longer be paid. */
  readonly expiresAt: string;
}

/** Exactly the five fields `wx.requestPayment` takes (WeChat Pay API v2). */
export interface Payment {
  /** Unix seconds as a string: WeChat refuses a number here. */
  readonly timeStamp: string;
  readonly nonceStr: string;
  /** `prepay_id=<id>` */
  readonly package: string;
  readonly signType: "HMAC-SHA256" | "MD5";
  readonly paySign: string;
}

/** An order with the parameters to pay it: what creating an order and `/pay` answer. */
export interface Checkout {
  readonly order: Order;
  readonly payment: Payment;
}

/** One entry of the shop's catalog; the price (fen) is the one the server will charge. */
export interface Product {
  readonly sku: string;
  readonly name: string;
  readonly price: number;
}

/** What a purchase asks for: the server prices it from its catalog. */
export interface CartItem {
  readonly sku: string;
  /** 1 to 99 */
  readonly quantity: number;
}

/** One page of the user's orders, newest first; `cursor` fetches the next page, null at the end. */
export interface OrderPage {
  readonly orders: readonly Order[];
  readonly cursor: string | null;
}

/** The answer of `POST /api/login`. */
export interface LoginResult {
  readonly token: string;
  readonly openid: string;
  /** The token's lifetime in seconds. */
  readonly expiresIn: number;
}

/**
 * How a payment ended, as far as the service knows:
 * - `paid`: WeChat told the service (or answered its query) that the money arrived;
 * - `cancelled`: the user closed the pay sheet and nothing was paid; the order can be paid again;
 * - `pending`: the sheet reported success but WeChat has not confirmed it yet. Not a failure: show
 *   "confirming" and read the order again later (`getOrder`), the service keeps asking WeChat.
 */
export type PayOutcome = "paid" | "cancelled" | "pending";
