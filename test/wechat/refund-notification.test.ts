// Refund notifications (protocol reference §2.9, pitfall 13): req_info is AES-256-ECB/PKCS#7 under the lower-case hex MD5 of the APIv2 key.
import { describe, expect, it } from "vitest";
import { aesEcbDecrypt, aesEcbEncrypt, importAesEcbKey, AesEcbError } from "../../src/wechat/aes-ecb";
import {
  RefundInfoError,
  decryptRefundInfo,
  encryptRefundInfo,
  verifyRefundNotification,
} from "../../src/wechat/refund-notification";
import { md5Hex } from "../../src/wechat/sign";

/** wechatpy tests/test_crypto.py::test_refund_notify_decrypt_message. */
const WECHATPY = {
  appid: "wx4f4bc4dec97d474b",
  mchId: "12345678",
  key: "OF4Ne3znh8KqL0V4NqmALQa0uXMYKcEk",
  keyMd5: "63dfc0c1f53d9bc83a8fdc365b8141da",
  reqInfo:
    "51A27s9LxbaEv52nBOrqa0FCs3HVIM31Wc3BpNqSCP5MQlS8HL1Vl7mZ21043B7PZy7adtOZGtZv44lGl0U8JXlVFL4Ltxsw6+pACjZBB0Qi1LUDjFlP2IyTxYX4eC57kxnCphDdIyRkU67kOWW/HN/efggTUlaPJkoL5kVe9Y1MZF55IHR4lwGI7WtVLtxATX1tkAVZF+/ri0WlPXo9+GkqeB2/id6Ozw09Tqp8C/TKbmKBpRhTCRU2TzfQoLa6fjbgETFHJ795aEMyUZPQYbbsz6U9Rj9lUzEh8+Oc8KYTXa9zVk+nnFr82+yjffb3d36ylTe0y/VmYf90rf9cbiJQdM00zZ8Qa99SlMTs2wjOO4Mi4Btlg1PebsLF8TkqbSZkRJDGs61UunUB8Km1b/VeBxXuv4D3H7DiVZ9Fj7lq2j07zFDpxxlhhen7kZvMWWO3lrfFpA9c4eFOqfF9SxcU9nBmHfDD1g/dsrMl6+a71xQHJ/gn80fZOefUBv92ggqutsuJ4gd4OqkmO0XUs8e4XQyLpra+LvpmahsU5lBIZuQcMq3FHrqe8hXTfp3+3qym2wGfvPI75jx41VZwmBQy9izB1Id+A5lUeXC5QJy+ryDu/dWkhB+aMjkElaI/Epmcc/IEPaI73W6Hc58hNednOM536rPnn+GDc98PdGszpLTjmaZSu8dtqwPaym66yRqFQowzFoBbooik57iHUFBCeWya7XcXYL9WKhRF3uIZM+Kfv9/Zs2pF+w9/EJpltuzPpT1GP2VTMSHz45zwphFlS2lX8wHyZ+k9n2dptzQqpOCPedt5iQAmAe1oNQMxNdPDH9g68x9UzWD1kfK/dPO+3NPAh0XG+io4x15fIknNf7JLjpAuWicMMzCdwC4hhqeYOzQ+pC9f2xJXi5YViNKIZY69oO8eoHYRitLZrHLgx3oB2zimmqX6BI+DMklKAzAqqgGmbFxcVTvxZB6cMCx+H7TTWXnjAG+6A3SrCcxg0l5+UB93pkAYR7SVJ+VaZoiBqlqnZvb7IM17n9XaaFntlzvbbFCIa7OnOQb5Lvw=",
  fields: {
    out_refund_no: "1234",
    out_trade_no: "2020010418301551404339261814",
    refund_account: "REFUND_SOURCE_RECHARGE_FUNDS",
    refund_fee: "1",
    refund_id: "50300103182020010413419046597",
    refund_recv_accout: "招商银行信用卡8915",
    refund_request_source: "API",
    refund_status: "SUCCESS",
    settlement_refund_fee: "1",
    settlement_total_fee: "1",
    success_time: "2020-01-04 18:34:24",
    total_fee: "1",
    transaction_id: "4200000483202001042069747825",
  },
} as const;

const encoder = new TextEncoder();

/** A notification envelope as WeChat posts it for the wechatpy merchant. */
function envelope(reqInfo: string | undefined, overrides: Record<string, string> = {}): Record<string, string> {
  const fields: Record<string, string> = {
    return_code: "SUCCESS",
    appid: WECHATPY.appid,
    mch_id: WECHATPY.mchId,
    nonce_str: "TeqClE3i0mvn3DrK",
    ...overrides,
  };
  if (reqInfo !== undefined) fields.req_info = reqInfo;
  return fields;
}

const TRUST: { appid: string; mchId: string; key: string } = { appid: WECHATPY.appid, mchId: WECHATPY.mchId, key: WECHATPY.key };

async function failureOf(work: () => Promise<unknown>): Promise<RefundInfoError> {
  try {
    await work();
  } catch (error) {
    expect(error).toBeInstanceOf(RefundInfoError);
    return error as RefundInfoError;
  }
  throw new Error("expected a RefundInfoError");
}

/** Flips one bit of the decoded ciphertext at `byte` and re-encodes it. */
function flipBit(reqInfo: string, byte: number): string {
  const bytes = Uint8Array.from(atob(reqInfo), (c) => c.charCodeAt(0));
  bytes[byte]! ^= 0x01;
  return btoa(String.fromCharCode(...bytes));
}

describe("decryptRefundInfo: the wechatpy known-answer vector", () => {
  it("derives the AES key as the lower-case hex MD5 of the API key (32 ASCII bytes)", () => {
    expect(md5Hex(encoder.encode(WECHATPY.key))).toBe(WECHATPY.keyMd5);
  });

  it("decrypts req_info to exactly the <root> fields", async () => {
    expect(await decryptRefundInfo(WECHATPY.reqInfo, WECHATPY.key)).toEqual(WECHATPY.fields);
  });

  it("re-encrypts the same plaintext to the same req_info (ECB has no IV)", async () => {
    const plain =
      "<root>\n" +
      Object.entries(WECHATPY.fields)
        .map(([name, value]) => `<${name}><![CDATA[${value}]]></${name}>`)
        .join("\n") +
      "\n</root>";
    expect(await encryptRefundInfo(plain, WECHATPY.key)).toBe(WECHATPY.reqInfo);
  });
});

describe("decryptRefundInfo: refusals are typed, never crashes", () => {
  it("a wrong key → bad_padding or bad_xml", async () => {
    const error = await failureOf(() => decryptRefundInfo(WECHATPY.reqInfo, "OF4Ne3znh8KqL0V4NqmALQa0uXMYKcEl"));
    expect(["bad_padding", "bad_xml"]).toContain(error.reason);
  });

  it("the upper-case MD5 or the raw key used as key material is just a wrong key (pitfall 13)", async () => {
    await failureOf(() => decryptRefundInfo(WECHATPY.reqInfo, WECHATPY.keyMd5.toUpperCase()));
  });

  it("a flipped bit in the last block → bad_padding; in the first block → bad_xml", async () => {
    const length = atob(WECHATPY.reqInfo).length;
    expect((await failureOf(() => decryptRefundInfo(flipBit(WECHATPY.reqInfo, length - 1), WECHATPY.key))).reason).toBe("bad_padding");
    expect((await failureOf(() => decryptRefundInfo(flipBit(WECHATPY.reqInfo, 0), WECHATPY.key))).reason).toBe("bad_xml");
  });

  it("truncation to a partial block → bad_length; dropping whole blocks → bad_padding or bad_xml", async () => {
    const bytes = Uint8Array.from(atob(WECHATPY.reqInfo), (c) => c.charCodeAt(0));
    const partial = btoa(String.fromCharCode(...bytes.subarray(0, bytes.length - 5)));
    expect((await failureOf(() => decryptRefundInfo(partial, WECHATPY.key))).reason).toBe("bad_length");
    const wholeBlocks = btoa(String.fromCharCode(...bytes.subarray(0, bytes.length - 16)));
    expect(["bad_padding", "bad_xml"]).toContain((await failureOf(() => decryptRefundInfo(wholeBlocks, WECHATPY.key))).reason);
  });

  it("empty → bad_length", async () => {
    expect((await failureOf(() => decryptRefundInfo("", WECHATPY.key))).reason).toBe("bad_length");
  });

  it.each(["not base64!", "QUJD", "QUJDRA=", "QU JD", "QUJDRA==\n", "====", "Q===", "-_-_"])("bad base64 %j → bad_base64", async (text) => {
    const error = await failureOf(() => decryptRefundInfo(text, WECHATPY.key));
    // "QUJD" is valid base64 of 3 bytes: it fails on length, not on base64.
    expect(error.reason).toBe(text === "QUJD" ? "bad_length" : "bad_base64");
  });

  it("a plaintext that is not a <root> document → bad_xml", async () => {
    for (const plain of ["<xml><a>1</a></xml>", "<root><a>1</a>", "<!DOCTYPE root><root/>", "hello"]) {
      const reqInfo = await encryptRefundInfo(plain, WECHATPY.key);
      expect((await failureOf(() => decryptRefundInfo(reqInfo, WECHATPY.key))).reason, plain).toBe("bad_xml");
    }
  });

  it("a plaintext that is not UTF-8 → bad_xml", async () => {
    const key = await importAesEcbKey(encoder.encode(WECHATPY.keyMd5));
    const bytes = await aesEcbEncrypt(key, new Uint8Array([0x3c, 0xff, 0xfe, 0x3e]));
    const reqInfo = btoa(String.fromCharCode(...bytes));
    expect((await failureOf(() => decryptRefundInfo(reqInfo, WECHATPY.key))).reason).toBe("bad_xml");
  });

  it("error messages never quote req_info or the key", async () => {
    const error = await failureOf(() => decryptRefundInfo(flipBit(WECHATPY.reqInfo, 0), WECHATPY.key));
    expect(error.message).not.toContain(WECHATPY.key);
    expect(error.message).not.toContain(WECHATPY.reqInfo.slice(0, 16));
  });
});

describe("AES-ECB on Web Crypto's AES-CBC", () => {
  it("matches the FIPS-197 AES-256 block vector (C.3)", async () => {
    const hex = (text: string) => Uint8Array.from(text.match(/../g)!, (byte) => parseInt(byte, 16));
    const key = await importAesEcbKey(hex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"));
    const encrypted = await aesEcbEncrypt(key, hex("00112233445566778899aabbccddeeff"));
    // The first block is the bare cipher; the second is the full PKCS#7 padding block.
    expect(Array.from(encrypted.subarray(0, 16), (b) => b.toString(16).padStart(2, "0")).join("")).toBe("8ea2b7ca516745bfeafc49904b496089");
    expect(encrypted.byteLength).toBe(32);
    expect(await aesEcbDecrypt(key, encrypted)).toEqual(hex("00112233445566778899aabbccddeeff"));
  });

  it("encrypts equal blocks to equal blocks (the ECB property the notification format has)", async () => {
    const key = await importAesEcbKey(encoder.encode(WECHATPY.keyMd5));
    const encrypted = await aesEcbEncrypt(key, new Uint8Array(32).fill(7));
    expect(encrypted.subarray(0, 16)).toEqual(encrypted.subarray(16, 32));
  });

  it.each([0, 1, 15, 16, 17, 31, 32, 1000])("round-trips %i bytes, padding with 1–16 bytes", async (length) => {
    const key = await importAesEcbKey(encoder.encode(WECHATPY.keyMd5));
    const plain = crypto.getRandomValues(new Uint8Array(length));
    const encrypted = await aesEcbEncrypt(key, plain);
    expect(encrypted.byteLength).toBe((Math.floor(length / 16) + 1) * 16);
    expect(await aesEcbDecrypt(key, encrypted)).toEqual(plain);
  });

  it("refuses padding bytes that disagree, a zero pad and a pad above 16", async () => {
    const key = await importAesEcbKey(encoder.encode(WECHATPY.keyMd5));
    for (const lastBlock of [
      [...new Array(14).fill(0x41), 0x01, 0x02],
      [...new Array(15).fill(0x41), 0x00],
      [...new Array(15).fill(0x41), 0x11],
    ]) {
      // Encrypting 16 bytes yields the block and a padding block; keep only the first, as raw ECB.
      const block = (await aesEcbEncrypt(key, new Uint8Array(lastBlock))).subarray(0, 16);
      const error = await aesEcbDecrypt(key, block).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AesEcbError);
      expect((error as AesEcbError).reason).toBe("bad_padding");
    }
  });

  it("accepts only 16-, 24- and 32-byte keys", () => {
    expect(() => importAesEcbKey(new Uint8Array(31))).toThrow(RangeError);
  });
});

describe("encryptRefundInfo / decryptRefundInfo", () => {
  it("round-trip a document with non-ASCII text", async () => {
    const plain = "<root><out_refund_no><![CDATA[R-1]]></out_refund_no><refund_recv_accout><![CDATA[支付用户的零钱]]></refund_recv_accout></root>";
    const reqInfo = await encryptRefundInfo(plain, WECHATPY.key);
    expect(await decryptRefundInfo(reqInfo, WECHATPY.key)).toEqual({ out_refund_no: "R-1", refund_recv_accout: "支付用户的零钱" });
  });
});

describe("verifyRefundNotification", () => {
  it("accepts our envelope with a req_info that decrypts, and names the refund", async () => {
    expect(await verifyRefundNotification(envelope(WECHATPY.reqInfo), TRUST)).toEqual({
      ok: true,
      notice: {
        outRefundNo: "1234",
        outTradeNo: "2020010418301551404339261814",
        refundId: "50300103182020010413419046597",
        transactionId: "4200000483202001042069747825",
        totalFee: "1",
        refundFee: "1",
        settlementRefundFee: "1",
        refundStatus: "SUCCESS",
        successTime: "2020-01-04 18:34:24",
        fields: WECHATPY.fields,
      },
    });
  });

  it("needs no sign: decryption under our key is the authentication", async () => {
    const withSign = envelope(WECHATPY.reqInfo, { sign: "WHATEVER" });
    expect((await verifyRefundNotification(withSign, TRUST)).ok).toBe(true);
  });

  it("checks in a fixed order: return_code, appid, mch_id, req_info present, decryption, fields", async () => {
    const reasons = async (fields: Record<string, string>, trust = TRUST) => {
      const check = await verifyRefundNotification(fields, trust);
      return check.ok ? "ok" : check.reason;
    };
    expect(await reasons(envelope(WECHATPY.reqInfo, { return_code: "FAIL", appid: "wx-other" }))).toBe("return_fail");
    expect(await reasons(envelope(WECHATPY.reqInfo, { appid: "wx-other", mch_id: "other" }))).toBe("wrong_appid");
    expect(await reasons(envelope(WECHATPY.reqInfo, { mch_id: "87654321" }))).toBe("wrong_mch_id");
    expect(await reasons(envelope(undefined))).toBe("missing_fields");
    expect(await reasons(envelope(""))).toBe("missing_fields");
    expect(await reasons(envelope(WECHATPY.reqInfo), { ...TRUST, key: "OF4Ne3znh8KqL0V4NqmALQa0uXMYKcEl" })).toBe("undecryptable");
    expect(await reasons(envelope(flipBit(WECHATPY.reqInfo, 100)))).toBe("undecryptable");
    expect(await reasons(envelope("%%%"))).toBe("undecryptable");
  });

  it("a decryptable req_info without the refund's identifying fields is missing_fields", async () => {
    for (const missing of ["out_refund_no", "out_trade_no", "refund_id", "total_fee", "refund_fee", "refund_status"]) {
      const fields = Object.entries(WECHATPY.fields).filter(([name]) => name !== missing);
      const plain = `<root>${fields.map(([n, v]) => `<${n}>${v}</${n}>`).join("")}</root>`;
      const check = await verifyRefundNotification(envelope(await encryptRefundInfo(plain, WECHATPY.key)), TRUST);
      expect(check, missing).toEqual({ ok: false, reason: "missing_fields" });
    }
  });

  it("leaves optional fields out when absent (a REFUNDCLOSE has no success_time)", async () => {
    const plain =
      "<root><out_refund_no>R1</out_refund_no><out_trade_no>O1</out_trade_no><refund_id>5030</refund_id>" +
      "<total_fee>10</total_fee><refund_fee>5</refund_fee><refund_status>REFUNDCLOSE</refund_status></root>";
    const check = await verifyRefundNotification(envelope(await encryptRefundInfo(plain, WECHATPY.key)), TRUST);
    expect(check.ok && check.notice).toEqual({
      outRefundNo: "R1",
      outTradeNo: "O1",
      refundId: "5030",
      totalFee: "10",
      refundFee: "5",
      refundStatus: "REFUNDCLOSE",
      fields: { out_refund_no: "R1", out_trade_no: "O1", refund_id: "5030", total_fee: "10", refund_fee: "5", refund_status: "REFUNDCLOSE" },
    });
  });

  it("a notification encrypted for another merchant key never verifies", async () => {
    const forged = await encryptRefundInfo("<root><out_refund_no>1234</out_refund_no></root>", "attacker0key0attacker0key0attack");
    expect(await verifyRefundNotification(envelope(forged), TRUST)).toEqual({ ok: false, reason: "undecryptable" });
  });
});
