// MERCHANT_WEBHOOK_URL and MERCHANT_WEBHOOK_SECRET: optional together, checked by name, never echoed.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { configProblems, merchantWebhook } from "../src/config";
import type { Env } from "../src/env";

const SECRET = env.MERCHANT_WEBHOOK_SECRET!;
const withWebhook = (url: string | undefined, secret: string | undefined): Env => ({ ...env, MERCHANT_WEBHOOK_URL: url, MERCHANT_WEBHOOK_SECRET: secret }) as Env;
const problemsOf = (e: Env) => configProblems(e).filter((p) => p.setting.startsWith("MERCHANT_WEBHOOK"));

describe("the merchant webhook settings", () => {
  it("are optional: without the URL no event is recorded", () => {
    expect(merchantWebhook(withWebhook(undefined, undefined))).toBeNull();
    expect(merchantWebhook(withWebhook("", SECRET))).toBeNull();
    expect(problemsOf(withWebhook(undefined, undefined))).toEqual([]);
  });

  it.each(["https://shop.example.com/webhooks/wxpay?shop=1", "http://127.0.0.1:8790/events", "http://localhost/x"])("accept %s with a secret", (url) => {
    expect(merchantWebhook(withWebhook(url, SECRET))).toEqual({ target: { url: new URL(url).href, secret: SECRET } });
    expect(problemsOf(withWebhook(url, SECRET))).toEqual([]);
  });

  it.each([
    ["http://shop.example.com/events", SECRET, "MERCHANT_WEBHOOK_URL"],
    ["https://user:pw@shop.example.com/", SECRET, "MERCHANT_WEBHOOK_URL"],
    ["not a url", SECRET, "MERCHANT_WEBHOOK_URL"],
    ["https://shop.example.com/", undefined, "MERCHANT_WEBHOOK_SECRET"],
    ["https://shop.example.com/", "whsec_c2hvcnQ=", "MERCHANT_WEBHOOK_SECRET"],
    ["https://shop.example.com/", "plain-secret-value-that-is-long-enough", "MERCHANT_WEBHOOK_SECRET"],
  ])("refuse %s with secret %#, naming %s and never the value", (url, secret, setting) => {
    const e = withWebhook(url, secret);
    const problems = problemsOf(e);
    expect(problems.map((p) => p.setting)).toEqual([setting]);
    if (secret !== undefined) expect(JSON.stringify(problems)).not.toContain(secret);
    // Events are still recorded (nothing lost), and wait until the setting is fixed.
    expect(merchantWebhook(e)).toEqual({ target: null });
  });
});
