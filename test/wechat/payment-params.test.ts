// wx.requestPayment parameters: the official paySign vector, and pitfalls 1-3 of docs (appId, timeStamp, string).
import { describe, expect, it } from "vitest";
import { buildPaymentParams } from "../../src/wechat/payment-params";
import { sign } from "../../src/wechat/sign";

/** The official 小程序调起支付 example. */
const OFFICIAL = {
  appId: "wxd678efh567hg6787",
  prepayId: "wx2017033010242291fcfe0db70013231072",
  key: "qazwsxedcrfvtgbyhnujmikolp111111",
  now: () => 1490840662 * 1000 + 999, // milliseconds; the extra 999 ms must be truncated, not rounded
  nonce: () => "5K8264ILTKCH16CQ2502SI8ZNMTM67VS",
};

describe("buildPaymentParams", () => {
  it("official example, MD5", async () => {
    expect(await buildPaymentParams({ ...OFFICIAL, signType: "MD5" })).toEqual({
      timeStamp: "1490840662",
      nonceStr: "5K8264ILTKCH16CQ2502SI8ZNMTM67VS",
      package: "prepay_id=wx2017033010242291fcfe0db70013231072",
      signType: "MD5",
      paySign: "22D9B4E54AB1950F51E0649E8810ACD6",
    });
  });

  it("[G] same values, HMAC-SHA256", async () => {
    const params = await buildPaymentParams({ ...OFFICIAL, signType: "HMAC-SHA256" });
    expect(params.signType).toBe("HMAC-SHA256");
    expect(params.paySign).toBe("FB9D1EFB5C509131BBFF729F88A99CA2DE9B724D06D3B3262832A53083862BC0");
  });

  it("returns exactly the five wx.requestPayment fields (appId is signed, not passed)", async () => {
    const params = await buildPaymentParams({ ...OFFICIAL, signType: "MD5" });
    expect(Object.keys(params).sort()).toEqual(["nonceStr", "package", "paySign", "signType", "timeStamp"]);
  });

  it("pitfall 1: signs with appId (capital I); appid would give another sign", async () => {
    const { paySign, ...signed } = await buildPaymentParams({ ...OFFICIAL, signType: "MD5" });
    expect(await sign({ ...signed, appId: OFFICIAL.appId }, OFFICIAL.key, "MD5")).toBe(paySign);
    expect(await sign({ ...signed, appid: OFFICIAL.appId }, OFFICIAL.key, "MD5")).not.toBe(paySign);
    expect(await sign(signed, OFFICIAL.key, "MD5")).not.toBe(paySign); // appId left out
  });

  it("pitfall 1: paySign is a fresh sign, never the unifiedorder response's sign", async () => {
    const orderFields = {
      appid: OFFICIAL.appId,
      mch_id: "10000100",
      nonce_str: "IITRi8Iabbblz1Jc",
      prepay_id: OFFICIAL.prepayId,
      result_code: "SUCCESS",
      return_code: "SUCCESS",
      trade_type: "JSAPI",
    };
    const orderSign = await sign(orderFields, OFFICIAL.key, "MD5");
    const { paySign } = await buildPaymentParams({ ...OFFICIAL, signType: "MD5" });
    expect(paySign).not.toBe(orderSign);
  });

  it("pitfall 2: the key is timeStamp (capital S); timestamp would give another sign", async () => {
    const { paySign, timeStamp, ...rest } = await buildPaymentParams({ ...OFFICIAL, signType: "MD5" });
    expect(await sign({ ...rest, appId: OFFICIAL.appId, timestamp: timeStamp }, OFFICIAL.key, "MD5")).not.toBe(paySign);
  });

  it("pitfall 3: timeStamp is a string of unix seconds (10 digits), not a number or milliseconds", async () => {
    const params = await buildPaymentParams({ appId: "wx1", prepayId: "wx2", key: "k", signType: "HMAC-SHA256" });
    expect(typeof params.timeStamp).toBe("string");
    expect(params.timeStamp).toMatch(/^\d{10}$/);
    expect(Math.abs(Number(params.timeStamp) - Date.now() / 1000)).toBeLessThan(5);
  });

  it("uses a fresh 32-character nonce by default", async () => {
    const input = { appId: "wx1", prepayId: "wx2", key: "k", signType: "MD5" as const };
    const [a, b] = await Promise.all([buildPaymentParams(input), buildPaymentParams(input)]);
    expect(a.nonceStr).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(a.nonceStr).not.toBe(b.nonceStr);
  });

  it("refuses an empty prepayId or appId", async () => {
    await expect(buildPaymentParams({ ...OFFICIAL, prepayId: "", signType: "MD5" })).rejects.toThrow(RangeError);
    await expect(buildPaymentParams({ ...OFFICIAL, appId: "", signType: "MD5" })).rejects.toThrow(RangeError);
  });
});
