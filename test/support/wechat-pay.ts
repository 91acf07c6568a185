// The WeChat Pay API version a test project runs on (vitest.config.ts: WECHATPAY_API_VERSION), in the
// words the order suites use, so that one suite specifies the service on v2 and on v3: which of the
// simulator's APIs is the prepay, the query, the close, the refund and the refund query, and what a
// call to one of them asked, in the contract's terms; where WeChat's notifications go; a genuine
// notification re-sealed with other claims or a bad seal (a forgery, a tampered copy); the verdict
// of the service's reply (v2: the SUCCESS / FAIL document; v3: 204 / 4xx-5xx {"code":"FAIL"}).
// Notifications are sealed with the simulator's own signing and encryption code (sim/src), never the
// service's; only a v3 template is read with the service's reader, the simulator having none.
import { parseBeijingTime, parseRfc3339 } from "../../sim/src/clock";
import type { FaultApi } from "../../sim/src/faults";
import { randomString } from "../../sim/src/ids";
import { decryptReqInfo, encryptReqInfo } from "../../sim/src/refund-crypto";
import { signV2 } from "../../sim/src/sign";
import { aeadEncrypt, importApiV3Key, importPrivateKey, pemToDer, publicKeyOf, rsaSign, rsaVerify, signedMessage, toBase64 } from "../../sim/src/v3/crypto";
import { buildRefundInfoXml, buildWeChatXml, parseWeChatXml, type XmlFields } from "../../sim/src/xml";
import { openNotification } from "../../src/wechat/v3";
import { MERCHANT_KEY, WECHATPAY_PUBKEY_PRIVATE } from "../fixtures/v3-keys";
import { V3_SIM_SETTINGS } from "./v3-settings";

export type ApiVersion = "v2" | "v3";

/** WeChat Pay's APIs by what they do; the simulator names them per version (unifiedorder, v3_jsapi, …). */
export type PayApi = "prepay" | "query" | "close" | "refund" | "refundquery";

const SIM_API = {
  v2: { prepay: "unifiedorder", query: "orderquery", close: "closeorder", refund: "refund", refundquery: "refundquery" },
  v3: { prepay: "v3_jsapi", query: "v3_query", close: "v3_close", refund: "v3_refund", refundquery: "v3_refundquery" },
} as const satisfies Record<ApiVersion, Record<PayApi, FaultApi>>;

/** The simulator's APIs that are the same in both versions (login, the mini-program's server APIs, the notifications). */
export type CommonApi = Exclude<FaultApi, (typeof SIM_API)[ApiVersion][PayApi]>;

/** What the service asked WeChat in one call, as the simulator logged it. */
export interface PayCall {
  /** WeChat's answer: "SUCCESS", or its error code (or "http_500") */
  readonly outcome: string;
  /** the fields as WeChat received them: v2 XML elements; v3 JSON as dotted paths, path and query parameters */
  readonly fields: Readonly<Record<string, string>>;
  /** the fields a retry must repeat exactly: all of them but v2's per-request nonce_str and sign */
  readonly business: Readonly<Record<string, string>>;
  /** The call in the contract's words, each present when the call carries it. */
  readonly outTradeNo?: string;
  readonly outRefundNo?: string;
  readonly appid?: string;
  readonly mchid?: string;
  readonly openid?: string;
  /** the order's amount in fen, as sent */
  readonly total?: string;
  /** the refund's amount in fen, as sent */
  readonly refund?: string;
  readonly description?: string;
  readonly notifyUrl?: string;
  readonly clientIp?: string;
  readonly reason?: string;
  /** time_expire, read from v2's Beijing time or v3's RFC 3339 (ms) */
  readonly timeExpire?: number;
}

type Named = Exclude<keyof PayCall, "outcome" | "fields" | "business" | "timeExpire">;

/** Where each version writes what PayCall names (a v3 query and close name the order in their path). */
const FIELD_NAMES: Readonly<Record<ApiVersion, Readonly<Record<Named | "timeExpire", readonly string[]>>>> = {
  v2: {
    outTradeNo: ["out_trade_no"], outRefundNo: ["out_refund_no"], appid: ["appid"], mchid: ["mch_id"], openid: ["openid"], total: ["total_fee"],
    refund: ["refund_fee"], description: ["body"], notifyUrl: ["notify_url"], clientIp: ["spbill_create_ip"], reason: ["refund_desc"], timeExpire: ["time_expire"],
  },
  v3: {
    outTradeNo: ["out_trade_no", "outTradeNo"], outRefundNo: ["out_refund_no", "outRefundNo"], appid: ["appid"], mchid: ["mchid"], openid: ["payer.openid"], total: ["amount.total"],
    refund: ["amount.refund"], description: ["description"], notifyUrl: ["notify_url"], clientIp: ["scene_info.payer_client_ip"], reason: ["reason"], timeExpire: ["time_expire"],
  },
};

/** Which of the service's webhooks a notification is for. */
export type NotifyKind = "pay" | "refund";

/**
 * How a notification is authenticated: as WeChat does it ("genuine"), not at all ("none"), with
 * something that is no seal ("garbage"), or correctly but with a key that is neither ours nor
 * WeChat's ("foreign"). v2 payment: the sign; v2 refund: req_info's encryption with our key; v3: the
 * Wechatpay-Signature over the raw body (the resource is encrypted with the APIv3 key in every case).
 */
export type Seal = "genuine" | "none" | "garbage" | "foreign";

/** One notification POST: to a webhook path, a body, and (v3) the seal its headers get when it is sent. */
export interface NotificationPost {
  readonly path: string;
  readonly body: string | Uint8Array;
  readonly seal: Seal;
}

/** What a payment notification claims, in the contract's words; each one given replaces WeChat's. */
export interface PaymentClaims {
  readonly orderId?: string;
  /** fen */
  readonly amount?: number;
  readonly appid?: string;
  readonly mchid?: string;
  /** an authentic notice that the payment failed (v2 result_code FAIL; v3 trade_state PAYERROR) */
  readonly failed?: true;
}

/** What a refund notification claims; v3's carry no appid. */
export interface RefundClaims {
  readonly orderId?: string;
  readonly refundId?: string;
  /** fen refunded */
  readonly amount?: number;
  /** fen of the order */
  readonly total?: number;
  readonly appid?: string;
  readonly mchid?: string;
}

/** How the service answered a notification, in WeChat's terms; anything else is spelled out as "unexpected …". */
export type Verdict = "acknowledged" | "refused" | `unexpected ${string}`;

/** The five wx.requestPayment fields. */
export interface Payment {
  readonly timeStamp: string;
  readonly nonceStr: string;
  readonly package: string;
  readonly signType: string;
  readonly paySign: string;
}

export interface PaySettings {
  readonly appid: string;
  readonly mchid: string;
  /** the v2 key and sign type (both versions: v2's notifications stay live under v3) */
  readonly key: string;
  readonly signType: "MD5" | "HMAC-SHA256";
  readonly publicBaseUrl: string;
}

export interface WeChatPay {
  readonly version: ApiVersion;
  /** The simulator's name of a WeChat Pay API in this version (for its call log and faults). */
  simApi(api: PayApi | CommonApi): FaultApi;
  /** Whether the service calls this simulator API in this version (false for the other version's pay APIs). */
  speaks(simApi: FaultApi): boolean;
  /** A logged call in the contract's words. */
  readCall(call: { fields: Record<string, string>; outcome: string }): PayCall;
  /** The notify URL the service gives WeChat with each prepay or refund. */
  notifyUrl(kind: NotifyKind): string;
  /** payment.signType in this version: the merchant's v2 sign type, or RSA. */
  readonly paySignType: string;
  /** Whether paySign signs the other four fields (and appId) with the merchant's key: v2 HMAC-SHA256, v3 SHA256withRSA. */
  verifyPaySign(payment: Payment): Promise<boolean>;
  /** WeChat's word for a refund that closed without paying out, as the admin view's `failure` keeps it. */
  readonly refundClosed: string;
  /** The injected fault with which WeChat says of a refund "not now; the same request later". */
  readonly refundNotYet: string;
  /** The ways a notification of this kind can name another merchant: each a claim to try. */
  foreignMerchant(kind: NotifyKind): (PaymentClaims & RefundClaims)[];
  /** A genuine payment notification's copy with other claims and seal. */
  payment(template: NotificationPost, claims: PaymentClaims, seal?: Seal): Promise<NotificationPost>;
  /** A genuine refund notification's copy with other claims and seal. */
  refund(template: NotificationPost, claims: RefundClaims, seal?: Seal): Promise<NotificationPost>;
  /** Any body, to a webhook of this version, sealed as WeChat seals what it sends (v2 bodies carry their own sign). */
  raw(kind: NotifyKind, body: string | Uint8Array, seal?: Seal): NotificationPost;
  /** The request that sends a notification now (v3: its signature made now, as WeChat signs each attempt). */
  request(post: NotificationPost): Promise<RequestInit>;
  /** The seals a notification was sent with (v2: its sign; v3: the signature of the request that sent it): never to be logged. */
  sealsOf(post: NotificationPost, sent: RequestInit): string[];
  /** The signatures of the service's own requests to WeChat (v2: each call's sign; v3: each Authorization's signature). */
  requestSignatures(outbound: readonly Request[], calls: readonly PayCall[]): string[];
  /** The verdict on the service's reply, by the rules of the webhook's version. */
  verdict(post: NotificationPost, response: Response): Promise<Verdict>;
}

const V2_SUCCESS = "<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>";
const V3_PATH = /^\/api\/v3\//;
/** A v2 key that is not the merchant's, and (v3) a key that is not WeChat's: the merchant's own. */
const FOREIGN_V2_KEY = "x".repeat(32);

/** The WeChat Pay of one test project. */
export function wechatPay(version: ApiVersion, settings: PaySettings): WeChatPay {
  const v3Keys = lazyV3Keys();
  const names = FIELD_NAMES[version];
  const path = (kind: NotifyKind) => (version === "v3" ? `/api/v3/${kind}/notify` : `/api/${kind}/notify`);

  return {
    version,
    simApi: (api) => (isPayApi(api) ? SIM_API[version][api] : api),
    speaks: (simApi) => !onlyIn(version === "v2" ? "v3" : "v2").includes(simApi),

    readCall({ fields, outcome }) {
      const view: Record<string, unknown> = { outcome, fields, business: version === "v2" ? withoutKeys(fields, ["nonce_str", "sign"]) : fields };
      for (const [name, candidates] of Object.entries(names)) {
        const found = candidates.map((candidate) => fields[candidate]).find((value) => value !== undefined);
        if (found === undefined) continue;
        view[name] = name === "timeExpire" ? ((version === "v2" ? parseBeijingTime(found) : parseRfc3339(found)) ?? Number.NaN) : found;
      }
      return view as unknown as PayCall;
    },

    notifyUrl: (kind) => settings.publicBaseUrl + path(kind),
    paySignType: version === "v2" ? settings.signType : "RSA",

    async verifyPaySign(payment) {
      if (version === "v2") {
        const signed = { appId: settings.appid, nonceStr: payment.nonceStr, package: payment.package, signType: payment.signType, timeStamp: payment.timeStamp };
        return payment.signType === settings.signType && payment.paySign === (await signV2(signed, settings.key, settings.signType));
      }
      const message = signedMessage([settings.appid, payment.timeStamp, payment.nonceStr, payment.package]);
      return payment.signType === "RSA" && rsaVerify((await v3Keys()).merchantPublic, message, payment.paySign);
    },

    refundClosed: version === "v2" ? "REFUNDCLOSE" : "CLOSED",
    refundNotYet: version === "v2" ? "BIZERR_NEED_RETRY" : "SYSTEMERROR",

    foreignMerchant: (kind) =>
      version === "v3" && kind === "refund" ? [{ mchid: "1900000000" }] : [{ appid: "wx0000000000000000" }, { mchid: "1900000000" }],

    async payment(template, claims, seal = "genuine") {
      if (version === "v2") {
        const fields = v2Fields(template);
        const changed: XmlFields = { ...fields };
        if (claims.orderId !== undefined) changed.out_trade_no = claims.orderId;
        if (claims.amount !== undefined) changed.total_fee = String(claims.amount);
        if (claims.appid !== undefined) changed.appid = claims.appid;
        if (claims.mchid !== undefined) changed.mch_id = claims.mchid;
        if (claims.failed) Object.assign(changed, { result_code: "FAIL", err_code: "NOTENOUGH", err_code_des: "余额不足" });
        return { path: template.path, body: await signedV2(changed, seal, settings.key), seal };
      }
      const { envelope, resource } = await openV3(template);
      const amount = resource.amount as Record<string, unknown>;
      const changed: Record<string, unknown> = { ...resource };
      if (claims.orderId !== undefined) changed.out_trade_no = claims.orderId;
      if (claims.amount !== undefined) changed.amount = { ...amount, total: claims.amount, payer_total: claims.amount };
      if (claims.appid !== undefined) changed.appid = claims.appid;
      if (claims.mchid !== undefined) changed.mchid = claims.mchid;
      if (claims.failed) Object.assign(changed, { trade_state: "PAYERROR", trade_state_desc: "支付失败" });
      return { path: template.path, body: await sealedV3(envelope, changed, (await v3Keys()).apiV3), seal };
    },

    async refund(template, claims, seal = "genuine") {
      if (version === "v2") {
        const outer = v2Fields(template);
        const inner = parseOrThrow((await decryptReqInfo(outer.req_info ?? "", settings.key)) ?? "", "root");
        if (claims.orderId !== undefined) inner.out_trade_no = claims.orderId;
        if (claims.refundId !== undefined) inner.out_refund_no = claims.refundId;
        if (claims.amount !== undefined) inner.refund_fee = String(claims.amount);
        if (claims.total !== undefined) inner.total_fee = String(claims.total);
        if (claims.appid !== undefined) outer.appid = claims.appid;
        if (claims.mchid !== undefined) outer.mch_id = claims.mchid;
        const plain = buildRefundInfoXml(inner);
        // The refund notification has no sign: encryption with the merchant's key is its seal.
        const reqInfo = {
          genuine: () => encryptReqInfo(plain, settings.key),
          none: async () => btoa(String.fromCharCode(...new TextEncoder().encode(plain))),
          garbage: async () => "not base64 !!",
          foreign: () => encryptReqInfo(plain, FOREIGN_V2_KEY),
        }[seal];
        return { path: template.path, body: buildWeChatXml({ ...outer, req_info: await reqInfo() }), seal };
      }
      if (claims.appid !== undefined) throw new Error("a v3 refund notification carries no appid");
      const { envelope, resource } = await openV3(template);
      const amount = resource.amount as Record<string, unknown>;
      const changed: Record<string, unknown> = { ...resource };
      if (claims.orderId !== undefined) changed.out_trade_no = claims.orderId;
      if (claims.refundId !== undefined) changed.out_refund_no = claims.refundId;
      if (claims.amount !== undefined || claims.total !== undefined) {
        changed.amount = { ...amount, ...(claims.amount !== undefined ? { refund: claims.amount, payer_refund: claims.amount } : {}), ...(claims.total !== undefined ? { total: claims.total, payer_total: claims.total } : {}) };
      }
      if (claims.mchid !== undefined) changed.mchid = claims.mchid;
      return { path: template.path, body: await sealedV3(envelope, changed, (await v3Keys()).apiV3), seal };
    },

    raw: (kind, body, seal = "genuine") => ({ path: path(kind), body, seal }),

    async request(post) {
      if (!V3_PATH.test(post.path)) return { method: "POST", headers: { "Content-Type": "text/xml" }, body: post.body };
      const bytes = typeof post.body === "string" ? new TextEncoder().encode(post.body) : post.body;
      return { method: "POST", headers: { "Content-Type": "application/json", ...(await v3Signature(bytes, post.seal, await v3Keys())) }, body: bytes };
    },

    sealsOf(post, sent) {
      if (V3_PATH.test(post.path)) return [new Headers(sent.headers).get("Wechatpay-Signature")].filter((s): s is string => s !== null);
      return [v2Fields(post).sign].filter((s): s is string => s !== undefined);
    },

    requestSignatures(outbound, calls) {
      if (version === "v2") return calls.map((c) => c.fields.sign).filter((s): s is string => s !== undefined);
      return outbound.map((r) => /signature="([^"]+)"/.exec(r.headers.get("Authorization") ?? "")?.[1]).filter((s): s is string => s !== undefined);
    },

    async verdict(post, response) {
      const text = await response.text();
      if (V3_PATH.test(post.path)) {
        if (response.status === 204 && text === "") return "acknowledged";
        if (response.status >= 400 && isV3Failure(text)) return "refused";
      } else {
        if (response.status === 200 && text === V2_SUCCESS) return "acknowledged";
        if (response.status !== 200 && parseWeChatXml(text).ok && (parseWeChatXml(text) as { fields: XmlFields }).fields.return_code === "FAIL") return "refused";
      }
      return `unexpected ${response.status} ${text.slice(0, 200)}`;
    },
  };
}

/** The simulator APIs only one version calls: its pay APIs, and v3's certificate download. */
function onlyIn(version: ApiVersion): FaultApi[] {
  return [...Object.values<FaultApi>(SIM_API[version]), ...(version === "v3" ? (["v3_certificates"] as const) : [])];
}

function isPayApi(api: PayApi | CommonApi): api is PayApi {
  return api in SIM_API.v2;
}

function withoutKeys(fields: Readonly<Record<string, string>>, names: readonly string[]): Record<string, string> {
  return Object.fromEntries(Object.entries(fields).filter(([name]) => !names.includes(name)));
}

function parseOrThrow(xml: string, root: "xml" | "root" = "xml"): XmlFields {
  const parsed = parseWeChatXml(xml, root);
  if (!parsed.ok) throw new Error(`not a WeChat XML document: ${parsed.reason}`);
  return { ...parsed.fields };
}

function v2Fields(post: NotificationPost): XmlFields {
  return parseOrThrow(typeof post.body === "string" ? post.body : new TextDecoder().decode(post.body));
}

/** v2 payment fields with their sign as `seal` says (HMAC-SHA256, with sign_type, as the service's merchant signs). */
async function signedV2(fields: XmlFields, seal: Seal, key: string): Promise<string> {
  const { sign: _old, ...unsigned } = fields;
  const withType = { ...unsigned, sign_type: "HMAC-SHA256" };
  const sign = {
    genuine: () => signV2(withType, key, "HMAC-SHA256"),
    none: async () => null,
    garbage: async () => "0".repeat(64),
    foreign: () => signV2(withType, FOREIGN_V2_KEY, "HMAC-SHA256"),
  }[seal];
  const made = await sign();
  return buildWeChatXml(made === null ? withType : { ...withType, sign: made });
}

interface V3Keys {
  /** the private half of WeChat Pay's public key: what signs genuine notifications */
  readonly wechatPay: CryptoKey;
  /** a key the service does not hold as WeChat's: the merchant's own */
  readonly foreign: CryptoKey;
  readonly merchantPublic: CryptoKey;
  readonly apiV3: CryptoKey;
}

function lazyV3Keys(): () => Promise<V3Keys> {
  let keys: Promise<V3Keys> | null = null;
  return () =>
    (keys ??= (async () => ({
      wechatPay: await importPrivateKey(pemToDer(WECHATPAY_PUBKEY_PRIVATE, "PRIVATE KEY")),
      foreign: await importPrivateKey(pemToDer(MERCHANT_KEY, "PRIVATE KEY")),
      merchantPublic: await publicKeyOf(pemToDer(MERCHANT_KEY, "PRIVATE KEY")),
      apiV3: await importApiV3Key(V3_SIM_SETTINGS.apiV3Key),
    }))());
}

async function openV3(post: NotificationPost): Promise<{ envelope: Record<string, unknown>; resource: Record<string, unknown> }> {
  const text = typeof post.body === "string" ? post.body : new TextDecoder().decode(post.body);
  const { resource } = await openNotification(text, V3_SIM_SETTINGS.apiV3Key);
  return { envelope: JSON.parse(text) as Record<string, unknown>, resource };
}

/** The envelope around `resource`, encrypted afresh (a new nonce) with the APIv3 key. */
async function sealedV3(envelope: Record<string, unknown>, resource: Record<string, unknown>, apiV3: CryptoKey): Promise<string> {
  const old = envelope.resource as Record<string, unknown>;
  const associatedData = typeof old.associated_data === "string" ? old.associated_data : "";
  const nonce = randomString(12, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789");
  const ciphertext = await aeadEncrypt(apiV3, JSON.stringify(resource), nonce, associatedData);
  return JSON.stringify({ ...envelope, resource: { ...old, ciphertext, nonce } });
}

/** The Wechatpay-* headers of one v3 POST of `body`, made now, as `seal` says. */
async function v3Signature(body: Uint8Array, seal: Seal, keys: V3Keys): Promise<Record<string, string>> {
  if (seal === "none") return {};
  const timestamp = String(Math.floor(Date.now() / 1000));
  const nonce = randomString(32, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");
  const message = signedMessage([timestamp, nonce, body]);
  const signature = {
    genuine: () => rsaSign(keys.wechatPay, message),
    garbage: async () => toBase64(crypto.getRandomValues(new Uint8Array(256))),
    foreign: () => rsaSign(keys.foreign, message),
  }[seal];
  return {
    "Wechatpay-Timestamp": timestamp,
    "Wechatpay-Nonce": nonce,
    "Wechatpay-Serial": V3_SIM_SETTINGS.publicKeyId,
    "Wechatpay-Signature": await signature(),
    "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
  };
}

function isV3Failure(text: string): boolean {
  try {
    const body = JSON.parse(text) as Record<string, unknown>;
    return body.code === "FAIL" && typeof body.message === "string" && body.message !== "";
  } catch {
    return false;
  }
}
