// req_info of v2 refund notifications: AES-256-ECB with PKCS#7, key = the 32 ASCII characters of
// the lower-case hex MD5 of the merchant key, base64 on the wire (protocol reference §2.9). Written
// for the simulator alone (it must not import the service's crypto); the block cipher is always
// Web Crypto's, never a hand-written AES.
//
// Web Crypto has no ECB, so each block goes through AES-CBC with a zero IV, one block at a time:
// - encrypt: CBC(P, IV 0) starts with E(P ⊕ 0) = E(P), the ECB block (the padding block Web
//   Crypto appends is discarded);
// - decrypt: CBC-decrypt(C ‖ X, IV 0) with X = E(F ⊕ C), F sixteen 0x10 bytes, gives D(C) ⊕ 0 and
//   then D(X) ⊕ C = F, a full padding block that Web Crypto strips, leaving D(C).

const BLOCK = 16;
const ZERO_IV = new Uint8Array(BLOCK);
const encoder = new TextEncoder();

/** The AES key for `merchantKey`'s refund notifications. */
export async function refundInfoKey(merchantKey: string): Promise<CryptoKey> {
  // workerd implements MD5 in Web Crypto as a non-standard extension.
  const digest = new Uint8Array(await crypto.subtle.digest("MD5", encoder.encode(merchantKey)));
  const hex = Array.from(digest, (byte) => byte.toString(16).padStart(2, "0")).join("");
  return crypto.subtle.importKey("raw", encoder.encode(hex), { name: "AES-CBC" }, false, ["encrypt", "decrypt"]);
}

async function encryptBlock(key: CryptoKey, block: Uint8Array): Promise<Uint8Array> {
  const out = await crypto.subtle.encrypt({ name: "AES-CBC", iv: ZERO_IV }, key, block);
  return new Uint8Array(out, 0, BLOCK);
}

async function decryptBlock(key: CryptoKey, block: Uint8Array): Promise<Uint8Array> {
  const masked = block.map((byte) => byte ^ BLOCK);
  const input = new Uint8Array(2 * BLOCK);
  input.set(block);
  input.set(await encryptBlock(key, masked), BLOCK);
  return new Uint8Array(await crypto.subtle.decrypt({ name: "AES-CBC", iv: ZERO_IV }, key, input));
}

/** base64(AES-256-ECB(PKCS#7(UTF-8 `plaintext`))). */
export async function encryptReqInfo(plaintext: string, merchantKey: string): Promise<string> {
  const key = await refundInfoKey(merchantKey);
  const bytes = encoder.encode(plaintext);
  const padding = BLOCK - (bytes.length % BLOCK);
  const padded = new Uint8Array(bytes.length + padding).fill(padding);
  padded.set(bytes);
  const out = new Uint8Array(padded.length);
  for (let offset = 0; offset < padded.length; offset += BLOCK) {
    out.set(await encryptBlock(key, padded.subarray(offset, offset + BLOCK)), offset);
  }
  let binary = "";
  for (const byte of out) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** The plaintext of a req_info, or null when it is not base64, not whole blocks, badly padded or not UTF-8. */
export async function decryptReqInfo(reqInfo: string, merchantKey: string): Promise<string | null> {
  let binary: string;
  try {
    binary = atob(reqInfo);
  } catch {
    return null;
  }
  const bytes = Uint8Array.from(binary, (char) => char.charCodeAt(0));
  if (bytes.length === 0 || bytes.length % BLOCK !== 0) return null;
  const key = await refundInfoKey(merchantKey);
  const plain = new Uint8Array(bytes.length);
  for (let offset = 0; offset < bytes.length; offset += BLOCK) {
    plain.set(await decryptBlock(key, bytes.subarray(offset, offset + BLOCK)), offset);
  }
  const padding = plain[plain.length - 1]!;
  if (padding < 1 || padding > BLOCK || plain.subarray(plain.length - padding).some((byte) => byte !== padding)) return null;
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(plain.subarray(0, plain.length - padding));
  } catch {
    return null;
  }
}
