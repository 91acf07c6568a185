// The JSON control API under /__sim: minting login codes, paying orders (which sends the
// notification), finishing refunds (which sends theirs), inspecting orders, refunds and calls,
// injecting faults, holding and releasing notifications (out-of-order delivery), settings,
// moving the clock, resetting.
import { Hono, type Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { callToJson } from "./call-log";
import { formatBeijingTime, isoTime } from "./clock";
import type { SimContext } from "./context";
import { runDueWork } from "./due-work";
import { parseFaultSpec } from "./faults";
import { newTransactionId } from "./ids";
import { mintLoginCode } from "./login";
import { RELEASE_ORDERS, buildNotification, type HeldPostView, type ReleaseOrder } from "./notifier";
import { PREPAY_ID_TTL_MS, isExpired } from "./order-rules";
import { finishRefund, type FinalRefundStatus } from "./refund-completion";
import { FINAL_REFUND_STATUSES, refundedFee } from "./refund-rules";
import { DEFAULT_SETTINGS, parseSettingsPatch } from "./settings";
import { isSignType } from "./sign";
import { clearState, refundsOf, type NotificationAttempt, type NotificationKind, type OrderRecord, type RefundRecord } from "./state";
import { buildTransactionNotification } from "./v3/notify";

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

const attemptsToJson = (attempts: NotificationAttempt[]) => attempts.map((n) => ({ ...n, at: isoTime(n.at) }));
const heldToJson = (post: HeldPostView) => ({ ...post, heldAt: isoTime(post.heldAt) });
const NOTIFICATION_KINDS: readonly NotificationKind[] = ["notify", "refund_notify"];
const isoOrNull = (ms: number | null | undefined) => (ms == null ? null : isoTime(ms));

function refundToJson(refund: RefundRecord) {
  return {
    outRefundNo: refund.outRefundNo,
    protocol: refund.protocol ?? "v2",
    refundId: refund.refundId,
    outTradeNo: refund.outTradeNo,
    transactionId: refund.transactionId,
    totalFee: refund.totalFee,
    refundFee: refund.refundFee,
    status: refund.status,
    refundAccount: refund.refundAccount,
    refundDesc: refund.refundDesc,
    notifyUrl: refund.notifyUrl,
    createdAt: isoTime(refund.createdAt),
    completeAt: isoOrNull(refund.completeAt),
    finishedAt: isoOrNull(refund.finishedAt),
    successTime: refund.successTime,
    nextNotificationAt: isoOrNull(refund.notification?.nextAttemptAt),
    notifications: attemptsToJson(refund.notifications),
  };
}

function orderToJson(order: OrderRecord, refunds: RefundRecord[]) {
  return {
    outTradeNo: order.outTradeNo,
    protocol: order.protocol ?? "v2",
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
    notifications: attemptsToJson(order.notifications),
    refundedFee: refundedFee(refunds),
    refunds: refunds.map(refundToJson),
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
    return c.json(orderToJson(order, refundsOf(ctx.state, order.outTradeNo)));
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
    // An order placed through v3 is notified in v3 (signType does not apply); a v2 order always has a signType.
    const v3 = order.protocol === "v3" ? ctx.v3 : null;
    const notification = v3
      ? await buildTransactionNotification(v3, ctx.config, order, now)
      : await buildNotification(ctx.config, order, signType ?? order.signType ?? "MD5");
    const held = ctx.notifier.isHolding("notify");
    const delivered = await ctx.notifier.start(order, {
      kind: "notify",
      ...(v3 ? { protocol: "v3" as const } : {}),
      url: order.notifyUrl,
      body: notification,
      duplicates,
    });
    return c.json({ transactionId, delivered, ...(held ? { held: true } : {}) });
  });

  app.post("/__sim/orders/:outTradeNo/refund", (c) => {
    const order = ctx.state.orders.get(c.req.param("outTradeNo"));
    if (!order) return controlError(c, 404, "ORDER_NOT_FOUND", "no such out_trade_no");
    if (order.tradeState !== "SUCCESS" && order.tradeState !== "REFUND") {
      return controlError(c, 409, "ORDER_NOT_PAID", `the order is ${order.tradeState}`);
    }
    order.tradeState = "REFUND";
    return c.json(orderToJson(order, refundsOf(ctx.state, order.outTradeNo)));
  });

  app.get("/__sim/refunds/:outRefundNo", (c) => {
    const refund = ctx.state.refunds.get(c.req.param("outRefundNo"));
    if (!refund) return controlError(c, 404, "REFUND_NOT_FOUND", "no such out_refund_no");
    return c.json(refundToJson(refund));
  });

  app.post("/__sim/refunds/:outRefundNo/complete", async (c) => {
    const body = await readBody(c);
    if (!body) return badBody(c);
    const { status = "SUCCESS", deliver = true, duplicates = 0 } = body;
    if (typeof status !== "string" || !FINAL_REFUND_STATUSES.includes(status as FinalRefundStatus)) {
      return controlError(c, 400, "BAD_REQUEST", `status must be one of ${FINAL_REFUND_STATUSES.join(", ")}`);
    }
    if (typeof deliver !== "boolean") return controlError(c, 400, "BAD_REQUEST", "deliver must be a boolean");
    if (typeof duplicates !== "number" || !Number.isInteger(duplicates) || duplicates < 0 || duplicates > MAX_DUPLICATES) {
      return controlError(c, 400, "BAD_REQUEST", `duplicates must be an integer from 0 to ${MAX_DUPLICATES}`);
    }
    const refund = ctx.state.refunds.get(c.req.param("outRefundNo"));
    if (!refund) return controlError(c, 404, "REFUND_NOT_FOUND", "no such out_refund_no");
    if (refund.status !== "PROCESSING") return controlError(c, 409, "REFUND_NOT_PROCESSING", `the refund is ${refund.status}`);
    const held = deliver && refund.notifyUrl !== null && ctx.notifier.isHolding("refund_notify");
    const delivered = await finishRefund(ctx, refund, {
      status: status as FinalRefundStatus,
      deliver,
      duplicates,
      at: ctx.time.now(),
    });
    return c.json({ ...refundToJson(refund), delivered, ...(held ? { held: true } : {}) });
  });

  app.get("/__sim/settings", (c) => c.json(ctx.settings));
  app.post("/__sim/settings", async (c) => {
    const body = await readBody(c);
    if (!body) return badBody(c);
    const parsed = parseSettingsPatch(body);
    if (!parsed.ok) return controlError(c, 400, "BAD_REQUEST", parsed.message);
    Object.assign(ctx.settings, parsed.patch);
    return c.json(ctx.settings);
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

  // Out-of-order delivery: hold first attempts, then release them in another order.
  app.post("/__sim/notifications/hold", async (c) => {
    const body = await readBody(c);
    if (!body) return badBody(c);
    const { kinds = NOTIFICATION_KINDS } = body;
    if (
      !Array.isArray(kinds) ||
      kinds.length === 0 ||
      !kinds.every((kind) => typeof kind === "string" && NOTIFICATION_KINDS.includes(kind as NotificationKind))
    ) {
      return controlError(c, 400, "BAD_REQUEST", `kinds must be a non-empty array of ${NOTIFICATION_KINDS.join(", ")}`);
    }
    ctx.notifier.hold(kinds as NotificationKind[]);
    return c.json({ holding: ctx.notifier.holdingKinds(), held: ctx.notifier.heldPosts().map(heldToJson) });
  });
  app.get("/__sim/notifications/held", (c) =>
    c.json({ holding: ctx.notifier.holdingKinds(), held: ctx.notifier.heldPosts().map(heldToJson) }),
  );
  app.post("/__sim/notifications/release", async (c) => {
    const body = await readBody(c);
    if (!body) return badBody(c);
    const { order = "fifo", seed } = body;
    if (typeof order !== "string" || !RELEASE_ORDERS.includes(order as ReleaseOrder)) {
      return controlError(c, 400, "BAD_REQUEST", `order must be one of ${RELEASE_ORDERS.join(", ")}`);
    }
    if (seed !== undefined && (typeof seed !== "number" || !Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)) {
      return controlError(c, 400, "BAD_REQUEST", "seed must be an integer from 0 to 2^32-1");
    }
    // Without a seed, a random one; it is in the reply, so the order can be replayed.
    const usedSeed = seed ?? crypto.getRandomValues(new Uint32Array(1))[0]!;
    const released = await ctx.notifier.release(order as ReleaseOrder, usedSeed);
    return c.json({
      order,
      seed: usedSeed,
      released: released.map((post) => ({ ...post, heldAt: isoTime(post.heldAt), releasedAt: isoTime(post.releasedAt) })),
    });
  });
  app.delete("/__sim/notifications/held", (c) => c.json({ discarded: ctx.notifier.discardHeld().map(heldToJson) }));

  app.get("/__sim/clock", (c) => c.json({ now: isoTime(ctx.time.now()) }));
  app.post("/__sim/clock/advance", async (c) => {
    const body = await readBody(c);
    if (!body) return badBody(c);
    const { seconds } = body;
    if (typeof seconds !== "number" || !Number.isFinite(seconds) || seconds < 0) {
      return controlError(c, 400, "BAD_REQUEST", "seconds must be a non-negative number");
    }
    ctx.time.advance(seconds * 1000);
    await runDueWork(ctx);
    return c.json({ now: isoTime(ctx.time.now()) });
  });

  app.post("/__sim/reset", (c) => {
    clearState(ctx.state);
    ctx.notifier.reset();
    ctx.calls.clear();
    ctx.faults.clear();
    ctx.time.reset();
    Object.assign(ctx.settings, DEFAULT_SETTINGS);
    return c.json({ reset: true });
  });

  return app;
}
