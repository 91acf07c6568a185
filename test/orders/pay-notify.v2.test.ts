// API v2 only: what the payment notification's XML and v2 sign add to pay-notify.test.ts, which
// specifies the webhook in both versions. The sign type WeChat actually uses (MD5 for an HMAC-SHA256
// merchant, sign_type left out), amounts that are text, return_code, and XML that must not be read.
// The v3 project does not run this file (vitest.config.ts: *.v2.test.ts).
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { orderObject } from "../../src/orders/order-store";
import { sign } from "../../src/wechat/sign";
import { buildXml, parseXml } from "../../src/wechat/xml";
import { h, newOrder, useRig } from "./rig";

useRig();

const status = async (id: string) => (await orderObject(env, id).read())!.status;

const post = (body: string) => h.postNotification(h.pay.raw("pay", body));

/** A real notification the simulator sent (for an order of its own), as XML. */
async function templateXml(): Promise<string> {
  const id = await newOrder();
  await h.simControl(`/__sim/orders/${id}/pay`, {});
  return h.notifications.at(-1)!.body as string;
}

/** The template with `changes`, signed with our key. */
async function resigned(template: string, changes: Record<string, string>, signType: "MD5" | "HMAC-SHA256" = "HMAC-SHA256", withSignType = true) {
  const fields: Record<string, string> = { ...parseXml(template), ...changes };
  delete fields.sign;
  if (signType === "HMAC-SHA256" && withSignType) fields.sign_type = "HMAC-SHA256";
  else delete fields.sign_type;
  return buildXml({ ...fields, sign: await sign(fields, env.WECHATPAY_KEY!, signType) });
}

async function expectRefused(body: string, pendingId: string) {
  const response = await post(body);
  expect(response.status).not.toBe(200);
  expect(parseXml(await response.text()).return_code).toBe("FAIL");
  expect(await status(pendingId)).toBe("pending");
}

describe("API v2: the sign types WeChat uses", () => {
  it("verifies an MD5-signed notification for an HMAC-SHA256 merchant (WeChat does send them)", async () => {
    const id = await newOrder();
    const paid = await h.simControl<{ delivered: boolean }>(`/__sim/orders/${id}/pay`, { signType: "MD5" });
    expect(paid.delivered).toBe(true);
    expect(parseXml(h.notifications[0]!.body as string).sign).toHaveLength(32);
    expect(await status(id)).toBe("paid");
  });

  it("verifies an HMAC-SHA256 notification that carries no sign_type field", async () => {
    const xml = await templateXml();
    const pending = await newOrder();
    const body = await resigned(xml, { out_trade_no: pending }, "HMAC-SHA256", false);
    expect(parseXml(body).sign_type).toBeUndefined();
    expect(await h.deliver(h.pay.raw("pay", body))).toBe("acknowledged");
    expect(await status(pending)).toBe("paid");
  });
});

describe("API v2: XML the webhook refuses, changing nothing", () => {
  it("an amount written otherwise than WeChat writes the order's, even correctly signed", async () => {
    const xml = await templateXml();
    const pending = await newOrder();
    for (const total_fee of ["18.00", "01800", "1800.0"]) await expectRefused(await resigned(xml, { out_trade_no: pending, total_fee }), pending);
  });

  it("return_code FAIL", async () => {
    await expectRefused(buildXml({ return_code: "FAIL", return_msg: "x" }), await newOrder());
  });

  it("a DTD (no entity is ever resolved)", async () => {
    const pending = await newOrder();
    const real = await resigned(await templateXml(), { out_trade_no: pending });
    await expectRefused('<!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]>' + real, pending);
    expect(await h.deliver(h.pay.raw("pay", real))).toBe("acknowledged");
  });
});
