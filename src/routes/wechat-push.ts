// WeChat's message push to the mini program (消息推送), for the order shipping management's events.
// GET answers the console's URL check; POST opens a push in the protocol layer's fixed order
// (fresh timestamp → size → JSON → signature → decryption for our appid → event) before anything
// is trusted, applies a settlement to its order, and answers "success". Forged, stale or
// undecryptable pushes are refused and change nothing; a push we have no use for is acknowledged.
import { Hono, type Context } from "hono";
import type { AppEnv } from "../app-env";
import { requireConfig } from "../config";
import { ApiError } from "../errors";
import { schemas, valid } from "../http/validation";
import { log } from "../log";
import { isOrderId } from "../orders/order-id";
import { orderObject } from "../orders/order-store";
import { isFresh, openPush, verifyPushSignature, type OrderSettlementEvent, type PushConfig, type PushRejection } from "../wechat/mp";

/** The push settings; without a Token the route is not configured (WeChat's console cannot be pointed at it yet). */
function pushConfig(c: Context<AppEnv>): PushConfig & { mchId: string } {
  const config = requireConfig(c.env, ["appid", "mchId", "pushToken", "pushAesKey"]);
  if (config.pushToken === null) throw new ApiError(503, "not_configured", "The service is not configured: WECHAT_PUSH_TOKEN is missing.");
  return { token: config.pushToken, appid: config.appid, mchId: config.mchId, ...(config.pushAesKey === null ? {} : { encodingAesKey: config.pushAesKey }) };
}

/** A refused push, as the contract's error; the reason is logged, never the body. */
function refused(reason: PushRejection): ApiError {
  log("warn", "wechat_push_rejected", { reason });
  if (reason === "bad_body" || reason === "bad_event" || reason === "missing_parameters") return ApiError.invalidRequest("The push is not one WeChat sends.");
  if (reason === "too_large") return new ApiError(413, "payload_too_large", "The push is too large.");
  // Not "unauthorized": no credential of the caller's could help; the push is not WeChat's.
  return new ApiError(403, "forbidden", "The push's signature, timestamp or encryption does not verify.");
}

const success = (c: Context<AppEnv>) => c.text("success", 200);

export const wechatPushRoutes = new Hono<AppEnv>()
  .get("/api/wechat/push", valid("query", schemas.pushCheck), async (c) => {
    const config = pushConfig(c);
    const { signature, timestamp, nonce, echostr } = c.req.valid("query");
    if (!isFresh(timestamp, Date.now())) throw refused("stale_timestamp");
    if (!(await verifyPushSignature({ token: config.token, timestamp, nonce, signature }))) throw refused("bad_signature");
    // Echoed as text (letters and digits only, by the schema): WeChat compares it byte for byte.
    return c.text(echostr, 200);
  })

  .post("/api/wechat/push", valid("query", schemas.push), async (c) => {
    const config = pushConfig(c);
    const opened = await openPush(c.req.valid("query"), await c.req.text(), config, Date.now());
    if (!opened.ok) throw refused(opened.reason);
    const event = opened.event;
    if (event.event === "trade_manage_remind_shipping") {
      // WeChat's reminder that a payment older than 48 hours has no shipping information yet.
      log("warn", "wechat_shipping_reminder", { orderId: event.merchantTradeNo, transactionId: event.transactionId });
      return success(c);
    }
    if (event.event !== "trade_manage_order_settlement") return success(c);
    if (event.merchantId !== config.mchId || !isOrderId(event.merchantTradeNo)) {
      log("warn", "wechat_settlement_not_ours", { orderId: event.merchantTradeNo });
      return success(c);
    }
    // A storage failure throws: 500, and WeChat pushes again.
    const applied = await orderObject(c.env, event.merchantTradeNo).applySettlement(settlementReport(event), c.var.requestId);
    if (!applied.ok) log("warn", "wechat_settlement_ignored", { orderId: event.merchantTradeNo, reason: applied.error.reason });
    return success(c);
  });

function settlementReport(event: OrderSettlementEvent) {
  const ms = (seconds: number | undefined) => (seconds === undefined || seconds <= 0 ? null : seconds * 1000);
  return { transactionId: event.transactionId, phase: event.phase, settledAt: ms(event.settlementTime), estimatedSettlementAt: ms(event.estimatedSettlementTime) };
}
