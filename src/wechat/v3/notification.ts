// Reading a v3 notification once its signature has been verified: the JSON envelope, the
// AEAD_AES_256_GCM resource decrypted with the APIv3 key, and the payment or refund inside it, as
// typed values. Only what the order core needs is read; everything is checked for type and shape,
// and the appid and mchid must be ours. Errors name the problem, never the content.
import { AeadError, decryptAead } from "./aead";
import { jsonObject } from "../json";

export type NotificationRejection = "malformed" | "unsupported_resource" | "undecryptable" | "foreign_merchant";

export class NotificationError extends Error {
  readonly reason: NotificationRejection;

  constructor(reason: NotificationRejection, message: string) {
    super(message);
    this.name = "NotificationError";
    this.reason = reason;
  }
}

/** The envelope of every v3 notification. */
export interface NotificationEnvelope {
  readonly id: string;
  readonly eventType: string;
  readonly createTime: string;
  readonly originalType: string;
}

/** A payment, as the TRANSACTION.* resource and the v3 order query describe it (amounts in fen). */
export interface V3Transaction {
  readonly appid: string;
  readonly mchid: string;
  readonly outTradeNo: string;
  readonly transactionId: string | null;
  /** SUCCESS | REFUND | NOTPAY | CLOSED | REVOKED | USERPAYING | PAYERROR */
  readonly tradeState: string;
  /** RFC 3339, once paid */
  readonly successTime: string | null;
  readonly payerOpenid: string | null;
  readonly amountTotal: number | null;
  readonly currency: string | null;
}

/** A refund, as the REFUND.* resource describes it. */
export interface V3RefundResult {
  readonly mchid: string;
  readonly outTradeNo: string;
  readonly outRefundNo: string;
  readonly refundId: string;
  /** SUCCESS | CLOSED | ABNORMAL */
  readonly refundStatus: string;
  readonly successTime: string | null;
  readonly amountTotal: number;
  readonly amountRefund: number;
}

/** Parses the envelope and decrypts its resource; returns the envelope and the resource's JSON. */
export async function openNotification(body: string, apiV3Key: string): Promise<{ envelope: NotificationEnvelope; resource: Record<string, unknown> }> {
  const data = objectOf(jsonObject(body), "the notification is not a JSON object");
  const resource = objectOf(data.resource, "the notification has no resource object");
  const id = text(data.id);
  const eventType = text(data.event_type);
  if (id === null || eventType === null) throw new NotificationError("malformed", "the notification has no id or event_type");
  if (data.resource_type !== "encrypt-resource" || resource.algorithm !== "AEAD_AES_256_GCM") {
    throw new NotificationError("unsupported_resource", "the resource is not an AEAD_AES_256_GCM encrypt-resource");
  }
  const ciphertext = text(resource.ciphertext);
  const nonce = text(resource.nonce);
  const associatedData = typeof resource.associated_data === "string" ? resource.associated_data : resource.associated_data === undefined ? "" : null;
  if (ciphertext === null || nonce === null || associatedData === null) throw new NotificationError("malformed", "the resource lacks ciphertext or nonce");
  let plain: string;
  try {
    plain = await decryptAead(apiV3Key, ciphertext, { nonce, associatedData });
  } catch (error) {
    if (error instanceof AeadError) throw new NotificationError("undecryptable", `the resource does not decrypt: ${error.message}`);
    throw error;
  }
  return {
    envelope: { id, eventType, createTime: text(data.create_time) ?? "", originalType: text(resource.original_type) ?? "" },
    resource: objectOf(jsonObject(plain), "the decrypted resource is not a JSON object"),
  };
}

/** Reads a transaction (notification resource or query answer) and checks it is for our appid and mchid. */
export function readTransaction(data: Record<string, unknown>, ours: { appid: string; mchid: string }): V3Transaction {
  const amount = typeof data.amount === "object" && data.amount !== null ? (data.amount as Record<string, unknown>) : {};
  const payer = typeof data.payer === "object" && data.payer !== null ? (data.payer as Record<string, unknown>) : {};
  const transaction: V3Transaction = {
    appid: required(data.appid, "appid"),
    mchid: required(data.mchid, "mchid"),
    outTradeNo: required(data.out_trade_no, "out_trade_no"),
    transactionId: text(data.transaction_id),
    tradeState: required(data.trade_state, "trade_state"),
    successTime: text(data.success_time),
    payerOpenid: text(payer.openid),
    amountTotal: fen(amount.total),
    currency: text(amount.currency),
  };
  if (transaction.appid !== ours.appid || transaction.mchid !== ours.mchid) throw new NotificationError("foreign_merchant", "the payment is for another appid or mchid");
  return transaction;
}

/** Reads a refund result (REFUND.* notification resource) and checks it is for our mchid. */
export function readRefundResult(data: Record<string, unknown>, ours: { mchid: string }): V3RefundResult {
  const amount = typeof data.amount === "object" && data.amount !== null ? (data.amount as Record<string, unknown>) : {};
  const total = fen(amount.total);
  const refund = fen(amount.refund);
  if (total === null || refund === null) throw new NotificationError("malformed", "the refund has no integer amounts");
  const result: V3RefundResult = {
    mchid: required(data.mchid, "mchid"),
    outTradeNo: required(data.out_trade_no, "out_trade_no"),
    outRefundNo: required(data.out_refund_no, "out_refund_no"),
    refundId: required(data.refund_id, "refund_id"),
    refundStatus: required(data.refund_status, "refund_status"),
    successTime: text(data.success_time),
    amountTotal: total,
    amountRefund: refund,
  };
  if (result.mchid !== ours.mchid) throw new NotificationError("foreign_merchant", "the refund is for another mchid");
  return result;
}


function objectOf(value: unknown, message: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new NotificationError("malformed", message);
  return value as Record<string, unknown>;
}

function text(value: unknown): string | null {
  return typeof value === "string" && value !== "" ? value : null;
}

function required(value: unknown, name: string): string {
  const found = text(value);
  if (found === null) throw new NotificationError("malformed", `the resource has no ${name}`);
  return found;
}

/** An amount in fen: a non-negative safe integer, never a string or a fraction. */
function fen(value: unknown): number | null {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0 ? value : null;
}
