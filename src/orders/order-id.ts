// Order ids, which are also WeChat's out_trade_no: 32 characters of [0-9A-Za-z], unique per merchant.
import { formatBeijingTime } from "../wechat/beijing-time";
import { randomNonce } from "../wechat/nonce";

/** `yyyyMMddHHmmss` (Beijing time, so ids sort by creation in WeChat's merchant console) + 18 random
 * base62 characters (~107 bits), 32 characters in all. */
export function newOrderId(now: number): string {
  return formatBeijingTime(now) + randomNonce(18);
}

/** What we accept as an order id in a path or a notification: WeChat's safe out_trade_no set. */
export const ORDER_ID_PATTERN = /^[0-9A-Za-z_-]{6,32}$/;

export function isOrderId(value: string | undefined): value is string {
  return value !== undefined && ORDER_ID_PATTERN.test(value);
}

/** A refund's out_refund_no: like an order id, with an "R" so the two are never confused in WeChat's console. */
export function newRefundId(now: number): string {
  return `${formatBeijingTime(now)}R${randomNonce(17)}`;
}
