// Test rig for the simulator alone: a fresh simulator per test with a manual clock and a captured
// notification endpoint, plus a client that signs v2 requests the way a merchant must.
import { formatBeijingTime } from "../../sim/src/clock";
import { signV2, type SignType } from "../../sim/src/sign";
import { createSimulator, type Simulator } from "../../sim/src/simulator";
import { buildWeChatXml, parseWeChatXml, type XmlFields } from "../../sim/src/xml";

/** The local-development credentials (sim/wrangler.toml). */
export const CONFIG = {
  appid: "wx5f0c3a9e7d1b2c4a",
  secret: "0f6b1c2d3e4a5b6c7d8e9f0a1b2c3d4e",
  mchId: "1900000109",
  key: "sim0key0for0local0dev0only000032",
} as const;

export const NOTIFY_URL = "https://merchant.example.com/wxpay/notify";
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
  /** POSTs a signed v2 request; `fields` override or (with undefined) remove the defaults. */
  pay(api: string, fields: Record<string, string | undefined>, signType?: SignType | "none"): Promise<PayReply>;
  /** A valid unifiedorder for `openid` with the given overrides. */
  unifiedOrder(openid: string, overrides?: Record<string, string | undefined>, signType?: SignType | "none"): Promise<PayReply>;
  /** Raw request to a simulator path. */
  raw(path: string, init?: RequestInit): Promise<Response>;
}

export function rig(options: { notifyTimeoutMs?: number } = {}): Rig {
  const clock = new ManualClock();
  const notifications: CapturedNotification[] = [];
  const state: Rig = {
    clock,
    notifications,
    reply: ACK,
    sim: createSimulator({
      ...CONFIG,
      clock,
      notifyTimeoutMs: options.notifyTimeoutMs,
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
    async pay(api, overrides, signType = "none") {
      const fields: Record<string, string> = {};
      const base = { appid: CONFIG.appid, mch_id: CONFIG.mchId, nonce_str: crypto.randomUUID().replaceAll("-", "") };
      for (const [name, value] of Object.entries({ ...base, ...overrides })) {
        if (value !== undefined) fields[name] = value;
      }
      if (signType !== "none") fields.sign_type = signType;
      if (!("sign" in overrides)) fields.sign = await signV2(fields, CONFIG.key, signType === "none" ? "MD5" : signType);
      const response = await state.raw(`/pay/${api}`, { method: "POST", headers: { "content-type": "text/xml" }, body: buildWeChatXml(fields) });
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
    raw(path, init) {
      return state.sim.fetch(new Request(`http://sim.test${path}`, init));
    },
  };
  return state;
}

/** Beijing yyyyMMddHHmmss `seconds` after the rig's clock. */
export function beijingIn(r: Rig, seconds: number): string {
  return formatBeijingTime(r.sim.now() + seconds * 1000);
}
