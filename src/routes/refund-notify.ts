// POST /api/refund/notify: WeChat's refund result notification. Same order as the payment one:
// size limit → UTF-8 → parse (no DTD) → envelope (return_code, appid, mch_id) → decrypt req_info
// with our key (the notification has no sign: decryption is the authentication) → the refund is
// ours with the same amounts → state stored → SUCCESS. Anything else: FAIL, nothing changed.
import { Hono } from "hono";
import type { AppEnv } from "../app-env";
import { isOrderId } from "../orders/order-id";
import { orderObject } from "../orders/order-store";
import { verifyRefundNotification } from "../wechat/refund-notification";
import { notificationTrust, readNotification, replyToNotification } from "./notification-io";

export const refundNotifyRoutes = new Hono<AppEnv>().post("/api/refund/notify", async (c) => {
  const reply = replyToNotification(c, "refund_notify");
  const read = await readNotification(c);
  if (!read.ok) return reply(false, read.status, read.reason);
  const trust = notificationTrust(c);
  if (trust === null) return reply(false, 503, "not_configured");

  const check = await verifyRefundNotification(read.fields, trust);
  if (!check.ok) return reply(false, 400, check.reason);
  const notice = check.notice;
  if (!isOrderId(notice.outTradeNo)) return reply(false, 400, "unknown_order");

  let outcome;
  try {
    outcome = await orderObject(c.env, notice.outTradeNo).applyRefundNotice(notice, c.var.requestId);
  } catch {
    return reply(false, 500, "storage_failed");
  }
  if (!outcome.ok) return reply(false, 400, outcome.error.status === 404 ? "unknown_refund" : "amount_mismatch");
  return reply(true, 200);
});
