// The public surface of src/wechat/mp: everything the token holder, routes, simulator and order core need, from one import.
import { describe, expect, it } from "vitest";
import * as mp from "../../../src/wechat/mp";

describe("src/wechat/mp", () => {
  it("exports the token, shipping and push functions", () => {
    for (const name of [
      "fetchStableToken",
      "tokenCacheDecision",
      "isInvalidTokenError",
      "withAccessToken",
      "buildShippingBody",
      "uploadShippingInfo",
      "getShippingOrder",
      "classifyShippingError",
      "shippingErrorAdvice",
      "formatRfc3339Beijing",
      "verifyPushSignature",
      "verifyPushMessageSignature",
      "decryptPushMessage",
      "encryptPushMessage",
      "isFresh",
      "readPushEvent",
      "openPush",
      "pushSignature",
    ] as const) {
      expect(typeof mp[name], name).toBe("function");
    }
    for (const name of ["AccessTokenHolder", "MpApiError", "ShippingInputError", "PushCryptoError", "PushEventError"] as const) {
      expect(typeof mp[name], name).toBe("function");
    }
    expect(mp.LOGISTICS_TYPE_CODES).toEqual({ express: 1, same_city: 2, virtual: 3, pickup: 4 });
    expect([mp.MAX_PACKAGES, mp.MAX_ITEM_DESC_CHARS, mp.TOKEN_REFRESH_MARGIN_MS, mp.PUSH_MAX_SKEW_MS]).toEqual([15, 120, 300_000, 300_000]);
  });

  it("an MpApiError is a WeChatError", async () => {
    const { WeChatError } = await import("../../../src/wechat/errors");
    expect(new mp.MpApiError("get_order", { kind: "timeout" })).toBeInstanceOf(WeChatError);
  });
});
