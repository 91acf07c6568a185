// Verifies WeChat's v2 payment result notification in a fixed order and builds the reply WeChat
// expects. Pure: it knows nothing of orders or storage; the caller checks the order and amount.
import { verifySign, type Fields, type SignType, SIGN_TYPES } from "./sign";
import { buildXml } from "./xml";

export interface NotificationTrust {
  readonly appid: string;
  readonly mchId: string;
  readonly key: string;
}

/** The payment facts of a notification that passed every envelope and sign check. */
export interface VerifiedPayment {
  readonly outTradeNo: string;
  readonly transactionId: string;
  /** exactly as sent: amounts are compared as strings, never coerced */
  readonly totalFee: string;
  readonly timeEnd?: string;
  readonly openid?: string;
  /** "SUCCESS", or "FAIL" for a notification of a failed payment (which proves no payment) */
  readonly resultCode: string;
}

export type NotificationRejection =
  | "return_fail"
  | "wrong_appid"
  | "wrong_mch_id"
  | "bad_signature"
  | "missing_fields";

export type NotificationCheck =
  | { readonly ok: true; readonly payment: VerifiedPayment }
  | { readonly ok: false; readonly reason: NotificationRejection };

/**
 * Envelope → sign → fields. Both v2 algorithms are accepted: each is keyed with our own merchant key,
 * so a notification WeChat signed with the other one (seen in practice, and a notification carries
 * no sign_type when MD5 is used) is just as authentic; the sign's length tells which was used.
 */
export async function verifyPaymentNotification(fields: Fields, trust: NotificationTrust): Promise<NotificationCheck> {
  if (fields.return_code !== "SUCCESS") return { ok: false, reason: "return_fail" };
  if (fields.appid !== trust.appid) return { ok: false, reason: "wrong_appid" };
  if (fields.mch_id !== trust.mchId) return { ok: false, reason: "wrong_mch_id" };
  if (!(await verifySign(fields, trust.key, ACCEPTED))) return { ok: false, reason: "bad_signature" };
  const { out_trade_no, transaction_id, total_fee, result_code } = fields;
  if (!out_trade_no || !result_code || (result_code === "SUCCESS" && (!transaction_id || !total_fee))) {
    return { ok: false, reason: "missing_fields" };
  }
  return {
    ok: true,
    payment: {
      outTradeNo: out_trade_no,
      transactionId: transaction_id ?? "",
      totalFee: total_fee ?? "",
      resultCode: result_code,
      ...(fields.time_end ? { timeEnd: fields.time_end } : {}),
      ...(fields.openid ? { openid: fields.openid } : {}),
    },
  };
}

const ACCEPTED: readonly SignType[] = SIGN_TYPES;

// Two fixed documents, built once: every notification is answered with one of them.
const SUCCESS_REPLY = buildXml({ return_code: "SUCCESS", return_msg: "OK" });
const FAIL_REPLY = buildXml({ return_code: "FAIL", return_msg: "FAIL" });

/**
 * The reply body. WeChat stops retrying only on return_code SUCCESS in a 200 response; the
 * message is a fixed word, never a reason an attacker could learn from.
 */
export function notificationReply(acknowledged: boolean): string {
  return acknowledged ? SUCCESS_REPLY : FAIL_REPLY;
}
