// The bodies of v3 notifications (§4.6, §4.7): the JSON envelope around a resource encrypted with
// AEAD_AES_256_GCM under the APIv3 key (the Transaction, or the refund's result). Built once per
// notification; the notifier signs each POST of it (notifier.ts).
import { rfc3339 } from "../clock";
import type { SimConfig } from "../context";
import type { OrderRecord, RefundRecord, RefundStatus } from "../state";
import type { V3Platform } from "./platform";
import { refundResourceJson, transactionJson, V3_REFUND_STATUS } from "./rules";

async function envelope(platform: V3Platform, at: number, event: { type: string; summary: string; originalType: string; resource: unknown }): Promise<string> {
  const { ciphertext, nonce } = await platform.encrypt(JSON.stringify(event.resource), event.originalType);
  return JSON.stringify({
    id: crypto.randomUUID(),
    create_time: rfc3339(at),
    resource_type: "encrypt-resource",
    event_type: event.type,
    summary: event.summary,
    resource: { original_type: event.originalType, algorithm: "AEAD_AES_256_GCM", ciphertext, associated_data: event.originalType, nonce },
  });
}

/** TRANSACTION.SUCCESS for a just-paid order: its Transaction JSON, as the v3 query shows it. */
export function buildTransactionNotification(platform: V3Platform, config: SimConfig, order: OrderRecord, at: number): Promise<string> {
  return envelope(platform, at, {
    type: "TRANSACTION.SUCCESS",
    summary: "支付成功",
    originalType: "transaction",
    resource: transactionJson(order, { appid: config.appid, mchid: config.mchId }),
  });
}

type FinalStatus = Exclude<RefundStatus, "PROCESSING">;

const REFUND_SUMMARY: Record<FinalStatus, string> = {
  SUCCESS: "退款成功",
  REFUNDCLOSE: "退款关闭",
  CHANGE: "退款异常",
};

/** REFUND.SUCCESS / REFUND.CLOSED / REFUND.ABNORMAL for a refund that just became final. */
export function buildRefundNotificationV3(platform: V3Platform, config: SimConfig, refund: RefundRecord, status: FinalStatus, at: number): Promise<string> {
  return envelope(platform, at, {
    type: `REFUND.${V3_REFUND_STATUS[status]}`,
    summary: REFUND_SUMMARY[status],
    originalType: "refund",
    resource: refundResourceJson(refund, config.mchId),
  });
}
