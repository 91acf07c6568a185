// Log lines are redacted before they are written, whatever a caller passes.
import { describe, expect, it } from "vitest";
import { redactLine } from "../src/log";

describe("redactLine", () => {
  const secret = "sim0key0for0local0dev0only000032";

  it("drops fields whose names say secret", () => {
    const line = JSON.parse(redactLine({ event: "x", sessionKey: "abc", appSecret: "s", token: "t", sign: "S", authorization: "A", requestId: "r1" }, []));
    expect(line).toEqual({ event: "x", sessionKey: "[redacted]", appSecret: "[redacted]", token: "[redacted]", sign: "[redacted]", authorization: "[redacted]", requestId: "r1" });
  });

  it("cuts configured secrets out of any value, also inside longer text", () => {
    const line = redactLine({ event: "x", detail: `upstream said ${secret}!`, quoted: `"${secret}"` }, [secret]);
    expect(line).not.toContain(secret);
    expect(JSON.parse(line).detail).toBe("upstream said [redacted]!");
  });

  it("cuts out bearer tokens and WeChat signs", () => {
    const token = `wxe_${"a".repeat(43)}`;
    const line = redactLine({ event: "x", a: `Bearer ${token}`, b: "9A0A8659F005D6984697E2CA0A9CF3B7", c: "6A9AE1657590FD6257D693A078E1C3E4BB6BA4DC30B23E0EE2496E54170DACD6" }, []);
    expect(line).not.toContain(token);
    expect(line).not.toContain("9A0A8659F005D6984697E2CA0A9CF3B7");
    expect(line).not.toContain("6A9AE1657590FD6257D693A078E1C3E4BB6BA4DC30B23E0EE2496E54170DACD6");
  });

  it("cuts the access token out of a URL's query", () => {
    const token = "86_Ab-cd_EF0123456789";
    const line = redactLine({ event: "x", url: `https://api.weixin.qq.com/wxa/sec/order/get_order?access_token=${token}&x=1`, detail: `ACCESS_TOKEN=${token}` }, []);
    expect(line).not.toContain(token);
    expect(JSON.parse(line).url).toBe("https://api.weixin.qq.com/wxa/sec/order/get_order?access_token=[redacted]&x=1");
  });

  it("keeps what operators need: ids, codes, amounts", () => {
    const fields = { event: "order_transition", orderId: "20261122154702abcDEF0123456789xy", from: "pending", to: "paid", amount: 1800, transactionId: "4200077774202611225989963686" };
    expect(JSON.parse(redactLine(fields, [secret]))).toEqual(fields);
  });
});
