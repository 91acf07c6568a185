// AES-ECB with PKCS#7 (the cipher of v2 refund notifications) built on Web Crypto's AES-CBC. Never a hand-written AES: the block cipher is always the runtime's.
//
// Web Crypto offers AES-CBC, -CTR, -GCM and -KW but no ECB. ECB is the raw block cipher E_k / D_k applied to each
// block on its own, and CBC is that same cipher plus XORs we can undo:
// - CBC encryption of a single block P with IV 0 is E_k(P ⊕ 0) = E_k(P): one ECB block.
// - CBC decryption with IV 0 yields D_k(C_i) ⊕ C_(i−1) (C_0 = 0); XOR-ing C_(i−1) back gives D_k(C_i).
// The catch is that Web Crypto's CBC decryption insists on valid PKCS#7 padding in its own last block, which ECB
// ciphertext does not have. So one extra block X = E_k(P ⊕ C_n), with P sixteen 0x10 bytes, is appended: CBC
// decrypts it to D_k(X) ⊕ C_n = P, exactly one full padding block, which Web Crypto strips, leaving the n blocks we
// want. The real ECB padding inside them is then checked here, strictly.

const BLOCK = 16;

/** Why AES-ECB input was refused. The message never quotes the data. */
export type AesEcbErrorReason = "bad_length" | "bad_padding";

export class AesEcbError extends Error {
  readonly reason: AesEcbErrorReason;

  constructor(reason: AesEcbErrorReason) {
    super(reason === "bad_length" ? "ciphertext is not a whole, non-zero number of AES blocks" : "PKCS#7 padding is invalid");
    this.name = "AesEcbError";
    this.reason = reason;
  }
}

/** Imports a raw AES key (16, 24 or 32 bytes) for use with aesEcbEncrypt / aesEcbDecrypt. Not extractable. */
export function importAesEcbKey(raw: Uint8Array): Promise<CryptoKey> {
  if (![16, 24, 32].includes(raw.byteLength)) throw new RangeError("an AES key is 16, 24 or 32 bytes");
  return crypto.subtle.importKey("raw", raw, { name: "AES-CBC" }, false, ["encrypt", "decrypt"]);
}

/** AES-ECB encryption of `plaintext` after PKCS#7 padding (always 1–16 bytes, so the result is never empty). */
export async function aesEcbEncrypt(key: CryptoKey, plaintext: Uint8Array): Promise<Uint8Array> {
  const padding = BLOCK - (plaintext.byteLength % BLOCK);
  const padded = new Uint8Array(plaintext.byteLength + padding);
  padded.set(plaintext);
  padded.fill(padding, plaintext.byteLength);
  const out = new Uint8Array(padded.byteLength);
  const blocks = [];
  for (let offset = 0; offset < padded.byteLength; offset += BLOCK) {
    blocks.push(encryptBlock(key, padded.subarray(offset, offset + BLOCK)).then((block) => out.set(block, offset)));
  }
  await Promise.all(blocks);
  return out;
}

/**
 * AES-ECB decryption, then strict PKCS#7 removal (last byte 1–16, all padding bytes equal to it).
 * Throws AesEcbError("bad_length") for an empty or partial-block ciphertext and AesEcbError("bad_padding") for bad
 * padding, which is also what a wrong key or tampered ciphertext almost always produces.
 */
export async function aesEcbDecrypt(key: CryptoKey, ciphertext: Uint8Array): Promise<Uint8Array> {
  const length = ciphertext.byteLength;
  if (length === 0 || length % BLOCK !== 0) throw new AesEcbError("bad_length");
  const last = ciphertext.subarray(length - BLOCK);

  // X = E_k(P ⊕ C_n), the block that CBC-decrypts (after C_n) to one full padding block P.
  const fullPadding = new Uint8Array(BLOCK).fill(BLOCK);
  const extra = await encryptBlock(key, xor(fullPadding, last));
  const input = new Uint8Array(length + BLOCK);
  input.set(ciphertext);
  input.set(extra, length);

  let chained: Uint8Array;
  try {
    chained = new Uint8Array(await crypto.subtle.decrypt({ name: "AES-CBC", iv: new Uint8Array(BLOCK) }, key, input));
  } catch {
    // Unreachable by construction; kept so that no runtime error ever escapes as anything but a typed failure.
    throw new AesEcbError("bad_padding");
  }
  if (chained.byteLength !== length) throw new AesEcbError("bad_padding");

  // Undo CBC's chaining: block i XOR C_(i−1); the first block was XOR-ed with the zero IV, so it is already D_k(C_1).
  for (let offset = BLOCK; offset < length; offset++) chained[offset]! ^= ciphertext[offset - BLOCK]!;
  return stripPkcs7(chained);
}

/** E_k(block): the first output block of CBC with a zero IV (Web Crypto appends a padding block we discard). */
async function encryptBlock(key: CryptoKey, block: Uint8Array): Promise<Uint8Array> {
  const out = await crypto.subtle.encrypt({ name: "AES-CBC", iv: new Uint8Array(BLOCK) }, key, block);
  return new Uint8Array(out, 0, BLOCK);
}

function xor(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.byteLength);
  for (let i = 0; i < a.byteLength; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}

function stripPkcs7(padded: Uint8Array): Uint8Array {
  const padding = padded[padded.byteLength - 1]!;
  if (padding < 1 || padding > BLOCK) throw new AesEcbError("bad_padding");
  // Every padding byte is looked at, whatever the first mismatch, so the check does not end early.
  let difference = 0;
  for (let i = padded.byteLength - padding; i < padded.byteLength; i++) difference |= padded[i]! ^ padding;
  if (difference !== 0) throw new AesEcbError("bad_padding");
  return padded.slice(0, padded.byteLength - padding);
}
