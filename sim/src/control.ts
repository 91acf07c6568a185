// The JSON control API under /__sim: minting login codes, paying orders (which sends the
// notification), inspecting orders and calls, injecting faults, moving the clock, resetting.
import { Hono, type Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { callToJson } from "./call-log";
import { formatBeijingTime, isoTime } from "./clock";
import type { SimContext } from "./context";
import { parseFaultSpec } from "./faults";
import { newTransactionId } from "./ids";
import { mintLoginCode } from "./login";
import { buildNotification } from "./notifier";
import { PREPAY_ID_TTL_MS, isExpired } from "./order-rules";
import { isSignType } from "./sign";
import { clearState, type OrderRecord } from "./state";

/** Most duplicate copies one pay call may ask for. */
const MAX_DUPLICATES = 10;

function controlError(c: Context, status: ContentfulStatusCode, error: string, message: string) {
  return c.json({ error, message }, status);
}

/** The JSON body as an object; an empty body is `{}`. */
async function readBody(c: Context): Promise<Record<string, unknown> | null> {
  const text = await c.req.text();
  if (text.trim() === "") return {};
  try {
    const body: unknown = JSON.parse(text);
    return typeof body === "object" && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function orderToJson(order: OrderRecord) {
  return {
    outTradeNo: order.outTradeNo,
    tradeState: order.tradeState,
    totalFee: order.totalFee,
    prepayId: order.prepayId,
    transactionId: order.transactionId,
    openid: order.openid,
    signType: order.signType,
    notifyUrl: order.notifyUrl,
    expiresAt: order.expiresAt === null ? null : isoTime(order.expiresAt),
    nextNotificationAt:
      order.notification?.nextAttemptAt == null ? null : isoTime(order.notification.nextAttemptAt),
    notifications: order.notifications.map((n) => ({ ...n, at: isoTime(n.at) })),
  };
}

export function controlRoutes(ctx: SimContext): Hono {
  const app = new Hono();
  const badBody = (c: Context) => controlError(c, 400, "BAD_REQUEST", "body must be a JSON object");

  app.post("/__sim/login-codes", async (c) => {
    const body = await readBody(c);
    if (!body) return badBody(c);
    const { user, appid } = body;
    if (user !== undefined && (typeof user !== "string" || user === "")) {
      return controlError(c, 400, "BAD_REQUEST", "user must be a non-empty string");
    }
    if (appid !== undefined && (typeof appid !== "string" || appid === "")) {
      return controlError(c, 400, "BAD_REQUEST", "appid must be a non-empty string");
    }
    const minted = await mintLoginCode(ctx, { user, appid });
    return c.json(minted);
  });

  app.get("/__sim/orders/:outTradeNo", (c) => {
    const order = ctx.state.orders.get(c.req.param("outTradeNo"));
    if (!order) return controlError(c, 404, "ORDER_NOT_FOUND", "no such out_trade_no");
    return c.json(orderToJson(order));
  });

  app.post("/__sim/orders/:outTradeNo/pay", async (c) => {
    const body = await readBody(c);
    if (!body) return badBody(c);
    const { signType, duplicates = 0, deliver = true, prepayId } = body;
    if (signType !== undefined && (typeof signType !== "string" || !isSignType(signType))) {
      return controlError(c, 400, "BAD_REQUEST", "signType must be MD5 or HMAC-SHA256");
    }
    if (typeof duplicates !== "number" || !Number.isInteger(duplicates) || duplicates < 0 || duplicates > MAX_DUPLICATES) {
      return controlError(c, 400, "BAD_REQUEST", `duplicates must be an integer from 0 to ${MAX_DUPLICATES}`);
    }
    if (typeof deliver !== "boolean") return controlError(c, 400, "BAD_REQUEST", "deliver must be a boolean");
    if (prepayId !== undefined && typeof prepayId !== "string") {
      return controlError(c, 400, "BAD_REQUEST", "prepayId must be a string");
    }

    const order = ctx.state.orders.get(c.req.param("outTradeNo"));
    if (!order) return controlError(c, 404, "ORDER_NOT_FOUND", "no such out_trade_no");
    const now = ctx.time.now();
    if (order.tradeState !== "NOTPAY") {
      return controlError(c, 409, "ORDER_NOT_PAYABLE", `the order is ${order.tradeState}`);
    }
    if (isExpired(order, now)) return controlError(c, 409, "ORDER_EXPIRED", "time_expire has passed");
    // What wx.requestPayment says for a prepay_id older than 2 h.
    if (now - order.prepayIssuedAt >= PREPAY_ID_TTL_MS) {
      return controlError(c, 409, "PREPAY_ID_EXPIRED", "该订单已过期，请重新下单");
    }
    if (prepayId !== undefined && prepayId !== order.prepayId) {
      return controlError(c, 409, "PREPAY_ID_MISMATCH", "prepayId is not the order's current prepay_id");
    }

    // The order is paid at WeChat before any notification leaves, so a query made while handling
    // the notification already sees SUCCESS.
    const transactionId = newTransactionId(now);
    order.tradeState = "SUCCESS";
    order.transactionId = transactionId;
    order.timeEnd = formatBeijingTime(now);
    ctx.state.transactions.set(transactionId, order.outTradeNo);

    if (!deliver) return c.json({ transactionId, delivered: false });
    const xml = await buildNotification(ctx.config, order, signType ?? order.signType);
    const delivered = await ctx.notifier.start(order, xml, duplicates);
    return c.json({ transactionId, delivered });
  });

  app.post("/__sim/orders/:outTradeNo/refund", (c) => {
    const order = ctx.state.orders.get(c.req.param("outTradeNo"));
    if (!order) return controlError(c, 404, "ORDER_NOT_FOUND", "no such out_trade_no");
    if (order.tradeState !== "SUCCESS" && order.tradeState !== "REFUND") {
      return controlError(c, 409, "ORDER_NOT_PAID", `the order is ${order.tradeState}`);
    }
    order.tradeState = "REFUND";
    return c.json(orderToJson(order));
  });

  app.get("/__sim/calls", (c) => c.json({ calls: ctx.calls.list(c.req.query("api")).map(callToJson) }));
  app.delete("/__sim/calls", (c) => {
    ctx.calls.clear();
    return c.json({ calls: [] });
  });

  app.post("/__sim/faults", async (c) => {
    const body = await readBody(c);
    if (!body) return badBody(c);
    const parsed = parseFaultSpec(body);
    if (!parsed.ok) return controlError(c, 400, "BAD_REQUEST", parsed.message);
    ctx.faults.add(parsed.spec);
    return c.json({ faults: ctx.faults.list() });
  });
  app.get("/__sim/faults", (c) => c.json({ faults: ctx.faults.list() }));
  app.delete("/__sim/faults", (c) => {
    ctx.faults.clear();
    return c.json({ faults: [] });
  });

  app.get("/__sim/clock", (c) => c.json({ now: isoTime(ctx.time.now()) }));
  app.post("/__sim/clock/advance", async (c) => {
    const body = await readBody(c);
    if (!body) return badBody(c);
    const { seconds } = body;
    if (typeof seconds !== "number" || !Number.isFinite(seconds) || seconds < 0) {
      return controlError(c, 400, "BAD_REQUEST", "seconds must be a non-negative number");
    }
    ctx.time.advance(seconds * 1000);
    await ctx.notifier.runDue();
    return c.json({ now: isoTime(ctx.time.now()) });
  });

  app.post("/__sim/reset", (c) => {
    clearState(ctx.state);
    ctx.calls.clear();
    ctx.faults.clear();
    ctx.time.reset();
    return c.json({ reset: true });
  });

  return app;
}
