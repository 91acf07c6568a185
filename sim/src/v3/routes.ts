// The WeChat Pay API v3 endpoints (JSAPI prepay, query, close, refunds, refund query, platform
// certificates) and the pipeline every v3 call goes through: its fault, the Authorization check,
// the handler, the call log entry, and an answer signed over its raw body (platform.ts). Orders and
// refunds are the same records as v2's, so either API version sees what the other did.
import { Hono, type Context } from "hono";
import type { SimContext } from "../context";
import { sleep, type FaultApi } from "../faults";
import { newPrepayId, newRefundId } from "../ids";
import { PREPAY_ID_TTL_MS, isExpired, isPaid, sameBusinessParams } from "../order-rules";
import { DEFAULT_REFUND_ACCOUNT, ORDER_NOT_EXIST, decideRefund } from "../refund-rules";
import { refundsOf, type OrderRecord, type RefundRecord } from "../state";
import { verifyAuthorization } from "./auth";
import type { V3Platform } from "./platform";
import {
  MCH_NOT_EXISTS,
  ORDER_CLOSED,
  ORDER_NOT_FOUND,
  ORDER_PAID,
  OUT_TRADE_NO_USED,
  REFUND_NOT_FOUND,
  SIGN_ERROR,
  SYSTEM_ERROR,
  expiryOf,
  flatten,
  isObject,
  paramError,
  refundJson,
  refundRefusal,
  transactionJson,
  validateJsapi,
  validateRefund,
  type V3Error,
} from "./rules";

type V3Api = Extract<FaultApi, `v3_${string}`>;

/** What a handler answers: 200 with JSON, 204 with nothing, or a v3 error. */
type V3Outcome = { status: 200; body: Record<string, unknown> } | { status: 204 } | (V3Error & { detail?: unknown });

interface V3Call {
  /** the JSON body of a POST, checked to be an object; {} for a GET */
  json: Record<string, unknown>;
  url: URL;
}

type Handler = (call: V3Call) => V3Outcome | Promise<V3Outcome>;

const ok = (body: Record<string, unknown>): V3Outcome => ({ status: 200, body });

/** One v3 call: fault → Authorization → JSON body → handler → call log → signed answer. */
async function handleV3Call(ctx: SimContext, platform: V3Platform, api: V3Api, c: Context, handler: Handler): Promise<Response> {
  const fault = ctx.faults.take(api);
  const request = c.req.raw;
  const url = new URL(request.url);
  const bytes = new Uint8Array(await request.arrayBuffer());
  const text = new TextDecoder().decode(bytes);
  let json: Record<string, unknown> | null = {};
  if (request.method === "POST") {
    try {
      const parsed: unknown = JSON.parse(text);
      json = isObject(parsed) ? parsed : null;
    } catch {
      json = null;
    }
  }
  const fields = { ...flatten(json ?? {}), ...Object.fromEntries(url.searchParams), ...c.req.param() };
  const log = (outcome: string, probe: boolean) =>
    ctx.calls.record({ api, at: ctx.time.now(), fields, outcome, fault: fault?.kind ?? null, ...(probe ? { probe: true as const } : {}) });

  if (fault?.kind === "delay") await sleep(fault.delayMs);
  if (fault?.kind === "http_500") {
    log("http_500", false);
    return new Response("Internal Server Error", { status: 500, headers: { "content-type": "text/plain" } });
  }

  const auth = await verifyAuthorization(
    { authorization: request.headers.get("Authorization"), method: request.method, pathWithQuery: url.pathname + url.search, body: bytes },
    { mchid: ctx.config.mchId, serialNo: platform.merchantSerial, publicKey: (await platform.keys()).merchant },
    ctx.time.now(),
  );
  let outcome: V3Outcome;
  if (!auth.ok) outcome = { ...SIGN_ERROR, detail: { field: "signature", location: "authorization", detail: { issue: auth.issue } } };
  // SYSTEMERROR answers an authenticated request and changes nothing.
  else if (fault?.kind === "SYSTEMERROR") outcome = SYSTEM_ERROR;
  else if (json === null) outcome = paramError("请求体不是JSON对象");
  else outcome = await handler({ json, url });

  const body = "body" in outcome
    ? JSON.stringify(outcome.body)
    : "code" in outcome
      ? JSON.stringify({ code: outcome.code, message: outcome.message, ...(outcome.detail ? { detail: outcome.detail } : {}) })
      : "";
  const signed = await platform.answerHeaders(new TextEncoder().encode(body), request.headers.get("Wechatpay-Serial"));
  log("code" in outcome ? outcome.code : "SUCCESS", signed.probe);
  const response = new Response(outcome.status === 204 ? null : body, {
    status: outcome.status,
    headers: outcome.status === 204 ? signed.headers : { "Content-Type": "application/json; charset=utf-8", ...signed.headers },
  });
  if (fault?.kind === "drop") ctx.droppedResponses.set(response, api);
  return response;
}

/** The mchid a query names in ?mchid= or a close in its body: required, and ours. */
function checkMchid(ctx: SimContext, mchid: unknown): V3Error | null {
  if (typeof mchid !== "string" || mchid === "") return paramError("mchid为必填项");
  return mchid === ctx.config.mchId ? null : MCH_NOT_EXISTS;
}

function prepay(ctx: SimContext, { json }: V3Call): V3Outcome {
  const ours = { appid: ctx.config.appid, mchid: ctx.config.mchId };
  const checked = validateJsapi(json, ours, (openid) => ctx.state.openids.get(openid));
  if (!checked.ok) return checked.error;
  const { prepay } = checked;
  const now = ctx.time.now();
  const params = flatten(json);
  const existing = ctx.state.orders.get(prepay.outTradeNo);
  if (existing) {
    if (isPaid(existing)) return ORDER_PAID;
    if (existing.tradeState === "CLOSED") return ORDER_CLOSED;
    // Re-entry must repeat the first call exactly ("尝试修改将导致错误"); a v2 order's number is taken.
    if (existing.protocol !== "v3" || !sameBusinessParams(existing.params, params)) return OUT_TRADE_NO_USED;
    if (isExpired(existing, now)) return ORDER_CLOSED;
    if (now - existing.prepayIssuedAt >= PREPAY_ID_TTL_MS) {
      existing.prepayId = newPrepayId(now);
      existing.prepayIssuedAt = now;
    }
    return ok({ prepay_id: existing.prepayId });
  }
  const order: OrderRecord = {
    outTradeNo: prepay.outTradeNo,
    protocol: "v3",
    params,
    signType: null,
    tradeState: "NOTPAY",
    totalFee: prepay.total,
    tradeType: "JSAPI",
    openid: prepay.openid,
    notifyUrl: prepay.notifyUrl,
    attach: prepay.attach,
    deviceInfo: null,
    createdAt: now,
    expiresAt: expiryOf(prepay.timeExpire, now),
    prepayId: newPrepayId(now),
    prepayIssuedAt: now,
    transactionId: null,
    timeEnd: null,
    notification: null,
    notifications: [],
  };
  ctx.state.orders.set(order.outTradeNo, order);
  return ok({ prepay_id: order.prepayId });
}

function query(ctx: SimContext, call: V3Call, order: OrderRecord | undefined): V3Outcome {
  const invalid = checkMchid(ctx, call.url.searchParams.get("mchid"));
  if (invalid) return invalid;
  if (!order) return ORDER_NOT_FOUND;
  return ok(transactionJson(order, { appid: ctx.config.appid, mchid: ctx.config.mchId }));
}

function close(ctx: SimContext, { json }: V3Call, outTradeNo: string): V3Outcome {
  const invalid = checkMchid(ctx, json.mchid);
  if (invalid) return invalid;
  const order = ctx.state.orders.get(outTradeNo);
  // Merchants report 204 for an out_trade_no WeChat does not know: there is nothing to close.
  if (!order) return { status: 204 };
  if (isPaid(order)) return ORDER_PAID;
  if (order.tradeState === "CLOSED") return ORDER_CLOSED;
  order.tradeState = "CLOSED";
  return { status: 204 };
}

function refund(ctx: SimContext, { json }: V3Call): V3Outcome {
  const checked = validateRefund(json);
  if (!checked.ok) return checked.error;
  const { ask } = checked;
  const { state } = ctx;
  // transaction_id wins when both are given, as in v2.
  const outTradeNo = ask.transactionId !== null ? state.transactions.get(ask.transactionId) : ask.outTradeNo!;
  const order = outTradeNo === undefined ? undefined : state.orders.get(outTradeNo);
  if (!order || !isPaid(order) || order.transactionId === null) return refundRefusal(ORDER_NOT_EXIST);

  const now = ctx.time.now();
  const decision = decideRefund(
    order,
    refundsOf(state, order.outTradeNo),
    state.refunds.get(ask.outRefundNo),
    { outRefundNo: ask.outRefundNo, totalFee: ask.total, refundFee: ask.refund },
    now,
    ctx.settings.refundSpacingSeconds * 1000,
  );
  if (decision.kind === "refuse") return refundRefusal(decision.error);
  if (decision.kind === "repeat") return ok(refundJson(decision.refund));

  const delay = ctx.settings.refundDelaySeconds;
  const record: RefundRecord = {
    outRefundNo: ask.outRefundNo,
    protocol: "v3",
    refundId: newRefundId(now),
    outTradeNo: order.outTradeNo,
    transactionId: order.transactionId,
    totalFee: ask.total,
    refundFee: ask.refund,
    refundDesc: ask.reason,
    refundAccount: ask.available ? "REFUND_SOURCE_RECHARGE_FUNDS" : DEFAULT_REFUND_ACCOUNT,
    notifyUrl: ask.notifyUrl,
    status: "PROCESSING",
    createdAt: now,
    completeAt: delay === null ? null : now + delay * 1000,
    finishedAt: null,
    successTime: null,
    notification: null,
    notifications: [],
  };
  state.refunds.set(record.outRefundNo, record);
  state.refundIds.set(record.refundId, record.outRefundNo);
  order.tradeState = "REFUND";
  return ok(refundJson(record));
}

export function v3Routes(ctx: SimContext, platform: V3Platform): Hono {
  const app = new Hono();
  const call = (api: V3Api, handler: (c: Context) => Handler) => (c: Context) => handleV3Call(ctx, platform, api, c, handler(c));

  app.post("/v3/pay/transactions/jsapi", call("v3_jsapi", () => (v3) => prepay(ctx, v3)));
  app.get("/v3/pay/transactions/out-trade-no/:outTradeNo", call("v3_query", (c) => (v3) => query(ctx, v3, ctx.state.orders.get(c.req.param("outTradeNo")!))));
  app.get(
    "/v3/pay/transactions/id/:transactionId",
    call("v3_query", (c) => (v3) => {
      const outTradeNo = ctx.state.transactions.get(c.req.param("transactionId")!);
      return query(ctx, v3, outTradeNo === undefined ? undefined : ctx.state.orders.get(outTradeNo));
    }),
  );
  app.post("/v3/pay/transactions/out-trade-no/:outTradeNo/close", call("v3_close", (c) => (v3) => close(ctx, v3, c.req.param("outTradeNo")!)));
  app.post("/v3/refund/domestic/refunds", call("v3_refund", () => (v3) => refund(ctx, v3)));
  app.get("/v3/refund/domestic/refunds/:outRefundNo", call("v3_refundquery", (c) => () => {
    const found = ctx.state.refunds.get(c.req.param("outRefundNo")!);
    return found ? ok(refundJson(found)) : REFUND_NOT_FOUND;
  }));
  // A merchant that only ever had the WeChat Pay public key has no platform certificate to download.
  app.get("/v3/certificates", call("v3_certificates", () => async () => (ctx.settings.v3KeyMode === "public_key" ? ok({ data: [] }) : ok(await platform.certificatesAnswer()))));
  return app;
}
