// Signing merchant events the Standard Webhooks way, so that a receiver can verify them with an
// existing library: `webhook-signature: v1,<base64 HMAC-SHA256>` over "<id>.<timestamp>.<body>",
// keyed with the bytes of the `whsec_…` secret. The secret is parsed once and never printed.

const SECRET_PREFIX = "whsec_";
const encoder = new TextEncoder();

/** What is wrong with a MERCHANT_WEBHOOK_SECRET, or null; the message never quotes it. */
export function webhookSecretProblem(secret: string): string | null {
  if (!secret.startsWith(SECRET_PREFIX)) return 'must start with "whsec_"';
  const bytes = decodeBase64(secret.slice(SECRET_PREFIX.length));
  if (bytes === null) return 'must be "whsec_" followed by base64';
  if (bytes.byteLength < 24 || bytes.byteLength > 64) return "must hold 24 to 64 random bytes";
  return null;
}

// Imported keys per secret: a delivery costs no key import after the first.
const keys = new Map<string, Promise<CryptoKey>>();

function keyFor(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (key === undefined) {
    const problem = webhookSecretProblem(secret);
    if (problem !== null) throw new TypeError(`MERCHANT_WEBHOOK_SECRET ${problem}`);
    key = crypto.subtle.importKey("raw", decodeBase64(secret.slice(SECRET_PREFIX.length))!, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    keys.set(secret, key);
  }
  return key;
}

/** The three Standard Webhooks headers of one attempt: id, unix-seconds timestamp, v1 signature. */
export async function webhookHeaders(secret: string, id: string, timestampSeconds: number, body: string): Promise<Record<string, string>> {
  const timestamp = String(timestampSeconds);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", await keyFor(secret), encoder.encode(`${id}.${timestamp}.${body}`)));
  let binary = "";
  for (const byte of mac) binary += String.fromCharCode(byte);
  return { "webhook-id": id, "webhook-timestamp": timestamp, "webhook-signature": `v1,${btoa(binary)}` };
}

function decodeBase64(text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) return null;
  try {
    return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
}
