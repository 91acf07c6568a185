// The operator endpoints: an order with its history, refunds and events, refunds, merchant events,
// and whose a mini-program token is. Thin: the order object reserves amounts, talks to WeChat and keeps the refund's state.
import { Hono } from "hono";
import type { AppEnv } from "../app-env";
import { ApiError } from "../errors";
import { sha256Hex } from "../hash";
import { requireJsonBody } from "../http/body";
import { schemas, valid, validEventPath, validOrderId, validRefundPath } from "../http/validation";
import { requireAdmin } from "../http/require-admin";
import { listIndexedEvents, listIndexedOrders } from "../listing/order-index";
import { clientIp } from "../http/client-ip";
import { requireConfig, shippingMode } from "../config";
import { shippingRequestFrom } from "../orders/shipping-decisions";
import { newOrderId, newRefundId } from "../orders/order-id";
import { merchantPricedOrder } from "../orders/pricing";
import { toAdminOrderView, toOrderView } from "../orders/order-record";
import { orderObject, userOrdersObject } from "../orders/order-store";
import { requireRefundTransport } from "../orders/pay-gateway";
import { SessionStore } from "../sessions/session-store";
import { orderValue } from "./order-errors";

export const adminRoutes = new Hono<AppEnv>()
  .use("/admin/*", requireAdmin())

  // Across orders: the D1 index that each order's object keeps up to date after its own commits.
  .get("/admin/orders", valid("query", schemas.adminOrderList), async (c) => {
    const { limit = 50, cursor = null, ...filters } = c.req.valid("query");
    try {
      return c.json(await listIndexedOrders(c.env.ORDER_INDEX, filters, limit, cursor));
    } catch (error) {
      if (error instanceof RangeError) throw ApiError.invalidRequest("cursor is not one we issued.");
      throw error;
    }
  })

  // An order priced by the merchant's backend for one payer: stored pending, with no call to WeChat
  // (the payer's POST /api/orders/:id/pay prepares it). The payer's own object keeps it and its
  // Idempotency-Key, as for the payer's own orders.
  .post("/admin/orders", valid("header", schemas.idempotency), requireJsonBody(), valid("json", schemas.adminCreateOrder), async (c) => {
    const config = requireConfig(c.env, ["orderTtlSeconds"]);
    const { openid, items, description } = c.req.valid("json");
    const priced = merchantPricedOrder(items, description);
    if (!priced.ok) throw ApiError.invalidRequest(`${priced.problem}.`);
    const now = Date.now();
    const requestHash = await sha256Hex(JSON.stringify(["merchant", priced.order.items.map((i) => [i.sku, i.name, i.quantity, i.price]), priced.order.description]));
    const reservation = await userOrdersObject(c.env, openid).reserve({ orderId: newOrderId(now), createdAt: now, requestHash, idempotencyKey: c.req.valid("header")["idempotency-key"] ?? null });
    if (reservation.kind === "conflict") throw new ApiError(409, "invalid_state", "This Idempotency-Key was already used with a different request.");
    const order = await orderObject(c.env, reservation.orderId).create(
      { id: reservation.orderId, openid, ...priced.order, requestHash, clientIp: clientIp(c.req.raw), createdAt: now, expiresAt: now + config.orderTtlSeconds * 1000 },
      c.var.requestId,
    );
    return c.json({ order: toOrderView(order) }, 201);
  })

  .get("/admin/orders/:id", validOrderId(), async (c) => {
    // One call: the object checks refunds still processing and a pending order with WeChat first,
    // and refuses an unknown order (404) itself.
    const view = orderValue(await orderObject(c.env, c.req.valid("param").id).adminView(c.var.requestId));
    const { order, history, refunds, refundHistory, events, shipping } = view;
    return c.json({ order: toAdminOrderView(order), history, refunds, refundHistory, events, shipping });
  })

  // Stored on the order first, then uploaded; the order's alarm retries what WeChat could not take
  // yet (a payment it learns of only a minute after it, a busy moment), so the answer is 202.
  .post("/admin/orders/:id/shipping", validOrderId(), requireJsonBody(), valid("json", schemas.shipping), async (c) => {
    if (shippingMode(c.env) === "off") throw new ApiError(503, "not_configured", "Shipping is off: set WECHAT_SHIPPING to manual or virtual.");
    const asked = shippingRequestFrom(c.req.valid("json"));
    if (!asked.ok) throw ApiError.invalidRequest(`Invalid request: ${asked.problem}.`);
    const { order, shipping } = orderValue(await orderObject(c.env, c.req.valid("param").id).requestShipping(asked.request, c.var.requestId));
    return c.json({ order: toAdminOrderView(order), shipping }, 202);
  })

  // Across orders, like the order listing: the index holds each event as its object last wrote it.
  .get("/admin/events", valid("query", schemas.eventList), async (c) => {
    const { status, limit = 50, cursor = null } = c.req.valid("query");
    try {
      return c.json(await listIndexedEvents(c.env.ORDER_INDEX, status, limit, cursor));
    } catch (error) {
      if (error instanceof RangeError) throw ApiError.invalidRequest("cursor is not one we issued.");
      throw error;
    }
  })

  // Accepted, not done: the order's alarm attempts it now (after any earlier event of the order still pending).
  .post("/admin/orders/:id/events/:eventId/redeliver", validEventPath(), async (c) => {
    const { id, eventId } = c.req.valid("param");
    const event = orderValue(await orderObject(c.env, id).redeliverEvent(eventId, c.var.requestId));
    return c.json({ event }, 202);
  })

  .post(
    "/admin/orders/:id/refunds",
    validOrderId(),
    valid("header", schemas.idempotency),
    requireJsonBody(),
    valid("json", schemas.refund),
    async (c) => {
      requireRefundTransport(c.env);
      const { amount, reason } = c.req.valid("json");
      const created = orderValue(
        await orderObject(c.env, c.req.valid("param").id).createRefund(
          {
            id: newRefundId(Date.now()),
            amount,
            reason: reason === undefined || reason.trim() === "" ? null : reason.trim(),
            idempotencyKey: c.req.valid("header")["idempotency-key"] ?? null,
            requestHash: await sha256Hex(JSON.stringify([amount, reason ?? null])),
          },
          c.var.requestId,
        ),
      );
      const { refund, order } = created;
      return c.json({ refund: { id: refund.id, amount: refund.amount, status: refund.status }, order: toOrderView(order) }, 201);
    },
  )

  // The merchant's backend asks whose a mini-program token is before trusting it (merchant-priced
  // orders): the same look-up as our own bearer middleware, and never the session_key.
  .post("/admin/sessions/introspect", requireJsonBody(), valid("json", schemas.introspect), async (c) => {
    const session = await new SessionStore(c.env.SESSIONS).find(c.req.valid("json").token);
    return c.json(session === null ? { active: false } : { active: true, openid: session.openid, expiresAt: new Date(session.expiresAt).toISOString() });
  })

  // A refund WeChat never received (say, one whose request could not be sent) is ended here,
  // releasing its amount; one that WeChat has is settled only by WeChat.
  .post("/admin/orders/:id/refunds/:refundId/cancel", validRefundPath(), async (c) => {
    const { id, refundId } = c.req.valid("param");
    const { refund, order } = orderValue(await orderObject(c.env, id).cancelRefund(refundId, c.var.requestId));
    return c.json({ refund, order: toOrderView(order) });
  });
