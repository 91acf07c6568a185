// WeChat's message push to the mini-program (消息推送): the URL check's signature, safe mode's msg_signature and AES-256-CBC envelope, freshness, the order-shipping events, and the fixed-order pipeline that opens a push. Never a hand-written cipher; never the token, the key or a body in an error.
//
// The protocol, from WeChat's "消息推送" guide (https://developers.weixin.qq.com/miniprogram/dev/framework/server-ability/message-push.html)
// and its "技术方案" for third-party platforms (https://developers.weixin.qq.com/doc/oplatform/en/Third-party_Platforms/Message_Encryption/Technical_Plan.html):
// - signature = sha1(the token, timestamp and nonce sorted as strings, concatenated), lower-case hex; the URL
//   check answers with echostr when it matches.
// - Safe mode (encrypt_type=aes): msg_signature = sha1(sorted token, timestamp, nonce and the body's Encrypt);
//   "do not use signature" for these. AESKey = Base64_Decode(EncodingAESKey + "="), 32 bytes; AES-256-CBC
//   with IV = the key's first 16 bytes; plaintext = random(16) ‖ msg_len (4 bytes, network order) ‖ msg ‖
//   appid, padded with PKCS#7 to a multiple of K = 32 (pad values 1–32); the appid must be ours.
//
// Web Crypto's AES-CBC insists on 16-byte PKCS#7 when decrypting, which rejects WeChat's pad values 17–32. As
// in aes-ecb.ts, one extra block X = E_k(P ⊕ C_n) (P = sixteen 0x10 bytes, C_n the last ciphertext block) is
// appended: CBC decrypts it to P, a full padding block Web Crypto strips, leaving every byte of WeChat's
// plaintext, whose 32-byte padding is then checked here, strictly. E_k is the runtime's AES (aesEcbEncrypt).
// Encryption pads to 32 bytes itself and drops the block Web Crypto's own padding adds at the end.
import { aesEcbEncrypt, importAesEcbKey } from "../aes-ecb";
import { jsonObject } from "../json";

const encoder = new TextEncoder();

/** How far a push's timestamp may be from our clock, either way. */
export const PUSH_MAX_SKEW_MS = 5 * 60_000;

/** sha1 over `parts` sorted as strings and concatenated, lower-case hex: WeChat's signature and msg_signature. */
export async function pushSignature(parts: readonly string[]): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-1", encoder.encode([...parts].sort().join(""))));
  return Array.from(digest, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

async function signatureMatches(parts: readonly string[], received: string): Promise<boolean> {
  // WeChat sends 40 lower-case hex digits; any other spelling is refused rather than normalised.
  if (!/^[0-9a-f]{40}$/.test(received)) return false;
  const expected = encoder.encode(await pushSignature(parts));
  return crypto.subtle.timingSafeEqual(expected, encoder.encode(received));
}

/** The URL check and plaintext pushes: `signature` over token, timestamp and nonce, compared in constant time. */
export function verifyPushSignature(check: { token: string; timestamp: string; nonce: string; signature: string }): Promise<boolean> {
  return signatureMatches([check.token, check.timestamp, check.nonce], check.signature);
}

/** Safe mode: `msg_signature` over token, timestamp, nonce and the body's Encrypt, compared in constant time. */
export function verifyPushMessageSignature(check: { token: string; timestamp: string; nonce: string; encrypt: string; msgSignature: string }): Promise<boolean> {
  return signatureMatches([check.token, check.timestamp, check.nonce, check.encrypt], check.msgSignature);
}

/** True when `timestamp` (seconds, decimal digits) is within PUSH_MAX_SKEW_MS of `nowMs`, either way. Pure. */
export function isFresh(timestamp: string | number, nowMs: number, maxSkewMs = PUSH_MAX_SKEW_MS): boolean {
  const text = String(timestamp);
  if (!/^\d{1,12}$/.test(text)) return false;
  return Math.abs(Number(text) * 1000 - nowMs) <= maxSkewMs;
}

export type PushCryptoReason = "bad_key" | "bad_base64" | "bad_length" | "bad_padding" | "bad_structure" | "wrong_appid" | "bad_utf8";

const CRYPTO_MESSAGES: Readonly<Record<PushCryptoReason, string>> = {
  bad_key: "the EncodingAESKey must be 43 characters of A-Z, a-z and 0-9",
  bad_base64: "Encrypt is not base64",
  bad_length: "Encrypt is not a whole, non-zero number of 32-byte blocks",
  bad_padding: "Encrypt did not decrypt (wrong key or altered ciphertext)",
  bad_structure: "the decrypted message length does not fit",
  wrong_appid: "the message was encrypted for another appid",
  bad_utf8: "the decrypted message is not UTF-8",
};

/** A safe-mode envelope that is not a well-formed encryption for our appid under our key. Quotes no data. */
export class PushCryptoError extends Error {
  readonly reason: PushCryptoReason;

  constructor(reason: PushCryptoReason) {
    super(CRYPTO_MESSAGES[reason]);
    this.name = "PushCryptoError";
    this.reason = reason;
  }
}

/** The safe-mode key: the EncodingAESKey and the appid the messages must carry. */
export interface PushCryptoConfig {
  encodingAesKey: string;
  appid: string;
}

const BLOCK = 16;
/** WeChat's PKCS#7 block: the key's length, 32 bytes. */
const PAD_BLOCK = 32;

interface PushKey {
  key: CryptoKey;
  iv: Uint8Array;
}

// Imported keys per EncodingAESKey: a service has one (two while it rotates), so a small map is enough.
const pushKeys = new Map<string, Promise<PushKey>>();

function pushKey(encodingAesKey: string): Promise<PushKey> {
  if (!/^[A-Za-z0-9]{43}$/.test(encodingAesKey)) throw new PushCryptoError("bad_key");
  let imported = pushKeys.get(encodingAesKey);
  if (imported === undefined) {
    // 43 characters + "=" are 32 bytes; atob discards the last character's 2 spare bits, as WeChat's samples do.
    const raw = Uint8Array.from(atob(`${encodingAesKey}=`), (c) => c.charCodeAt(0));
    imported = importAesEcbKey(raw).then((key) => ({ key, iv: raw.slice(0, BLOCK) }));
    if (pushKeys.size >= 4) pushKeys.clear();
    pushKeys.set(encodingAesKey, imported);
  }
  return imported;
}

/**
 * Decrypts a safe-mode `Encrypt` and returns the message (the JSON or XML text WeChat pushed). Checks, strictly:
 * base64, whole 32-byte blocks, PKCS#7 with pad 1–32, the length field, our appid, UTF-8.
 * Throws PushCryptoError.
 */
export async function decryptPushMessage(encrypt: string, config: PushCryptoConfig): Promise<string> {
  const { key, iv } = await pushKey(config.encodingAesKey);
  if (encrypt.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(encrypt)) throw new PushCryptoError("bad_base64");
  const ciphertext = Uint8Array.from(atob(encrypt), (c) => c.charCodeAt(0));
  const length = ciphertext.byteLength;
  if (length === 0 || length % PAD_BLOCK !== 0) throw new PushCryptoError("bad_length");

  // X = E_k(P ⊕ C_n): CBC turns it into P, sixteen 0x10 bytes, the one padding Web Crypto accepts and strips.
  const lastBlock = ciphertext.subarray(length - BLOCK);
  const mask = new Uint8Array(BLOCK).map((_, i) => BLOCK ^ lastBlock[i]!);
  const extra = (await aesEcbEncrypt(key, mask)).subarray(0, BLOCK);
  const input = new Uint8Array(length + BLOCK);
  input.set(ciphertext);
  input.set(extra, length);
  let padded: Uint8Array;
  try {
    padded = new Uint8Array(await crypto.subtle.decrypt({ name: "AES-CBC", iv }, key, input));
  } catch {
    // Unreachable by construction; kept so that nothing but a typed failure leaves.
    throw new PushCryptoError("bad_padding");
  }
  if (padded.byteLength !== length) throw new PushCryptoError("bad_padding");

  const pad = padded[length - 1]!;
  if (pad < 1 || pad > PAD_BLOCK) throw new PushCryptoError("bad_padding");
  // All pad bytes are looked at, whatever the first mismatch.
  let mismatch = 0;
  for (let i = length - pad; i < length; i++) mismatch |= padded[i]! ^ pad;
  if (mismatch !== 0) throw new PushCryptoError("bad_padding");

  const full = padded.subarray(0, length - pad);
  if (full.byteLength < BLOCK + 4) throw new PushCryptoError("bad_structure");
  const messageLength = new DataView(full.buffer, full.byteOffset + BLOCK, 4).getUint32(0, false);
  const messageEnd = BLOCK + 4 + messageLength;
  if (messageEnd > full.byteLength) throw new PushCryptoError("bad_structure");
  const appid = full.subarray(messageEnd);
  const ours = encoder.encode(config.appid);
  if (appid.byteLength !== ours.byteLength || appid.some((byte, i) => byte !== ours[i])) throw new PushCryptoError("wrong_appid");
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(full.subarray(BLOCK + 4, messageEnd));
  } catch {
    throw new PushCryptoError("bad_utf8");
  }
}

/**
 * Encrypts `message` as WeChat does (for the simulator, tests and encrypted replies): base64 of
 * AES-256-CBC(random ‖ length ‖ message ‖ appid, PKCS#7 to 32 bytes). `random` (16 bytes) is fresh unless given.
 */
export async function encryptPushMessage(message: string, config: PushCryptoConfig & { random?: Uint8Array }): Promise<string> {
  const { key, iv } = await pushKey(config.encodingAesKey);
  const random = config.random ?? crypto.getRandomValues(new Uint8Array(BLOCK));
  if (random.byteLength !== BLOCK) throw new RangeError("random must be 16 bytes");
  const body = encoder.encode(message);
  const appid = encoder.encode(config.appid);
  const unpadded = BLOCK + 4 + body.byteLength + appid.byteLength;
  const pad = PAD_BLOCK - (unpadded % PAD_BLOCK);
  const plain = new Uint8Array(unpadded + pad).fill(pad);
  plain.set(random);
  new DataView(plain.buffer).setUint32(BLOCK, body.byteLength, false);
  plain.set(body, BLOCK + 4);
  plain.set(appid, BLOCK + 4 + body.byteLength);
  // Web Crypto pads once more (a whole block, since `plain` is block-aligned); CBC's earlier blocks do not
  // depend on it, so dropping it leaves exactly WeChat's ciphertext.
  const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-CBC", iv }, key, plain)).subarray(0, plain.byteLength);
  let binary = "";
  for (const byte of sealed) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** trade_manage_order_settlement: pushed when an order's delivery completes (with estimatedSettlementTime) and when it is settled. */
export interface OrderSettlementEvent {
  event: "trade_manage_order_settlement";
  /** "settled" when settlement_time is present, else "shipped" (the notice at delivery) */
  phase: "shipped" | "settled";
  transactionId: string;
  merchantId: string;
  subMerchantId?: string;
  merchantTradeNo: string;
  /** all times in seconds since the epoch, as WeChat sends them */
  payTime?: number;
  shippedTime?: number;
  estimatedSettlementTime?: number;
  /**
   * 1 automatic, 2 by the user, per the guide; developers report seeing the two swapped
   * (developers.weixin.qq.com/community, "confirm_receive_method … 写反了?"), so do not build on its meaning.
   */
  confirmReceiveMethod?: number;
  confirmReceiveTime?: number;
  settlementTime?: number;
}

/** trade_manage_remind_shipping: an order paid more than 48 hours ago is still not shipped. */
export interface RemindShippingEvent {
  event: "trade_manage_remind_shipping";
  transactionId: string;
  merchantId: string;
  subMerchantId?: string;
  merchantTradeNo: string;
  payTime?: number;
  msg?: string;
}

/** Any other push, named but not read. */
export interface OtherPushEvent {
  event: "other";
  /** Event (or MsgType when there is no Event) */
  name: string;
}

export type PushEvent = OrderSettlementEvent | RemindShippingEvent | OtherPushEvent;

/** Why a pushed event was refused. */
export class PushEventError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PushEventError";
  }
}

/**
 * Reads a pushed JSON message (already decrypted) into a typed event. The order-shipping events need
 * transaction_id, merchant_id and merchant_trade_no as strings; times are non-negative integers when present.
 * Throws PushEventError naming the field (never its value).
 */
export function readPushEvent(message: unknown): PushEvent {
  if (typeof message !== "object" || message === null || Array.isArray(message)) throw new PushEventError("the message is not a JSON object");
  const fields = message as Record<string, unknown>;
  const name = typeof fields.Event === "string" ? fields.Event : typeof fields.MsgType === "string" ? fields.MsgType : "";
  if (name === "trade_manage_order_settlement") {
    const event: OrderSettlementEvent = { event: name, phase: "shipped", ...orderIds(fields) };
    setInteger(event, "payTime", fields, "pay_time");
    setInteger(event, "shippedTime", fields, "shipped_time");
    setInteger(event, "estimatedSettlementTime", fields, "estimated_settlement_time");
    setInteger(event, "confirmReceiveMethod", fields, "confirm_receive_method");
    setInteger(event, "confirmReceiveTime", fields, "confirm_receive_time");
    setInteger(event, "settlementTime", fields, "settlement_time");
    if (event.settlementTime !== undefined && event.settlementTime > 0) event.phase = "settled";
    return event;
  }
  if (name === "trade_manage_remind_shipping") {
    const event: RemindShippingEvent = { event: name, ...orderIds(fields) };
    setInteger(event, "payTime", fields, "pay_time");
    if (typeof fields.msg === "string") event.msg = fields.msg;
    return event;
  }
  if (name === "") throw new PushEventError("the message has neither Event nor MsgType");
  return { event: "other", name };
}

function orderIds(fields: Record<string, unknown>): { transactionId: string; merchantId: string; merchantTradeNo: string; subMerchantId?: string } {
  const ids = {
    transactionId: requiredString(fields, "transaction_id"),
    merchantId: requiredString(fields, "merchant_id"),
    merchantTradeNo: requiredString(fields, "merchant_trade_no"),
  };
  const sub = fields.sub_merchant_id;
  if (sub !== undefined && sub !== null && typeof sub !== "string") throw new PushEventError("sub_merchant_id is not a string");
  // WeChat sends "" when there is no sub-merchant.
  return typeof sub === "string" && sub !== "" ? { ...ids, subMerchantId: sub } : ids;
}

function requiredString(fields: Record<string, unknown>, name: string): string {
  const value = fields[name];
  if (typeof value !== "string" || value === "") throw new PushEventError(`${name} is missing`);
  return value;
}

function setInteger<T extends object>(target: T, key: keyof T & string, fields: Record<string, unknown>, name: string): void {
  const value = fields[name];
  if (value === undefined || value === null) return;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) throw new PushEventError(`${name} is not a non-negative integer`);
  (target as Record<string, unknown>)[key] = value;
}

/** The query parameters of a push, as received (absent ones undefined). */
export interface PushQuery {
  signature?: string;
  timestamp?: string;
  nonce?: string;
  encrypt_type?: string;
  msg_signature?: string;
}

/** How we take pushes: the Token, and the EncodingAESKey when safe mode is on (then plaintext is refused). */
export interface PushConfig {
  token: string;
  appid: string;
  encodingAesKey?: string;
}

export type PushRejection =
  | "missing_parameters"
  | "stale_timestamp"
  | "too_large"
  | "bad_body"
  | "encryption_required"
  | "not_configured"
  | "bad_signature"
  | "undecryptable"
  | "bad_event";

export type PushCheck = { ok: true; event: PushEvent; encrypted: boolean } | { ok: false; reason: PushRejection };

/** The largest push body read; WeChat's events are a few hundred bytes. */
export const MAX_PUSH_BODY_BYTES = 64 * 1024;

/**
 * Opens a POSTed push in a fixed order: parameters present → timestamp fresh → size → JSON envelope →
 * signature (msg_signature over Encrypt in safe mode, else signature) → decryption for our appid → event.
 * Nothing is trusted before its signature verified. With an EncodingAESKey configured, plaintext pushes
 * are refused: a plaintext signature covers only token, timestamp and nonce, never the body.
 */
export async function openPush(query: PushQuery, body: string, config: PushConfig, nowMs: number): Promise<PushCheck> {
  const { timestamp, nonce } = query;
  if (timestamp === undefined || nonce === undefined || timestamp === "" || nonce === "") return { ok: false, reason: "missing_parameters" };
  if (!isFresh(timestamp, nowMs)) return { ok: false, reason: "stale_timestamp" };
  if (encoder.encode(body).byteLength > MAX_PUSH_BODY_BYTES) return { ok: false, reason: "too_large" };
  const envelope = jsonObject(body);
  if (envelope === null) return { ok: false, reason: "bad_body" };

  const encrypted = query.encrypt_type === "aes";
  let message: unknown = envelope;
  if (encrypted) {
    if (config.encodingAesKey === undefined) return { ok: false, reason: "not_configured" };
    const encrypt = envelope.Encrypt;
    if (typeof encrypt !== "string" || encrypt === "") return { ok: false, reason: "bad_body" };
    const msgSignature = query.msg_signature ?? "";
    if (!(await verifyPushMessageSignature({ token: config.token, timestamp, nonce, encrypt, msgSignature }))) return { ok: false, reason: "bad_signature" };
    let plain: string;
    try {
      plain = await decryptPushMessage(encrypt, { encodingAesKey: config.encodingAesKey, appid: config.appid });
    } catch (error) {
      if (error instanceof PushCryptoError) return { ok: false, reason: "undecryptable" };
      throw error;
    }
    message = jsonObject(plain);
    if (message === null) return { ok: false, reason: "bad_body" };
  } else {
    if (config.encodingAesKey !== undefined) return { ok: false, reason: "encryption_required" };
    if (!(await verifyPushSignature({ token: config.token, timestamp, nonce, signature: query.signature ?? "" }))) return { ok: false, reason: "bad_signature" };
  }
  try {
    return { ok: true, event: readPushEvent(message), encrypted };
  } catch (error) {
    if (error instanceof PushEventError) return { ok: false, reason: "bad_event" };
    throw error;
  }
}
