// Verifying a merchant's v3 request (§4.2) in a fixed order: the scheme → the five key="value"
// pairs → our mchid → our merchant certificate serial → a timestamp within the window → SHA256withRSA
// over the five-line message with the exact body bytes. Pure apart from Web Crypto: `now` is passed in.
import { rsaVerify, signedMessage } from "./crypto";

export const AUTHORIZATION_SCHEME = "WECHATPAY2-SHA256-RSA2048";
/** How far a request's timestamp may be from sim time, either way. */
export const REQUEST_WINDOW_MS = 5 * 60_000;

const PAIR_NAMES = ["mchid", "nonce_str", "signature", "timestamp", "serial_no"] as const;
type PairName = (typeof PAIR_NAMES)[number];

export interface ExpectedMerchant {
  mchid: string;
  /** the merchant API certificate's serial */
  serialNo: string;
  publicKey: CryptoKey;
}

export interface SignedRequest {
  authorization: string | null;
  method: string;
  /** path and query as sent, no scheme or host */
  pathWithQuery: string;
  body: Uint8Array;
}

/** ok, or why not (for the call log and the 401 detail; it never echoes the signature). */
export type AuthCheck = { ok: true } | { ok: false; issue: string };

/** Serials compare as WeChat writes them: upper case, no leading zeros. */
export function normalizeSerial(serial: string): string {
  return serial.toUpperCase().replace(/^0+(?=.)/, "");
}

/** The pairs of `mchid="…",nonce_str="…",…` in any order; null if malformed, repeated or incomplete. */
function readPairs(text: string): Record<PairName, string> | null {
  const pairs: Partial<Record<PairName, string>> = {};
  for (const part of text.split(",")) {
    const match = /^\s*([a-z_]+)="([^"]*)"\s*$/.exec(part);
    if (match === null) return null;
    const name = match[1] as PairName;
    if (!PAIR_NAMES.includes(name) || pairs[name] !== undefined) return null;
    pairs[name] = match[2]!;
  }
  return PAIR_NAMES.every((name) => pairs[name]) ? (pairs as Record<PairName, string>) : null;
}

export async function verifyAuthorization(request: SignedRequest, merchant: ExpectedMerchant, now: number): Promise<AuthCheck> {
  const header = request.authorization?.trim() ?? "";
  if (header === "") return { ok: false, issue: "no Authorization header" };
  const space = header.indexOf(" ");
  if (space < 0 || header.slice(0, space) !== AUTHORIZATION_SCHEME) return { ok: false, issue: `the scheme is not ${AUTHORIZATION_SCHEME}` };
  const pairs = readPairs(header.slice(space + 1));
  if (pairs === null) return { ok: false, issue: "the Authorization pairs are malformed or incomplete" };
  if (pairs.mchid !== merchant.mchid) return { ok: false, issue: "mchid is not this merchant" };
  if (normalizeSerial(pairs.serial_no) !== normalizeSerial(merchant.serialNo)) return { ok: false, issue: "serial_no is not the merchant certificate's" };
  if (!/^\d{1,12}$/.test(pairs.timestamp) || Math.abs(Number(pairs.timestamp) * 1000 - now) > REQUEST_WINDOW_MS) {
    return { ok: false, issue: "timestamp is outside the allowed window" };
  }
  const message = signedMessage([request.method.toUpperCase(), request.pathWithQuery, pairs.timestamp, pairs.nonce_str, request.body]);
  if (!(await rsaVerify(merchant.publicKey, message, pairs.signature))) return { ok: false, issue: "sign not match" };
  return { ok: true };
}
