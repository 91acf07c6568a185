// POST /api/pay/notify: WeChat's payment result notification, handled in a fixed order:
// size limit → UTF-8 → parse (no DTD) → envelope and sign → order exists → amount equal →
// state change stored → SUCCESS. Any failed check answers FAIL and changes nothing.
import { Hono } from "hono";
import type { AppEnv } from "../app-env";
import { isOrderId } from "../orders/order-id";
import { orderObject } from "../orders/order-store";
import { paymentFact } from "../orders/wechat-adapter";
import { verifyPaymentNotification } from "../wechat/payment-notification";
import { replyToNotification, verifiedNotification } from "./notification-io";

export const payNotifyRoutes = new Hono<AppEnv>().post("/api/pay/notify", async (c) => {
  const reply = replyToNotification(c, "pay_notify");
  const verified = await verifiedNotification(c, async (fields, trust) => {
    const check = await verifyPaymentNotification(fields, trust);
    return check.ok ? { ok: true, value: check.payment } : check;
  });
  if (!verified.ok) return reply(false, verified.status, verified.reason);
  const payment = verified.value;
  if (!isOrderId(payment.outTradeNo)) return reply(false, 400, "unknown_order");
  if (payment.resultCode !== "SUCCESS") {
    // An authentic notice that a payment failed proves no payment: acknowledge it, change nothing.
    return reply(true, 200, "payment_failed", { orderId: payment.outTradeNo });
  }

  let outcome;
  try {
    outcome = await orderObject(c.env, payment.outTradeNo).applyPayment(paymentFact(payment), "notify", c.get("requestId"));
  } catch {
    // Not stored, so not acknowledged: WeChat will deliver it again.
    return reply(false, 500, "storage_failed");
  }
  if (!outcome.ok) {
    const reason = outcome.error.reason === "not_found" ? "unknown_order" : outcome.error.reason === "amount_mismatch" ? "amount_mismatch" : "illegal_transition";
    return reply(false, 400, reason);
  }
  return reply(true, 200);
});
