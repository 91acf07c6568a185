// WeChat Pay API v2 signatures (MD5 / HMAC-SHA256): build, compute and verify. Never logs or throws with a key or sign in the message.
import SparkMD5 from "spark-md5";

/** The two v2 signature algorithms. */
export type SignType = "MD5" | "HMAC-SHA256";

/** Every supported v2 signature algorithm. */
export const SIGN_TYPES: readonly SignType[] = Object.freeze(["MD5", "HMAC-SHA256"] as const);

/** A flat WeChat v2 message: every value is a string, as on the wire. */
export type Fields = Record<string, string>;

type LooseFields = Readonly<Record<string, string | undefined>>;

/** Hex length of each algorithm's sign, used to pick among the algorithms a caller accepts. */
const SIGN_LENGTH: Readonly<Record<SignType, number>> = { MD5: 32, "HMAC-SHA256": 64 };

const encoder = new TextEncoder();

/** True when `value` is one of the supported v2 sign types (exact spelling, as WeChat sends it). */
export function isSignType(value: unknown): value is SignType {
  return value === "MD5" || value === "HMAC-SHA256";
}

/**
 * stringSignTemp: drop `sign` and empty/undefined values, ASCII sort by name, raw values, then "&key=KEY".
 * Every other field is kept (including `sign_type` and fields we do not know), because WeChat may add fields
 * and signs over all of them.
 */
export function signingString(fields: LooseFields, key: string): string {
  const names = Object.keys(fields)
    .filter((name) => name !== "sign" && fields[name] !== undefined && fields[name] !== "")
    // Default sort compares UTF-16 code units, which for ASCII names is exactly ASCII (case-sensitive) order.
    .sort();
  const pairs = names.map((name) => `${name}=${fields[name] ?? ""}`);
  pairs.push(`key=${key}`);
  return pairs.join("&");
}

/**
 * Computes the v2 sign of `fields` with the merchant `key`: upper-case hex, 32 chars for MD5, 64 for HMAC-SHA256.
 * For HMAC-SHA256 the "&key=KEY" suffix is still part of the message (as the spec requires).
 */
export async function sign(fields: LooseFields, key: string, signType: SignType): Promise<string> {
  const message = signingString(fields, key);
  switch (signType) {
    case "MD5":
      return md5Hex(encoder.encode(message)).toUpperCase();
    case "HMAC-SHA256":
      return (await hmacSha256Hex(key, message)).toUpperCase();
    default:
      // Reached only when a caller bypasses the type system; say which input is wrong, never its neighbours.
      throw new TypeError("unsupported sign type");
  }
}

/**
 * Verifies fields.sign in constant time. `accepted` lists the algorithms the caller trusts (the configured one,
 * never chosen by the message alone); when more than one is accepted the sign's length (32 → MD5,
 * 64 → HMAC-SHA256) picks among them. Missing sign → false.
 *
 * The sign must be upper-case hex, as WeChat produces it; anything else is refused rather than normalised,
 * so that exactly one spelling of a sign is ever valid.
 */
export async function verifySign(fields: LooseFields, key: string, accepted: readonly SignType[]): Promise<boolean> {
  const received = fields.sign;
  if (received === undefined || !/^[0-9A-F]+$/.test(received)) return false;
  const signType = accepted.find((candidate) => isSignType(candidate) && SIGN_LENGTH[candidate] === received.length);
  if (signType === undefined) return false;
  const expected = await sign(fields, key, signType);
  return constantTimeEqual(encoder.encode(expected), encoder.encode(received));
}

/**
 * Lower-case hex MD5 of `bytes` (also the AES key derivation of refund notifications, see refund-notification.ts).
 * spark-md5 rather than workerd's crypto.subtle.digest("MD5"): inside workerd the two measured 2.87 µs and
 * 3.10 µs per digest (BENCHMARKS.md, overlapping ranges), and spark-md5 is synchronous and runs the same in
 * Node and workerd.
 */
export function md5Hex(bytes: Uint8Array): string {
  // spark-md5 hashes a whole ArrayBuffer: a view onto part of a larger buffer is copied to its exact range
  // first; a view of a whole buffer (what TextEncoder returns) is hashed without a copy.
  const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
  const buffer = (whole ? bytes.buffer : bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)) as ArrayBuffer;
  return SparkMD5.ArrayBuffer.hash(buffer);
}

// Importing a key costs more than the HMAC itself; a service signs with one or two keys, so keep them.
const MAX_CACHED_KEYS = 8;
const hmacKeys = new Map<string, Promise<CryptoKey>>();

function hmacKey(key: string): Promise<CryptoKey> {
  let cached = hmacKeys.get(key);
  if (cached === undefined) {
    if (hmacKeys.size >= MAX_CACHED_KEYS) hmacKeys.clear();
    cached = crypto.subtle.importKey("raw", encoder.encode(key), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    // A failed import is not remembered.
    cached.catch(() => hmacKeys.delete(key));
    hmacKeys.set(key, cached);
  }
  return cached;
}

async function hmacSha256Hex(key: string, message: string): Promise<string> {
  const mac = await crypto.subtle.sign("HMAC", await hmacKey(key), encoder.encode(message));
  return toHex(new Uint8Array(mac));
}

function toHex(bytes: Uint8Array): string {
  let hex = "";
  for (const byte of bytes) hex += byte.toString(16).padStart(2, "0");
  return hex;
}

/** Compares two byte strings without an early exit, so timing does not reveal how much of a forged sign matched. */
function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  const subtle = crypto.subtle as SubtleCrypto & { timingSafeEqual?: (x: ArrayBufferView, y: ArrayBufferView) => boolean };
  // workerd provides timingSafeEqual; the loop keeps the module usable on runtimes that do not.
  if (typeof subtle.timingSafeEqual === "function") return subtle.timingSafeEqual(a, b);
  let difference = 0;
  for (let i = 0; i < a.byteLength; i++) difference |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return difference === 0;
}
