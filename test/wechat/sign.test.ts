// v2 signatures: known-answer vectors from the protocol reference, then the rules of signing and verifying.
import { describe, expect, it } from "vitest";
import { SIGN_TYPES, isSignType, sign, signingString, verifySign, type SignType } from "../../src/wechat/sign";

/** The key of the official v2 example (安全规范 chapter=4_3). */
const KEY = "192006250b4c09247ec02edce69f6a2d";

const OFFICIAL = {
  appid: "wxd930ea5d5a258f4f",
  mch_id: "10000100",
  device_info: "1000",
  body: "test",
  nonce_str: "ibuaiVcKdpRxkhJA",
};

const UNIFIED_ORDER = {
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

const NOTIFY = {
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

describe("known-answer vectors", () => {
  it("official v2 example: stringSignTemp", () => {
    expect(signingString(OFFICIAL, KEY)).toBe(
      "appid=wxd930ea5d5a258f4f&body=test&device_info=1000&mch_id=10000100&nonce_str=ibuaiVcKdpRxkhJA&key=192006250b4c09247ec02edce69f6a2d",
    );
  });

  it("official v2 example: MD5", async () => {
    expect(await sign(OFFICIAL, KEY, "MD5")).toBe("9A0A8659F005D6984697E2CA0A9CF3B7");
  });

  it("official v2 example: HMAC-SHA256 (message still ends with &key=KEY)", async () => {
    expect(await sign(OFFICIAL, KEY, "HMAC-SHA256")).toBe(
      "6A9AE1657590FD6257D693A078E1C3E4BB6BA4DC30B23E0EE2496E54170DACD6",
    );
  });

  it("wechatpy vectors test1=test1, test2=test2", async () => {
    const fields = { test1: "test1", test2: "test2" };
    expect(await sign(fields, KEY, "MD5")).toBe("1E3A8D73B5A4AEE787C0F68B5DAB8520");
    expect(await sign(fields, KEY, "HMAC-SHA256")).toBe(
      "EDAC6D70D2FDF5A2382F8204FC96A1918017E46ACC5297F565ED1A7610ACF659",
    );
  });

  it("[G] unifiedorder request, MD5", async () => {
    expect(await sign(UNIFIED_ORDER, KEY, "MD5")).toBe("5B03517C64C22E3418E36B5B6DEFA014");
  });

  it("[G] unifiedorder request with sign_type=HMAC-SHA256 (sign_type is signed)", async () => {
    expect(await sign({ ...UNIFIED_ORDER, sign_type: "HMAC-SHA256" }, KEY, "HMAC-SHA256")).toBe(
      "0FEA126BE7A56CEF6BCA91583D47D91214D894F9B79DA4BF65EEE935FB5A5D5A",
    );
  });

  it("[G] payment notification, MD5, verifies", async () => {
    expect(await sign(NOTIFY, KEY, "MD5")).toBe("64843D29DBFE4F2681375335B2A3EDE3");
    expect(await verifySign({ ...NOTIFY, sign: "64843D29DBFE4F2681375335B2A3EDE3" }, KEY, ["MD5"])).toBe(true);
  });
});

describe("signingString", () => {
  it("drops sign, empty and undefined values; keeps sign_type", () => {
    expect(signingString({ b: "2", a: "1", sign: "XYZ", empty: "", missing: undefined, sign_type: "MD5" }, "K")).toBe(
      "a=1&b=2&sign_type=MD5&key=K",
    );
  });

  it("sorts by case-sensitive ASCII order (upper case before lower case, _ between them)", () => {
    expect(signingString({ b: "1", B: "2", a_b: "3", aB: "4", a: "5", A: "6" }, "K")).toBe(
      "A=6&B=2&a=5&aB=4&a_b=3&b=1&key=K",
    );
  });

  it("uses raw values: no URL encoding, no trimming", () => {
    expect(signingString({ body: "咖啡 & tea=1", attach: " x " }, "K")).toBe("attach= x &body=咖啡 & tea=1&key=K");
  });

  it("an empty value signs the same as a missing one", async () => {
    expect(await sign({ a: "1", device_info: "" }, KEY, "MD5")).toBe(await sign({ a: "1" }, KEY, "MD5"));
  });

  it("hashes UTF-8 (Chinese text)", async () => {
    // Computed with Python: hashlib.md5 / hmac.new over "body=商品&key=K".encode("utf-8").
    expect(await sign({ body: "商品" }, "K", "MD5")).toBe("845548C448B81355C757656129523CA9");
    expect(await sign({ body: "商品" }, "K", "HMAC-SHA256")).toBe(
      "E3C1F9FDAAA0A39398F8D595EDAE75FDB068B7CA2E4468CB059209C83343A22B",
    );
  });
});

describe("verifySign", () => {
  const signedWith = async (signType: SignType) => ({ ...OFFICIAL, sign: await sign(OFFICIAL, KEY, signType) });

  it.each(SIGN_TYPES)("accepts a correct %s sign", async (signType) => {
    expect(await verifySign(await signedWith(signType), KEY, [signType])).toBe(true);
  });

  it("rejects a tampered field", async () => {
    expect(await verifySign({ ...(await signedWith("MD5")), body: "test2" }, KEY, ["MD5"])).toBe(false);
  });

  it("rejects an added field (every received field is signed)", async () => {
    expect(await verifySign({ ...(await signedWith("HMAC-SHA256")), total_fee: "1" }, KEY, ["HMAC-SHA256"])).toBe(false);
  });

  it("rejects the wrong key", async () => {
    expect(await verifySign(await signedWith("MD5"), "another-key-another-key-32-chars", ["MD5"])).toBe(false);
  });

  it("rejects the other algorithm when only one is accepted", async () => {
    expect(await verifySign(await signedWith("MD5"), KEY, ["HMAC-SHA256"])).toBe(false);
    expect(await verifySign(await signedWith("HMAC-SHA256"), KEY, ["MD5"])).toBe(false);
  });

  it("accepts either algorithm when both are accepted, chosen by the sign's length", async () => {
    expect(await verifySign(await signedWith("MD5"), KEY, ["HMAC-SHA256", "MD5"])).toBe(true);
    expect(await verifySign(await signedWith("HMAC-SHA256"), KEY, ["HMAC-SHA256", "MD5"])).toBe(true);
  });

  it("does not let sign_type in the message choose the algorithm", async () => {
    const md5Signed = { ...OFFICIAL, sign_type: "MD5" };
    const message = { ...md5Signed, sign: await sign(md5Signed, KEY, "MD5") };
    expect(await verifySign(message, KEY, ["HMAC-SHA256"])).toBe(false);
  });

  it("rejects a missing or empty sign", async () => {
    expect(await verifySign(OFFICIAL, KEY, ["MD5"])).toBe(false);
    expect(await verifySign({ ...OFFICIAL, sign: "" }, KEY, ["MD5"])).toBe(false);
    expect(await verifySign({ ...OFFICIAL, sign: undefined }, KEY, ["MD5"])).toBe(false);
  });

  it("rejects a lower-case spelling of a correct sign", async () => {
    const correct = await signedWith("MD5");
    expect(await verifySign({ ...correct, sign: correct.sign.toLowerCase() }, KEY, ["MD5"])).toBe(false);
  });

  it("rejects a sign of the wrong length", async () => {
    const correct = await signedWith("HMAC-SHA256");
    expect(await verifySign({ ...correct, sign: correct.sign.slice(0, 63) }, KEY, ["HMAC-SHA256"])).toBe(false);
    expect(await verifySign({ ...correct, sign: `${correct.sign}0` }, KEY, ["HMAC-SHA256", "MD5"])).toBe(false);
    expect(await verifySign({ ...correct, sign: correct.sign.slice(0, 32) }, KEY, ["HMAC-SHA256", "MD5"])).toBe(false);
  });

  it("accepts nothing when no algorithm is accepted", async () => {
    expect(await verifySign(await signedWith("MD5"), KEY, [])).toBe(false);
  });
});

describe("isSignType", () => {
  it("knows exactly the two v2 spellings", () => {
    expect(SIGN_TYPES).toEqual(["MD5", "HMAC-SHA256"]);
    expect(isSignType("MD5")).toBe(true);
    expect(isSignType("HMAC-SHA256")).toBe(true);
    for (const other of ["md5", "HMAC_SHA256", "hmac-sha256", "RSA", "", undefined, 5]) expect(isSignType(other)).toBe(false);
  });
});
