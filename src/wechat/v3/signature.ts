// API v3 signatures (WECHATPAY2-SHA256-RSA2048): the messages that are signed, SHA256withRSA over
// them with Web Crypto, the Authorization header of a request, and the mini-program's RSA paySign.
// The message layouts are WeChat's: every line ends with "\n", the last one included.
import { randomNonce } from "../nonce";

export const SIGNATURE_SCHEME = "WECHATPAY2-SHA256-RSA2048";

const RSA = { name: "RSASSA-PKCS1-v1_5" } as const;
const encoder = new TextEncoder();

/** A message made of lines: each ends with "\n". Byte parts (a raw body) are kept byte for byte. */
export function signingMessage(lines: readonly (string | Uint8Array)[]): Uint8Array {
  const parts = lines.map((line) => (typeof line === "string" ? encoder.encode(line) : line));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength + 1, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    out[offset + part.byteLength] = 0x0a;
    offset += part.byteLength + 1;
  }
  return out;
}

/** What a request signs: method, path with query (no scheme or host), timestamp, nonce, body ("" for none). */
export function requestMessage(method: string, pathWithQuery: string, timestamp: string, nonce: string, body: string | Uint8Array): Uint8Array {
  return signingMessage([method.toUpperCase(), pathWithQuery, timestamp, nonce, body]);
}

/** What WeChat signs in an answer or a notification: timestamp, nonce and the raw body. */
export function responseMessage(timestamp: string, nonce: string, body: string | Uint8Array): Uint8Array {
  return signingMessage([timestamp, nonce, body]);
}

/** SHA256withRSA (PKCS#1 v1.5) of `message`, base64. Deterministic for a key and message. */
export async function rsaSign(privateKey: CryptoKey, message: Uint8Array): Promise<string> {
  const signature = new Uint8Array(await crypto.subtle.sign(RSA, privateKey, message));
  let binary = "";
  for (const byte of signature) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** Whether `signature` (base64) is a SHA256withRSA signature of `message` by `publicKey`; false for anything malformed. */
export async function rsaVerify(publicKey: CryptoKey, message: Uint8Array, signature: string): Promise<boolean> {
  let bytes: Uint8Array;
  try {
    bytes = Uint8Array.from(atob(signature), (c) => c.charCodeAt(0));
  } catch {
    return false;
  }
  return crypto.subtle.verify(RSA, publicKey, bytes, message);
}

/** The merchant's identity for signing: mchid, its API certificate's serial, and its private key. */
export interface MerchantSigner {
  readonly mchid: string;
  /** the serial of the merchant's API certificate (apiclient_cert.pem), upper-case hex */
  readonly serialNo: string;
  readonly privateKey: CryptoKey;
}

/**
 * The Authorization header of one request. `timestamp` (unix seconds) and `nonce` are generated
 * unless given (tests pin them); `body` must be exactly the bytes sent.
 */
export async function authorizationHeader(
  signer: MerchantSigner,
  request: { method: string; pathWithQuery: string; body: string; timestamp?: string; nonce?: string },
): Promise<string> {
  const timestamp = request.timestamp ?? String(Math.floor(Date.now() / 1000));
  const nonce = request.nonce ?? randomNonce(32);
  const signature = await rsaSign(signer.privateKey, requestMessage(request.method, request.pathWithQuery, timestamp, nonce, request.body));
  return `${SIGNATURE_SCHEME} mchid="${signer.mchid}",nonce_str="${nonce}",signature="${signature}",timestamp="${timestamp}",serial_no="${signer.serialNo}"`;
}

/** What wx.requestPayment takes for a v3 prepay_id: signType "RSA", paySign over appId, timeStamp, nonceStr, package. */
export interface RsaPaymentParams {
  timeStamp: string;
  nonceStr: string;
  package: string;
  signType: "RSA";
  paySign: string;
}

/**
 * The five wx.requestPayment fields for a v3 prepay_id. `appId` must be the appid of the prepay
 * (WeChat checks); signType is passed but not signed.
 */
export async function buildRsaPaymentParams(input: {
  appId: string;
  prepayId: string;
  privateKey: CryptoKey;
  now?: () => number;
  nonce?: () => string;
}): Promise<RsaPaymentParams> {
  if (input.appId === "" || input.prepayId === "") throw new RangeError("appId and prepayId must not be empty");
  const timeStamp = String(Math.floor((input.now ?? Date.now)() / 1000));
  const nonceStr = (input.nonce ?? randomNonce)();
  const pkg = `prepay_id=${input.prepayId}`;
  const paySign = await rsaSign(input.privateKey, signingMessage([input.appId, timeStamp, nonceStr, pkg]));
  return { timeStamp, nonceStr, package: pkg, signType: "RSA", paySign };
}
