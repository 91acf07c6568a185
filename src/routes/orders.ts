// The mini-program's order endpoints: create, list, read, pay again, close. Thin: validation and
// ownership here, the order's life in OrderObject, the user's index in UserOrdersObject.
import { Hono } from "hono";
import type { AppEnv } from "../app-env";
import { requireConfig } from "../config";
import type { Env } from "../env";
import { ApiError } from "../errors";
import { sha256Hex } from "../hash";
import { requireJsonBody } from "../http/body";
import { rateLimit } from "../http/rate-limit";
import { schemas, valid, validOrderId } from "../http/validation";
import { clientIp } from "../http/client-ip";
import { requireSession } from "../http/require-session";
import { newOrderId } from "../orders/order-id";
import { toOrderView, type OrderRecord } from "../orders/order-record";
import { orderObject, userOrdersObject } from "../orders/order-store";
import { priceItems } from "../orders/pricing";
import { decodeCursor } from "../orders/order-cursor";
import { v3Context } from "../orders/pay-gateway";
import { buildPaymentParams, type PaymentParams } from "../wechat/payment-params";
import { buildRsaPaymentParams, type RsaPaymentParams } from "../wechat/v3";
import { orderValue } from "./order-errors";

const PAGE_SIZE = { default: 20 } as const;

export const orderRoutes = new Hono<AppEnv>()
  // "/api/orders/*" also matches "/api/orders" itself: one session look-up per request.
  .use("/api/orders/*", requireSession())

  .post(
    "/api/orders",
    valid("header", schemas.idempotency),
    requireJsonBody(),
    valid("json", schemas.createOrder),
    // Counted once the request is well formed: a malformed one creates nothing.
    rateLimit("createOrder"),
    async (c) => {
      const config = requireConfig(c.env, ["products", "publicBaseUrl", "orderTtlSeconds"]);
      await checkPaymentSettings(c.env);
      const idempotencyKey = c.req.valid("header")["idempotency-key"] ?? null;
      const priced = priceItems(c.req.valid("json").items, config.products);
      if (!priced.ok) throw ApiError.invalidRequest(`${priced.problem}.`);

      const { openid } = c.get("session");
      const now = Date.now();
      // What makes two requests "the same" for an Idempotency-Key: the products and quantities.
      const requestHash = await sha256Hex(JSON.stringify(priced.order.items.map((i) => [i.sku, i.quantity])));
      const reservation = await userOrdersObject(c.env, openid).reserve({
        orderId: newOrderId(now),
        createdAt: now,
        requestHash,
        idempotencyKey,
      });
      if (reservation.kind === "conflict") {
        throw new ApiError(409, "invalid_state", "This Idempotency-Key was already used with a different request.");
      }

      const expiresAt = now + config.orderTtlSeconds * 1000;
      const stub = orderObject(c.env, reservation.orderId);
      // Stored before WeChat is called: a failure below leaves a pending order that /pay can finish.
      const prepared = await stub.createAndPrepare({
        id: reservation.orderId,
        openid,
        amount: priced.order.amount,
        description: priced.order.description,
        items: priced.order.items,
        requestHash,
        clientIp: clientIp(c.req.raw),
        createdAt: now,
        expiresAt,
      }, c.get("requestId"));
      const order = orderValue(prepared);
      return c.json({ order: toOrderView(order), payment: await paymentFor(order, c.env) }, 201);
    },
  )

  .get("/api/orders", valid("query", schemas.orderList), async (c) => {
    const { limit = PAGE_SIZE.default, cursor = null } = c.req.valid("query");
    const after = cursor === null ? null : decodeCursor(cursor);
    if (cursor !== null && after === null) throw ApiError.invalidRequest("cursor is not one we issued.");
    const page = await userOrdersObject(c.env, c.get("session").openid).list(limit, after);
    const orders = await Promise.all(page.orderIds.map((id) => orderObject(c.env, id).read()));
    return c.json({
      orders: orders.filter((o): o is OrderRecord => o !== null).map(toOrderView),
      cursor: page.cursor,
    });
  })

  // The order's object refuses another payer's request (403) or an unknown order (404) itself,
  // before any work: one call per request.
  .get("/api/orders/:id", validOrderId(), async (c) => {
    const order = orderValue(await orderObject(c.env, c.req.valid("param").id).refresh(c.get("session").openid, c.get("requestId")));
    return c.json({ order: toOrderView(order) });
  })

  .post("/api/orders/:id/pay", validOrderId(), async (c) => {
    // publicBaseUrl: a new prepay names our notify URL, built from it.
    requireConfig(c.env, ["publicBaseUrl"]);
    await checkPaymentSettings(c.env);
    const order = orderValue(await orderObject(c.env, c.req.valid("param").id).preparePayment(c.get("session").openid, c.get("requestId")));
    return c.json({ order: toOrderView(order), payment: await paymentFor(order, c.env) });
  })

  .post("/api/orders/:id/close", validOrderId(), async (c) => {
    const order = orderValue(await orderObject(c.env, c.req.valid("param").id).close(c.get("session").openid, c.get("requestId")));
    return c.json({ order: toOrderView(order) });
  });

/** The settings paySign needs, checked before anything is stored (503 naming what is unusable). */
async function checkPaymentSettings(env: Env): Promise<void> {
  if (requireConfig(env, ["apiVersion"]).apiVersion === "v3") await v3Context(env);
  else requireConfig(env, ["appid", "payKey", "signType"]);
}

/**
 * Fresh wx.requestPayment parameters: re-signed every time, never WeChat's prepay sign. v2: the v2
 * sign with the order's sign type; v3: signType "RSA", signed with the merchant's private key.
 */
async function paymentFor(order: OrderRecord, env: Env): Promise<PaymentParams | RsaPaymentParams> {
  if (order.prepayId === null) throw new Error("a prepared order has a prepay_id");
  if (requireConfig(env, ["apiVersion"]).apiVersion === "v3") {
    const { appid, signer } = await v3Context(env);
    return buildRsaPaymentParams({ appId: appid, prepayId: order.prepayId, privateKey: signer.privateKey });
  }
  const config = requireConfig(env, ["appid", "payKey", "signType"]);
  return buildPaymentParams({ appId: config.appid, prepayId: order.prepayId, key: config.payKey, signType: config.signType });
}
