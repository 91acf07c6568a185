// Tests run inside workerd (Miniflare) with the bindings of wrangler.toml's `local` environment, in
// two projects: the whole suite on WeChat Pay API v2 (the default), and the API v3 suite with the
// same environment switched to v3 — the service's v3 settings matching the simulator's v3 keys
// (test/support/harness.ts picks the simulator's mode from WECHATPAY_API_VERSION).
import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";
import { MERCHANT_KEY, WECHATPAY_PUBLIC_KEY } from "./test/fixtures/v3-keys";
import { V3_SIM_SETTINGS } from "./test/support/v3-settings";

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
        plugins: [cloudflareTest({ wrangler })],
        test: { name: "v2", include: ["test/**/*.test.ts"], exclude: ["test/v3/**"], ...common },
      },
      {
        plugins: [
          cloudflareTest({
            wrangler,
            miniflare: {
              bindings: {
                WECHATPAY_API_VERSION: "v3",
                WECHATPAY_APIV3_KEY: V3_SIM_SETTINGS.apiV3Key,
                WECHATPAY_PRIVATE_KEY: MERCHANT_KEY,
                WECHATPAY_CERT_SERIAL: V3_SIM_SETTINGS.merchantSerial,
                WECHATPAY_PUBLIC_KEY,
                WECHATPAY_PUBLIC_KEY_ID: V3_SIM_SETTINGS.publicKeyId,
              },
            },
          }),
        ],
        test: { name: "v3", include: ["test/v3/**/*.test.ts"], ...common },
      },
    ],
  },
});
