// The v2 signature against the official and SDK vectors (protocol reference §2.1, §2.8).
import { describe, expect, it } from "vitest";
import { canonicalString, signV2, verifyV2 } from "../../sim/src/sign";

const OFFICIAL_KEY = "192006250b4c09247ec02edce69f6a2d";
const OFFICIAL_PARAMS = {
  appid: "wxd930ea5d5a258f4f",
  mch_id: "10000100",
  device_info: "1000",
  body: "test",
  nonce_str: "ibuaiVcKdpRxkhJA",
};

describe("v2 sign", () => {
  it("builds stringA from names in ASCII order with raw values", () => {
    expect(canonicalString(OFFICIAL_PARAMS)).toBe(
      "appid=wxd930ea5d5a258f4f&body=test&device_info=1000&mch_id=10000100&nonce_str=ibuaiVcKdpRxkhJA",
    );
  });

  it("drops sign and empty values but keeps sign_type", () => {
    expect(canonicalString({ b: "2", a: "1", sign: "X", empty: "", sign_type: "MD5" })).toBe("a=1&b=2&sign_type=MD5");
  });

  it("sorts by ASCII, so upper-case names come before lower-case ones", () => {
    expect(canonicalString({ b: "1", B: "2", a_b: "3", aB: "4" })).toBe("B=2&aB=4&a_b=3&b=1");
  });

  it("matches the official MD5 vector", async () => {
    expect(await signV2(OFFICIAL_PARAMS, OFFICIAL_KEY, "MD5")).toBe("9A0A8659F005D6984697E2CA0A9CF3B7");
  });

  it("matches the official HMAC-SHA256 vector (key as HMAC key, &key= still appended)", async () => {
    expect(await signV2(OFFICIAL_PARAMS, OFFICIAL_KEY, "HMAC-SHA256")).toBe(
      "6A9AE1657590FD6257D693A078E1C3E4BB6BA4DC30B23E0EE2496E54170DACD6",
    );
  });

  it("matches wechatpy's test vectors", async () => {
    const params = { test1: "test1", test2: "test2" };
    expect(await signV2(params, OFFICIAL_KEY, "MD5")).toBe("1E3A8D73B5A4AEE787C0F68B5DAB8520");
    expect(await signV2(params, OFFICIAL_KEY, "HMAC-SHA256")).toBe(
      "EDAC6D70D2FDF5A2382F8204FC96A1918017E46ACC5297F565ED1A7610ACF659",
    );
  });

  it("matches the reference's full unifiedorder vectors, with sign_type inside the HMAC string", async () => {
    const params = {
      appid: "wxd930ea5d5a258f4f",
      mch_id: "10000100",
      nonce_str: "ibuaiVcKdpRxkhJA",
      body: "test",
      out_trade_no: "20150806125346",
      total_fee: "1",
      spbill_create_ip: "123.12.12.123",
      notify_url: "https://example.com/wxpay/notify",
      trade_type: "JSAPI",
      openid: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
    };
    expect(await signV2(params, OFFICIAL_KEY, "MD5")).toBe("5B03517C64C22E3418E36B5B6DEFA014");
    expect(await signV2({ ...params, sign_type: "HMAC-SHA256" }, OFFICIAL_KEY, "HMAC-SHA256")).toBe(
      "0FEA126BE7A56CEF6BCA91583D47D91214D894F9B79DA4BF65EEE935FB5A5D5A",
    );
  });

  it("matches the reference's notification vector", async () => {
    const notify = {
      appid: "wxd930ea5d5a258f4f",
      bank_type: "CFT",
      cash_fee: "1",
      fee_type: "CNY",
      is_subscribe: "N",
      mch_id: "10000100",
      nonce_str: "5d2b6c2a8db53831f7eda20af46e531c",
      openid: "oUpF8uMEb4qRXf22hE3X68TekukE",
      out_trade_no: "20150806125346",
      result_code: "SUCCESS",
      return_code: "SUCCESS",
      time_end: "20140903131540",
      total_fee: "1",
      trade_type: "JSAPI",
      transaction_id: "1004400740201409030005092168",
    };
    expect(await signV2(notify, OFFICIAL_KEY, "MD5")).toBe("64843D29DBFE4F2681375335B2A3EDE3");
  });

  it("signs the UTF-8 bytes of non-ASCII values", async () => {
    // Python: hashlib.md5("body=咖啡&key=192006250b4c09247ec02edce69f6a2d".encode()).hexdigest().upper()
    expect(await signV2({ body: "咖啡" }, OFFICIAL_KEY, "MD5")).toBe("EDDF6FF2278F690C80E1463F79F5879F");
  });

  describe("verifyV2", () => {
    it("accepts the exact sign under the declared algorithm", async () => {
      const fields = { ...OFFICIAL_PARAMS, sign: "9A0A8659F005D6984697E2CA0A9CF3B7" };
      expect(await verifyV2(fields, OFFICIAL_KEY, "MD5")).toBe(true);
    });

    it("rejects a sign made with the other algorithm, a lower-case sign, a missing sign and another key", async () => {
      expect(await verifyV2({ ...OFFICIAL_PARAMS, sign: "9A0A8659F005D6984697E2CA0A9CF3B7" }, OFFICIAL_KEY, "HMAC-SHA256")).toBe(false);
      expect(await verifyV2({ ...OFFICIAL_PARAMS, sign: "9a0a8659f005d6984697e2ca0a9cf3b7" }, OFFICIAL_KEY, "MD5")).toBe(false);
      expect(await verifyV2(OFFICIAL_PARAMS, OFFICIAL_KEY, "MD5")).toBe(false);
      expect(await verifyV2({ ...OFFICIAL_PARAMS, sign: "9A0A8659F005D6984697E2CA0A9CF3B7" }, "x".repeat(32), "MD5")).toBe(false);
    });
  });
});
