// Verifying what WeChat Pay v3 signs (answers and notifications), in a fixed order, over the raw
// body and before anything is parsed: the headers are there → the scheme is ours → not a signature
// probe → fresh timestamp → a key we hold for its serial → SHA256withRSA. The serial picks the key
// (the WeChat Pay public key by its PUB_KEY_ID_…, or a platform certificate by its serial), never the
// message's content, so both kinds are accepted at once while WeChat migrates a merchant.
import { normalizeSerial } from "./keys";
import { SIGNATURE_SCHEME, responseMessage, rsaVerify } from "./signature";

/** WeChat sends a few deliberately wrong signatures with this prefix; they must be refused (4.3). */
export const SIGNATURE_PROBE_PREFIX = "WECHATPAY/SIGNTEST/";
/** How far Wechatpay-Timestamp may be from our clock, either way. */
export const MAX_CLOCK_SKEW_MS = 5 * 60_000;

/** Where verification keys come from: a lookup by serial, which may fetch (platform certificates). */
export interface VerificationKeys {
  /** The key for `serial` (already normalised: upper case, no leading zeros), or undefined. */
  keyFor(serial: string): Promise<CryptoKey | undefined> | CryptoKey | undefined;
}

export type SignatureRejection =
  | "missing_headers"
  | "unsupported_scheme"
  | "signature_probe"
  | "stale_timestamp"
  | "unknown_serial"
  | "bad_signature";

export type SignatureCheck = { ok: true; serial: string } | { ok: false; reason: SignatureRejection };

/** The signature headers, read case-insensitively from anything with `get`. */
export interface SignedHeaders {
  get(name: string): string | null;
}

/** Checks WeChat's signature over `body` (the raw bytes, or their exact text) as received at `now` (ms). */
export async function verifyWeChatPaySignature(headers: SignedHeaders, body: string | Uint8Array, keys: VerificationKeys, now: number): Promise<SignatureCheck> {
  const timestamp = headers.get("Wechatpay-Timestamp") ?? "";
  const nonce = headers.get("Wechatpay-Nonce") ?? "";
  const signature = headers.get("Wechatpay-Signature") ?? "";
  const serial = headers.get("Wechatpay-Serial") ?? "";
  if (!/^\d{1,12}$/.test(timestamp) || nonce === "" || signature === "" || serial === "") return { ok: false, reason: "missing_headers" };
  const scheme = headers.get("Wechatpay-Signature-Type");
  if (scheme !== null && scheme !== SIGNATURE_SCHEME) return { ok: false, reason: "unsupported_scheme" };
  if (signature.startsWith(SIGNATURE_PROBE_PREFIX)) return { ok: false, reason: "signature_probe" };
  if (Math.abs(Number(timestamp) * 1000 - now) > MAX_CLOCK_SKEW_MS) return { ok: false, reason: "stale_timestamp" };
  const normalized = normalizeSerial(serial);
  const key = await keys.keyFor(normalized);
  if (key === undefined) return { ok: false, reason: "unknown_serial" };
  if (!(await rsaVerify(key, responseMessage(timestamp, nonce, body), signature))) return { ok: false, reason: "bad_signature" };
  return { ok: true, serial: normalized };
}
