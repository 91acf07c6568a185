// POST /api/refund/notify: WeChat's refund result notification. Same order as the payment one:
// size limit → UTF-8 → parse (no DTD) → envelope (return_code, appid, mch_id) → decrypt req_info
// with our key (the notification has no sign: decryption is the authentication) → the refund is
// ours with the same amounts → state stored → SUCCESS. Anything else: FAIL, nothing changed.
import { Hono } from "hono";
import type { AppEnv } from "../app-env";
import { isOrderId } from "../orders/order-id";
import { orderObject } from "../orders/order-store";
import { refundReport } from "../orders/wechat-adapter";
import { verifyRefundNotification } from "../wechat/refund-notification";
import { replyToNotification, verifiedNotification } from "./notification-io";

export const refundNotifyRoutes = new Hono<AppEnv>().post("/api/refund/notify", async (c) => {
  const reply = replyToNotification(c, "refund_notify");
  const verified = await verifiedNotification(c, async (fields, trust) => {
    const check = await verifyRefundNotification(fields, trust);
    return check.ok ? { ok: true, value: check.notice } : check;
  });
  if (!verified.ok) return reply(false, verified.status, verified.reason);
  const notice = verified.value;
  if (!isOrderId(notice.outTradeNo)) return reply(false, 400, "unknown_order");

  let outcome;
  try {
    outcome = await orderObject(c.env, notice.outTradeNo).applyRefundNotice(refundReport(notice), c.get("requestId"));
  } catch {
    return reply(false, 500, "storage_failed");
  }
  if (!outcome.ok) return reply(false, 400, outcome.error.reason === "refund_amount_mismatch" ? "amount_mismatch" : "unknown_refund");
  return reply(true, 200);
});
