// WECHAT_SHIPPING, WECHAT_PUSH_TOKEN and WECHAT_PUSH_AES_KEY: a mode with a default, and the message
// push settings in the shapes WeChat's console gives them, checked by name and never echoed.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { configProblems, secretsOf, shippingMode } from "../src/config";
import type { Env } from "../src/env";
import { startHarness } from "./support/harness";

const AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
const withSettings = (settings: Partial<Record<"WECHAT_SHIPPING" | "WECHAT_PUSH_TOKEN" | "WECHAT_PUSH_AES_KEY", string | undefined>>): Env => ({ ...env, ...settings }) as Env;
const problemsOf = (e: Env) => configProblems(e).filter((p) => p.setting.startsWith("WECHAT_SHIPPING") || p.setting.startsWith("WECHAT_PUSH"));

describe("the shipping settings", () => {
  it("default to shipping off and no message push", () => {
    const bare = withSettings({ WECHAT_SHIPPING: undefined, WECHAT_PUSH_TOKEN: undefined, WECHAT_PUSH_AES_KEY: undefined });
    expect(shippingMode(bare)).toBe("off");
    expect(problemsOf(bare)).toEqual([]);
  });

  it.each(["off", "manual", "virtual"] as const)("take WECHAT_SHIPPING=%s", (mode) => {
    expect(shippingMode(withSettings({ WECHAT_SHIPPING: mode }))).toBe(mode);
  });

  it.each([
    [{ WECHAT_SHIPPING: "auto" }, "WECHAT_SHIPPING"],
    [{ WECHAT_PUSH_TOKEN: "Q9" }, "WECHAT_PUSH_TOKEN"],
    [{ WECHAT_PUSH_TOKEN: "a token with spaces" }, "WECHAT_PUSH_TOKEN"],
    [{ WECHAT_PUSH_AES_KEY: AES_KEY.slice(1) }, "WECHAT_PUSH_AES_KEY"],
    [{ WECHAT_PUSH_TOKEN: undefined, WECHAT_PUSH_AES_KEY: AES_KEY }, "WECHAT_PUSH_TOKEN"],
  ])("refuse %j, naming %s and never the value", (settings, setting) => {
    const problems = problemsOf(withSettings(settings));
    expect(problems.map((p) => p.setting)).toEqual([setting]);
    for (const value of Object.values(settings)) if (value !== undefined) expect(JSON.stringify(problems)).not.toContain(value);
  });

  it("treat the push Token and EncodingAESKey as secrets: cut out of every log line", () => {
    const secrets = secretsOf(withSettings({ WECHAT_PUSH_TOKEN: "pushToken0123", WECHAT_PUSH_AES_KEY: AES_KEY }));
    expect(secrets).toEqual(expect.arrayContaining(["pushToken0123", AES_KEY]));
  });

  it("make the shipping endpoint 503 while shipping is off, before looking at the order", async () => {
    const h = startHarness({ env: withSettings({ WECHAT_SHIPPING: "off" }) });
    const response = await h.call("/admin/orders/20261201000000NoSuchOrder0000000/shipping", { token: env.ADMIN_TOKEN!, json: { logisticsType: "virtual", itemDesc: "x" } });
    expect(response.status).toBe(503);
    expect(((await response.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: "not_configured", message: expect.stringContaining("WECHAT_SHIPPING") });
  });

  it("make the message push 503 without a Token", async () => {
    const h = startHarness({ env: withSettings({ WECHAT_PUSH_TOKEN: undefined, WECHAT_PUSH_AES_KEY: undefined }) });
    const response = await h.call(`/api/wechat/push?signature=${"0".repeat(40)}&timestamp=1&nonce=1&echostr=x`);
    expect(response.status).toBe(503);
  });
});
