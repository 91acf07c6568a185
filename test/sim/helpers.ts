// Test rig for the simulator alone: a fresh simulator per test with a manual clock and a captured
// notification endpoint, plus a client that signs v2 requests the way a merchant must.
import { formatBeijingTime } from "../../sim/src/clock";
import { decryptReqInfo } from "../../sim/src/refund-crypto";
import { signV2, type SignType } from "../../sim/src/sign";
import { createSimulator, type SimStore, type Simulator } from "../../sim/src/simulator";
import { buildWeChatXml, parseWeChatXml, type XmlFields } from "../../sim/src/xml";

/** The local-development credentials (sim/wrangler.toml). */
export const CONFIG = {
  appid: "wx5f0c3a9e7d1b2c4a",
  secret: "0f6b1c2d3e4a5b6c7d8e9f0a1b2c3d4e",
  mchId: "1900000109",
  key: "sim0key0for0local0dev0only000032",
} as const;

export const NOTIFY_URL = "https://merchant.example.com/wxpay/notify";
export const REFUND_NOTIFY_URL = "https://merchant.example.com/wxpay/refund-notify";
/** 2026-05-20 10:00:00 Beijing time. */
export const START = Date.UTC(2026, 4, 20, 2, 0, 0);

export class ManualClock {
  constructor(public ms = START) {}
  now(): number {
    return this.ms;
  }
  advance(seconds: number): void {
    this.ms += seconds * 1000;
  }
}

export interface CapturedNotification {
  url: string;
  contentType: string | null;
  body: string;
  fields: XmlFields;
}

export type Reply = (notification: CapturedNotification) => Response | Promise<Response>;

export const ACK = () => new Response("<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>");
export const NACK = () => new Response("<xml><return_code><![CDATA[FAIL]]></return_code><return_msg><![CDATA[busy]]></return_msg></xml>");

export interface PayReply {
  status: number;
  raw: string;
  fields: XmlFields;
}

export interface Rig {
  sim: Simulator;
  clock: ManualClock;
  /** Every notification POSTed by the simulator, in order. */
  notifications: CapturedNotification[];
  /** How the fake merchant answers notifications; acknowledges by default. */
  reply: Reply;
  /** Calls the control API with a JSON body (POST), or GET when `body` is undefined. */
  control<T = Record<string, unknown>>(path: string, body?: unknown, method?: string): Promise<{ status: number; json: T }>;
  /** Mints a login code and returns the user's openid (registered under the configured appid). */
  openid(user?: string): Promise<string>;
  /** POSTs a signed v2 request to /pay/`api`; `fields` override or (with undefined) remove the defaults. */
  pay(api: string, fields: Record<string, string | undefined>, signType?: SignType | "none"): Promise<PayReply>;
  /** The same, to any path (e.g. /secapi/pay/refund). */
  post(path: string, fields: Record<string, string | undefined>, signType?: SignType | "none"): Promise<PayReply>;
  /**
   * A valid refund of ORDER-0001 (total 1800): REFUND-0001 of 600 fen with REFUND_NOTIFY_URL, with
   * the given overrides (undefined removes a field).
   */
  refund(overrides?: Record<string, string | undefined>, signType?: SignType | "none"): Promise<PayReply>;
  /** Places ORDER-0001 (1800 fen) and pays it; the payment notification is acknowledged and then forgotten. */
  paidOrder(overrides?: Record<string, string | undefined>): Promise<{ transactionId: string }>;
  /** A valid unifiedorder for `openid` with the given overrides. */
  unifiedOrder(openid: string, overrides?: Record<string, string | undefined>, signType?: SignType | "none"): Promise<PayReply>;
  /** Raw request to a simulator path. */
  raw(path: string, init?: RequestInit): Promise<Response>;
}

/** A fresh simulator; with a store and the clock of an earlier rig, the same simulator built again. */
export function rig(
  options: { notifyTimeoutMs?: number; store?: SimStore; clock?: ManualClock; pushToken?: string; pushEncodingAesKey?: string } = {},
): Rig {
  const clock = options.clock ?? new ManualClock();
  const notifications: CapturedNotification[] = [];
  const state: Rig = {
    clock,
    notifications,
    reply: ACK,
    sim: createSimulator({
      ...CONFIG,
      clock,
      notifyTimeoutMs: options.notifyTimeoutMs,
      store: options.store,
      pushToken: options.pushToken,
      pushEncodingAesKey: options.pushEncodingAesKey,
      deliver: async (url, init) => {
        const body = String(init.body);
        const parsed = parseWeChatXml(body);
        const captured: CapturedNotification = {
          url,
          contentType: new Headers(init.headers).get("content-type"),
          body,
          fields: parsed.ok ? parsed.fields : {},
        };
        notifications.push(captured);
        return state.reply(captured);
      },
    }),
    async control(path, body, method) {
      const init: RequestInit =
        body === undefined
          ? { method: method ?? "GET" }
          : { method: method ?? "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) };
      const response = await state.sim.fetch(new Request(`http://sim.test${path}`, init));
      return { status: response.status, json: (await response.json()) as never };
    },
    async openid(user) {
      const { json } = await state.control<{ openid: string }>("/__sim/login-codes", user === undefined ? {} : { user });
      return json.openid;
    },
    pay(api, overrides, signType = "none") {
      return state.post(`/pay/${api}`, overrides, signType);
    },
    async post(path, overrides, signType = "none") {
      const fields: Record<string, string> = {};
      const base = { appid: CONFIG.appid, mch_id: CONFIG.mchId, nonce_str: crypto.randomUUID().replaceAll("-", "") };
      for (const [name, value] of Object.entries({ ...base, ...overrides })) {
        if (value !== undefined) fields[name] = value;
      }
      if (signType !== "none") fields.sign_type = signType;
      if (!("sign" in overrides)) fields.sign = await signV2(fields, CONFIG.key, signType === "none" ? "MD5" : signType);
      const response = await state.raw(path, { method: "POST", headers: { "content-type": "text/xml" }, body: buildWeChatXml(fields) });
      const raw = await response.text();
      const parsed = parseWeChatXml(raw);
      return { status: response.status, raw, fields: parsed.ok ? parsed.fields : {} };
    },
    unifiedOrder(openid, overrides = {}, signType = "none") {
      return state.pay(
        "unifiedorder",
        {
          body: "Coffee shop-Coffee",
          out_trade_no: "ORDER-0001",
          total_fee: "1800",
          spbill_create_ip: "203.0.113.7",
          notify_url: NOTIFY_URL,
          trade_type: "JSAPI",
          openid,
          ...overrides,
        },
        signType,
      );
    },
    refund(overrides = {}, signType = "none") {
      return state.post(
        "/secapi/pay/refund",
        {
          out_trade_no: "ORDER-0001",
          out_refund_no: "REFUND-0001",
          total_fee: "1800",
          refund_fee: "600",
          notify_url: REFUND_NOTIFY_URL,
          ...overrides,
        },
        signType,
      );
    },
    async paidOrder(overrides = {}) {
      const placed = await state.unifiedOrder(await state.openid("payer"), overrides);
      if (placed.fields.result_code !== "SUCCESS") throw new Error(`unifiedorder failed: ${placed.raw}`);
      const paid = await state.control<{ transactionId: string }>("/__sim/orders/ORDER-0001/pay", {});
      if (paid.status !== 200) throw new Error("pay failed");
      notifications.length = 0;
      return paid.json;
    },
    raw(path, init) {
      return state.sim.fetch(new Request(`http://sim.test${path}`, init));
    },
  };
  return state;
}

/** The decrypted req_info fields of a captured refund notification (with the simulator's own crypto). */
export async function refundInfo(notification: CapturedNotification, key: string = CONFIG.key): Promise<XmlFields> {
  const plain = await decryptReqInfo(notification.fields.req_info ?? "", key);
  if (plain === null) throw new Error("req_info did not decrypt");
  const parsed = parseWeChatXml(plain, "root");
  if (!parsed.ok) throw new Error(`req_info is not <root> XML: ${parsed.reason}`);
  return parsed.fields;
}

/** Beijing yyyyMMddHHmmss `seconds` after the rig's clock. */
export function beijingIn(r: Rig, seconds: number): string {
  return formatBeijingTime(r.sim.now() + seconds * 1000);
}
