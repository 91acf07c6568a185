// Validation of everything a client sends, with zod schemas applied the Hono way (validator
// middleware, typed `c.req.valid()`): unknown JSON fields are dropped, never trusted; a failure is a
// 400 invalid_request naming the field, never echoing the value.
import { zValidator } from "@hono/zod-validator";
import type { ValidationTargets } from "hono";
// zod/mini: the same validation as classic zod at a fraction of the bundle (tree-shakable checks).
import * as z from "zod/mini";
import { ApiError } from "../errors";
import { EVENT_ID_PATTERN, EVENT_STATUSES } from "../events/outbox";
import { ORDER_ID_PATTERN } from "../orders/order-id";
import { ITEM_LIMITS } from "../orders/pricing";
import { REFUND_LIMITS } from "../orders/refund-rules";
import { LOGISTICS_TYPES } from "../orders/shipping";
import { ITEM_DESC_MAX_CHARS, MAX_PACKAGES } from "../orders/shipping-decisions";
import { OUT_REFUND_NO } from "../wechat/pay-client";
import { isXmlText } from "../wechat/xml";

/** Free text that is sent on to WeChat inside an XML request: every character must be one XML can carry. */
const wechatText = (max: number) => z.string().check(z.maxLength(max), z.refine(isXmlText, "contains a character WeChat's XML cannot carry (a control character or a non-character)"));

/** An ISO 8601 instant with its offset (2026-12-01T00:00:00+08:00, or Z), as ms since the epoch. */
const instant = z.pipe(
  z.string().check(z.regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?(?:Z|[+-]\d{2}:\d{2})$/, "must be an ISO 8601 instant with an offset, e.g. 2026-12-01T00:00:00+08:00")),
  z.transform((text) => Date.parse(text)),
);

/** WeChat's item_desc: 1 to 120 characters (code points, so an emoji counts once), not blank. */
const itemDesc = z.string().check(z.refine((text) => text.trim() !== "" && [...text].length <= ITEM_DESC_MAX_CHARS, `must be 1 to ${ITEM_DESC_MAX_CHARS} characters`));

/** A lower-case hex SHA-1, as WeChat's push signatures are written. */
const sha1 = z.string().check(z.regex(/^[0-9a-f]{40}$/, "must be a SHA-1 signature"));

/** What every message push from WeChat carries on its URL. */
const pushSigned = z.object({
  signature: sha1,
  timestamp: z.string().check(z.regex(/^\d{1,12}$/, "must be unix seconds")),
  nonce: z.string().check(z.regex(/^[0-9A-Za-z]{1,64}$/, "must be WeChat's nonce")),
});

const printable = (max: number) => z.string().check(z.regex(/^[\x21-\x7e]+$/, "must be printable ASCII without spaces"), z.maxLength(max));

export const schemas = {
  login: z.object({
    // wx.login codes have been seen from 32 to 64 characters; anything far longer is not a code.
    code: z.string({ error: "is required: the code from wx.login" }).check(
      z.minLength(1, "is required: the code from wx.login"),
      z.maxLength(256),
      z.regex(/^[\x21-\x7e]+$/, "must be printable ASCII without spaces"),
    ),
  }),
  createOrder: z.object({
    items: z
      .array(
        z.object({
          sku: z.string().check(z.minLength(1), z.maxLength(64)),
          quantity: z.int().check(z.minimum(1), z.maximum(ITEM_LIMITS.maxQuantity)),
        }),
      )
      .check(z.minLength(1), z.maxLength(ITEM_LIMITS.maxItems)),
  }),
  adminCreateOrder: z.object({
    openid: z.string({ error: "is required: the payer's openid" }).check(z.regex(/^[0-9A-Za-z_-]{1,128}$/, "must be a mini-program openid")),
    items: z
      .array(
        z.object({
          sku: z.string().check(z.minLength(1), z.maxLength(64)),
          name: z.string().check(z.minLength(1), z.maxLength(64), z.refine((text) => text.trim() !== "", "must not be blank"), z.refine(isXmlText, "contains a character WeChat's XML cannot carry (a control character or a non-character)")),
          quantity: z.int().check(z.minimum(1), z.maximum(ITEM_LIMITS.maxQuantity)),
          price: z.int().check(z.minimum(1), z.maximum(ITEM_LIMITS.maxAmount)),
        }),
      )
      .check(z.minLength(1), z.maxLength(ITEM_LIMITS.maxItems)),
    description: z.optional(wechatText(127)),
  }),
  refund: z.object({
    amount: z.int().check(z.minimum(1), z.maximum(Number.MAX_SAFE_INTEGER)),
    reason: z.optional(wechatText(REFUND_LIMITS.maxReasonLength)),
  }),
  orderList: z.object({
    limit: z.optional(z.pipe(z.string().check(z.regex(/^(?:[1-9]|[1-4][0-9]|50)$/, "must be a whole number from 1 to 50")), z.transform(Number))),
    cursor: z.optional(z.string().check(z.maxLength(200))),
  }),
  idempotency: z.object({
    "idempotency-key": z.optional(printable(255)),
  }),
  adminOrderList: z.object({
    status: z.optional(z.enum(["pending", "paid", "closed", "failed", "partially_refunded", "refunded"])),
    openid: z.optional(z.string().check(z.minLength(1), z.maxLength(128))),
    transactionId: z.optional(z.string().check(z.regex(/^[0-9A-Za-z]{1,64}$/, "must be WeChat's transaction id"))),
    from: z.optional(instant),
    to: z.optional(instant),
    limit: z.optional(z.pipe(z.string().check(z.regex(/^(?:[1-9]|[1-9][0-9]|100)$/, "must be a whole number from 1 to 100")), z.transform(Number))),
    cursor: z.optional(z.string().check(z.maxLength(200))),
  }),
  eventList: z.object({
    status: z.optional(z.enum(EVENT_STATUSES)),
    limit: z.optional(z.pipe(z.string().check(z.regex(/^(?:[1-9]|[1-9][0-9]|100)$/, "must be a whole number from 1 to 100")), z.transform(Number))),
    cursor: z.optional(z.string().check(z.maxLength(200))),
  }),
  shipping: z.object({
    logisticsType: z.enum(LOGISTICS_TYPES, { error: `must be one of ${LOGISTICS_TYPES.join(", ")}` }),
    packages: z.optional(
      z
        .array(
          z.object({
            trackingNo: z.string({ error: "is required: the parcel's tracking number" }).check(z.regex(/^[0-9A-Za-z-]{1,128}$/, "must be 1 to 128 letters, digits or dashes")),
            expressCompany: z.string({ error: "is required: WeChat's express company code" }).check(z.regex(/^[0-9A-Za-z_]{1,64}$/, "must be WeChat's express company code (get_delivery_list)")),
            itemDesc,
            receiverContact: z.optional(z.string().check(z.regex(/^[0-9+*-]{4,32}$/, "must be the receiver's masked phone number, e.g. 189****1234"))),
          }),
        )
        .check(z.minLength(1, "must list 1 to 15 packages"), z.maxLength(MAX_PACKAGES, `must list 1 to ${MAX_PACKAGES} packages`)),
    ),
    itemDesc: z.optional(itemDesc),
    split: z.optional(z.boolean()),
    isAllDelivered: z.optional(z.boolean()),
  }),
  // WeChat's message push: what WeChat puts on the URL (the URL check adds echostr; safe mode encrypt_type and msg_signature).
  pushCheck: z.extend(pushSigned, { echostr: z.string().check(z.regex(/^[0-9A-Za-z]{1,256}$/, "must be WeChat's echostr")) }),
  push: z.extend(pushSigned, { encrypt_type: z.optional(z.literal("aes")), msg_signature: z.optional(sha1) }),
  introspect: z.object({
    // Any string is a fair question (the answer for a malformed one is simply "not active").
    token: z.string({ error: "is required: the mini-program's bearer token" }).check(z.maxLength(512)),
  }),
  orderId: z.object({ id: z.string().check(z.regex(ORDER_ID_PATTERN)) }),
  refundPath: z.object({ id: z.string().check(z.regex(ORDER_ID_PATTERN)), refundId: z.string().check(z.regex(OUT_REFUND_NO)) }),
  eventPath: z.object({ id: z.string().check(z.regex(ORDER_ID_PATTERN)), eventId: z.string().check(z.regex(EVENT_ID_PATTERN)) }),
};

/** A validator for one part of the request; a failure is 400 with the first problem, by path. */
export function valid<Target extends keyof ValidationTargets, Schema extends z.ZodMiniType>(target: Target, schema: Schema) {
  return zValidator(target, schema, (result) => {
    if (!result.success) throw ApiError.invalidRequest(describe(target, result.error.issues));
  });
}

/** An order id in the path: one that cannot exist is simply not found. */
export function validOrderId() {
  return zValidator("param", schemas.orderId, (result) => {
    if (!result.success) throw ApiError.notFound("No such order.");
  });
}

/** An order id and one of its refunds' ids in the path; ids that cannot exist are not found. */
export function validRefundPath() {
  return zValidator("param", schemas.refundPath, (result) => {
    if (!result.success) throw ApiError.notFound("No such refund.");
  });
}

/** An order id and one of its events' ids in the path; ids that cannot exist are not found. */
export function validEventPath() {
  return zValidator("param", schemas.eventPath, (result) => {
    if (!result.success) throw ApiError.notFound("No such event.");
  });
}

function describe(target: string, issues: readonly z.core.$ZodIssue[]): string {
  const issue = issues[0];
  if (issue === undefined) return "The request is not valid.";
  const where = issue.path.length === 0 ? (target === "json" ? "the body" : target) : issue.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("").replace(/^\./, "");
  const place = target === "header" ? `header ${where}` : target === "query" ? `query parameter ${where}` : where;
  return `Invalid request: ${place} ${issue.message.replace(/^Invalid input: /, "")}.`;
}
