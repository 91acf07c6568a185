// Reading the configuration: defaults, bounds and the loopback-only rule for plain http.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { configProblems, DEFAULTS, requireConfig } from "../src/config";
import type { Env } from "../src/env";

const local = (overrides: Partial<Record<keyof Env, string | undefined>>): Env => ({ ...env, ...overrides }) as Env;

describe("configuration", () => {
  it("reads the local environment of wrangler.toml without a problem", () => {
    expect(configProblems(env)).toEqual([]);
    const config = requireConfig(env, ["signType", "products", "sessionTtlSeconds", "publicBaseUrl"]);
    expect(config.signType).toBe("HMAC-SHA256");
    expect(config.products.get("coffee")).toEqual({ name: "Coffee", price: 1800 });
    expect(config.publicBaseUrl).toBe("http://127.0.0.1:8787");
  });

  it("falls back to documented defaults for optional settings", () => {
    const config = requireConfig(
      local({ WECHATPAY_SIGN_TYPE: undefined, WECHAT_API_BASE: undefined, WECHATPAY_API_BASE: "", SESSION_TTL_SECONDS: undefined, ORDER_TTL_SECONDS: undefined }),
      ["signType", "wechatApiBase", "wechatPayApiBase", "sessionTtlSeconds", "orderTtlSeconds"],
    );
    expect(config).toEqual({
      signType: DEFAULTS.WECHATPAY_SIGN_TYPE,
      wechatApiBase: DEFAULTS.WECHAT_API_BASE,
      wechatPayApiBase: DEFAULTS.WECHATPAY_API_BASE,
      sessionTtlSeconds: DEFAULTS.SESSION_TTL_SECONDS,
      orderTtlSeconds: DEFAULTS.ORDER_TTL_SECONDS,
    });
  });

  const malformed: [keyof Env, string][] = [
    ["WECHATPAY_SIGN_TYPE", "SHA1"],
    ["WECHATPAY_SIGN_TYPE", "hmac-sha256"],
    ["PUBLIC_BASE_URL", "http://pay.example.com"],
    ["PUBLIC_BASE_URL", "https://pay.example.com/api"],
    ["PUBLIC_BASE_URL", "https://pay.example.com/?x=1"],
    ["WECHAT_API_BASE", "ftp://api.weixin.qq.com"],
    ["WECHATPAY_API_BASE", "http://10.0.0.1"],
    ["SESSION_TTL_SECONDS", "59"],
    ["SESSION_TTL_SECONDS", "1e4"],
    ["ORDER_TTL_SECONDS", "-5"],
    ["ORDER_TTL_SECONDS", "60"],
    ["PRODUCTS", "[]"],
    ["PRODUCTS", "{}"],
    ["PRODUCTS", '{"a":{"name":"A","price":"100"}}'],
    ["PRODUCTS", '{"a":{"name":"A","price":0}}'],
    ["PRODUCTS", '{"a":{"name":"","price":100}}'],
    ["PRODUCTS", '{"bad sku":{"name":"A","price":100}}'],
    ["WECHATPAY_KEY", "k".repeat(31)],
    ["WECHAT_APPID", "wx123"],
    ["WECHATPAY_MCHID", "19000001O9"],
    ["ADMIN_TOKEN", "short"],
  ];
  for (const [setting, value] of malformed) {
    it(`reports ${setting}=${JSON.stringify(value)} by name only`, () => {
      const problems = configProblems(local({ [setting]: value }));
      expect(problems.map((p) => p.setting)).toEqual([setting]);
      if (value.length > 3) expect(JSON.stringify(problems)).not.toContain(value);
    });
  }

  it("accepts plain http only on loopback hosts", () => {
    for (const origin of ["http://127.0.0.1:9000", "http://localhost:8788", "http://[::1]:8788", "https://pay.example.com"]) {
      expect(configProblems(local({ PUBLIC_BASE_URL: origin }))).toEqual([]);
    }
  });
});
