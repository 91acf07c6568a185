// GET /healthz and how missing or malformed settings are reported: by name, never by value.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Env } from "../src/env";
import { errorOf, startHarness } from "./support/harness";

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
