// The operator endpoints: an order with its history and refunds, refunds, and whose a mini-program
// token is. Thin: the order object reserves amounts, talks to WeChat and keeps the refund's state.
import { Hono } from "hono";
import type { AppEnv } from "../app-env";
import { ApiError } from "../errors";
import { sha256Hex } from "../hash";
import { requireJsonBody } from "../http/body";
import { schemas, valid, validOrderId, validRefundPath } from "../http/validation";
import { requireAdmin } from "../http/require-admin";
import { listIndexedOrders } from "../listing/order-index";
import { newRefundId } from "../orders/order-id";
import { toOrderView } from "../orders/order-record";
import { orderObject } from "../orders/order-store";
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

  .get("/admin/orders/:id", validOrderId(), async (c) => {
    // One call: the object checks refunds still processing and a pending order with WeChat first,
    // and refuses an unknown order (404) itself.
    const view = orderValue(await orderObject(c.env, c.req.valid("param").id).adminView(c.var.requestId));
    const { order, history, refunds, refundHistory } = view;
    return c.json({ order: { ...toOrderView(order), paidAfterClose: order.paidAfterClose }, history, refunds, refundHistory });
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
