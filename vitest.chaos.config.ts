// `npm run chaos`: the large chaos run (test/chaos/*.chaos.ts) inside workerd, with the bindings of
// wrangler.toml's `local` environment, like vitest.config.ts, once on WeChat Pay API v2 and once on
// v3 (`npm run chaos -- --project v3` for one). `npm test` never picks these files up.
import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";
import { MERCHANT_BINDINGS } from "./test/support/merchant-settings";
import { V3_BINDINGS } from "./test/support/v3-settings";

const wrangler = { configPath: "./wrangler.toml", environment: "local" };

export default defineConfig({
  test: {
    projects: [
      { plugins: [cloudflareTest({ wrangler, miniflare: { bindings: MERCHANT_BINDINGS } })], test: { name: "v2", include: ["test/chaos/**/*.chaos.ts"], testTimeout: 15 * 60_000, hookTimeout: 60_000 } },
      { plugins: [cloudflareTest({ wrangler, miniflare: { bindings: { ...MERCHANT_BINDINGS, ...V3_BINDINGS } } })], test: { name: "v3", include: ["test/chaos/**/*.chaos.ts"], testTimeout: 15 * 60_000, hookTimeout: 60_000 } },
    ],
    // The figures are the point: show everything, passed or not.
    silent: false,
    // …except the service's own info lines (one per request and transition): tens of thousands
    // here. Its warnings and errors still show.
    onConsoleLog: (line, type) => !(type === "stdout" && line.startsWith('{"level":"info"')),
  },
});
