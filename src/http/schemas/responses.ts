// The JSON the service answers with, as zod/mini schemas: the one description of those shapes, from
// which /openapi.json is generated and against which the contract tests check real answers. Never
// used to parse or reshape an answer at run time (that would cost every request).
import * as z from "zod/mini";
import type { ErrorCode } from "../../errors";
import { ORDER_ID_PATTERN } from "../../orders/order-id";
import { ORDER_STATUSES } from "../../orders/order-state";
import { OUT_REFUND_NO } from "../../wechat/pay-client";
import { EVENT_TYPES } from "../../events/outbox";
import { LOGISTICS_TYPES, SHIPPING_STATUSES, WECHAT_SHIPPING_STATES } from "../../orders/shipping";

/** Every machine code an error body may carry (errors.ts holds the type; the tests hold the two equal). */
export const ERROR_CODES = [
  "invalid_request",
  "invalid_code",
  "unauthorized",
  "forbidden",
  "not_found",
  "invalid_state",
  "payload_too_large",
  "unsupported_media_type",
  "rate_limited",
  "upstream_error",
  "upstream_timeout",
  "not_configured",
  "internal_error",
] as const satisfies readonly ErrorCode[];

/** The contract's error body, narrowed to the codes one status of one endpoint can carry. */
export function errorBody(codes: readonly [ErrorCode, ...ErrorCode[]]) {
  return z.object({
    error: z.object({
      code: z.enum(codes),
      message: z.string().check(z.describe("for people; never secrets, tokens or stack traces")),
    }),
  });
}

/** What an order's timestamps look like: toISOString() (UTC, milliseconds, Z). */
const instant = z.iso.datetime();
/** Integer fen (1 yuan = 100 fen). */
const fen = z.int().check(z.minimum(0));

const orderStatus = z.enum(ORDER_STATUSES);

/** The contract's `Order`. */
const order = z.object({
  id: z.string().check(z.regex(ORDER_ID_PATTERN), z.describe("our out_trade_no")),
  status: orderStatus,
  amount: fen,
  refundedAmount: fen,
  currency: z.literal("CNY"),
  description: z.string(),
  items: z.array(
    z.object({
      sku: z.string(),
      name: z.string(),
      quantity: z.int().check(z.minimum(1)),
      price: fen.check(z.describe("unit price from the catalog")),
    }),
  ),
  transactionId: z.nullable(z.string().check(z.describe("WeChat's transaction_id, once paid"))),
  createdAt: instant,
  paidAt: z.nullable(instant),
  expiresAt: instant,
});

/** The order as an operator sees it: flagged when WeChat took the money after it was closed here. */
const adminOrder = z.extend(order, {
  paidAfterClose: z.boolean().check(z.describe("paid at WeChat after it was closed here: refund it")),
});

/** An order of the operator's listing: with its buyer. */
const listedOrder = z.extend(order, { openid: z.string() });

/** Exactly the five fields wx.requestPayment takes. */
const payment = z.object({
  timeStamp: z.string().check(z.regex(/^\d+$/), z.describe("unix seconds, as a string")),
  nonceStr: z.string(),
  package: z.string().check(z.regex(/^prepay_id=.+$/)),
  // RSA with WeChat Pay API v3 (WECHATPAY_API_VERSION=v3)
  signType: z.enum(["HMAC-SHA256", "MD5", "RSA"]),
  paySign: z.string(),
});

const refundStatus = z.enum(["processing", "succeeded", "failed"]);
const refundId = z.string().check(z.regex(OUT_REFUND_NO), z.describe("our out_refund_no"));

/** A refund as the admin view shows it. */
const refund = z.object({
  id: refundId,
  amount: fen,
  status: refundStatus,
  reason: z.nullable(z.string()),
  refundId: z.nullable(z.string().check(z.describe("WeChat's refund_id, once WeChat accepted the refund"))),
  createdAt: instant,
  finishedAt: z.nullable(instant),
  failure: z.nullable(z.string().check(z.describe('why it failed (WeChat\'s code, REFUNDCLOSE, "unsendable", "cancelled"), or CHANGE: needs attention'))),
  needsAttention: z.boolean(),
});

/** One line of an order's history. */
const historyEntry = z.object({
  at: instant,
  from: z.nullable(orderStatus),
  to: orderStatus,
  source: z.enum(["api", "notify", "query", "close", "alarm", "admin"]),
  note: z.optional(z.string()),
});

/** One step of a refund's life, as the admin view lists it (refundHistory). */
const refundHistoryEntry = z.object({
  refundId,
  at: instant,
  from: z.nullable(refundStatus),
  to: refundStatus,
  event: z.enum(["created", "accepted", "lost", "succeeded", "failed", "flagged", "cancelled"]),
  source: z.enum(["api", "notify", "query", "close", "alarm", "admin"]),
  note: z.optional(z.string()),
});

/** A merchant event and its delivery, as the operator sees it. */
const eventView = z.object({
  id: z.string().check(z.describe("the event id, also webhook-id")),
  type: z.enum(EVENT_TYPES),
  timestamp: instant,
  status: z.enum(["pending", "delivered", "failed"]),
  attempts: z.int().check(z.minimum(0), z.describe("attempts in the current round (a redelivery starts a fresh one)")),
  lastAttemptAt: z.nullable(instant),
  lastError: z.nullable(z.string().check(z.describe("the last failed attempt's HTTP status or network error; never the receiver's body"))),
  nextAttemptAt: z.nullable(instant),
});

/** An order's shipping information under WeChat's order shipping management, and its settlement. */
const shipping = z.object({
  status: z.enum(SHIPPING_STATUSES).check(z.describe("uploading: stored and being sent, retried by the order's alarm; uploaded: WeChat has it (also when it was given in WeChat's console and only its settlement was reported); failed: refused for good, see lastError")),
  logisticsType: z.nullable(z.enum(LOGISTICS_TYPES)),
  packages: z.array(
    z.object({ trackingNo: z.optional(z.string()), expressCompany: z.optional(z.string()), itemDesc: z.string(), receiverContact: z.optional(z.string()) }),
  ),
  attempts: z.int().check(z.minimum(0)),
  lastError: z.nullable(z.string().check(z.describe("WeChat's code and what to do"))),
  uploadedAt: z.nullable(instant),
  settledAt: z.nullable(instant.check(z.describe("when WeChat settled the payment (its message push)"))),
  estimatedSettlementAt: z.nullable(instant.check(z.describe("WeChat's estimate, sent when receipt was confirmed"))),
  wechatState: z.nullable(z.enum(WECHAT_SHIPPING_STATES).check(z.describe("what WeChat's get_order last said"))),
});

/** One product of the public catalog. */
const product = z.object({ sku: z.string(), name: z.string(), price: fen.check(z.minimum(1)) });

const cursor = z.nullable(z.string().check(z.describe("pass it back as ?cursor= for the next page; null on the last")));

/** Every JSON body the service answers with, by the component name it has in /openapi.json. */
export const responses = {
  Instant: instant,
  Order: order,
  AdminOrder: adminOrder,
  ListedOrder: listedOrder,
  Payment: payment,
  Refund: refund,
  HistoryEntry: historyEntry,
  Product: product,
  Shipping: shipping,
  LoginAnswer: z.object({
    token: z.string(),
    openid: z.string(),
    expiresIn: z.int().check(z.minimum(1), z.describe("seconds until the token expires")),
  }),
  OrderAnswer: z.object({ order }),
  OrderWithPayment: z.object({ order, payment }),
  OrderPage: z.object({ orders: z.array(order), cursor }),
  ProductList: z.object({ products: z.array(product) }),
  MerchantEventView: eventView,
  AdminOrderView: z.object({ order: adminOrder, history: z.array(historyEntry), refunds: z.array(refund), refundHistory: z.array(refundHistoryEntry), events: z.array(eventView), shipping: z.nullable(shipping) }),
  ShippingAccepted: z.object({ order: adminOrder, shipping }),
  EventPage: z.object({ events: z.array(z.extend(eventView, { orderId: z.string() })), cursor }),
  EventRedelivered: z.object({ event: eventView }),
  AdminOrderPage: z.object({ orders: z.array(listedOrder), cursor }),
  RefundCreated: z.object({ refund: z.object({ id: refundId, amount: fen, status: refundStatus }), order }),
  RefundCancelled: z.object({ refund, order }),
  Introspection: z.union([
    z.object({ active: z.literal(true), openid: z.string(), expiresAt: instant }),
    z.object({ active: z.literal(false) }),
  ]),
  /** WeChat's message push body: the event in plain mode, or its encrypted envelope in safe mode. */
  WeChatPush: z.union([
    z.looseObject({ ToUserName: z.string(), Encrypt: z.string() }),
    z.looseObject({ ToUserName: z.string(), Event: z.string(), merchant_trade_no: z.optional(z.string()), transaction_id: z.optional(z.string()) }),
  ]),
  /** What a v3 notification endpoint answers when it does not acknowledge (WeChat reads only the status). */
  V3NotifyFail: z.object({ code: z.literal("FAIL"), message: z.string() }),
  /** WeChat Pay v3's notification envelope (the resource is AEAD_AES_256_GCM encrypted). */
  V3Notification: z.looseObject({
    id: z.string(),
    create_time: z.string(),
    event_type: z.string(),
    resource_type: z.literal("encrypt-resource"),
    resource: z.looseObject({ algorithm: z.literal("AEAD_AES_256_GCM"), ciphertext: z.string(), nonce: z.string(), associated_data: z.optional(z.string()), original_type: z.string() }),
  }),
  Healthy: z.object({ ok: z.literal(true) }),
  Unhealthy: z.object({
    ok: z.literal(false),
    problems: z.array(z.object({ setting: z.string(), problem: z.string() })),
  }),
  OpenApiDocument: z.looseObject({ openapi: z.string(), info: z.looseObject({}), paths: z.looseObject({}) }),
};
