// WeChat Pay API v3's notifications, POST /api/v3/pay/notify and /api/v3/refund/notify, in a fixed
// order: size limit → signature over the raw bytes, before anything is parsed (timestamp window,
// the key chosen by Wechatpay-Serial, WECHATPAY/SIGNTEST/ probes refused) → UTF-8 → envelope →
// AEAD_AES_256_GCM resource → our appid and mchid → the same exactly-once transition as v2 → 204.
// Anything else: 4xx/5xx with {"code":"FAIL","message"}, and nothing changes (WeChat reads the status).
import { Hono, type Context } from "hono";
import type { AppEnv } from "../app-env";
import { ApiError } from "../errors";
import { decodeUtf8 } from "../http/body";
import { log } from "../log";
import { isOrderId } from "../orders/order-id";
import { orderObject } from "../orders/order-store";
import { v3Context, type V3Context } from "../orders/pay-gateway";
import { v3PaymentFact, v3RefundReport } from "../orders/wechat-v3-adapter";
import { NotificationError, openNotification, readRefundResult, readTransaction, verifyWeChatPaySignature } from "../wechat/v3";

type Kind = "pay" | "refund";

export const v3NotifyRoutes = new Hono<AppEnv>()
  .post("/api/v3/pay/notify", (c) => handle(c, "pay"))
  .post("/api/v3/refund/notify", (c) => handle(c, "refund"));

async function handle(c: Context<AppEnv>, kind: Kind): Promise<Response> {
  const fail = (status: 400 | 401 | 500 | 503, reason: string, message: string): Response => {
    log("warn", `v3_${kind}_notify_rejected`, { reason });
    return c.json({ code: "FAIL", message }, status);
  };
  let context: V3Context;
  try {
    context = await v3Context(c.env);
  } catch (error) {
    if (error instanceof ApiError) return fail(503, "not_configured", "API v3 is not configured.");
    throw error;
  }
  const bytes = new Uint8Array(await c.req.arrayBuffer());
  const signature = await verifyWeChatPaySignature(c.req.raw.headers, bytes, context.keys, Date.now());
  if (!signature.ok) return fail(401, signature.reason, "The signature does not verify.");
  const text = decodeUtf8(bytes);
  if (text === null) return fail(400, "not_utf8", "The body is not UTF-8.");

  let opened;
  try {
    opened = await openNotification(text, context.apiV3Key);
  } catch (error) {
    if (error instanceof NotificationError) return fail(400, error.reason, "The notification cannot be read.");
    throw error;
  }
  try {
    return kind === "pay" ? await applyPayment(c, context, opened.resource, fail) : await applyRefund(c, context, opened.resource, fail);
  } catch (error) {
    if (error instanceof NotificationError) return fail(400, error.reason, "The notification is not for this merchant or is malformed.");
    // Not stored, so not acknowledged: WeChat delivers it again.
    return fail(500, "storage_failed", "Not stored; deliver it again.");
  }
}

type Fail = (status: 400 | 401 | 500 | 503, reason: string, message: string) => Response;

async function applyPayment(c: Context<AppEnv>, context: V3Context, resource: Record<string, unknown>, fail: Fail): Promise<Response> {
  const transaction = readTransaction(resource, { appid: context.appid, mchid: context.mchid });
  if (!isOrderId(transaction.outTradeNo)) return fail(400, "unknown_order", "No such order.");
  const fact = v3PaymentFact(transaction);
  if (transaction.tradeState !== "SUCCESS" || fact === null) {
    // An authentic notice that proves no payment: acknowledged, nothing changed.
    log("info", "v3_pay_notify_accepted", { reason: "not_a_payment", orderId: transaction.outTradeNo });
    return c.body(null, 204);
  }
  const outcome = await orderObject(c.env, transaction.outTradeNo).applyPayment(fact, "notify", c.get("requestId"));
  if (!outcome.ok) return fail(400, outcome.error.reason, "The payment does not match an order of ours.");
  return c.body(null, 204);
}

async function applyRefund(c: Context<AppEnv>, context: V3Context, resource: Record<string, unknown>, fail: Fail): Promise<Response> {
  const result = readRefundResult(resource, { mchid: context.mchid });
  if (!isOrderId(result.outTradeNo)) return fail(400, "unknown_order", "No such order.");
  const outcome = await orderObject(c.env, result.outTradeNo).applyRefundNotice(v3RefundReport(result), c.get("requestId"));
  if (!outcome.ok) return fail(400, outcome.error.reason, "The refund does not match a refund of ours.");
  return c.body(null, 204);
}
