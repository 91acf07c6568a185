// The merchant events of contract v1.1 as zod/mini schemas: the JSON body we POST to
// MERCHANT_WEBHOOK_URL (Standard Webhooks), described in /openapi.json under `webhooks`.
import * as z from "zod/mini";
import { responses } from "./responses";

/** The Standard Webhooks headers of every delivery, by name, with what they carry. */
export const EVENT_HEADERS = {
  "webhook-id": "the event id, the same on every attempt: deduplicate on it",
  "webhook-timestamp": "unix seconds of this attempt",
  "webhook-signature": 'v1,<base64 of HMAC-SHA256 with the secret\'s bytes after "whsec_", over "<webhook-id>.<webhook-timestamp>.<raw body>">',
} as const;

function event<Type extends string, Data extends z.ZodMiniType>(type: Type, data: Data) {
  return z.object({
    id: z.string().check(z.minLength(1)),
    type: z.literal(type),
    timestamp: z.iso.datetime().check(z.describe("when the change happened")),
    data,
  });
}

const orderData = z.object({ order: responses.AdminOrder });
const refundData = z.object({ order: responses.AdminOrder, refund: responses.Refund });
const shippingData = z.object({ order: responses.AdminOrder, shipping: responses.Shipping });

/** Each event type's body, by type. */
export const merchantEvents = {
  "order.paid": event("order.paid", orderData),
  "order.closed": event("order.closed", orderData),
  "refund.succeeded": event("refund.succeeded", refundData),
  "refund.failed": event("refund.failed", refundData),
  "order.shipped": event("order.shipped", shippingData),
  "order.settled": event("order.settled", shippingData),
};
