// Tests run inside workerd (Miniflare) with the bindings of wrangler.toml's `local` environment, in
// two projects: the whole suite on WeChat Pay API v2 (the default), and on API v3 — the same
// environment switched to v3, the simulator too (test/support/harness.ts follows
// WECHATPAY_API_VERSION) — test/v3/ plus every suite that speaks only the HTTP contract and the
// simulator's control API: the chaos scenario, hardening, the catalog, introspection.
import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";
import { MERCHANT_BINDINGS } from "./test/support/merchant-settings";
import { V3_BINDINGS } from "./test/support/v3-settings";

const wrangler = { configPath: "./wrangler.toml", environment: "local" };
const common = {
  // The service's structured log lines are shown for failing tests only.
  silent: "passed-only" as const,
  // Some tests wait out the service's whole retry budget against a failing WeChat (7 s).
  testTimeout: 30_000,
};

export default defineConfig({
  test: {
    // The root's reporting settings apply to both projects (a project's own are not used for output).
    ...common,
    projects: [
      {
        plugins: [cloudflareTest({ wrangler, miniflare: { bindings: MERCHANT_BINDINGS } })],
        test: { name: "v2", include: ["test/**/*.test.ts"], exclude: ["test/v3/**", "test/shipping/virtual.test.ts"], ...common },
      },
      {
        // WECHAT_SHIPPING=virtual, and message push in plain mode (no EncodingAESKey).
        plugins: [cloudflareTest({ wrangler, miniflare: { bindings: { ...MERCHANT_BINDINGS, WECHAT_SHIPPING: "virtual", WECHAT_PUSH_AES_KEY: "" } } })],
        test: { name: "virtual-shipping", include: ["test/shipping/virtual.test.ts"], ...common },
      },
      {
        plugins: [
          cloudflareTest({
            wrangler,
            miniflare: { bindings: { ...MERCHANT_BINDINGS, ...V3_BINDINGS } },
          }),
        ],
        test: {
          name: "v3",
          include: ["test/v3/**/*.test.ts", "test/shipping/shipping.test.ts", "test/shipping/push.test.ts", "test/chaos/chaos.test.ts", "test/hardening.test.ts", "test/products.test.ts", "test/introspect.test.ts"],
          ...common,
        },
      },
    ],
  },
});
