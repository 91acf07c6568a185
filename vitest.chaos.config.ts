// `npm run chaos`: the large chaos run (test/chaos/*.chaos.ts) inside workerd, with the bindings of
// wrangler.toml's `local` environment, like vitest.config.ts. `npm test` never picks these files up.
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
    include: ["test/chaos/**/*.chaos.ts"],
    // The figures are the point: show everything, passed or not.
    silent: false,
    // …except the service's own info lines (one per request and transition): tens of thousands
    // here. Its warnings and errors still show.
    onConsoleLog: (line, type) => !(type === "stdout" && line.startsWith('{"level":"info"')),
    testTimeout: 15 * 60_000,
    hookTimeout: 60_000,
  },
});
