// API v2 only: what create-order.test.ts (both versions) cannot say of v3's JSON and RSA. The
// unifiedorder's v2 fields (trade_type, sign_type, time_expire as Beijing time), and paySign as the
// v2 sign with its pitfalls: the order's own sign is never reused, and the field names' case counts.
// The v3 project does not run this file (vitest.config.ts: *.v2.test.ts).
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { formatBeijingTime } from "../../src/wechat/beijing-time";
import { verifySign } from "../../src/wechat/sign";
import type { Payment } from "../support/wechat-pay";
import { h, token, useRig } from "./rig";

useRig();

describe("API v2: the unifiedorder and its paySign", () => {
  it("sends trade_type JSAPI, the merchant's sign_type, and time_expire as Beijing time", async () => {
    const { order } = (await (await h.createOrder(token)).json()) as { order: { expiresAt: string } };
    const [call] = await h.calls("prepay");
    expect(call!.fields).toMatchObject({ trade_type: "JSAPI", sign_type: env.WECHATPAY_SIGN_TYPE });
    expect(call!.fields.time_expire).toBe(formatBeijingTime(Date.parse(order.expiresAt)));
  });

  it("signs paySign afresh (never the order's sign), over appId and timeStamp spelled as wx.requestPayment spells them", async () => {
    const { payment } = (await (await h.createOrder(token)).json()) as { payment: Payment };
    const [call] = await h.calls("prepay");
    expect(payment.paySign).not.toBe(call!.fields.sign);
    const signed = { appId: env.WECHAT_APPID, nonceStr: payment.nonceStr, package: payment.package, signType: payment.signType, timeStamp: payment.timeStamp };
    expect(await verifySign({ ...signed, sign: payment.paySign }, env.WECHATPAY_KEY!, ["HMAC-SHA256"])).toBe(true);
    // the pitfall: appid in lower case (as unifiedorder spells it) would give another sign
    expect(await verifySign({ ...signed, appId: undefined, appid: env.WECHAT_APPID, sign: payment.paySign }, env.WECHATPAY_KEY!, ["HMAC-SHA256"])).toBe(false);
  });
});
