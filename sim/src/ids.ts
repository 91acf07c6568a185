// Identifiers in the shapes WeChat issues: login codes, openids, session keys, nonces, prepay ids,
// transaction ids and the `rid` trace suffix of login errors. Randomness comes from Web Crypto.
import { beijingDate, formatBeijingTime } from "./clock";

const ALPHANUMERIC = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const HEX = "0123456789abcdef";
const DIGITS = "0123456789";

/** `length` characters drawn uniformly from `alphabet` (rejection sampling avoids modulo bias). */
export function randomString(length: number, alphabet: string): string {
  const limit = 256 - (256 % alphabet.length);
  let out = "";
  while (out.length < length) {
    for (const byte of crypto.getRandomValues(new Uint8Array(length * 2))) {
      if (byte < limit && out.length < length) out += alphabet[byte % alphabet.length];
    }
  }
  return out;
}

function base64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes));
}

/** A wx.login code: 32 alphanumerics, like `051v0m000ObAyK19vV1005SDWf0v0m0s`. */
export function newLoginCode(): string {
  return randomString(32, ALPHANUMERIC);
}

/** session_key: base64 of 16 random bytes (24 characters). */
export function newSessionKey(): string {
  return base64(crypto.getRandomValues(new Uint8Array(16)));
}

/** A name for a user the caller did not name. */
export function newUserName(): string {
  return `user-${randomString(12, HEX)}`;
}

/**
 * The openid of `user` under `appid`: `o` + 27 base64url characters of SHA-256(appid, user), so the
 * same user always gets the same openid for one appid and a different one under another appid.
 */
export async function openidFor(appid: string, user: string): Promise<string> {
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`${appid}\u0000${user}`)),
  );
  const encoded = base64(digest).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
  return `o${encoded.slice(0, 27)}`;
}

/** The `rid: …` suffix real errmsg values carry, e.g. `652d44d0-1d0af18b-5b069232`. */
export function newRid(): string {
  return [randomString(8, HEX), randomString(8, HEX), randomString(8, HEX)].join("-");
}

export function newNonce(): string {
  return randomString(32, ALPHANUMERIC);
}

/** `wx` + Beijing yyyyMMddHHmmss + 20 hex, like `wx201411101639507cbf6ffd8b0779950874`. */
export function newPrepayId(nowMs: number): string {
  return `wx${formatBeijingTime(nowMs)}${randomString(20, HEX)}`;
}

/**
 * 29 digits: `50300` + 5 digits + Beijing yyyyMMdd + 11 digits, like 50300103182020010413419046597 (the shape of
 * the refund ids in real refund notifications).
 */
export function newRefundId(nowMs: number): string {
  return `50300${randomString(5, DIGITS)}${beijingDate(nowMs)}${randomString(11, DIGITS)}`;
}

/** 28 digits: `42000` + 5 digits + Beijing yyyyMMdd + 10 digits, like 4200000483202001042069747825. */
export function newTransactionId(nowMs: number): string {
  return `42000${randomString(5, DIGITS)}${beijingDate(nowMs)}${randomString(10, DIGITS)}`;
}
