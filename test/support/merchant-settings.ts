// The merchant-event settings every test project runs with: events go to an in-test receiver
// (test/support/harness.ts routes this origin to it), signed with a made-up secret. `npm run dev`
// leaves MERCHANT_WEBHOOK_URL unset. Plain data: the vitest configs read it in Node.
export const MERCHANT_BINDINGS = {
  MERCHANT_WEBHOOK_URL: "https://merchant.example/wxpay/events",
  MERCHANT_WEBHOOK_SECRET: "whsec_MfKQ9r0Zx4cV8c1yX5m1Hnq1xQbVzFvM9yN0l2c3d4e=",
} as const;
