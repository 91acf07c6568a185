// The mini-program server APIs on api.weixin.qq.com: POST /cgi-bin/stable_token, /wxa/sec/order/upload_shipping_info and /wxa/sec/order/get_order, with WeChat's JSON errcodes (HTTP 200 always) and the faults busy, rate_limit, http_500, delay and drop.
import { Hono, type Context } from "hono";
import { beijingDate, parseBeijingTime } from "./clock";
import type { SimContext } from "./context";
import { sleep, type FaultApi } from "./faults";
import { randomString } from "./ids";
import {
  FORCE_REFRESHES_PER_DAY,
  TOKEN_TTL_MS,
  checkStableTokenBody,
  checkToken,
  checkUploadBody,
  reusable,
  type MpError,
  type OrderKey,
} from "./mp-rules";
import { refundedFee } from "./refund-rules";
import { refundsOf, type MpAppRecord, type OrderRecord, type ShippingRecord } from "./state";

type Reply = Record<string, unknown>;

const TOKEN_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_";

/** The JSON body as an object, or null (WeChat's 47001 "data format error"). */
function parseJson(text: string): Record<string, unknown> | null {
  try {
    const body: unknown = JSON.parse(text);
    return typeof body === "object" && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

const errorReply = (error: MpError): Reply => ({ ...error });
const DATA_FORMAT_ERROR: MpError = { errcode: 47001, errmsg: "data format error" };

/** The app's record, created on first use; its force-refresh count restarts each Beijing day. */
function appRecord(ctx: SimContext, appid: string): MpAppRecord {
  let app = ctx.state.mpApps.get(appid);
  if (app === undefined) {
    app = { appid, currentToken: null, forceRefreshDay: "", forceRefreshes: 0 };
    ctx.state.mpApps.set(appid, app);
  }
  const today = beijingDate(ctx.time.now());
  if (app.forceRefreshDay !== today) {
    app.forceRefreshDay = today;
    app.forceRefreshes = 0;
  }
  return app;
}

function issueToken(ctx: SimContext, app: MpAppRecord): Reply {
  const now = ctx.time.now();
  const token = randomString(136, TOKEN_ALPHABET);
  ctx.state.mpTokens.set(token, { token, appid: app.appid, issuedAt: now, expiresAt: now + TOKEN_TTL_MS, replacedAt: null, revoked: null });
  app.currentToken = token;
  return { access_token: token, expires_in: TOKEN_TTL_MS / 1000 };
}

/** The stable_token decision (after faults and body parsing). */
function stableToken(ctx: SimContext, body: Record<string, unknown>): Reply {
  const refused = checkStableTokenBody(body, ctx.config);
  if (refused) return errorReply(refused);
  const app = appRecord(ctx, ctx.config.appid);
  const now = ctx.time.now();
  const current = app.currentToken === null ? undefined : ctx.state.mpTokens.get(app.currentToken);
  if (body.force_refresh === true) {
    if (app.forceRefreshes >= FORCE_REFRESHES_PER_DAY) return errorReply({ errcode: 45009, errmsg: "reach max api daily quota limit" });
    app.forceRefreshes += 1;
    if (current !== undefined && current.replacedAt === null) current.replacedAt = now;
    return issueToken(ctx, app);
  }
  // The same token while it is valid, with what is left of its life; a new one in its last 5 minutes (the old
  // one keeps working until it expires) or once it expired or was revoked.
  if (reusable(current, now)) return { access_token: current.token, expires_in: Math.floor((current.expiresAt - now) / 1000) };
  return issueToken(ctx, app);
}

/** The paid order an order key names, or the errcode the shipping APIs answer. */
function findPaidOrder(ctx: SimContext, key: OrderKey): { order: OrderRecord } | { error: MpError } {
  const notFound = { error: { errcode: 10060001, errmsg: "payment not found" } };
  const outTradeNo = key.kind === "transaction_id" ? ctx.state.transactions.get(key.transactionId) : key.mchid === ctx.config.mchId ? key.outTradeNo : undefined;
  const order = outTradeNo === undefined ? undefined : ctx.state.orders.get(outTradeNo);
  const paidAt = order?.timeEnd ? parseBeijingTime(order.timeEnd) : null;
  if (order === undefined || order.transactionId === null || paidAt === null) return notFound;
  // The shipping service learns of a payment some time after it (pitfall 19 of the service).
  if (ctx.time.now() < paidAt + ctx.settings.mpPaymentVisibleAfterSeconds * 1000) return notFound;
  return { order };
}

function upload(ctx: SimContext, body: Record<string, unknown>): Reply {
  const checked = checkUploadBody(body);
  if (!checked.ok) return errorReply(checked.error);
  const { upload } = checked;
  const found = findPaidOrder(ctx, upload.orderKey);
  if ("error" in found) return errorReply(found.error);
  const { order } = found;
  const prior = ctx.state.shipping.get(order.outTradeNo);
  if (fullyRefunded(ctx, order) || (prior !== undefined && prior.orderState !== 2)) {
    return errorReply({ errcode: 10060004, errmsg: "order can not be shipped in its current state" });
  }
  if (upload.payerOpenid !== order.openid) return errorReply({ errcode: 10060031, errmsg: "payer openid does not match the order" });
  // The first upload, then one re-shipment; a third upload is refused.
  if (prior !== undefined && prior.uploads >= 2) return errorReply({ errcode: 10060003, errmsg: "re-shipment limit reached" });
  const record: ShippingRecord = {
    outTradeNo: order.outTradeNo,
    orderState: 2,
    uploads: (prior?.uploads ?? 0) + 1,
    logisticsType: upload.logisticsType,
    deliveryMode: upload.deliveryMode,
    isAllDelivered: upload.isAllDelivered,
    shippingList: upload.shippingList,
    uploadTime: upload.uploadTime,
    uploadedAt: ctx.time.now(),
  };
  ctx.state.shipping.set(order.outTradeNo, record);
  return { errcode: 0, errmsg: "ok" };
}

/**
 * Whether nothing is left to ship: refunds (not closed ones) add up to the whole amount, or the control API's
 * refund shortcut marked the order REFUND without a refund record. A partly refunded order is still shipped.
 */
export function fullyRefunded(ctx: SimContext, order: OrderRecord): boolean {
  if (order.tradeState !== "REFUND") return false;
  const refunds = refundsOf(ctx.state, order.outTradeNo);
  return refunds.length === 0 || refundedFee(refunds) >= order.totalFee;
}

/** get_order's order_state: 5 once fully refunded, else what uploads and the control API made it, else 1. */
export function orderStateOf(ctx: SimContext, order: OrderRecord): number {
  if (fullyRefunded(ctx, order)) return 5;
  return ctx.state.shipping.get(order.outTradeNo)?.orderState ?? 1;
}

function getOrder(ctx: SimContext, body: Record<string, unknown>): Reply {
  const { transaction_id: transactionId, merchant_id: merchantId, merchant_trade_no: tradeNo } = body;
  let key: OrderKey;
  if (typeof transactionId === "string" && transactionId !== "") key = { kind: "transaction_id", transactionId };
  else if (typeof merchantId === "string" && merchantId !== "" && typeof tradeNo === "string" && tradeNo !== "") {
    key = { kind: "out_trade_no", mchid: merchantId, outTradeNo: tradeNo };
  } else return errorReply({ errcode: 47001, errmsg: "data format error: transaction_id or merchant_id and merchant_trade_no" });
  const found = findPaidOrder(ctx, key);
  if ("error" in found) return errorReply(found.error);
  const { order } = found;
  const shipping = ctx.state.shipping.get(order.outTradeNo);
  const seconds = (ms: number) => Math.floor(ms / 1000);
  return {
    errcode: 0,
    errmsg: "ok",
    order: {
      transaction_id: order.transactionId,
      merchant_id: ctx.config.mchId,
      sub_merchant_id: "",
      merchant_trade_no: order.outTradeNo,
      description: order.params.body ?? order.params.description ?? "",
      paid_amount: order.totalFee,
      openid: order.openid,
      trade_create_time: seconds(order.createdAt),
      pay_time: seconds(parseBeijingTime(order.timeEnd ?? "") ?? 0),
      order_state: orderStateOf(ctx, order),
      in_complaint: false,
      shipping: {
        delivery_mode: shipping?.deliveryMode ?? 0,
        logistics_type: shipping?.logisticsType ?? 0,
        finish_shipping: shipping !== undefined && (shipping.deliveryMode === 1 || shipping.isAllDelivered === true),
        goods_desc: String(shipping?.shippingList[0]?.item_desc ?? ""),
        finish_shipping_count: shipping === undefined ? 0 : 1,
        shipping_list: (shipping?.shippingList ?? []).map((entry) => ({
          tracking_no: entry.tracking_no ?? "",
          express_company: entry.express_company ?? "",
          upload_time: seconds(shipping?.uploadedAt ?? 0),
        })),
      },
    },
  };
}

/**
 * One JSON API's pipeline: fault → access_token (not for stable_token) → service enabled → body → handler → call log. The reply is
 * labelled as JSON, HTTP 200 for errcodes too, as WeChat answers.
 */
function handle(ctx: SimContext, api: FaultApi & ("stable_token" | "upload_shipping_info" | "get_order"), handler: (body: Record<string, unknown>) => Reply) {
  return async (c: Context) => {
    const text = await c.req.text();
    const fields: Record<string, string> = { ...c.req.query(), body: text };
    const fault = ctx.faults.take(api);
    const log = (outcome: string) => ctx.calls.record({ api, at: ctx.time.now(), fields, outcome, fault: fault?.kind ?? null });
    if (fault?.kind === "delay") await sleep(fault.delayMs);
    if (fault?.kind === "http_500") {
      log("http_500");
      return new Response("Internal Server Error", { status: 500, headers: { "content-type": "text/plain" } });
    }
    let reply: Reply;
    if (fault?.kind === "busy") reply = { errcode: -1, errmsg: "system error" };
    else if (fault?.kind === "rate_limit") reply = { errcode: 45011, errmsg: "api minute-quota reach limit mustslower retry next minute" };
    else reply = decide(ctx, api, c.req.query("access_token"), text, handler);
    log(typeof reply.errcode === "number" && reply.errcode !== 0 ? String(reply.errcode) : "SUCCESS");
    const response = new Response(JSON.stringify(reply), { headers: { "content-type": "application/json; charset=UTF-8" } });
    if (fault?.kind === "drop") ctx.droppedResponses.set(response, api);
    return response;
  };
}

function decide(ctx: SimContext, api: string, token: string | undefined, text: string, handler: (body: Record<string, unknown>) => Reply): Reply {
  if (api !== "stable_token") {
    if (token === undefined || token === "") return errorReply({ errcode: 41001, errmsg: "access_token missing" });
    const refused = checkToken(ctx.state.mpTokens.get(token), ctx.time.now());
    if (refused) return errorReply(refused);
    if (!ctx.settings.mpShippingEnabled) return errorReply({ errcode: 48001, errmsg: "api unauthorized" });
  }
  const body = parseJson(text);
  return body === null ? errorReply(DATA_FORMAT_ERROR) : handler(body);
}

export function mpRoutes(ctx: SimContext): Hono {
  const app = new Hono();
  app.post("/cgi-bin/stable_token", handle(ctx, "stable_token", (body) => stableToken(ctx, body)));
  app.post("/wxa/sec/order/upload_shipping_info", handle(ctx, "upload_shipping_info", (body) => upload(ctx, body)));
  app.post("/wxa/sec/order/get_order", handle(ctx, "get_order", (body) => getOrder(ctx, body)));
  return app;
}
