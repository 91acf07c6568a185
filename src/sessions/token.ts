// Bearer tokens: minting (256 random bits) and the one-way hash under which a session is stored.
// The token itself is never stored or logged; only its SHA-256 digest is.
import { toBase64Url } from "../base64url";
import { sha256Hex } from "../hash";

const PREFIX = "wxe_";
// 32 random bytes in unpadded base64url are exactly 43 characters.
const TOKEN_PATTERN = /^wxe_[A-Za-z0-9_-]{43}$/;

/** A new opaque token: "wxe_" + 256 random bits in base64url. The prefix lets secret scanners spot leaks. */
export function mintToken(): string {
  return PREFIX + toBase64Url(crypto.getRandomValues(new Uint8Array(32)));
}

/** Whether a string has the shape of one of our tokens (checked before any storage look-up). */
export function isWellFormedToken(token: string): boolean {
  return TOKEN_PATTERN.test(token);
}

/** Lower-case hex SHA-256 of the token: the storage key's identity part. */
export function hashToken(token: string): Promise<string> {
  return sha256Hex(token);
}
