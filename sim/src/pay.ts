// The WeChat Pay v2 endpoints /pay/unifiedorder, /pay/orderquery and /pay/closeorder: faults, the
// shared envelope, the order state changes, and the call log entry for each call. handlePayCall is
// shared with the refund endpoints (refund.ts).
import { Hono } from "hono";
import type { ApiName } from "./call-log";
import { parseBeijingTime } from "./clock";
import type { SimContext } from "./context";
import { sleep } from "./faults";
import { newPrepayId } from "./ids";
import {
  DUPLICATE_OUT_TRADE_NO,
  ORDER_PAID,
  PREPAY_ID_TTL_MS,
  businessParams,
  isExpired,
  isPaid,
  queryFields,
  sameBusinessParams,
  validateOrderWindow,
  validateUnifiedOrder,
  type BusinessError,
} from "./order-rules";
import {
  outcomeLabel,
  readPayRequest,
  renderPayOutcome,
  resultFail,
  resultSuccess,
  type PayOutcome,
} from "./pay-envelope";
import type { SignType } from "./sign";
import type { OrderRecord } from "./state";
import { parseWeChatXml, type XmlFields } from "./xml";

export type PayApi = Extract<ApiName, "unifiedorder" | "orderquery" | "closeorder" | "refund" | "refundquery">;
export type BusinessHandler = (ctx: SimContext, fields: XmlFields, signType: SignType) => PayOutcome;

const fail = (signType: SignType, error: BusinessError) => resultFail(signType, error.errCode, error.errCodeDes);

function unifiedOrder(ctx: SimContext, fields: XmlFields, signType: SignType): PayOutcome {
  const invalid = validateUnifiedOrder(fields, ctx.config.appid, (openid) => ctx.state.openids.get(openid));
  if (invalid) return fail(signType, invalid);

  const now = ctx.time.now();
  const params = businessParams(fields);
  const outTradeNo = fields.out_trade_no!;
  const existing = ctx.state.orders.get(outTradeNo);
  const success = (order: OrderRecord) =>
    resultSuccess(signType, { prepay_id: order.prepayId, trade_type: order.tradeType }, fields.device_info);

  if (existing) {
    if (isPaid(existing)) return fail(signType, ORDER_PAID);
    if (existing.tradeState === "CLOSED") return fail(signType, DUPLICATE_OUT_TRADE_NO);
    if (!sameBusinessParams(existing.params, params)) return fail(signType, DUPLICATE_OUT_TRADE_NO);
    // "原参重入可以，不过不能超期": an identical re-entry after time_expire is refused like a closed order.
    if (isExpired(existing, now)) return fail(signType, DUPLICATE_OUT_TRADE_NO);
    if (now - existing.prepayIssuedAt >= PREPAY_ID_TTL_MS) {
      existing.prepayId = newPrepayId(now);
      existing.prepayIssuedAt = now;
    }
    return success(existing);
  }

  const windowError = validateOrderWindow(fields, now);
  if (windowError) return fail(signType, windowError);
  const order: OrderRecord = {
    outTradeNo,
    params,
    signType,
    tradeState: "NOTPAY",
    totalFee: Number(fields.total_fee),
    tradeType: fields.trade_type!,
    openid: fields.openid!,
    notifyUrl: fields.notify_url!,
    attach: fields.attach || null,
    deviceInfo: fields.device_info || null,
    createdAt: now,
    expiresAt: fields.time_expire ? parseBeijingTime(fields.time_expire) : null,
    prepayId: newPrepayId(now),
    prepayIssuedAt: now,
    transactionId: null,
    timeEnd: null,
    notification: null,
    notifications: [],
  };
  ctx.state.orders.set(outTradeNo, order);
  return success(order);
}

function orderQuery(ctx: SimContext, fields: XmlFields, signType: SignType): PayOutcome {
  const { transaction_id: transactionId, out_trade_no: outTradeNo } = fields;
  if (!transactionId && !outTradeNo) return resultFail(signType, "LACK_PARAMS", "缺少参数out_trade_no或transaction_id");
  // transaction_id wins when both are given, as documented.
  const key = transactionId ? ctx.state.transactions.get(transactionId) : outTradeNo;
  const order = key === undefined ? undefined : ctx.state.orders.get(key);
  if (!order) return resultFail(signType, "ORDERNOTEXIST", "order not exist");
  // Real NOTPAY replies carry an empty <device_info>, which the sign must skip.
  return resultSuccess(signType, queryFields(order), order.deviceInfo ?? "");
}

function closeOrder(ctx: SimContext, fields: XmlFields, signType: SignType): PayOutcome {
  if (!fields.out_trade_no) return resultFail(signType, "LACK_PARAMS", "缺少参数out_trade_no");
  const order = ctx.state.orders.get(fields.out_trade_no);
  if (!order) return resultFail(signType, "ORDERNOTEXIST", "订单不存在");
  if (isPaid(order)) return resultFail(signType, "ORDERPAID", "订单已支付，不能发起关单");
  if (order.tradeState === "CLOSED") return resultFail(signType, "ORDERCLOSED", "订单已关闭，无需继续调用");
  order.tradeState = "CLOSED";
  return resultSuccess(signType, { result_msg: "OK" });
}

/** Best-effort fields of a request the envelope refused, so the call log still shows them. */
function looseFields(body: ArrayBuffer): XmlFields {
  const parsed = parseWeChatXml(new TextDecoder().decode(body));
  return parsed.ok ? parsed.fields : {};
}

/** One v2 call: its fault, the envelope, the appid check, the business handler, the call log entry. */
export async function handlePayCall(ctx: SimContext, api: PayApi, request: Request, handler: BusinessHandler) {
  const fault = ctx.faults.take(api);
  const body = await request.arrayBuffer();
  const log = (fields: XmlFields, outcome: string) =>
    ctx.calls.record({ api, at: ctx.time.now(), fields, outcome, fault: fault?.kind ?? null });

  if (fault?.kind === "delay") await sleep(fault.delayMs);
  if (fault?.kind === "http_500") {
    log(looseFields(body), "http_500");
    return new Response("Internal Server Error", { status: 500, headers: { "content-type": "text/plain" } });
  }

  const read = await readPayRequest(request.method, body, ctx.config);
  let outcome: PayOutcome;
  if (!read.ok) outcome = read.outcome;
  // SYSTEMERROR answers an authenticated request and changes nothing.
  else if (fault?.kind === "SYSTEMERROR") outcome = resultFail(read.signType, "SYSTEMERROR", "系统错误");
  else if (fault?.kind === "BIZERR_NEED_RETRY") {
    outcome = resultFail(read.signType, "BIZERR_NEED_RETRY", "退款业务流程错误，需要商户触发重试来解决");
  }
  else if (read.fields.appid !== ctx.config.appid) {
    outcome = resultFail(read.signType, "APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配");
  } else outcome = handler(ctx, read.fields, read.signType);

  log(read.fields, outcomeLabel(outcome));
  const response = await renderPayOutcome(outcome, ctx.config);
  if (fault?.kind === "drop") ctx.droppedResponses.set(response, api);
  return response;
}

export function payRoutes(ctx: SimContext): Hono {
  const app = new Hono();
  // app.all: a GET must reach the handler to be answered REQUIRE_POST_METHOD, not 404.
  app.all("/pay/unifiedorder", (c) => handlePayCall(ctx, "unifiedorder", c.req.raw, unifiedOrder));
  app.all("/pay/orderquery", (c) => handlePayCall(ctx, "orderquery", c.req.raw, orderQuery));
  app.all("/pay/closeorder", (c) => handlePayCall(ctx, "closeorder", c.req.raw, closeOrder));
  return app;
}
