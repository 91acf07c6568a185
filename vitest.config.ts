// Tests run inside workerd (Miniflare) with the bindings of wrangler.toml's `local` environment, in
// two projects: the whole suite on WeChat Pay API v2 (the default), and on API v3 — the same
// environment switched to v3, the simulator too (test/support/harness.ts follows
// WECHATPAY_API_VERSION). The v3 project runs test/v3/ and every end-to-end suite of orders,
// notifications, refunds, faults and events: the same files, which say what they mean in either
// version through test/support/wechat-pay.ts. A file named *.v2.test.ts holds what only v2 has
// (its XML, its sign types, its error codes) and runs in the v2 project only; the pure unit
// suites (decisions, state tables, the protocol layer) do not depend on the version. A third,
// small project runs test/shipping/virtual.test.ts with WECHAT_SHIPPING=virtual and the message
// push in plain mode (no EncodingAESKey), settings the other two do not have.
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
          include: [
            "test/v3/**/*.test.ts",
            "test/shipping/{shipping,push}.test.ts",
            "test/orders/{create-order,admin-create-order,pay-notify,query-close,refunds,alarms,order-storage}.test.ts",
            "test/events/merchant-events.test.ts",
            "test/listing/*.test.ts",
            "test/client/*.test.ts",
            "test/properties/notification.property.test.ts",
            "test/chaos/chaos.test.ts",
            "test/{hardening,openapi,secrets,rate-limits,products,introspect}.test.ts",
          ],
          // Never v2's own suites, whatever the include above grows to.
          exclude: ["**/*.v2.test.ts"],
          ...common,
        },
      },
    ],
  },
});
