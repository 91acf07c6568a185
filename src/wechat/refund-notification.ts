// Reads WeChat's v2 refund result notification: envelope checks, then req_info decryption (AES-256-ECB, key = md5hex(merchant key)), then fields.
// Pure: it knows nothing of orders or storage; the caller matches the refund and amounts. Never puts a key or req_info into an error.
import { AesEcbError, aesEcbDecrypt, aesEcbEncrypt, importAesEcbKey } from "./aes-ecb";
import { md5Hex, type Fields } from "./sign";
import { XmlError, parseXml } from "./xml";

/** Why req_info could not be read. */
export type RefundInfoErrorReason = "bad_base64" | "bad_length" | "bad_padding" | "bad_xml";

const MESSAGES: Readonly<Record<RefundInfoErrorReason, string>> = {
  bad_base64: "req_info is not base64",
  bad_length: "req_info is not a whole number of AES blocks",
  bad_padding: "req_info did not decrypt (wrong key or altered ciphertext)",
  bad_xml: "decrypted req_info is not a <root> document",
};

/** req_info that is not a well-formed encryption of a <root> document under our key. */
export class RefundInfoError extends Error {
  readonly reason: RefundInfoErrorReason;

  constructor(reason: RefundInfoErrorReason) {
    super(MESSAGES[reason]);
    this.name = "RefundInfoError";
    this.reason = reason;
  }
}

const encoder = new TextEncoder();

/**
 * The AES-256 key: the 32 ASCII characters of the lower-case hex MD5 of the APIv2 key, used as bytes (not the 16
 * digest bytes, and not upper-case hex: both are common mistakes, pitfall 13).
 */
function refundKey(merchantKey: string): Promise<CryptoKey> {
  return importAesEcbKey(encoder.encode(md5Hex(encoder.encode(merchantKey))));
}

/**
 * AES-256-ECB, key = lower-case hex MD5 of the merchant key (32 ASCII bytes), PKCS#7; returns the inner <root>
 * fields. Throws RefundInfoError on bad base64, wrong length, bad padding or bad XML (including non-UTF-8 text).
 */
export async function decryptRefundInfo(reqInfo: string, merchantKey: string): Promise<Fields> {
  const ciphertext = decodeBase64(reqInfo);
  let plaintext: Uint8Array;
  try {
    plaintext = await aesEcbDecrypt(await refundKey(merchantKey), ciphertext);
  } catch (error) {
    if (error instanceof AesEcbError) throw new RefundInfoError(error.reason);
    throw error;
  }
  try {
    return parseXml(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(plaintext), { root: "root" });
  } catch (error) {
    // A TypeError from the decoder (not UTF-8) or an XmlError: either way not the document WeChat encrypts.
    if (error instanceof XmlError || error instanceof TypeError) throw new RefundInfoError("bad_xml");
    throw error;
  }
}

/** The inverse of decryptRefundInfo, for simulators and tests: base64 of AES-256-ECB(PKCS#7(UTF-8 `plainXml`)). */
export async function encryptRefundInfo(plainXml: string, merchantKey: string): Promise<string> {
  return encodeBase64(await aesEcbEncrypt(await refundKey(merchantKey), encoder.encode(plainXml)));
}

/** The refund facts of a notification that decrypted under our key. Amounts are kept as sent, never coerced. */
export interface RefundNotice {
  outRefundNo: string;
  outTradeNo: string;
  refundId: string;
  transactionId?: string;
  totalFee: string;
  refundFee: string;
  settlementRefundFee?: string;
  /** SUCCESS, CHANGE (退款异常) or REFUNDCLOSE; older documents also name FAIL. */
  refundStatus: string;
  /** yyyy-MM-dd HH:mm:ss Beijing time; present on SUCCESS. */
  successTime?: string;
  /** Every decrypted field, including those not named above. */
  fields: Fields;
}

export type RefundNotificationRejection = "return_fail" | "wrong_appid" | "wrong_mch_id" | "undecryptable" | "missing_fields";

export type RefundNotificationCheck = { ok: true; notice: RefundNotice } | { ok: false; reason: RefundNotificationRejection };

/**
 * Outer envelope (return_code SUCCESS, appid and mch_id ours) → decrypt req_info → required inner fields.
 * Refund notifications carry no sign: only someone holding our merchant key can produce a req_info that decrypts
 * (with valid padding) to a <root> document, so successful decryption is the authentication. A missing req_info
 * is `missing_fields`; one that does not decrypt is `undecryptable`.
 */
export async function verifyRefundNotification(
  fields: Fields,
  trust: { appid: string; mchId: string; key: string },
): Promise<RefundNotificationCheck> {
  if (fields.return_code !== "SUCCESS") return { ok: false, reason: "return_fail" };
  if (fields.appid !== trust.appid) return { ok: false, reason: "wrong_appid" };
  if (fields.mch_id !== trust.mchId) return { ok: false, reason: "wrong_mch_id" };
  const reqInfo = fields.req_info;
  if (!reqInfo) return { ok: false, reason: "missing_fields" };

  let inner: Fields;
  try {
    inner = await decryptRefundInfo(reqInfo, trust.key);
  } catch (error) {
    if (error instanceof RefundInfoError) return { ok: false, reason: "undecryptable" };
    throw error;
  }

  const { out_refund_no, out_trade_no, refund_id, total_fee, refund_fee, refund_status } = inner;
  if (!out_refund_no || !out_trade_no || !refund_id || !total_fee || !refund_fee || !refund_status) {
    return { ok: false, reason: "missing_fields" };
  }
  const notice: RefundNotice = {
    outRefundNo: out_refund_no,
    outTradeNo: out_trade_no,
    refundId: refund_id,
    totalFee: total_fee,
    refundFee: refund_fee,
    refundStatus: refund_status,
    fields: inner,
  };
  if (inner.transaction_id) notice.transactionId = inner.transaction_id;
  if (inner.settlement_refund_fee) notice.settlementRefundFee = inner.settlement_refund_fee;
  if (inner.success_time) notice.successTime = inner.success_time;
  return { ok: true, notice };
}

/** Strict base64 (standard alphabet, padded, no whitespace): anything looser is not what WeChat sends. */
function decodeBase64(text: string): Uint8Array {
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) throw new RefundInfoError("bad_base64");
  let binary: string;
  try {
    binary = atob(text);
  } catch {
    throw new RefundInfoError("bad_base64");
  }
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function encodeBase64(bytes: Uint8Array): string {
  let binary = "";
  // In chunks: String.fromCharCode(...bytes) on a large array would exceed the argument limit.
  for (let i = 0; i < bytes.byteLength; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}
