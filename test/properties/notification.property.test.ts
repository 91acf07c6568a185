// A payment notification pays its order only when it is authentic and every claim in it matches,
// in both API versions: random claims (amount, appid, merchant, order, a failed payment) re-sealed
// genuinely or under a bad seal. The service acknowledges exactly what WeChat must stop sending (an
// authentic notice for this merchant that is a payment of the order, or a failed one) and refuses
// the rest; nothing but a matching, authentic payment changes the order.
// notification.property.v2.test.ts adds v2's XML mutations (fields changed without a new sign).
import fc from "fast-check";
import { env } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { orderObject } from "../../src/orders/order-store";
import { startHarness, type Harness } from "../support/harness";
import type { NotificationPost, PaymentClaims, Seal } from "../support/wechat-pay";

export const RUNS = { claims: 60 } as const;

let h: Harness;
let template: NotificationPost;
beforeAll(async () => {
  h = startHarness();
  const { token } = await h.login(`claims-${crypto.randomUUID()}`);
  const id = ((await (await h.createOrder(token)).json()) as { order: { id: string } }).order.id;
  await h.simControl(`/__sim/orders/${id}/pay`, {});
  template = h.notifications.at(-1)!;
});
afterAll(() => vi.unstubAllGlobals());

/** Each claim WeChat's, or another value; the order's is "ours" (1800 fen of a pending order). */
const variation = fc.record({
  amount: fc.constantFrom(1800, 1800, 1, 1799, 1801, 180_000),
  appid: fc.constantFrom("ours", "ours", "wx0000000000000000"),
  mchid: fc.constantFrom("ours", "ours", "1900000000"),
  order: fc.constantFrom("ours", "ours", "unknown"),
  failed: fc.boolean(),
  seal: fc.constantFrom<Seal>("genuine", "genuine", "genuine", "none", "garbage", "foreign"),
});

describe("payment notifications with random claims and seals (property)", () => {
  it(`pay the order only when authentic and matching; the reply says what WeChat must do (${RUNS.claims} cases)`, async () => {
    await fc.assert(
      fc.asyncProperty(variation, async (v) => {
        const id = await h.newPayersOrder();
        const claims: PaymentClaims = {
          orderId: v.order === "ours" ? id : "20990101000000NoSuchOrder000000",
          amount: v.amount,
          ...(v.appid === "ours" ? {} : { appid: v.appid }),
          ...(v.mchid === "ours" ? {} : { mchid: v.mchid }),
          ...(v.failed ? { failed: true as const } : {}),
        };
        const verdict = await h.deliver(await h.pay.payment(template, claims, v.seal));

        const authentic = v.seal === "genuine" && v.appid === "ours" && v.mchid === "ours";
        const pays = authentic && !v.failed && v.order === "ours" && v.amount === 1800;
        // A failed payment proves nothing about the order: acknowledged whatever its order or amount.
        const acknowledged = pays || (authentic && v.failed);
        const status = (await orderObject(env, id).read())!.status;
        expect({ v, verdict, status }).toEqual({ v, verdict: acknowledged ? "acknowledged" : "refused", status: pays ? "paid" : "pending" });
      }),
      { numRuns: RUNS.claims, seed: 42 },
    );
  });
});
