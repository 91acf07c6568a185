// Tests run inside workerd (Miniflare) with the bindings of wrangler.toml's `local` environment.
import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

export default defineConfig({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: "./wrangler.toml", environment: "local" },
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
