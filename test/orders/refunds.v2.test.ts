// API v2 only: what refunds.test.ts (both versions) cannot say of v3. A refund whose request v2's XML
// cannot carry (stored past the edge's check, as by an older version) ends failed instead of being
// retried forever — v3's JSON carries any text, so the case does not arise there; and the refund
// notification's own XML: req_info cut short, return_code FAIL.
// The v3 project does not run this file (vitest.config.ts: *.v2.test.ts).
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { orderObject } from "../../src/orders/order-store";
import { REFUND_LIMITS } from "../../src/orders/refund-rules";
import { orderError } from "../../src/routes/order-errors";
import { buildXml, parseXml } from "../../src/wechat/xml";
import { adminView, advance, h, paidOrder, refund, useRig, type RefundBody } from "./rig";

useRig({ fakeDate: true });

describe("API v2: a refund whose request XML cannot carry never sticks (red-team finding)", () => {
  it("ends a refund whose request cannot be built as failed, releases its amount, and no alarm run throws", async () => {
    const id = await paidOrder();
    // Past the edge's validation (as a refund stored by an older version would be): the request cannot be built.
    const stored = await orderObject(env, id).createRefund({ id: "20261201000000RUnsendable0000001", amount: 1800, reason: "cold\u000bcoffee", idempotencyKey: null, requestHash: "x" });
    expect(stored.ok).toBe(false);
    // The object answers with a domain reason; the routes' one mapping makes it the contract's error.
    const error = stored.ok ? null : orderError(stored.error);
    expect(error).toMatchObject({ status: 502, code: "upstream_error" });
    expect(error?.message ?? "").toMatch(/could not be sent.*released/);
    const view = await adminView(id);
    expect(view.refunds).toEqual([expect.objectContaining({ status: "failed", failure: "unsendable" })]);
    expect(await h.calls("refund")).toEqual([]);
    expect(await runInDurableObject(orderObject(env, id), (_i, ctx) => ctx.storage.getAlarm())).toBeNull();
    // The whole amount is free again.
    await advance(REFUND_LIMITS.spacingMs);
    expect((await refund(id, { amount: 1800 })).status).toBe(201);
  });

  it("a queued refund that cannot be built fails at its turn instead of throwing in every alarm run", async () => {
    const id = await paidOrder();
    expect((await refund(id, { amount: 100 })).status).toBe(201);
    const queued = await orderObject(env, id).createRefund({ id: "20261201000000RUnsendable0000002", amount: 200, reason: "bad\u0000", idempotencyKey: null, requestHash: "y" });
    expect(queued.ok && queued.value.refund.status).toBe("processing");
    await advance(REFUND_LIMITS.spacingMs);
    await runDurableObjectAlarm(orderObject(env, id));
    const refunds = await orderObject(env, id).refunds();
    const bad = refunds.find((r) => r.id === "20261201000000RUnsendable0000002");
    expect(bad).toMatchObject({ status: "failed", failure: "unsendable" });
    expect((await h.calls("refund")).map((c) => c.outRefundNo)).toEqual(refunds.filter((r) => r !== bad).map((r) => r.id));
  });
});

describe("API v2: the refund notification's XML", () => {
  it("is refused, changing nothing, with req_info cut short or return_code FAIL", async () => {
    const orderId = await paidOrder();
    const created = (await (await refund(orderId, { amount: 600 })).json()) as RefundBody;
    h.loseNotifications = true;
    await h.simControl(`/__sim/refunds/${created.refund.id}/complete`, {});
    h.loseNotifications = false;
    const fields = parseXml(h.notifications.at(-1)!.body as string);
    const before = await orderObject(env, orderId).refunds();
    for (const changed of [{ req_info: fields.req_info!.slice(0, -8) }, { return_code: "FAIL" }] as Record<string, string>[]) {
      expect(await h.deliver(h.pay.raw("refund", buildXml({ ...fields, ...changed })))).toBe("refused");
    }
    expect(await orderObject(env, orderId).refunds()).toEqual(before);
    expect(await h.deliver(h.pay.raw("refund", buildXml(fields)))).toBe("acknowledged");
  });
});
