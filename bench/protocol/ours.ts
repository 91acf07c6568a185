// Our protocol operations (src/wechat) as benchmark ops, plus the signed fixtures they run on.
// Bundled by esbuild for Node (bench/protocol/node-bench.mjs) and into the workerd bench Worker.
import { buildXml, formatBeijingTime, parseXml, randomNonce, sign, signingString, type Fields } from "../../src/wechat/index";
import { verifyPaymentNotification } from "../../src/wechat/payment-notification";
import { APPID, KEY, MCH_ID, NOTIFICATION_FIELDS, UNIFIED_ORDER_FIELDS, wechatStyleXml } from "./fixtures";

export { APPID, KEY, MCH_ID, NOTIFICATION_FIELDS, UNIFIED_ORDER_FIELDS, wechatStyleXml } from "./fixtures";
export { measure, type Sample } from "./harness";
export { buildXml, formatBeijingTime, parseXml, randomNonce, sign, signingString };

export const TRUST = Object.freeze({ appid: APPID, mchId: MCH_ID, key: KEY });

/** The signed notification (HMAC-SHA256, as WeChat sends it to the service) and its fields. */
export interface Fixtures {
  readonly signFields: Readonly<Fields>;
  readonly notificationXml: string;
  readonly notificationFields: Readonly<Fields>;
  readonly buildFields: Readonly<Fields>;
  readonly expectedMd5: string;
  readonly expectedHmac: string;
}

export async function prepareFixtures(): Promise<Fixtures> {
  const expectedHmac = await sign(NOTIFICATION_FIELDS, KEY, "HMAC-SHA256");
  const expectedMd5 = await sign(NOTIFICATION_FIELDS, KEY, "MD5");
  const notificationFields = { ...NOTIFICATION_FIELDS, sign: expectedHmac };
  return {
    signFields: NOTIFICATION_FIELDS,
    notificationXml: wechatStyleXml(notificationFields),
    notificationFields,
    buildFields: UNIFIED_ORDER_FIELDS,
    expectedMd5,
    expectedHmac,
  };
}

export interface OpSet {
  readonly [name: string]: { readonly run: () => unknown; readonly async: boolean };
}

/** The five measured operations, ours. Each returns a value that the caller checks once before timing. */
export function ourOps(f: Fixtures): OpSet {
  return {
    signMd5: { async: true, run: () => sign(f.signFields, KEY, "MD5") },
    signHmacSha256: { async: true, run: () => sign(f.signFields, KEY, "HMAC-SHA256") },
    parseXml: { async: false, run: () => parseXml(f.notificationXml) },
    buildXml: { async: false, run: () => buildXml(f.buildFields) },
    verifyNotification: {
      async: true,
      run: async () => {
        const check = await verifyPaymentNotification(parseXml(f.notificationXml), TRUST);
        if (!check.ok) throw new Error(`verification failed: ${check.reason}`);
        return check;
      },
    },
  };
}
