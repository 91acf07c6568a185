// The made-up API v3 identifiers the test simulator and the v3 test projects share (the keys
// themselves are the project's test keys, test/fixtures/v3-keys.ts), and the bindings that switch
// the service's `local` environment to v3. Plain data: the vitest configs read it in Node, the
// harness inside workerd.
import { MERCHANT_KEY, WECHATPAY_PUBLIC_KEY } from "../fixtures/v3-keys";

export const V3_SIM_SETTINGS = {
  apiV3Key: "sim0v3key0for0local0dev0only0032",
  merchantSerial: "6B2D1F0A9C8E7D6C5B4A39281706F5E4D3C2B1A0",
  publicKeyId: "PUB_KEY_ID_0119000001092026120100000000000001",
} as const;

/** The service's settings on API v3, matching the simulator's V3_SIM keys. */
export const V3_BINDINGS = {
  WECHATPAY_API_VERSION: "v3",
  WECHATPAY_APIV3_KEY: V3_SIM_SETTINGS.apiV3Key,
  WECHATPAY_PRIVATE_KEY: MERCHANT_KEY,
  WECHATPAY_CERT_SERIAL: V3_SIM_SETTINGS.merchantSerial,
  WECHATPAY_PUBLIC_KEY,
  WECHATPAY_PUBLIC_KEY_ID: V3_SIM_SETTINGS.publicKeyId,
} as const;
