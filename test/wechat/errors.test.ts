// WeChatError: which failures may be retried with identical parameters, and what the message may say.
import { describe, expect, it } from "vitest";
import { WeChatError, type WeChatApi, type WeChatFailure } from "../../src/wechat/errors";

const cases: [WeChatApi, WeChatFailure, boolean][] = [
  ["unifiedorder", { kind: "timeout" }, true],
  ["unifiedorder", { kind: "network" }, true],
  ["orderquery", { kind: "http", status: 502 }, true],
  ["orderquery", { kind: "http", status: 500 }, true],
  ["orderquery", { kind: "http", status: 404 }, false],
  ["orderquery", { kind: "http", status: 429 }, false],
  ["unifiedorder", { kind: "malformed" }, false],
  ["unifiedorder", { kind: "bad_signature" }, false],
  ["unifiedorder", { kind: "return_fail", message: "签名错误" }, false],
  ["unifiedorder", { kind: "business", code: "SYSTEMERROR", description: "系统错误" }, true],
  ["refund", { kind: "business", code: "BIZERR_NEED_RETRY", description: "退款业务流程错误" }, true],
  ["unifiedorder", { kind: "business", code: "ORDERPAID", description: "商户订单已支付" }, false],
  ["unifiedorder", { kind: "business", code: "INVALID_REQUEST", description: "201 商户订单号重复" }, false],
  ["code2session", { kind: "business", code: "-1", description: "system error" }, true],
  ["code2session", { kind: "business", code: "40029", description: "invalid code" }, false],
  ["code2session", { kind: "business", code: "40163", description: "code been used" }, false],
  ["unifiedorder", { kind: "business", code: "-1", description: "" }, false],
];

describe("WeChatError", () => {
  it.each(cases)("%s %o → retryable %s", (api, failure, retryable) => {
    expect(new WeChatError(api, failure).retryable).toBe(retryable);
  });

  it("carries api and failure as data, and says both in its message", () => {
    const error = new WeChatError("closeorder", { kind: "business", code: "ORDERPAID", description: "订单已支付" });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe("WeChatError");
    expect(error.api).toBe("closeorder");
    expect(error.failure).toEqual({ kind: "business", code: "ORDERPAID", description: "订单已支付" });
    expect(error.message).toBe("WeChat closeorder failed: ORDERPAID (订单已支付)");
  });
});
