// The simulator's v3 request verification (§4.2) and its configuration: a request signed by the
// merchant passes; any flaw in the Authorization header is a signed 401 SIGN_ERROR; without v3
// options the /v3 endpoints are not simulated and v2 is untouched.
import { describe, expect, it } from "vitest";
import { createSimulator } from "../../sim/src/simulator";
import { MERCHANT_KEY, PLATFORM_KEY } from "../fixtures/v3-keys";
import { authorizationHeader, importMerchantPrivateKey } from "../../src/wechat/v3";
import { CONFIG, rig } from "./helpers";
import { ORDER, V3, V3_START, v3Rig } from "./v3-helpers";

const QUERY = `/v3/pay/transactions/out-trade-no/${ORDER}?mchid=${CONFIG.mchId}`;

/** A real Authorization header for the query, with one pair replaced. */
async function authorizationWith(pair: string, value: string): Promise<string> {
  const header = await authorizationHeader(
    { mchid: CONFIG.mchId, serialNo: V3.merchantSerial, privateKey: await importMerchantPrivateKey(MERCHANT_KEY) },
    { method: "GET", pathWithQuery: QUERY, body: "", timestamp: String(Math.floor(V3_START / 1000)) },
  );
  return header.replace(new RegExp(`${pair}="[^"]*"`), `${pair}="${value}"`);
}

describe("v3 Authorization", () => {
  it("accepts a request the merchant signed: 404 ORDER_NOT_EXIST for an unknown order, signed", async () => {
    const answer = await v3Rig().call("GET", QUERY);
    expect(answer.status).toBe(404);
    expect(answer.json).toEqual({ code: "ORDER_NOT_EXIST", message: "订单不存在" });
    expect(answer.check).toEqual({ ok: true, serial: V3.publicKeyId });
    expect(answer.headers.get("Request-ID")).toMatch(/^[0-9A-F]{32}$/);
    expect(answer.headers.get("Content-Type")).toMatch(/^application\/json/);
  });

  it("accepts the pairs in any order and a lower-case serial_no", async () => {
    const header = await authorizationWith("serial_no", V3.merchantSerial.toLowerCase());
    const [scheme, pairs] = [header.slice(0, header.indexOf(" ")), header.slice(header.indexOf(" ") + 1)];
    const reordered = `${scheme} ${pairs.split(",").reverse().join(",")}`;
    expect((await v3Rig().call("GET", QUERY, undefined, { authorization: reordered })).status).toBe(404);
  });

  const cases: [string, () => Promise<string>][] = [
    ["no Authorization header", async () => ""],
    ["another scheme", async () => (await authorizationWith("mchid", CONFIG.mchId)).replace("WECHATPAY2-SHA256-RSA2048", "WECHATPAY2-SHA256-RSA")],
    ["another mchid", () => authorizationWith("mchid", "1900000110")],
    ["another merchant serial", () => authorizationWith("serial_no", "1DDE55AD98ED71D6EDD4A4A16996DE7B47773A8C")],
    ["a missing nonce_str", async () => (await authorizationWith("mchid", CONFIG.mchId)).replace(/,?nonce_str="[^"]*"/, "")],
    ["a tampered signature", () => authorizationWith("signature", "AAAA")],
    ["a nonce that is not the signed one", () => authorizationWith("nonce_str", "ANOTHERNONCE")],
  ];
  it.each(cases)("refuses %s with a signed 401 SIGN_ERROR", async (_name, header) => {
    const answer = await v3Rig().call("GET", QUERY, undefined, { authorization: await header() });
    expect(answer.status).toBe(401);
    expect(answer.json).toMatchObject({ code: "SIGN_ERROR", message: "签名错误,请检查后再试" });
    expect(answer.check.ok).toBe(true);
  });

  it("refuses a timestamp more than 5 minutes away, either way, and accepts one 4 minutes away", async () => {
    const r = v3Rig();
    const now = Math.floor(r.sim.now() / 1000);
    for (const skew of [-301, 301]) {
      expect((await r.call("GET", QUERY, undefined, { timestamp: String(now + skew) })).status).toBe(401);
    }
    expect((await r.call("GET", QUERY, undefined, { timestamp: String(now - 240) })).status).toBe(404);
  });

  it("signs over the exact body bytes: a body other than the one signed is 401, and nothing is created", async () => {
    const r = v3Rig();
    const openid = await r.openid();
    const body = { appid: CONFIG.appid, mchid: CONFIG.mchId, description: "x", out_trade_no: ORDER, notify_url: "https://m.example.com/n", amount: { total: 1 }, payer: { openid } };
    const answer = await r.call("POST", "/v3/pay/transactions/jsapi", body, { signedBody: JSON.stringify({ ...body, amount: { total: 2 } }) });
    expect(answer.status).toBe(401);
    expect((await r.control(`/__sim/orders/${ORDER}`)).status).toBe(404);
    expect((await r.control<{ calls: unknown[] }>("/__sim/calls?api=v3_jsapi")).json.calls).toMatchObject([{ outcome: "SIGN_ERROR" }]);
  });

  it("refuses a request signed with another key (the platform's)", async () => {
    const r = v3Rig();
    const header = await authorizationHeader(
      { mchid: CONFIG.mchId, serialNo: V3.merchantSerial, privateKey: await importMerchantPrivateKey(PLATFORM_KEY) },
      { method: "GET", pathWithQuery: QUERY, body: "", timestamp: String(Math.floor(r.sim.now() / 1000)) },
    );
    expect((await r.call("GET", QUERY, undefined, { authorization: header })).status).toBe(401);
  });

  it("verifies with a merchant public key given as SPKI PEM just as with one derived from the private key", async () => {
    const pkcs8 = Uint8Array.from(atob(MERCHANT_KEY.replace(/-----[A-Z ]+-----|\s/g, "")), (c) => c.charCodeAt(0));
    const key = await crypto.subtle.importKey("pkcs8", pkcs8, { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, true, ["sign"]);
    const jwk = (await crypto.subtle.exportKey("jwk", key)) as JsonWebKey;
    const publicKey = await crypto.subtle.importKey("jwk", { kty: "RSA", n: jwk.n, e: jwk.e }, { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, true, ["verify"]);
    const spki = new Uint8Array((await crypto.subtle.exportKey("spki", publicKey)) as ArrayBuffer);
    const pem = `-----BEGIN PUBLIC KEY-----\n${btoa(String.fromCharCode(...spki))}\n-----END PUBLIC KEY-----\n`;
    const r = v3Rig({ v3: { ...V3, merchantPrivateKey: undefined, merchantPublicKey: pem } });
    expect((await r.call("GET", QUERY)).status).toBe(404);
    expect((await r.call("GET", QUERY, undefined, { authorization: await authorizationWith("signature", "AAAA") })).status).toBe(401);
  });
});

describe("v3 configuration", () => {
  it("without v3 options, /v3 endpoints are 404 not simulated and v2 still works", async () => {
    const r = rig();
    const response = await r.raw("/v3/pay/transactions/jsapi", { method: "POST", body: "{}" });
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: "NOT_FOUND" });
    expect((await r.unifiedOrder(await r.openid())).fields.result_code).toBe("SUCCESS");
  });

  it.each([
    ["apiV3Key", { apiV3Key: "short" }],
    ["merchantSerial", { merchantSerial: "not hex" }],
    ["publicKeyId", { publicKeyId: "KEY_1" }],
    ["merchantPublicKey", { merchantPrivateKey: undefined, merchantPublicKey: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----" }],
    ["platformCertificate", { platformCertificate: PLATFORM_KEY }],
    ["platformPrivateKey", { platformPrivateKey: "nope" }],
  ])("refuses a bad %s when the simulator is built, naming it", (name, patch) => {
    expect(() => createSimulator({ ...CONFIG, clock: { now: () => V3_START }, v3: { ...V3, ...patch } })).toThrow(name);
  });
});
