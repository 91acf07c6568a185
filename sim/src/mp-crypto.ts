// WeChat's side of the mini-program message push crypto, on Web Crypto and independent of the service: the SHA-1 signature over sorted strings, and safe mode's AES-256-CBC envelope with WeChat's 32-byte PKCS#7.
//
// From WeChat's "消息推送" guide and its encryption "技术方案": signature = sha1 of token, timestamp and nonce
// sorted and concatenated (msg_signature adds the Encrypt text); AESKey = base64 decode of EncodingAESKey + "=";
// IV = the key's first 16 bytes; plaintext = random(16) ‖ length (4 bytes, big-endian) ‖ message ‖ appid,
// padded to a multiple of 32 bytes with PKCS#7 (pad values 1–32).

const encoder = new TextEncoder();
const BLOCK = 16;
const PAD_BLOCK = 32;

/** Lower-case hex sha1 of `parts` sorted as strings and concatenated. */
export async function sortedSha1(parts: readonly string[]): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-1", encoder.encode([...parts].sort().join(""))));
  return Array.from(digest, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** True for an EncodingAESKey WeChat would accept: 43 characters of A-Z, a-z, 0-9. */
export function isEncodingAesKey(value: string): boolean {
  return /^[A-Za-z0-9]{43}$/.test(value);
}

/**
 * Safe mode's `Encrypt`: base64 of AES-256-CBC over random ‖ length ‖ message ‖ appid, padded to 32 bytes.
 * `random` (16 bytes) is fresh unless given (known-answer tests).
 */
export async function encryptPush(message: string, encodingAesKey: string, appid: string, random?: Uint8Array): Promise<string> {
  if (!isEncodingAesKey(encodingAesKey)) throw new RangeError("the EncodingAESKey must be 43 letters or digits");
  const raw = Uint8Array.from(atob(`${encodingAesKey}=`), (c) => c.charCodeAt(0));
  const key = await crypto.subtle.importKey("raw", raw, "AES-CBC", false, ["encrypt"]);
  const prefix = random ?? crypto.getRandomValues(new Uint8Array(BLOCK));
  if (prefix.byteLength !== BLOCK) throw new RangeError("random must be 16 bytes");
  const body = encoder.encode(message);
  const id = encoder.encode(appid);
  const length = BLOCK + 4 + body.byteLength + id.byteLength;
  const pad = PAD_BLOCK - (length % PAD_BLOCK);
  const plain = new Uint8Array(length + pad).fill(pad);
  plain.set(prefix);
  new DataView(plain.buffer).setUint32(BLOCK, body.byteLength, false);
  plain.set(body, BLOCK + 4);
  plain.set(id, BLOCK + 4 + body.byteLength);
  // Web Crypto adds its own 16-byte padding block to the already padded plaintext; the blocks before it do
  // not depend on it, so cutting it off leaves WeChat's ciphertext.
  const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-CBC", iv: raw.slice(0, BLOCK) }, key, plain)).subarray(0, plain.byteLength);
  let binary = "";
  for (const byte of sealed) binary += String.fromCharCode(byte);
  return btoa(binary);
}
