// API v2 only: a mutated payment notification XML never makes an order paid unless every check
// passes: any change to a signed value without a new sign, any re-signed change of appid, mch_id,
// amount, order or return_code, is refused; only cosmetic changes (field order, CDATA or not) still
// pay. notification.property.test.ts says the same of re-sealed claims in both API versions.
// The v3 project does not run this file (vitest.config.ts: *.v2.test.ts).
import fc from "fast-check";
import { env } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { orderObject } from "../../src/orders/order-store";
import { sign } from "../../src/wechat/sign";
import { buildXml, parseXml } from "../../src/wechat/xml";
import { startHarness, type Harness } from "../support/harness";

export const RUNS = { mutations: 120 } as const;

let h: Harness;
let token: string;
let template: Record<string, string>;
beforeAll(async () => {
  h = startHarness();
  ({ token } = await h.login(`mutant-${crypto.randomUUID()}`));
  const id = ((await (await h.createOrder(token)).json()) as { order: { id: string } }).order.id;
  await h.simControl(`/__sim/orders/${id}/pay`, {});
  template = parseXml(h.notifications.at(-1)!.body as string);
});
afterAll(() => vi.unstubAllGlobals());

type Mutation =
  | { kind: "set"; field: string; value: string }
  | { kind: "delete"; field: string }
  | { kind: "add"; field: string; value: string }
  | { kind: "resigned"; field: "appid" | "mch_id" | "total_fee" | "out_trade_no" | "return_code" | "result_code"; value: string }
  | { kind: "cosmetic"; reverse: boolean; bare: boolean };

const anyField = () => fc.constantFrom(...Object.keys(template));
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("set" as const), field: fc.constant("").chain(() => anyField()), value: fc.string({ minLength: 1, maxLength: 30 }) }),
  fc.record({ kind: fc.constant("delete" as const), field: fc.constant("").chain(() => anyField()) }),
  fc.record({ kind: fc.constant("add" as const), field: fc.stringMatching(/^[a-z]{3,10}$/), value: fc.string({ minLength: 1, maxLength: 20 }) }),
  fc.record({
    kind: fc.constant("resigned" as const),
    field: fc.constantFrom("appid", "mch_id", "total_fee", "out_trade_no", "return_code", "result_code"),
    value: fc.oneof(fc.stringMatching(/^[0-9A-Za-z]{1,32}$/), fc.constantFrom("1", "0", "1801", "01800", "18.00", "FAIL", "wx0000000000000000")),
  }),
  fc.record({ kind: fc.constant("cosmetic" as const), reverse: fc.boolean(), bare: fc.boolean() }),
);

/** Applies a mutation to a genuine notification of `orderId`; says whether it must still pay. */
async function mutate(fields: Record<string, string>, m: Mutation): Promise<{ body: string; shouldPay: boolean }> {
  switch (m.kind) {
    case "set":
      return { body: buildXml({ ...fields, [m.field]: m.value }), shouldPay: fields[m.field] === m.value };
    case "delete": {
      const { [m.field]: _gone, ...rest } = fields;
      return { body: buildXml(rest), shouldPay: false };
    }
    case "add":
      return { body: buildXml({ ...fields, [m.field]: m.value }), shouldPay: m.field in fields && fields[m.field] === m.value };
    case "resigned": {
      const changed: Record<string, string> = { ...fields, [m.field]: m.value };
      delete changed.sign;
      return { body: buildXml({ ...changed, sign: await sign(changed, env.WECHATPAY_KEY!, "HMAC-SHA256") }), shouldPay: fields[m.field] === m.value };
    }
    case "cosmetic": {
      const entries = Object.entries(fields);
      if (m.reverse) entries.reverse();
      const inner = entries.map(([k, v]) => (m.bare && /^[0-9A-Za-z_]+$/.test(v) ? `<${k}>${v}</${k}>` : `<${k}><![CDATA[${v}]]></${k}>`)).join("");
      return { body: `<xml>${inner}</xml>`, shouldPay: true };
    }
  }
}

describe("mutated payment notifications (property)", () => {
  it(`pay the order only when every check passes (${RUNS.mutations} mutations)`, async () => {
    await fc.assert(
      fc.asyncProperty(mutation, async (m) => {
        // a fresh pending order, and the genuine notification WeChat would send for it
        const id = await h.newPayersOrder();
        const genuine: Record<string, string> = { ...template, out_trade_no: id, nonce_str: crypto.randomUUID().replace(/-/g, "") };
        delete genuine.sign;
        const signed = { ...genuine, sign: await sign(genuine, env.WECHATPAY_KEY!, "HMAC-SHA256") };
        const { body, shouldPay } = await mutate(signed, m);
        const response = await h.call("/api/pay/notify", { method: "POST", headers: { "Content-Type": "text/xml" }, body });
        expect(response.status).toBeLessThan(500);
        const status = (await orderObject(env, id).read())!.status;
        expect({ mutation: m, status }).toEqual({ mutation: m, status: shouldPay ? "paid" : "pending" });
      }),
      { numRuns: RUNS.mutations, seed: 42 },
    );
  });
});
