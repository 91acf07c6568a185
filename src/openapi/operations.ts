// What each endpoint takes and answers, for /openapi.json: the request schemas are the ones the
// routes validate with, the answers those of http/schemas/responses.ts. The errors every endpoint of
// a kind can answer (a bearer token's 401, a JSON body's 415, …) are added by document.ts, so this
// table lists only what is particular to an endpoint. test/openapi.test.ts holds it to the app.
import type { ZodMiniType } from "zod/mini";
import type { ErrorCode, ErrorStatus } from "../errors";
import { responses } from "../http/schemas/responses";
import { schemas } from "../http/validation";

/** A successful answer: a JSON body (a component of responses.ts), WeChat's XML reply, or none. */
export interface Answer {
  readonly description: string;
  readonly json?: keyof typeof responses;
  readonly xml?: true;
  /** plain text (the message push's answers) */
  readonly text?: true;
}

/** One endpoint, in OpenAPI's path syntax. */
export interface Operation {
  readonly method: "get" | "post";
  readonly path: string;
  readonly summary: string;
  readonly description?: string;
  readonly tag: "mini-program" | "operator" | "wechat" | "service";
  /** whose bearer token it takes */
  readonly auth?: "user" | "operator";
  readonly params?: ZodMiniType;
  readonly query?: ZodMiniType;
  readonly headers?: ZodMiniType;
  readonly json?: ZodMiniType;
  /** one of WeChat's XML notifications: its answers are XML whatever happens */
  readonly xml?: true;
  /** a JSON body read whatever its Content-Type says (WeChat's message push, API v3's notifications) */
  readonly anyJson?: ZodMiniType;
  readonly answers: Readonly<Partial<Record<200 | 201 | 202 | 204 | 400 | 401 | 413 | 500 | 503, Answer>>>;
  /** the contract's JSON errors particular to this endpoint, by status */
  readonly errors?: Readonly<Partial<Record<ErrorStatus, readonly ErrorCode[]>>>;
}

const upstream = { 502: ["upstream_error"], 504: ["upstream_timeout"] } as const;
const notifyAnswers = {
  200: { description: "SUCCESS: the state is stored (also for a repeat)", xml: true },
  400: { description: "FAIL: unparseable, unsigned or mis-signed, not ours, or not matching what we sent; nothing changed", xml: true },
  413: { description: "FAIL: larger than 16 KiB", xml: true },
  500: { description: "FAIL: not stored; WeChat delivers it again", xml: true },
  503: { description: "FAIL: a setting the check needs is missing or malformed", xml: true },
} as const;

const v3NotifyAnswers = {
  204: { description: "stored (also for a repeat): WeChat reads only the status" },
  400: { description: "FAIL: not UTF-8, unreadable, not decrypting with our APIv3 key, not ours, or not matching what we sent; nothing changed", json: "V3NotifyFail" },
  401: { description: "FAIL: the signature does not verify (missing headers, a WECHATPAY/SIGNTEST/ probe, a timestamp over 5 minutes away, an unknown Wechatpay-Serial, a bad signature); nothing changed", json: "V3NotifyFail" },
  413: { description: "FAIL: larger than 16 KiB", json: "V3NotifyFail" },
  500: { description: "FAIL: not stored; WeChat delivers it again", json: "V3NotifyFail" },
  503: { description: "FAIL: API v3 is not configured", json: "V3NotifyFail" },
} as const;

/** Every endpoint the app serves. */
export const operations: readonly Operation[] = [
  {
    method: "get",
    path: "/healthz",
    summary: "Whether every setting and binding is usable",
    tag: "service",
    answers: {
      200: { description: "configured", json: "Healthy" },
      503: { description: "each missing or malformed setting, never its value", json: "Unhealthy" },
    },
  },
  {
    method: "get",
    path: "/openapi.json",
    summary: "This document",
    tag: "service",
    answers: { 200: { description: "OpenAPI 3.1; cacheable for 5 minutes", json: "OpenApiDocument" } },
  },
  {
    method: "post",
    path: "/api/login",
    summary: "Exchange a wx.login code for a bearer token",
    tag: "mini-program",
    json: schemas.login,
    answers: { 200: { description: "a new session", json: "LoginAnswer" } },
    errors: { 401: ["invalid_code"], 403: ["forbidden"], 429: ["rate_limited"], 503: ["not_configured"], ...upstream },
  },
  {
    method: "post",
    path: "/api/logout",
    summary: "Revoke the bearer token",
    tag: "mini-program",
    auth: "user",
    answers: { 204: { description: "the session is deleted" } },
  },
  {
    method: "get",
    path: "/api/products",
    summary: "The catalog",
    description: "Public and the same for every user: cacheable for a minute.",
    tag: "mini-program",
    answers: { 200: { description: "every product of PRODUCTS, prices in integer fen", json: "ProductList" } },
    errors: { 503: ["not_configured"] },
  },
  {
    method: "post",
    path: "/api/orders",
    summary: "Create an order, priced by the server, with its wx.requestPayment parameters",
    description: "The same Idempotency-Key and body again answer the same order and payment.",
    tag: "mini-program",
    auth: "user",
    headers: schemas.idempotency,
    json: schemas.createOrder,
    answers: { 201: { description: "the order and the five wx.requestPayment fields", json: "OrderWithPayment" } },
    errors: { 409: ["invalid_state"], 429: ["rate_limited"], 503: ["not_configured"], ...upstream },
  },
  {
    method: "get",
    path: "/api/orders",
    summary: "The caller's orders, newest first",
    tag: "mini-program",
    auth: "user",
    query: schemas.orderList,
    answers: { 200: { description: "one page", json: "OrderPage" } },
    errors: { 400: ["invalid_request"] },
  },
  {
    method: "get",
    path: "/api/orders/{id}",
    summary: "One of the caller's orders",
    description: "A pending order is first checked with WeChat, so a payment whose notification was lost shows as paid.",
    tag: "mini-program",
    auth: "user",
    params: schemas.orderId,
    answers: { 200: { description: "the order", json: "OrderAnswer" } },
    errors: { 403: ["forbidden"] },
  },
  {
    method: "post",
    path: "/api/orders/{id}/pay",
    summary: "Fresh wx.requestPayment parameters for a pending order",
    tag: "mini-program",
    auth: "user",
    params: schemas.orderId,
    answers: { 200: { description: "the order and the five wx.requestPayment fields", json: "OrderWithPayment" } },
    errors: { 403: ["forbidden"], 409: ["invalid_state"], 503: ["not_configured"], ...upstream },
  },
  {
    method: "post",
    path: "/api/orders/{id}/close",
    summary: "Close a pending order, at WeChat and here",
    tag: "mini-program",
    auth: "user",
    params: schemas.orderId,
    answers: { 200: { description: "the order, closed (repeating is harmless)", json: "OrderAnswer" } },
    errors: { 403: ["forbidden"], 409: ["invalid_state"], ...upstream },
  },
  {
    method: "post",
    path: "/api/pay/notify",
    summary: "WeChat's payment result notification",
    tag: "wechat",
    xml: true,
    answers: notifyAnswers,
  },
  {
    method: "post",
    path: "/api/refund/notify",
    summary: "WeChat's refund result notification (req_info AES-256-ECB encrypted)",
    tag: "wechat",
    xml: true,
    answers: notifyAnswers,
  },
  {
    method: "post",
    path: "/api/v3/pay/notify",
    summary: "WeChat Pay API v3's payment notification (signed, the resource AEAD_AES_256_GCM encrypted)",
    tag: "wechat",
    // read whatever its Content-Type says, as the signature covers the bytes: never a 415
    anyJson: responses.V3Notification,
    answers: v3NotifyAnswers,
  },
  {
    method: "post",
    path: "/api/v3/refund/notify",
    summary: "WeChat Pay API v3's refund notification (signed, the resource AEAD_AES_256_GCM encrypted)",
    tag: "wechat",
    // read whatever its Content-Type says, as the signature covers the bytes: never a 415
    anyJson: responses.V3Notification,
    answers: v3NotifyAnswers,
  },
  {
    method: "get",
    path: "/admin/orders",
    summary: "Every order, newest first by createdAt, filtered",
    description: "from is inclusive, to exclusive. A change shows within 5 s.",
    tag: "operator",
    auth: "operator",
    query: schemas.adminOrderList,
    answers: { 200: { description: "one page", json: "AdminOrderPage" } },
    errors: { 400: ["invalid_request"] },
  },
  {
    method: "post",
    path: "/admin/orders",
    summary: "An order priced by the merchant's backend, for one payer",
    description: "Stored pending, not yet sent to WeChat: the payer pays it with POST /api/orders/{id}/pay and sees it in GET /api/orders.",
    tag: "operator",
    auth: "operator",
    headers: schemas.idempotency,
    json: schemas.adminCreateOrder,
    answers: { 201: { description: "the order, pending", json: "OrderAnswer" } },
    errors: { 400: ["invalid_request"], 409: ["invalid_state"] },
  },
  {
    method: "get",
    path: "/admin/orders/{id}",
    summary: "An order with its history and refunds",
    tag: "operator",
    auth: "operator",
    params: schemas.orderId,
    answers: { 200: { description: "the admin view", json: "AdminOrderView" } },
  },
  {
    method: "get",
    path: "/admin/events",
    summary: "Merchant events of every order, newest first",
    description: "A change of an event's status shows within 5 s.",
    tag: "operator",
    auth: "operator",
    query: schemas.eventList,
    answers: { 200: { description: "one page, each event with its orderId", json: "EventPage" } },
    errors: { 400: ["invalid_request"] },
  },
  {
    method: "post",
    path: "/admin/orders/{id}/events/{eventId}/redeliver",
    summary: "Send a merchant event again",
    description: "Attempted now (after any earlier event of the order still pending), with a fresh round of retries.",
    tag: "operator",
    auth: "operator",
    params: schemas.eventPath,
    answers: { 202: { description: "the event, pending again", json: "EventRedelivered" } },
  },
  {
    method: "post",
    path: "/admin/orders/{id}/refunds",
    summary: "Refund part or all of a paid order",
    description: "Only paid and partially refunded orders refund; the sum of refunds never exceeds the order's amount.",
    tag: "operator",
    auth: "operator",
    params: schemas.orderId,
    headers: schemas.idempotency,
    json: schemas.refund,
    answers: { 201: { description: "the refund, and the order with the amount reserved", json: "RefundCreated" } },
    errors: { 409: ["invalid_state"], 502: ["upstream_error"] },
  },
  {
    method: "post",
    path: "/admin/orders/{id}/refunds/{refundId}/cancel",
    summary: "Cancel a refund WeChat never received",
    description: 'It becomes failed with failure "cancelled" and its amount is released; repeating it is harmless.',
    tag: "operator",
    auth: "operator",
    params: schemas.refundPath,
    answers: { 200: { description: "the refund and the order", json: "RefundCancelled" } },
    errors: { 409: ["invalid_state"], ...upstream },
  },
  {
    method: "post",
    path: "/admin/orders/{id}/shipping",
    summary: "Upload the order's shipping information to WeChat",
    description:
      "Stored on the order first, then uploaded with the service's stable access token; what WeChat cannot take yet (a payment it learns of a minute after it, a busy moment) is retried by the order's alarm. Express needs 1–15 packages (more than one with split and isAllDelivered); the other kinds need itemDesc. WeChat allows one re-shipment.",
    tag: "operator",
    auth: "operator",
    params: schemas.orderId,
    json: schemas.shipping,
    answers: { 202: { description: "the order, and its shipping: uploaded, uploading (retried) or failed (WeChat's code in lastError)", json: "ShippingAccepted" } },
    errors: { 409: ["invalid_state"], 503: ["not_configured"] },
  },
  {
    method: "get",
    path: "/api/wechat/push",
    summary: "WeChat's message push URL check",
    description: "The signature is SHA-1 over WECHAT_PUSH_TOKEN, timestamp and nonce sorted; the timestamp within 5 minutes.",
    tag: "wechat",
    query: schemas.pushCheck,
    answers: { 200: { description: "echostr, as WeChat sent it", text: true } },
    errors: { 403: ["forbidden"], 503: ["not_configured"] },
  },
  {
    method: "post",
    path: "/api/wechat/push",
    summary: "WeChat's message push: order settlement and shipping reminders",
    description:
      "Plain mode (signature) or, with WECHAT_PUSH_AES_KEY, safe mode only (msg_signature over the Encrypt field, AES-256-CBC for our appid). trade_manage_order_settlement sets the order's settledAt (or its estimate) and sends order.settled; anything else is acknowledged.",
    tag: "wechat",
    query: schemas.push,
    anyJson: responses.WeChatPush,
    answers: { 200: { description: "success: applied, or nothing to apply", text: true } },
    errors: { 403: ["forbidden"], 503: ["not_configured"] },
  },
  {
    method: "post",
    path: "/admin/sessions/introspect",
    summary: "Whether a mini-program token is live, and whose it is",
    tag: "operator",
    auth: "operator",
    json: schemas.introspect,
    answers: { 200: { description: "active with its openid, or not active (unknown, revoked, expired or malformed)", json: "Introspection" } },
  },
];
