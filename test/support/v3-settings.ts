// The made-up API v3 identifiers the test simulator and the v3 test project share (the keys
// themselves are the project's test keys, test/fixtures/v3-keys.ts). Plain data: vitest.config.ts
// reads it in Node, the harness inside workerd.
export const V3_SIM_SETTINGS = {
  apiV3Key: "sim0v3key0for0local0dev0only0032",
  merchantSerial: "6B2D1F0A9C8E7D6C5B4A39281706F5E4D3C2B1A0",
  publicKeyId: "PUB_KEY_ID_0119000001092026120100000000000001",
} as const;
