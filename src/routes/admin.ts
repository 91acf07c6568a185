// The operator endpoints: an order with its history and refunds, and refunds. Thin: the order
// object reserves amounts, talks to WeChat and keeps the refund's state.
import { Hono } from "hono";
import type { AppEnv } from "../app-env";
import { sha256Hex } from "../hash";
import { requireJsonBody } from "../http/body";
import { schemas, valid, validOrderId, validRefundPath } from "../http/validation";
import { requireAdmin } from "../http/require-admin";
import { newRefundId } from "../orders/order-id";
import { toOrderView } from "../orders/order-record";
import { orderObject } from "../orders/order-store";
import { requireRefundTransport } from "../orders/pay-gateway";
import { orderValue } from "./order-errors";

export const adminRoutes = new Hono<AppEnv>()
  .use("/admin/*", requireAdmin())

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

  // A refund WeChat never received (say, one whose request could not be sent) is ended here,
  // releasing its amount; one that WeChat has is settled only by WeChat.
  .post("/admin/orders/:id/refunds/:refundId/cancel", validRefundPath(), async (c) => {
    const { id, refundId } = c.req.valid("param");
    const { refund, order } = orderValue(await orderObject(c.env, id).cancelRefund(refundId, c.var.requestId));
    return c.json({ refund, order: toOrderView(order) });
  });
