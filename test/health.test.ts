// GET /healthz and how missing or malformed settings are reported: by name, never by value.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Env } from "../src/env";
import { MERCHANT_KEY, PLATFORM_CERT, WECHATPAY_PUBLIC_KEY } from "./fixtures/v3-keys";
import { errorOf, startHarness } from "./support/harness";
import { V3_BINDINGS } from "./support/v3-settings";

afterEach(() => vi.unstubAllGlobals());

function envWith(overrides: Partial<Record<keyof Env, string | undefined>>): Env {
  return { ...env, ...overrides } as Env;
}

describe("GET /healthz", () => {
  it("is 200 {ok: true} when every setting is usable", async () => {
    const response = await startHarness().call("/healthz");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true });
  });

  it("is 503 naming each missing or malformed setting, never a value", async () => {
    const h = startHarness({
      env: envWith({ WECHAT_SECRET: undefined, WECHATPAY_KEY: "short-key", PUBLIC_BASE_URL: "http://pay.example.com", PRODUCTS: '{"x":{"name":"X","price":9.8}}' }),
    });
    const response = await h.call("/healthz");
    expect(response.status).toBe(503);
    const body = (await response.json()) as { ok: boolean; problems: { setting: string; problem: string }[] };
    expect(body.ok).toBe(false);
    expect(body.problems.map((p) => p.setting).sort()).toEqual(["PRODUCTS", "PUBLIC_BASE_URL", "WECHATPAY_KEY", "WECHAT_SECRET"]);
    const text = JSON.stringify(body);
    expect(text).not.toContain("short-key");
    expect(text).not.toContain("pay.example.com");
  });

  it("with the production defaults of wrangler.toml, names what must be set", async () => {
    const h = startHarness({
      env: envWith({
        WECHAT_APPID: "", WECHAT_SECRET: undefined, WECHATPAY_MCHID: "", WECHATPAY_KEY: undefined, ADMIN_TOKEN: undefined, PUBLIC_BASE_URL: "", PRODUCTS: "{}",
        WECHAT_API_BASE: "https://api.weixin.qq.com", WECHATPAY_API_BASE: "https://api.mch.weixin.qq.com",
      }),
    });
    const body = (await (await h.call("/healthz")).json()) as { problems: { setting: string }[] };
    expect(body.problems.map((p) => p.setting).sort()).toEqual(
      ["ADMIN_TOKEN", "PRODUCTS", "PUBLIC_BASE_URL", "WECHATPAY_CERT", "WECHATPAY_KEY", "WECHATPAY_MCHID", "WECHAT_APPID", "WECHAT_SECRET"],
    );
  });
});

describe("GET /healthz on API v3", () => {
  /** The settings of a v3 shop (the v3 test project's), with `overrides`; the v2 key left out, as a v3 shop may. */
  const v3With = (overrides: Partial<Record<keyof Env, string | undefined>>) => envWith({ ...V3_BINDINGS, WECHATPAY_KEY: undefined, ...overrides });
  const bodyLines = (pem: string) => pem.split("\n").filter((line) => line !== "" && !line.startsWith("-----"));

  async function problems(overrides: Partial<Record<keyof Env, string | undefined>>) {
    const response = await startHarness({ env: v3With(overrides) }).call("/healthz");
    const text = await response.text();
    return { status: response.status, text, problems: (JSON.parse(text) as { problems?: { setting: string; problem: string }[] }).problems ?? [] };
  }

  it("is 200 with every v3 setting usable, against the real WeChat too, asking neither the v2 key nor the refund certificate", async () => {
    expect(await problems({ WECHATPAY_API_BASE: "https://api.mch.weixin.qq.com", WECHAT_API_BASE: "https://api.weixin.qq.com", ADMIN_TOKEN: "f3b1c9d27a4e8f06b5c2d9e1a7f4b3c8d6e2a9f1b7c4d0e8" })).toEqual({ status: 200, text: '{"ok":true}', problems: [] });
  });

  it("names each v3 setting that is missing", async () => {
    const found = await problems({ WECHATPAY_APIV3_KEY: undefined, WECHATPAY_PRIVATE_KEY: "", WECHATPAY_CERT_SERIAL: undefined });
    expect(found.status).toBe(503);
    expect(found.problems.map((p) => p.setting).sort()).toEqual(["WECHATPAY_APIV3_KEY", "WECHATPAY_CERT_SERIAL", "WECHATPAY_PRIVATE_KEY"]);
  });

  // Each a key whose PEM text reads, or almost: what is wrong is said, the key never printed.
  const truncated = [...MERCHANT_KEY.split("\n").slice(0, 10), "-----END PRIVATE KEY-----"].join("\n");
  it.each([
    ["WECHATPAY_PRIVATE_KEY", "a certificate under the key's label", PLATFORM_CERT.replaceAll("CERTIFICATE", "PRIVATE KEY"), /not an RSA private key/],
    ["WECHATPAY_PRIVATE_KEY", "a key cut short", truncated, /not an RSA private key/],
    ["WECHATPAY_PRIVATE_KEY", "a body that is not base64", MERCHANT_KEY.replace(/\n[A-Za-z0-9+/]{4}/, "\n@@@@"), /not base64/],
    ["WECHATPAY_PRIVATE_KEY", "WeChat Pay's public key in its place", WECHATPAY_PUBLIC_KEY, /PUBLIC KEY/],
    ["WECHATPAY_PUBLIC_KEY", "a certificate under the public key's label", PLATFORM_CERT.replaceAll("CERTIFICATE", "PUBLIC KEY"), /not an RSA public key/],
    ["WECHATPAY_PUBLIC_KEY", "the merchant's private key in its place", MERCHANT_KEY, /PRIVATE KEY/],
  ])("is 503 naming %s for %s, never printing it", async (setting, _what, pem, problem) => {
    const found = await problems({ [setting]: pem });
    expect(found.status).toBe(503);
    expect(found.problems).toEqual([{ setting, problem: expect.stringMatching(problem) }]);
    for (const line of bodyLines(pem)) expect(found.text).not.toContain(line.slice(0, 24));
  });

  it.each([
    ["WECHATPAY_APIV3_KEY", "not-thirty-two-characters"],
    ["WECHATPAY_CERT_SERIAL", "serial-not-hex"],
    ["WECHATPAY_PUBLIC_KEY_ID", "no-prefix-0000000000000024101100397200000006"],
  ])("is 503 naming a malformed %s, never printing it", async (setting, value) => {
    const found = await problems({ [setting]: value });
    expect(found.status).toBe(503);
    expect(found.problems.map((p) => p.setting)).toEqual([setting]);
    expect(found.text).not.toContain(value);
  });

  it("names an unknown WECHATPAY_API_VERSION in its list (and the v2 key the default would need), not as an error", async () => {
    const found = await problems({ WECHATPAY_API_VERSION: "v4" });
    expect(found.status).toBe(503);
    expect(found.problems.map((p) => p.setting).sort()).toEqual(["WECHATPAY_API_VERSION", "WECHATPAY_KEY"]);
  });

  it("names the missing half of WeChat Pay's public key", async () => {
    expect((await problems({ WECHATPAY_PUBLIC_KEY_ID: undefined })).problems.map((p) => p.setting)).toEqual(["WECHATPAY_PUBLIC_KEY_ID"]);
    expect((await problems({ WECHATPAY_PUBLIC_KEY: undefined })).problems.map((p) => p.setting)).toEqual(["WECHATPAY_PUBLIC_KEY"]);
  });
});

describe("the refund certificate", () => {
  it("is required once WeChat Pay is not a loopback simulator, and refunds are refused without it", async () => {
    // Off loopback the operator token must be a random one (test/hardening.test.ts).
    const adminToken = [...crypto.getRandomValues(new Uint8Array(32))].map((b) => b.toString(16).padStart(2, "0")).join("");
    const h = startHarness({ env: envWith({ WECHATPAY_API_BASE: "https://api.mch.weixin.qq.com", ADMIN_TOKEN: adminToken }) });
    const body = (await (await h.call("/healthz")).json()) as { problems: { setting: string; problem: string }[] };
    expect(body.problems).toEqual([{ setting: "WECHATPAY_CERT", problem: expect.stringMatching(/mTLS/) }]);
    const response = await h.call("/admin/orders/20990101000000NoSuchOrder000000/refunds", { json: { amount: 1 }, token: adminToken });
    expect(response.status).toBe(503);
    expect((await errorOf(response)).message).toContain("WECHATPAY_CERT");
  });
});

describe("a request that needs a missing setting", () => {
  it("fails with 503 not_configured naming the setting, without calling WeChat", async () => {
    const h = startHarness({ env: envWith({ WECHAT_SECRET: undefined }) });
    const { code } = await h.simControl<{ code: string }>("/__sim/login-codes", {});
    const response = await h.call("/api/login", { json: { code } });
    expect(response.status).toBe(503);
    const error = await errorOf(response);
    expect(error.code).toBe("not_configured");
    expect(error.message).toContain("WECHAT_SECRET");
    expect(h.outbound).toEqual([]);
  });
});

describe("a webhook without its settings", () => {
  it("answers WeChat with FAIL in XML (so WeChat retries later), not a JSON error", async () => {
    const h = startHarness({ env: envWith({ WECHATPAY_KEY: undefined }) });
    for (const path of ["/api/pay/notify", "/api/refund/notify"]) {
      const response = await h.call(path, { method: "POST", headers: { "Content-Type": "text/xml" }, body: "<xml><return_code>SUCCESS</return_code></xml>" });
      expect(response.status).toBe(503);
      expect(response.headers.get("Content-Type")).toMatch(/^text\/xml/);
      expect(await response.text()).toBe("<xml><return_code><![CDATA[FAIL]]></return_code><return_msg><![CDATA[FAIL]]></return_msg></xml>");
    }
  });
});

describe("unknown paths", () => {
  it("get a JSON 404", async () => {
    const response = await startHarness().call("/nope");
    expect(response.status).toBe(404);
    expect((await errorOf(response)).code).toBe("not_found");
  });
});
