// The v2 envelope every pay endpoint shares (protocol reference §2.0, §2.1, §5 items 5–6):
// HTTP 200 always, return_code=FAIL without a sign for refused requests, signed SUCCESS replies.
import { describe, expect, it } from "vitest";
import { signV2, verifyV2 } from "../../sim/src/sign";
import { buildWeChatXml, parseWeChatXml } from "../../sim/src/xml";
import { CONFIG, rig } from "./helpers";

const APIS = ["unifiedorder", "orderquery", "closeorder"] as const;

async function rawFail(response: Response) {
  expect(response.status).toBe(200);
  const text = await response.text();
  const parsed = parseWeChatXml(text);
  if (!parsed.ok) throw new Error(`not XML: ${text}`);
  return parsed.fields;
}

describe.each(APIS)("/pay/%s envelope", (api) => {
  it("refuses a GET with 请使用post方法", async () => {
    const fields = await rawFail(await rig().raw(`/pay/${api}`));
    expect(fields).toEqual({ return_code: "FAIL", return_msg: "请使用post方法" });
  });

  it("refuses an empty body with post数据为空", async () => {
    const fields = await rawFail(await rig().raw(`/pay/${api}`, { method: "POST", body: "" }));
    expect(fields).toEqual({ return_code: "FAIL", return_msg: "post数据为空" });
  });

  it.each([
    ["malformed XML", "<xml><appid>wx"],
    ["JSON", '{"appid":"wx"}'],
    ["a DOCTYPE (XXE)", '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><appid>&e;</appid></xml>'],
  ])("refuses %s with XML格式错误", async (_, body) => {
    const fields = await rawFail(await rig().raw(`/pay/${api}`, { method: "POST", body }));
    expect(fields).toEqual({ return_code: "FAIL", return_msg: "XML格式错误" });
  });

  it("refuses a body that is not UTF-8 with 编码格式错误", async () => {
    const gbk = new Uint8Array([0x3c, 0x78, 0x6d, 0x6c, 0x3e, 0xd6, 0xd0, 0x3c, 0x2f, 0x78, 0x6d, 0x6c, 0x3e]);
    const fields = await rawFail(await rig().raw(`/pay/${api}`, { method: "POST", body: gbk }));
    expect(fields).toEqual({ return_code: "FAIL", return_msg: "编码格式错误" });
  });

  it("refuses a wrong sign with 签名错误 and no sign of its own", async () => {
    const r = rig();
    const reply = await r.pay(api, { out_trade_no: "ORDER-0001", sign: "9A0A8659F005D6984697E2CA0A9CF3B7" });
    expect(reply.status).toBe(200);
    expect(reply.fields).toEqual({ return_code: "FAIL", return_msg: "签名错误" });
  });

  it("verifies with MD5 when sign_type is absent, so an HMAC sign without sign_type is 签名错误", async () => {
    const r = rig();
    const fields = { appid: CONFIG.appid, mch_id: CONFIG.mchId, nonce_str: "n0nce", out_trade_no: "ORDER-0001" };
    const hmac = await signV2(fields, CONFIG.key, "HMAC-SHA256");
    const reply = await r.pay(api, { ...fields, sign: hmac });
    expect(reply.fields.return_msg).toBe("签名错误");
  });

  it("refuses a sign made with another key", async () => {
    const r = rig();
    const fields = { appid: CONFIG.appid, mch_id: CONFIG.mchId, nonce_str: "n0nce", out_trade_no: "ORDER-0001" };
    const sign = await signV2(fields, "k".repeat(32), "MD5");
    expect((await r.pay(api, { ...fields, sign })).fields.return_msg).toBe("签名错误");
  });

  it("refuses an unknown sign_type", async () => {
    const r = rig();
    const reply = await r.pay(api, { out_trade_no: "ORDER-0001", sign_type: "SHA1", sign: "X" });
    expect(reply.fields.return_code).toBe("FAIL");
    expect(reply.fields.sign).toBeUndefined();
  });

  it.each(["appid", "mch_id", "nonce_str", "sign"])("refuses a request without %s, unsigned", async (name) => {
    const r = rig();
    const reply = await r.pay(api, { out_trade_no: "ORDER-0001", [name]: undefined });
    expect(reply.fields.return_code).toBe("FAIL");
    expect(reply.fields.return_msg).toBe(`缺少参数${name}`);
    expect(reply.fields.sign).toBeUndefined();
  });

  it("refuses another merchant's mch_id, unsigned (it has no key to check with)", async () => {
    const reply = await rig().pay(api, { mch_id: "1230000109", out_trade_no: "ORDER-0001" });
    expect(reply.fields.return_code).toBe("FAIL");
    expect(reply.fields.sign).toBeUndefined();
  });

  it("answers another appid of a correctly signed request with APPID_MCHID_NOT_MATCH, signed", async () => {
    const reply = await rig().pay(api, { appid: "wx0000000000000001", out_trade_no: "ORDER-0001" });
    expect(reply.fields).toMatchObject({
      return_code: "SUCCESS",
      result_code: "FAIL",
      err_code: "APPID_MCHID_NOT_MATCH",
    });
    expect(await verifyV2(reply.fields, CONFIG.key, "MD5")).toBe(true);
  });

  it.each(["MD5", "HMAC-SHA256"] as const)("signs a return_code=SUCCESS reply with the request's sign_type (%s)", async (signType) => {
    const reply = await rig().pay(api, { out_trade_no: "NO-SUCH-ORDER" }, signType);
    expect(reply.fields).toMatchObject({
      return_code: "SUCCESS",
      return_msg: "OK",
      appid: CONFIG.appid,
      mch_id: CONFIG.mchId,
      result_code: "FAIL",
    });
    expect(reply.fields.nonce_str).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(reply.fields.sign).toHaveLength(signType === "MD5" ? 32 : 64);
    expect(reply.fields.sign_type).toBeUndefined();
    expect(await verifyV2(reply.fields, CONFIG.key, signType)).toBe(true);
  });

  it("accepts bare values and CDATA alike in the request", async () => {
    const r = rig();
    const fields = { appid: CONFIG.appid, mch_id: CONFIG.mchId, nonce_str: "abc", out_trade_no: "123456" };
    const sign = await signV2(fields, CONFIG.key, "MD5");
    const body = `<xml><appid>${fields.appid}</appid><mch_id>${fields.mch_id}</mch_id><nonce_str><![CDATA[abc]]></nonce_str><out_trade_no>123456</out_trade_no><sign>${sign}</sign></xml>`;
    const reply = await rawFail(await r.raw(`/pay/${api}`, { method: "POST", body }));
    expect(reply.return_code).toBe("SUCCESS");
  });
});

describe("reply format", () => {
  it("has no XML declaration, CDATA strings and text/plain content type", async () => {
    const r = rig();
    const response = await r.raw("/pay/orderquery", { method: "GET" });
    expect(response.headers.get("content-type")).toBe("text/plain");
    expect(await response.text()).toBe(
      buildWeChatXml({ return_code: "FAIL", return_msg: "请使用post方法" }),
    );
  });
});
