// AEAD_AES_256_GCM, the cipher of v3 notification resources and downloaded platform certificates:
// key = the APIv3 key (32 ASCII bytes), nonce and associated data as UTF-8, ciphertext = base64 of
// the encrypted bytes followed by the 16-byte tag. Always Web Crypto's AES-GCM.

export type AeadErrorReason = "bad_key" | "bad_ciphertext" | "not_authentic";

/** Why a resource could not be decrypted; the message quotes neither key nor data. */
export class AeadError extends Error {
  readonly reason: AeadErrorReason;

  constructor(reason: AeadErrorReason) {
    super(
      reason === "bad_key"
        ? "the APIv3 key must be 32 ASCII characters"
        : reason === "bad_ciphertext"
          ? "the ciphertext is not base64 of at least a GCM tag"
          : "the ciphertext does not decrypt with this key, nonce and associated data",
    );
    this.name = "AeadError";
    this.reason = reason;
  }
}

const TAG_BYTES = 16;
const encoder = new TextEncoder();
// Imported keys per APIv3 key, so that a notification costs no key import after the first.
const keys = new Map<string, Promise<CryptoKey>>();

function importKey(apiV3Key: string): Promise<CryptoKey> {
  const raw = encoder.encode(apiV3Key);
  if (raw.byteLength !== 32 || apiV3Key.length !== 32) throw new AeadError("bad_key");
  let key = keys.get(apiV3Key);
  if (key === undefined) {
    key = crypto.subtle.importKey("raw", raw, { name: "AES-GCM" }, false, ["encrypt", "decrypt"]);
    keys.set(apiV3Key, key);
  }
  return key;
}

/** What an encrypted resource carries besides its ciphertext. */
export interface AeadParams {
  /** `nonce` as WeChat sends it (12 ASCII characters) */
  readonly nonce: string;
  /** `associated_data`, possibly empty */
  readonly associatedData: string;
}

/** Decrypts `ciphertext` (base64) and returns the plaintext as text. */
export async function decryptAead(apiV3Key: string, ciphertext: string, params: AeadParams): Promise<string> {
  const key = await importKey(apiV3Key);
  let bytes: Uint8Array;
  try {
    bytes = Uint8Array.from(atob(ciphertext), (c) => c.charCodeAt(0));
  } catch {
    throw new AeadError("bad_ciphertext");
  }
  if (bytes.byteLength < TAG_BYTES || params.nonce === "") throw new AeadError("bad_ciphertext");
  let plain: ArrayBuffer;
  try {
    plain = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: encoder.encode(params.nonce), additionalData: encoder.encode(params.associatedData), tagLength: 128 },
      key,
      bytes,
    );
  } catch {
    throw new AeadError("not_authentic");
  }
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(plain);
  } catch {
    throw new AeadError("bad_ciphertext");
  }
}

/** Encrypts `plaintext` as WeChat does (for the simulator and tests); base64 of ciphertext ‖ tag. */
export async function encryptAead(apiV3Key: string, plaintext: string, params: AeadParams): Promise<string> {
  const key = await importKey(apiV3Key);
  const sealed = new Uint8Array(
    await crypto.subtle.encrypt(
      { name: "AES-GCM", iv: encoder.encode(params.nonce), additionalData: encoder.encode(params.associatedData), tagLength: 128 },
      key,
      encoder.encode(plaintext),
    ),
  );
  let binary = "";
  for (const byte of sealed) binary += String.fromCharCode(byte);
  return btoa(binary);
}
