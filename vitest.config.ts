// Tests run inside workerd (Miniflare) with the bindings of wrangler.toml's `local` environment.
import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

export default defineConfig({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: "./wrangler.toml", environment: "local" },
      // Merchant events go to an in-test receiver (test/support/harness.ts routes this origin to it);
      // the secret is made up for the tests. `npm run dev` leaves MERCHANT_WEBHOOK_URL unset.
      miniflare: { bindings: { MERCHANT_WEBHOOK_URL: "https://merchant.example/wxpay/events", MERCHANT_WEBHOOK_SECRET: "whsec_MfKQ9r0Zx4cV8c1yX5m1Hnq1xQbVzFvM9yN0l2c3d4e=" } },
    }),
  ],
  test: {
    include: ["test/**/*.test.ts"],
    // The service's structured log lines are shown for failing tests only.
    silent: "passed-only",
    // Some tests wait out the service's whole retry budget against a failing WeChat (7 s).
    testTimeout: 30_000,
  },
});
