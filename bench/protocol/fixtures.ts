// The messages every protocol micro-benchmark works on: a payment notification as WeChat sends it
// and a unifiedorder request as the service builds it, with the local (made-up) merchant credentials.
import type { Fields } from "../../src/wechat/sign";

/** The `local` environment's merchant key, appid and mch_id (wrangler.toml); valid only against the simulator. */
export const KEY = "sim0key0for0local0dev0only000032";
export const APPID = "wx5f0c3a9e7d1b2c4a";
export const MCH_ID = "1900000109";

/** A paid order's notification fields in WeChat's order, before the sign (HMAC-SHA256, as the service is configured). */
export const NOTIFICATION_FIELDS: Readonly<Fields> = Object.freeze({
  return_code: "SUCCESS",
  appid: APPID,
  mch_id: MCH_ID,
  nonce_str: "5K8264ILTKCH16CQ2502SI8ZNMTM67VS",
  sign_type: "HMAC-SHA256",
  result_code: "SUCCESS",
  openid: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
  is_subscribe: "N",
  trade_type: "JSAPI",
  bank_type: "CFT",
  total_fee: "3600",
  fee_type: "CNY",
  cash_fee: "3600",
  transaction_id: "4200002611202611225840213372",
  out_trade_no: "20261122231530k3J9aQx7LmPz2Rt8Wc",
  attach: "门店 3 号柜台",
  time_end: "20261122231612",
});

/** A unifiedorder request as the service sends it (sign included): what "build XML" serialises. */
export const UNIFIED_ORDER_FIELDS: Readonly<Fields> = Object.freeze({
  appid: APPID,
  mch_id: MCH_ID,
  nonce_str: "Yq3ZkD0rX7bN5mTw1sHc8vLp2GfJ6aRe",
  sign_type: "HMAC-SHA256",
  body: "咖啡 ×2",
  out_trade_no: "20261122231530k3J9aQx7LmPz2Rt8Wc",
  total_fee: "3600",
  spbill_create_ip: "203.0.113.27",
  notify_url: "https://pay.example.com/api/pay/notify",
  trade_type: "JSAPI",
  openid: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
  time_start: "20261122231530",
  time_expire: "20261122234530",
  sign: "C380BEC2BFD727A4B6845133519F3AD6E9A4E1B4A9B1B22BF5A6F2D7C0A86B8D",
});

/** Fields WeChat writes without CDATA (integers); everything else is CDATA, one element per line. */
const BARE = new Set(["total_fee", "cash_fee", "settlement_total_fee", "coupon_fee", "coupon_count"]);

/** Serialises fields the way WeChat's notification sender does (not with our buildXml, so parsing is tested on foreign XML). */
export function wechatStyleXml(fields: Readonly<Fields>): string {
  const lines = Object.entries(fields).map(([name, value]) =>
    BARE.has(name) ? `<${name}>${value}</${name}>` : `<${name}><![CDATA[${value}]]></${name}>`,
  );
  return `<xml>\n${lines.join("\n")}\n</xml>`;
}
