// Test rig for the simulator's mini-program side: the sim/wrangler.toml push keys, JSON calls to the server APIs, and a paid order the shipping service already knows.
import { CONFIG, rig, type ManualClock, type Rig } from "./helpers";
import type { SimStore } from "../../sim/src/simulator";

/** The made-up push settings of sim/wrangler.toml. */
export const PUSH = { token: "simPushToken0local0dev", encodingAesKey: "sim0push0aes0key0for0local0dev0only00000043" } as const;

export interface MpRig extends Rig {
  /** POSTs `body` as JSON to a mini-program API path (query included) and returns the JSON answer. */
  api<T = Record<string, unknown>>(path: string, body: unknown): Promise<T>;
  /** A normal-mode stable token. */
  token(): Promise<string>;
  /** ORDER-0001 paid by "payer" and past the shipping service's delay; its payer's openid and transaction id. */
  shippableOrder(): Promise<{ openid: string; transactionId: string }>;
}

export function mpRig(options: { store?: SimStore; clock?: ManualClock } = {}): MpRig {
  const base = rig({ ...options, pushToken: PUSH.token, pushEncodingAesKey: PUSH.encodingAesKey });
  const r = base as MpRig;
  r.api = async (path, body) => {
    const response = await base.raw(path, { method: "POST", headers: { "content-type": "application/json" }, body: typeof body === "string" ? body : JSON.stringify(body) });
    return (await response.json()) as never;
  };
  r.token = async () => {
    const answer = await r.api<{ access_token: string }>("/cgi-bin/stable_token", { grant_type: "client_credential", appid: CONFIG.appid, secret: CONFIG.secret, force_refresh: false });
    return answer.access_token;
  };
  r.shippableOrder = async () => {
    const { transactionId } = await base.paidOrder();
    const openid = await base.openid("payer");
    base.clock.advance(60);
    return { openid, transactionId };
  };
  return r;
}

/** A valid express upload_shipping_info body for ORDER-0001, with overrides. */
export function uploadBody(openid: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    order_key: { order_number_type: 1, mchid: CONFIG.mchId, out_trade_no: "ORDER-0001" },
    logistics_type: 1,
    delivery_mode: 1,
    shipping_list: [{ tracking_no: "SF1234567890", express_company: "SF", item_desc: "Coffee x1" }],
    upload_time: "2026-05-20T10:05:00.000+08:00",
    payer: { openid },
    ...overrides,
  };
}
