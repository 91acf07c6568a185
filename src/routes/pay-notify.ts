// POST /api/pay/notify: WeChat's payment result notification, handled in a fixed order:
// size limit → UTF-8 → parse (no DTD) → envelope and sign → order exists → amount equal →
// state change stored → SUCCESS. Any failed check answers FAIL and changes nothing.
import { Hono } from "hono";
import type { AppEnv } from "../app-env";
import { isOrderId } from "../orders/order-id";
import { orderObject } from "../orders/order-store";
import { verifyPaymentNotification } from "../wechat/payment-notification";
import { notificationTrust, readNotification, replyToNotification } from "./notification-io";

export const payNotifyRoutes = new Hono<AppEnv>().post("/api/pay/notify", async (c) => {
  const reply = replyToNotification(c, "pay_notify");
  const read = await readNotification(c);
  if (!read.ok) return reply(false, read.status, read.reason);
  const trust = notificationTrust(c);
  if (trust === null) return reply(false, 503, "not_configured");

  const check = await verifyPaymentNotification(read.fields, trust);
  if (!check.ok) return reply(false, 400, check.reason);
  const payment = check.payment;
  if (!isOrderId(payment.outTradeNo)) return reply(false, 400, "unknown_order");
  if (payment.resultCode !== "SUCCESS") {
    // An authentic notice that a payment failed proves no payment: acknowledge it, change nothing.
    return reply(true, 200, "payment_failed", { orderId: payment.outTradeNo });
  }

  let outcome;
  try {
    outcome = await orderObject(c.env, payment.outTradeNo).applyPayment(
      { transactionId: payment.transactionId, totalFee: payment.totalFee, ...(payment.timeEnd !== undefined ? { timeEnd: payment.timeEnd } : {}) },
      "notify",
      c.var.requestId,
    );
  } catch {
    // Not stored, so not acknowledged: WeChat will deliver it again.
    return reply(false, 500, "storage_failed");
  }
  if (!outcome.ok) {
    const reason = outcome.error.status === 404 ? "unknown_order" : outcome.error.code === "invalid_request" ? "amount_mismatch" : "illegal_transition";
    return reply(false, 400, reason);
  }
  return reply(true, 200);
});
