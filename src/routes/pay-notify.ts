// POST /api/pay/notify: WeChat's payment result notification, handled in a fixed order:
// size limit → UTF-8 → parse (no DTD) → envelope and sign → order exists → amount equal →
// state change stored → SUCCESS. Any failed check answers FAIL and changes nothing.
import { Hono } from "hono";
import type { AppEnv } from "../app-env";
import { requireConfig } from "../config";
import { ApiError } from "../errors";
import { BODY_LIMITS, decodeUtf8, readBodyBytes } from "../http/body";
import { log } from "../log";
import { isOrderId } from "../orders/order-id";
import { orderObject } from "../orders/order-store";
import { notificationReply, verifyPaymentNotification } from "../wechat/payment-notification";
import { XmlError, parseXml } from "../wechat/xml";

export const payNotifyRoutes = new Hono<AppEnv>().post("/api/pay/notify", async (c) => {
  const requestId = c.var.requestId;
  const reply = (acknowledged: boolean, status: 200 | 400 | 413 | 500 | 503, reason?: string) => {
    if (reason !== undefined) log(acknowledged ? "info" : "warn", "pay_notify_rejected", { requestId, reason });
    return c.body(notificationReply(acknowledged), status, { "Content-Type": "text/xml; charset=utf-8" });
  };

  let config;
  try {
    config = requireConfig(c.env, ["appid", "mchId", "payKey"]);
  } catch {
    return reply(false, 503, "not_configured");
  }

  let bytes: Uint8Array;
  try {
    bytes = await readBodyBytes(c.req.raw, BODY_LIMITS.xml);
  } catch (error) {
    if (error instanceof ApiError) return reply(false, 413, "too_large");
    throw error;
  }
  const text = decodeUtf8(bytes);
  if (text === null) return reply(false, 400, "not_utf8");

  let fields;
  try {
    fields = parseXml(text);
  } catch (error) {
    if (error instanceof XmlError) return reply(false, 400, `xml_${error.reason}`);
    throw error;
  }

  const check = await verifyPaymentNotification(fields, { appid: config.appid, mchId: config.mchId, key: config.payKey });
  if (!check.ok) return reply(false, 400, check.reason);
  const payment = check.payment;
  if (!isOrderId(payment.outTradeNo)) return reply(false, 400, "unknown_order");
  if (payment.resultCode !== "SUCCESS") {
    // An authentic notice that a payment failed proves no payment: acknowledge it, change nothing.
    log("info", "pay_notify_payment_failed", { requestId, orderId: payment.outTradeNo });
    return reply(true, 200);
  }

  let outcome;
  try {
    outcome = await orderObject(c.env, payment.outTradeNo).applyPayment(
      { transactionId: payment.transactionId, totalFee: payment.totalFee, ...(payment.timeEnd !== undefined ? { timeEnd: payment.timeEnd } : {}) },
      "notify",
    );
  } catch {
    // Not stored, so not acknowledged: WeChat will deliver it again.
    return reply(false, 500, "storage_failed");
  }
  if (!outcome.ok) {
    const reason = outcome.error.status === 404 ? "unknown_order" : outcome.error.code === "invalid_request" ? "amount_mismatch" : "illegal_transition";
    return reply(false, 400, reason);
  }
  log("info", "pay_notify_accepted", { requestId, orderId: payment.outTradeNo, outcome: outcome.value });
  return reply(true, 200);
});
