// Test rig for the simulator's API v3: a simulator configured with the fixture keys, a merchant that
// signs requests with the service's own v3 signing code (the protocol reference's other side), and
// checks of every answer and notification with the service's verifier, so each test is a
// conversation between two independent implementations.
import { createSimulator, type SimStore, type Simulator, type SimV3Options } from "../../sim/src/simulator";
import {
  authorizationHeader,
  importMerchantPrivateKey,
  importWeChatPayPublicKey,
  openNotification,
  parsePlatformCertificate,
  verifyWeChatPaySignature,
  type SignatureCheck,
} from "../../src/wechat/v3";
import { MERCHANT_KEY, PLATFORM_CERT, PLATFORM_KEY, WECHATPAY_PUBKEY_PRIVATE, WECHATPAY_PUBLIC_KEY } from "../fixtures/v3-keys";
import { CONFIG, ManualClock } from "./helpers";

export const V3: SimV3Options = {
  apiV3Key: "sim0v3key0for0local0dev0only0032",
  merchantSerial: "6B2D1F0A9C8E7D6C5B4A39281706F5E4D3C2B1A0",
  merchantPrivateKey: MERCHANT_KEY,
  platformPrivateKey: PLATFORM_KEY,
  platformCertificate: PLATFORM_CERT,
  publicKeyId: "PUB_KEY_ID_0119000001092026120100000000000001",
  publicKeyPrivateKey: WECHATPAY_PUBKEY_PRIVATE,
};
/** The fixture platform certificate's serial. */
export const PLATFORM_SERIAL = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1";
/** 2026-12-02 10:00:00 Beijing time: inside the fixture certificate's validity (from 2026-12-01). */
export const V3_START = Date.UTC(2026, 11, 2, 2, 0, 0);
export const V3_NOTIFY_URL = "https://merchant.example.com/wxpay/v3/notify";
export const V3_REFUND_NOTIFY_URL = "https://merchant.example.com/wxpay/v3/refund-notify";
export const ORDER = "ORDER-V3-0001";

let merchantKey: Promise<CryptoKey> | null = null;
let verificationKeys: Promise<Map<string, CryptoKey>> | null = null;

/** WeChat's two public keys, by the serial that names them: the WeChat Pay public key and the certificate's. */
function keysBySerial(): Promise<Map<string, CryptoKey>> {
  verificationKeys ??= (async () =>
    new Map([
      [V3.publicKeyId, await importWeChatPayPublicKey(WECHATPAY_PUBLIC_KEY)],
      [PLATFORM_SERIAL, (await parsePlatformCertificate(PLATFORM_CERT)).key],
    ]))();
  return verificationKeys;
}

/** The service's verifier over headers and raw body, with both of WeChat's keys, at sim time `now`. */
export async function verify(headers: Headers, body: string, now: number): Promise<SignatureCheck> {
  const keys = await keysBySerial();
  return verifyWeChatPaySignature(headers, body, { keyFor: (serial) => keys.get(serial) }, now);
}

export interface V3Answer {
  status: number;
  headers: Headers;
  text: string;
  json: Record<string, any>;
  /** The answer's signature, checked by the service's verifier. */
  check: SignatureCheck;
}

export interface V3Notification {
  url: string;
  headers: Headers;
  body: string;
}

export interface CallOptions {
  /** Wechatpay-Serial to send (the migration opt-in). */
  serial?: string;
  /** An Authorization header to send instead of a correct one. */
  authorization?: string;
  /** Signs as if at this unix time. */
  timestamp?: string;
  /** Signs this text but sends `body`. */
  signedBody?: string;
}

export interface V3Rig {
  sim: Simulator;
  clock: ManualClock;
  notifications: V3Notification[];
  /** How the merchant answers notifications; 204 by default. */
  reply: (notification: V3Notification) => Response | Promise<Response>;
  control<T = Record<string, any>>(path: string, body?: unknown): Promise<{ status: number; json: T }>;
  openid(user?: string): Promise<string>;
  /** A v3 request signed as the merchant (unless options say otherwise). */
  call(method: "GET" | "POST", path: string, body?: unknown, options?: CallOptions): Promise<V3Answer>;
  /** A valid JSAPI prepay of ORDER (1800 fen) for `openid`, with top-level overrides (undefined removes). */
  prepay(openid: string, overrides?: Record<string, unknown>): Promise<V3Answer>;
  /** Places ORDER and pays it; its notification is acknowledged and then forgotten. */
  paidOrder(): Promise<{ transactionId: string }>;
  /** A valid refund of ORDER: REFUND-V3-0001 of 600 fen, with top-level overrides. */
  refund(overrides?: Record<string, unknown>): Promise<V3Answer>;
  /** The notification's envelope and decrypted resource (the service's AEAD code). */
  open(notification: V3Notification): Promise<{ envelope: Record<string, any>; resource: Record<string, any> }>;
}

export function v3Rig(options: { store?: SimStore; clock?: ManualClock; notifyTimeoutMs?: number; v3?: SimV3Options } = {}): V3Rig {
  const clock = options.clock ?? new ManualClock(V3_START);
  const notifications: V3Notification[] = [];
  const r: V3Rig = {
    clock,
    notifications,
    reply: () => new Response(null, { status: 204 }),
    sim: createSimulator({
      ...CONFIG,
      clock,
      store: options.store,
      notifyTimeoutMs: options.notifyTimeoutMs,
      v3: options.v3 ?? V3,
      deliver: async (url, init) => {
        const notification = { url, headers: new Headers(init.headers), body: String(init.body) };
        notifications.push(notification);
        return r.reply(notification);
      },
    }),
    async control(path, body) {
      const init: RequestInit = body === undefined ? {} : { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) };
      const response = await r.sim.fetch(new Request(`http://sim.test${path}`, init));
      return { status: response.status, json: (await response.json()) as never };
    },
    async openid(user = "payer") {
      return (await r.control<{ openid: string }>("/__sim/login-codes", { user })).json.openid;
    },
    async call(method, path, body, callOptions = {}) {
      const text = body === undefined ? "" : typeof body === "string" ? body : JSON.stringify(body);
      merchantKey ??= importMerchantPrivateKey(MERCHANT_KEY);
      const authorization =
        callOptions.authorization ??
        (await authorizationHeader(
          { mchid: CONFIG.mchId, serialNo: V3.merchantSerial, privateKey: await merchantKey },
          { method, pathWithQuery: path, body: callOptions.signedBody ?? text, timestamp: callOptions.timestamp ?? String(Math.floor(r.sim.now() / 1000)) },
        ));
      const headers: Record<string, string> = { Authorization: authorization, Accept: "application/json", "User-Agent": "v3-test" };
      if (body !== undefined) headers["Content-Type"] = "application/json";
      if (callOptions.serial !== undefined) headers["Wechatpay-Serial"] = callOptions.serial;
      const response = await r.sim.fetch(new Request(`http://sim.test${path}`, { method, headers, ...(body === undefined ? {} : { body: text }) }));
      const answer = await response.text();
      return {
        status: response.status,
        headers: response.headers,
        text: answer,
        json: answer === "" ? {} : (JSON.parse(answer) as Record<string, any>),
        check: await verify(response.headers, answer, r.sim.now()),
      };
    },
    async prepay(openid, overrides = {}) {
      const body: Record<string, unknown> = {
        appid: CONFIG.appid,
        mchid: CONFIG.mchId,
        description: "Coffee shop-Coffee",
        out_trade_no: ORDER,
        notify_url: V3_NOTIFY_URL,
        amount: { total: 1800, currency: "CNY" },
        payer: { openid },
        ...overrides,
      };
      for (const [name, value] of Object.entries(body)) if (value === undefined) delete body[name];
      return r.call("POST", "/v3/pay/transactions/jsapi", body);
    },
    async paidOrder() {
      const placed = await r.prepay(await r.openid());
      if (placed.status !== 200) throw new Error(`prepay failed: ${placed.text}`);
      const paid = await r.control<{ transactionId: string }>(`/__sim/orders/${ORDER}/pay`, {});
      if (paid.status !== 200) throw new Error("pay failed");
      notifications.length = 0;
      return paid.json;
    },
    refund(overrides = {}) {
      const body: Record<string, unknown> = {
        out_trade_no: ORDER,
        out_refund_no: "REFUND-V3-0001",
        notify_url: V3_REFUND_NOTIFY_URL,
        amount: { refund: 600, total: 1800, currency: "CNY" },
        ...overrides,
      };
      for (const [name, value] of Object.entries(body)) if (value === undefined) delete body[name];
      return r.call("POST", "/v3/refund/domestic/refunds", body);
    },
    async open(notification) {
      const { resource } = await openNotification(notification.body, V3.apiV3Key);
      return { envelope: JSON.parse(notification.body) as Record<string, any>, resource };
    },
  };
  return r;
}
