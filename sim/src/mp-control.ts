// The control API of the mini-program side (/__sim/mp/…, /__sim/push): inspecting and revoking the stable access token, the shipping state of a paid order and moving it on, and sending order-shipping message pushes.
import { Hono, type Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { isoTime } from "./clock";
import type { SimContext } from "./context";
import { isEncodingAesKey } from "./mp-crypto";
import { fullyRefunded, orderStateOf } from "./mp";
import { PUSH_EVENTS, defaultPushUrl, pushToJson, sendPush, type PushEventName, type PushKeys } from "./mp-push";
import type { ShippedState } from "./state";

export interface MpControlOptions {
  push: PushKeys;
  /** how a push is POSTed (the simulator's notification transport) */
  deliver: (url: string, init: RequestInit) => Promise<Response>;
  timeoutMs: number;
}

const SETTABLE_STATES: readonly ShippedState[] = [2, 3, 4, 6];

function controlError(c: Context, status: ContentfulStatusCode, error: string, message: string) {
  return c.json({ error, message }, status);
}

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

/** Checks the push keys once, when the simulator is built: a bad key would only show on the first push. */
export function checkPushKeys(keys: PushKeys): void {
  if (keys.token !== null && !/^[A-Za-z0-9]{3,32}$/.test(keys.token)) throw new Error("createSimulator: pushToken must be 3–32 letters or digits");
  if (keys.encodingAesKey !== null && !isEncodingAesKey(keys.encodingAesKey)) {
    throw new Error("createSimulator: pushEncodingAesKey must be 43 letters or digits");
  }
}

export function mpControlRoutes(ctx: SimContext, options: MpControlOptions): Hono {
  const app = new Hono();
  const badBody = (c: Context) => controlError(c, 400, "BAD_REQUEST", "body must be a JSON object");

  app.get("/__sim/mp/token", (c) => {
    const current = ctx.state.mpApps.get(ctx.config.appid);
    const record = current?.currentToken ? ctx.state.mpTokens.get(current.currentToken) : undefined;
    return c.json({
      accessToken: record?.token ?? null,
      issuedAt: record ? isoTime(record.issuedAt) : null,
      expiresAt: record ? isoTime(record.expiresAt) : null,
      revoked: record?.revoked ?? null,
      forceRefreshDay: current?.forceRefreshDay ?? null,
      forceRefreshes: current?.forceRefreshes ?? 0,
    });
  });

  // The current token stops working: "invalid" (as after a force refresh elsewhere) answers 40001, "expired" 42001.
  app.post("/__sim/mp/token/revoke", async (c) => {
    const body = await readBody(c);
    if (!body) return badBody(c);
    const { as = "invalid" } = body;
    if (as !== "invalid" && as !== "expired") return controlError(c, 400, "BAD_REQUEST", "as must be invalid or expired");
    const current = ctx.state.mpApps.get(ctx.config.appid);
    const record = current?.currentToken ? ctx.state.mpTokens.get(current.currentToken) : undefined;
    if (!record) return controlError(c, 409, "NO_TOKEN", "no access token has been issued");
    record.revoked = as;
    return c.json({ revoked: true, as, errcode: as === "invalid" ? 40001 : 42001 });
  });

  app.get("/__sim/mp/orders/:outTradeNo", (c) => {
    const order = ctx.state.orders.get(c.req.param("outTradeNo"));
    if (!order) return controlError(c, 404, "ORDER_NOT_FOUND", "no such out_trade_no");
    const shipping = ctx.state.shipping.get(order.outTradeNo);
    return c.json({
      outTradeNo: order.outTradeNo,
      orderState: orderStateOf(ctx, order),
      uploads: shipping?.uploads ?? 0,
      shipping: shipping ? { ...shipping, uploadedAt: isoTime(shipping.uploadedAt) } : null,
    });
  });

  app.post("/__sim/mp/orders/:outTradeNo/state", async (c) => {
    const body = await readBody(c);
    if (!body) return badBody(c);
    const { orderState } = body;
    if (!SETTABLE_STATES.includes(orderState as ShippedState)) return controlError(c, 400, "BAD_REQUEST", "orderState must be 2, 3, 4 or 6");
    const order = ctx.state.orders.get(c.req.param("outTradeNo"));
    if (!order) return controlError(c, 404, "ORDER_NOT_FOUND", "no such out_trade_no");
    const shipping = ctx.state.shipping.get(order.outTradeNo);
    if (!shipping) return controlError(c, 409, "NOT_SHIPPED", "no shipping information was uploaded for this order");
    if (fullyRefunded(ctx, order)) return controlError(c, 409, "ORDER_REFUNDED", "a refunded order's state is 5");
    shipping.orderState = orderState as ShippedState;
    return c.json({ outTradeNo: order.outTradeNo, orderState: shipping.orderState });
  });

  app.post("/__sim/push", async (c) => {
    const body = await readBody(c);
    if (!body) return badBody(c);
    const { event, outTradeNo, mode, url, settled = false } = body;
    if (!PUSH_EVENTS.includes(event as PushEventName)) return controlError(c, 400, "BAD_REQUEST", `event must be one of ${PUSH_EVENTS.join(", ")}`);
    if (mode !== "plain" && mode !== "safe") return controlError(c, 400, "BAD_REQUEST", "mode must be plain or safe");
    if (typeof outTradeNo !== "string" || outTradeNo === "") return controlError(c, 400, "BAD_REQUEST", "outTradeNo must be a non-empty string");
    if (url !== undefined && (typeof url !== "string" || !URL.canParse(url))) return controlError(c, 400, "BAD_REQUEST", "url must be an absolute URL");
    if (typeof settled !== "boolean") return controlError(c, 400, "BAD_REQUEST", "settled must be a boolean");
    const { token, encodingAesKey } = options.push;
    if (token === null) return controlError(c, 409, "PUSH_NOT_CONFIGURED", "the simulator has no push Token (createSimulator's pushToken)");
    if (mode === "safe" && encodingAesKey === null) {
      return controlError(c, 409, "PUSH_NOT_CONFIGURED", "safe mode needs an EncodingAESKey (createSimulator's pushEncodingAesKey)");
    }
    const order = ctx.state.orders.get(outTradeNo);
    if (!order) return controlError(c, 404, "ORDER_NOT_FOUND", "no such out_trade_no");
    if (order.transactionId === null) return controlError(c, 409, "ORDER_NOT_PAID", `the order is ${order.tradeState}`);
    const target = url ?? defaultPushUrl(order);
    if (target === null) return controlError(c, 409, "NO_PUSH_URL", "the order's notify_url has no origin: give url");
    const record = await sendPush(
      ctx,
      { event: event as PushEventName, order, mode, url: target, settled },
      { token, encodingAesKey },
      options.deliver,
      options.timeoutMs,
    );
    return c.json(pushToJson(record));
  });

  app.get("/__sim/pushes", (c) => c.json({ pushes: [...ctx.state.pushes.peek()].map(pushToJson) }));

  return app;
}
