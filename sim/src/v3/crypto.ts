// The simulator's own API v3 cryptography, written from the protocol reference (§4.2, §4.3, §4.6):
// PEM reading, SHA256withRSA (RSASSA-PKCS1-v1_5) signing and verifying, the line-per-"\n" signed
// messages, and AEAD_AES_256_GCM encryption, all on Web Crypto. It must never import the service's.

const RSA_SHA256 = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" } as const;
const encoder = new TextEncoder();

export function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** The DER bytes of a PEM block labelled `label`; throws (naming the label, never the content) otherwise. */
export function pemToDer(pem: string, label: string): Uint8Array {
  const match = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/.exec(pem);
  if (match === null || match[1] !== label) throw new Error(`expected a PEM ${label}`);
  const body = match[2]!.replace(/\s+/g, "");
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(body) || body.length % 4 !== 0) throw new Error(`the PEM ${label} is not base64`);
  return Uint8Array.from(atob(body), (c) => c.charCodeAt(0));
}

/** An RSA private key (PKCS#8 "PRIVATE KEY") for signing. */
export function importPrivateKey(pkcs8: Uint8Array): Promise<CryptoKey> {
  return crypto.subtle.importKey("pkcs8", pkcs8, RSA_SHA256, false, ["sign"]);
}

/** An RSA public key (SPKI "PUBLIC KEY") for verifying. */
export function importPublicKey(spki: Uint8Array): Promise<CryptoKey> {
  return crypto.subtle.importKey("spki", spki, RSA_SHA256, false, ["verify"]);
}

/** The public half of a PKCS#8 RSA private key: its JWK's modulus and exponent, imported for verifying. */
export async function publicKeyOf(pkcs8: Uint8Array): Promise<CryptoKey> {
  const extractable = await crypto.subtle.importKey("pkcs8", pkcs8, RSA_SHA256, true, ["sign"]);
  const jwk = (await crypto.subtle.exportKey("jwk", extractable)) as JsonWebKey;
  return crypto.subtle.importKey("jwk", { kty: "RSA", n: jwk.n, e: jwk.e, alg: "RS256", ext: true }, RSA_SHA256, false, ["verify"]);
}

/** Lines each ended by "\n", the last one included; a body keeps its exact bytes. */
export function signedMessage(lines: readonly (string | Uint8Array)[]): Uint8Array {
  const parts = lines.map((line) => (typeof line === "string" ? encoder.encode(line) : line));
  const out = new Uint8Array(parts.reduce((n, part) => n + part.byteLength + 1, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    out[offset + part.byteLength] = 0x0a;
    offset += part.byteLength + 1;
  }
  return out;
}

/** SHA256withRSA of `message`, base64. */
export async function rsaSign(key: CryptoKey, message: Uint8Array): Promise<string> {
  return toBase64(new Uint8Array(await crypto.subtle.sign(RSA_SHA256, key, message)));
}

/** Whether `signature` (base64) signs `message` under `key`; false for anything that is not base64. */
export async function rsaVerify(key: CryptoKey, message: Uint8Array, signature: string): Promise<boolean> {
  let bytes: Uint8Array;
  try {
    bytes = Uint8Array.from(atob(signature), (c) => c.charCodeAt(0));
  } catch {
    return false;
  }
  return crypto.subtle.verify(RSA_SHA256, key, bytes, message);
}

/** The APIv3 key as an AES-256-GCM key: its 32 ASCII characters are the key bytes. */
export function importApiV3Key(apiV3Key: string): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", encoder.encode(apiV3Key), { name: "AES-GCM" }, false, ["encrypt"]);
}

/** AEAD_AES_256_GCM as WeChat uses it: nonce and associated data as UTF-8, base64(ciphertext ‖ 16-byte tag). */
export async function aeadEncrypt(key: CryptoKey, plaintext: string, nonce: string, associatedData: string): Promise<string> {
  const sealed = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv: encoder.encode(nonce), additionalData: encoder.encode(associatedData), tagLength: 128 },
    key,
    encoder.encode(plaintext),
  );
  return toBase64(new Uint8Array(sealed));
}
