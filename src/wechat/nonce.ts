// Random nonce_str / nonceStr values from the platform CSPRNG. Must never use Math.random or a biased modulo.
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
// Bytes at or above the largest multiple of 62 are discarded so every character is equally likely.
const UNBIASED_LIMIT = 256 - (256 % ALPHABET.length);

/** A random string of `length` characters from [A-Za-z0-9] (WeChat allows nonces of at most 32). */
export function randomNonce(length = 32): string {
  if (!Number.isSafeInteger(length) || length < 1) throw new RangeError("nonce length must be a positive integer");
  let nonce = "";
  while (nonce.length < length) {
    // Ask for a little more than needed: about 3% of bytes are rejected.
    const bytes = crypto.getRandomValues(new Uint8Array(length - nonce.length + 8));
    for (const byte of bytes) {
      if (byte >= UNBIASED_LIMIT) continue;
      nonce += ALPHABET[byte % ALPHABET.length];
      if (nonce.length === length) break;
    }
  }
  return nonce;
}
