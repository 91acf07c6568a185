// WeChat Pay API v2 signature (安全规范 chapter=4_3), written from the protocol reference so the
// simulator is an independent oracle: it must never import the service's own signing code.

/** The two v2 algorithms. A request without `sign_type` is MD5. */
export type SignType = "MD5" | "HMAC-SHA256";

export function isSignType(value: string): value is SignType {
  return value === "MD5" || value === "HMAC-SHA256";
}

/**
 * stringA: every field except `sign` and empty values, sorted by name in ASCII order, joined as
 * `k=v` with raw (not URL-encoded) values. `sign_type` is kept when present.
 */
export function canonicalString(fields: Readonly<Record<string, string>>): string {
  return Object.keys(fields)
    .filter((name) => name !== "sign" && fields[name] !== undefined && fields[name] !== "")
    // Plain code-unit comparison, not localeCompare: WeChat sorts by ASCII.
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .map((name) => `${name}=${fields[name]}`)
    .join("&");
}

const encoder = new TextEncoder();

function upperHex(buffer: ArrayBuffer): string {
  return Array.from(new Uint8Array(buffer), (byte) => byte.toString(16).padStart(2, "0"))
    .join("")
    .toUpperCase();
}

/** The upper-case hex v2 sign of `fields` under the merchant key. */
export async function signV2(
  fields: Readonly<Record<string, string>>,
  key: string,
  signType: SignType,
): Promise<string> {
  // The `&key=` suffix is appended for HMAC-SHA256 too, even though the key is also the HMAC key.
  const message = encoder.encode(`${canonicalString(fields)}&key=${key}`);
  if (signType === "MD5") {
    // workerd implements MD5 in Web Crypto as a non-standard extension.
    return upperHex(await crypto.subtle.digest("MD5", message));
  }
  const hmacKey = await crypto.subtle.importKey(
    "raw",
    encoder.encode(key),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return upperHex(await crypto.subtle.sign("HMAC", hmacKey, message));
}

/** Compares without an early exit, so response time does not reveal how much of a sign matched. */
export function constantTimeEqual(a: string, b: string): boolean {
  const left = encoder.encode(a);
  const right = encoder.encode(b);
  let difference = left.length ^ right.length;
  for (let i = 0; i < left.length; i++) {
    difference |= left[i]! ^ (right[i % Math.max(right.length, 1)] ?? 0);
  }
  return difference === 0;
}

/**
 * True when `fields.sign` is the exact (upper-case) sign of the other fields. The algorithm is the
 * caller's decision (the request's declared `sign_type`), never guessed from the sign's length.
 */
export async function verifyV2(
  fields: Readonly<Record<string, string>>,
  key: string,
  signType: SignType,
): Promise<boolean> {
  const received = fields.sign;
  if (received === undefined || received === "") return false;
  return constantTimeEqual(received, await signV2(fields, key, signType));
}
