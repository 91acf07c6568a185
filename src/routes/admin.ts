// The operator endpoints: an order with its history and refunds, and refunds. Thin: the order
// object reserves amounts, talks to WeChat and keeps the refund's state.
import { Hono } from "hono";
import type { AppEnv } from "../app-env";
import { ApiError, unwrap } from "../errors";
import { sha256Hex } from "../hash";
import { readJsonObject } from "../http/body";
import { requireAdmin } from "../http/require-admin";
import { isOrderId, newRefundId } from "../orders/order-id";
import { toOrderView } from "../orders/order-record";
import { orderObject } from "../orders/order-store";
import { requireRefundTransport } from "../orders/pay-gateway";
import { REFUND_LIMITS } from "../orders/refund-rules";
import { IDEMPOTENCY_KEY } from "./orders";

export const adminRoutes = new Hono<AppEnv>()
  .use("/admin/*", requireAdmin())

  .get("/admin/orders/:id", async (c) => {
    const stub = await existingOrder(c.env, c.req.param("id"));
    // Refunds still processing are checked with WeChat first, as pending orders are for users.
    await stub.refreshRefunds();
    const order = await stub.refresh(c.var.requestId);
    if (order === null) throw ApiError.notFound("No such order.");
    const [history, refunds] = await Promise.all([stub.history(), stub.refunds()]);
    return c.json({ order: { ...toOrderView(order), paidAfterClose: order.paidAfterClose }, history, refunds });
  })

  .post("/admin/orders/:id/refunds", async (c) => {
    requireRefundTransport(c.env);
    const idempotencyKey = c.req.header("Idempotency-Key") ?? null;
    if (idempotencyKey !== null && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
      throw ApiError.invalidRequest("Idempotency-Key must be 1-255 printable ASCII characters.");
    }
    const body = await readJsonObject(c.req.raw);
    const { amount, reason } = body;
    if (typeof amount !== "number" || !Number.isSafeInteger(amount) || amount < 1) {
      throw ApiError.invalidRequest('"amount" must be a positive whole number of fen.');
    }
    if (reason !== undefined && (typeof reason !== "string" || reason.length > REFUND_LIMITS.maxReasonLength)) {
      throw ApiError.invalidRequest(`"reason" must be text of at most ${REFUND_LIMITS.maxReasonLength} characters.`);
    }
    const stub = await existingOrder(c.env, c.req.param("id"));
    const created = unwrap(
      await stub.createRefund(
        {
          id: newRefundId(Date.now()),
          amount,
          reason: reason === undefined || reason.trim() === "" ? null : reason.trim(),
          idempotencyKey,
          requestHash: await sha256Hex(JSON.stringify([amount, reason ?? null])),
        },
        c.var.requestId,
      ),
    );
    const { refund, order } = created;
    return c.json({ refund: { id: refund.id, amount: refund.amount, status: refund.status }, order: toOrderView(order) }, 201);
  });

async function existingOrder(env: AppEnv["Bindings"], id: string) {
  if (!isOrderId(id)) throw ApiError.notFound("No such order.");
  const stub = orderObject(env, id);
  if ((await stub.read()) === null) throw ApiError.notFound("No such order.");
  return stub;
}
