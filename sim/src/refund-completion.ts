// Finishing refunds: a PROCESSING refund becomes SUCCESS when its delay has passed (due work) or
// whatever the control API says, and then, if the refund request gave a notify_url, WeChat's
// encrypted refund notification (v2 XML, or v3 JSON for a refund made through v3) is sent with the
// payment notification's retry schedule.
import { formatBeijingDateTime } from "./clock";
import type { SimConfig, SimContext } from "./context";
import { newNonce } from "./ids";
import { encryptReqInfo } from "./refund-crypto";
import { refundInfoFields } from "./refund-rules";
import type { RefundRecord, RefundStatus, SimState } from "./state";
import { buildRefundNotificationV3 } from "./v3/notify";
import { buildRefundInfoXml, buildWeChatXml } from "./xml";

export type FinalRefundStatus = Exclude<RefundStatus, "PROCESSING">;

/**
 * The notification body: return_code, return_msg, appid, mch_id, nonce_str and req_info, with no
 * sign (the encryption under the merchant key is what authenticates it).
 */
export async function buildRefundNotification(config: SimConfig, refund: RefundRecord): Promise<string> {
  const reqInfo = await encryptReqInfo(buildRefundInfoXml(refundInfoFields(refund)), config.key);
  return buildWeChatXml({
    return_code: "SUCCESS",
    return_msg: "OK",
    appid: config.appid,
    mch_id: config.mchId,
    nonce_str: newNonce(),
    req_info: reqInfo,
  });
}

export interface FinishOptions {
  status: FinalRefundStatus;
  /** false: final at WeChat, but no notification is ever sent. */
  deliver: boolean;
  /** Near-simultaneous extra copies of the first notification attempt. */
  duplicates: number;
  /** Sim time it became final (the first notification attempt is stamped with it). */
  at: number;
}

/**
 * Makes a PROCESSING refund final, then notifies. Resolves to whether the first notification
 * attempt was acknowledged, or null when none was sent (no notify_url, or `deliver: false`).
 */
export async function finishRefund(ctx: SimContext, refund: RefundRecord, options: FinishOptions): Promise<boolean | null> {
  // State first, before any await: a query made while the notification is handled sees it final.
  refund.status = options.status;
  refund.completeAt = null;
  refund.finishedAt = options.at;
  refund.successTime = options.status === "SUCCESS" ? formatBeijingDateTime(options.at) : null;
  if (!options.deliver || refund.notifyUrl === null) return null;
  // A v3 refund exists only when v3 is configured, so ctx.v3 is there for it.
  const v3 = refund.protocol === "v3" ? ctx.v3 : null;
  const body = v3
    ? await buildRefundNotificationV3(v3, ctx.config, refund, options.status, options.at)
    : await buildRefundNotification(ctx.config, refund);
  return ctx.notifier.start(refund, {
    kind: "refund_notify",
    ...(v3 ? { protocol: "v3" as const } : {}),
    url: refund.notifyUrl,
    body,
    duplicates: options.duplicates,
    at: options.at,
  });
}

/** Finishes, as SUCCESS, every refund whose delay has passed; resolves to whether there was any. */
export async function finishDueRefunds(ctx: SimContext): Promise<boolean> {
  const now = ctx.time.now();
  const due = [...ctx.state.refunds.peek()].filter(
    (refund) => refund.status === "PROCESSING" && refund.completeAt !== null && refund.completeAt <= now,
  );
  for (const refund of due) ctx.state.refunds.touch(refund.outRefundNo);
  await Promise.all(
    due.map((refund) => finishRefund(ctx, refund, { status: "SUCCESS", deliver: true, duplicates: 0, at: refund.completeAt! })),
  );
  return due.length > 0;
}

/** Sim time of the next scheduled refund completion, or null. */
export function nextRefundCompletionAt(state: SimState): number | null {
  let next: number | null = null;
  for (const refund of state.refunds.peek()) {
    const at = refund.status === "PROCESSING" ? refund.completeAt : null;
    if (at !== null && (next === null || at < next)) next = at;
  }
  return next;
}
