// The simulator's own req_info crypto (AES-256-ECB, key = md5hex(merchant key), PKCS#7): the
// wechatpy known-answer vector of protocol reference §2.9, round trips, and refusals.
import { describe, expect, it } from "vitest";
import { formatBeijingDateTime } from "../../sim/src/clock";
import { decryptReqInfo, encryptReqInfo } from "../../sim/src/refund-crypto";
import { parseWeChatXml } from "../../sim/src/xml";

/** wechatpy tests/test_crypto.py::test_refund_notify_decrypt_message. */
const KEY = "OF4Ne3znh8KqL0V4NqmALQa0uXMYKcEk";
const REQ_INFO =
  "51A27s9LxbaEv52nBOrqa0FCs3HVIM31Wc3BpNqSCP5MQlS8HL1Vl7mZ21043B7PZy7adtOZGtZv44lGl0U8JXlVFL4Ltxsw6+pACjZBB0Qi1LUDjFlP2IyTxYX4eC57kxnCphDdIyRkU67kOWW/HN/efggTUlaPJkoL5kVe9Y1MZF55IHR4lwGI7WtVLtxATX1tkAVZF+/ri0WlPXo9+GkqeB2/id6Ozw09Tqp8C/TKbmKBpRhTCRU2TzfQoLa6fjbgETFHJ795aEMyUZPQYbbsz6U9Rj9lUzEh8+Oc8KYTXa9zVk+nnFr82+yjffb3d36ylTe0y/VmYf90rf9cbiJQdM00zZ8Qa99SlMTs2wjOO4Mi4Btlg1PebsLF8TkqbSZkRJDGs61UunUB8Km1b/VeBxXuv4D3H7DiVZ9Fj7lq2j07zFDpxxlhhen7kZvMWWO3lrfFpA9c4eFOqfF9SxcU9nBmHfDD1g/dsrMl6+a71xQHJ/gn80fZOefUBv92ggqutsuJ4gd4OqkmO0XUs8e4XQyLpra+LvpmahsU5lBIZuQcMq3FHrqe8hXTfp3+3qym2wGfvPI75jx41VZwmBQy9izB1Id+A5lUeXC5QJy+ryDu/dWkhB+aMjkElaI/Epmcc/IEPaI73W6Hc58hNednOM536rPnn+GDc98PdGszpLTjmaZSu8dtqwPaym66yRqFQowzFoBbooik57iHUFBCeWya7XcXYL9WKhRF3uIZM+Kfv9/Zs2pF+w9/EJpltuzPpT1GP2VTMSHz45zwphFlS2lX8wHyZ+k9n2dptzQqpOCPedt5iQAmAe1oNQMxNdPDH9g68x9UzWD1kfK/dPO+3NPAh0XG+io4x15fIknNf7JLjpAuWicMMzCdwC4hhqeYOzQ+pC9f2xJXi5YViNKIZY69oO8eoHYRitLZrHLgx3oB2zimmqX6BI+DMklKAzAqqgGmbFxcVTvxZB6cMCx+H7TTWXnjAG+6A3SrCcxg0l5+UB93pkAYR7SVJ+VaZoiBqlqnZvb7IM17n9XaaFntlzvbbFCIa7OnOQb5Lvw=";

describe("the wechatpy vector", () => {
  it("decrypts to its <root> document", async () => {
    const plain = await decryptReqInfo(REQ_INFO, KEY);
    expect(plain).not.toBeNull();
    const parsed = parseWeChatXml(plain!, "root");
    expect(parsed).toEqual({
      ok: true,
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
    });
  });

  it("re-encrypts to the same base64 (ECB is deterministic)", async () => {
    expect(await encryptReqInfo((await decryptReqInfo(REQ_INFO, KEY))!, KEY)).toBe(REQ_INFO);
  });
});

describe("round trips and refusals", () => {
  it.each([0, 1, 15, 16, 17, 100])("round-trips %i bytes", async (length) => {
    const text = "x".repeat(length);
    const encrypted = await encryptReqInfo(text, KEY);
    expect(atob(encrypted).length).toBe((Math.floor(length / 16) + 1) * 16);
    expect(await decryptReqInfo(encrypted, KEY)).toBe(text);
  });

  it("refuses bad base64, partial blocks and a wrong key", async () => {
    expect(await decryptReqInfo("not base64!", KEY)).toBeNull();
    expect(await decryptReqInfo("", KEY)).toBeNull();
    expect(await decryptReqInfo(REQ_INFO.slice(0, 20), KEY)).toBeNull();
    expect(await decryptReqInfo(REQ_INFO, "OF4Ne3znh8KqL0V4NqmALQa0uXMYKcEl")).toBeNull();
  });
});

it("success_time is yyyy-MM-dd HH:mm:ss in Beijing time", () => {
  expect(formatBeijingDateTime(Date.UTC(2020, 0, 4, 10, 34, 24))).toBe("2020-01-04 18:34:24");
  expect(formatBeijingDateTime(Date.UTC(2026, 11, 31, 16, 0, 0))).toBe("2027-01-01 00:00:00");
});
