// The WeChat Pay API v3 settings: required only when WECHATPAY_API_VERSION is v3, each checked for
// shape (a PEM that cannot be read is named, never printed), and the v2 key not required then.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { configProblems, requireConfig, secretsOf } from "../src/config";
import type { Env } from "../src/env";
import { redactLine } from "../src/log";
import { MERCHANT_KEY, MERCHANT_KEY_PKCS1, WECHATPAY_PUBLIC_KEY } from "./fixtures/v3-keys";

const V3 = {
  WECHATPAY_API_VERSION: "v3",
  WECHATPAY_APIV3_KEY: "0123456789abcdef0123456789abcdef",
  WECHATPAY_PRIVATE_KEY: MERCHANT_KEY,
  WECHATPAY_CERT_SERIAL: "1dde55ad98ed71d6edd4a4a16996de7b47773a8c",
  WECHATPAY_PUBLIC_KEY: WECHATPAY_PUBLIC_KEY,
  WECHATPAY_PUBLIC_KEY_ID: "PUB_KEY_ID_0000000000000024101100397200000006",
};
const configured = (overrides: Partial<Record<keyof Env, string | undefined>>): Env => ({ ...env, ...overrides }) as Env;
const settingsNamed = (e: Env) => configProblems(e).map((p) => p.setting).sort();

describe("API v3 settings", () => {
  it("are not required in v2, the default", () => {
    expect(configProblems(configured({ WECHATPAY_API_VERSION: undefined }))).toEqual([]);
  });

  it("are read in v3, where the v2 key is not required", () => {
    const e = configured({ ...V3, WECHATPAY_KEY: undefined });
    expect(configProblems(e)).toEqual([]);
    const config = requireConfig(e, ["apiVersion", "apiV3Key", "merchantCertSerial", "wechatPayPublicKeyId"]);
    expect(config).toEqual({ apiVersion: "v3", apiV3Key: V3.WECHATPAY_APIV3_KEY, merchantCertSerial: V3.WECHATPAY_CERT_SERIAL.toUpperCase(), wechatPayPublicKeyId: V3.WECHATPAY_PUBLIC_KEY_ID });
    // a v2-only setting asked for anyway is refused, not handed out empty
    expect(() => requireConfig(e, ["payKey"])).toThrow(/WECHATPAY_KEY is missing/);
  });

  it("accept a PKCS#1 merchant key, and no WeChat Pay public key at all (platform certificates then)", () => {
    expect(configProblems(configured({ ...V3, WECHATPAY_PRIVATE_KEY: MERCHANT_KEY_PKCS1, WECHATPAY_PUBLIC_KEY: undefined, WECHATPAY_PUBLIC_KEY_ID: undefined }))).toEqual([]);
  });

  it("name each one missing in v3", () => {
    const e = configured({ WECHATPAY_API_VERSION: "v3", WECHATPAY_APIV3_KEY: undefined, WECHATPAY_PRIVATE_KEY: undefined, WECHATPAY_CERT_SERIAL: undefined });
    expect(settingsNamed(e)).toEqual(["WECHATPAY_APIV3_KEY", "WECHATPAY_CERT_SERIAL", "WECHATPAY_PRIVATE_KEY"]);
  });

  it.each([
    ["WECHATPAY_API_VERSION", "v4", 'must be "v2" or "v3"'],
    ["WECHATPAY_APIV3_KEY", "too-short", "32-character"],
    ["WECHATPAY_CERT_SERIAL", "not hex!", "serial"],
    ["WECHATPAY_PRIVATE_KEY", "-----BEGIN PRIVATE KEY-----\nnot base64 at all\n-----END PRIVATE KEY-----", "PEM body that is not base64"],
    ["WECHATPAY_PRIVATE_KEY", WECHATPAY_PUBLIC_KEY, "is a PEM PUBLIC KEY"],
    ["WECHATPAY_PRIVATE_KEY", "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC", "is not PEM text"],
    ["WECHATPAY_PUBLIC_KEY", MERCHANT_KEY, "is a PEM PRIVATE KEY"],
    ["WECHATPAY_PUBLIC_KEY_ID", "0000000000000024101100397200000006", "PUB_KEY_ID_"],
  ])("say what is wrong with %s, never printing it", (setting, value, problem) => {
    const problems = configProblems(configured({ ...V3, [setting]: value }));
    expect(problems).toEqual([{ setting, problem: expect.stringContaining(problem) }]);
    expect(JSON.stringify(problems)).not.toContain(value.length > 12 ? value.slice(0, 40) : `"${value}"`);
  });

  it("are secrets: the APIv3 key and the private key are cut out of every log line, as the v2 key is", () => {
    const secrets = secretsOf(configured(V3)).filter((s): s is string => s !== undefined);
    const line = redactLine({ event: "x", detail: `decrypting with ${V3.WECHATPAY_APIV3_KEY}`, quoted: V3.WECHATPAY_PRIVATE_KEY }, secrets);
    expect(line).not.toContain(V3.WECHATPAY_APIV3_KEY);
    expect(line).not.toContain(MERCHANT_KEY.split("\n")[1]);
    expect(JSON.parse(line)).toMatchObject({ detail: "decrypting with [redacted]", quoted: "[redacted]" });
  });

  it("want WeChat Pay's public key together with its id", () => {
    expect(settingsNamed(configured({ ...V3, WECHATPAY_PUBLIC_KEY_ID: undefined }))).toEqual(["WECHATPAY_PUBLIC_KEY_ID"]);
    expect(settingsNamed(configured({ ...V3, WECHATPAY_PUBLIC_KEY: undefined }))).toEqual(["WECHATPAY_PUBLIC_KEY"]);
  });
});
