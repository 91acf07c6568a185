// The shared front half of WeChat's notification webhooks: from the body's bytes (already limited)
// to a verified notification in one call — strict UTF-8, parsed with no DTD, our settings, the
// caller's verification — and the reply document WeChat expects, logged without secrets.
import type { Context } from "hono";
import type { AppEnv } from "../app-env";
import { requireConfig } from "../config";
import { ApiError } from "../errors";
import { decodeUtf8 } from "../http/body";
import { log, type LogFields } from "../log";
import { notificationReply } from "../wechat/payment-notification";
import type { Fields } from "../wechat/sign";
import { XmlError, parseXml } from "../wechat/xml";

export type VerifiedNotification<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly status: 400 | 503; readonly reason: string };

/** Whom a notification must come from. */
export interface NotificationTrust {
  readonly appid: string;
  readonly mchId: string;
  readonly key: string;
}

/**
 * The request's bytes to a verified notification, in the fixed order: UTF-8 → parse → our
 * settings → `verify` (envelope, then sign or decryption). The body limit was applied before
 * (limitBody in app.ts).
 */
export async function verifiedNotification<T>(
  c: Context<AppEnv>,
  verify: (fields: Fields, trust: NotificationTrust) => Promise<{ readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string }>,
): Promise<VerifiedNotification<T>> {
  const text = decodeUtf8(new Uint8Array(await c.req.arrayBuffer()));
  if (text === null) return { ok: false, status: 400, reason: "not_utf8" };
  let fields: Fields;
  try {
    fields = parseXml(text);
  } catch (error) {
    if (error instanceof XmlError) return { ok: false, status: 400, reason: `xml_${error.reason}` };
    throw error;
  }
  const trust = notificationTrust(c);
  if (trust === null) return { ok: false, status: 503, reason: "not_configured" };
  const check = await verify(fields, trust);
  return check.ok ? check : { ok: false, status: 400, reason: check.reason };
}

/**
 * Whom a notification must come from: our appid and mch_id, signed or encrypted with our key. Null
 * when those settings are unusable: the webhook then answers FAIL (WeChat retries later) instead
 * of the JSON error other routes give.
 */
function notificationTrust(c: Context<AppEnv>): NotificationTrust | null {
  try {
    const config = requireConfig(c.env, ["appid", "mchId", "payKey"]);
    return { appid: config.appid, mchId: config.mchId, key: config.payKey };
  } catch (error) {
    if (error instanceof ApiError) return null;
    throw error;
  }
}

/**
 * A reply function for one webhook. SUCCESS goes out only with 200, after the caller stored the
 * state; FAIL carries a status that says why (WeChat retries either way) and is logged with a
 * reason code, never the body.
 */
export function replyToNotification(c: Context<AppEnv>, webhook: string) {
  return (acknowledged: boolean, status: 200 | 400 | 413 | 500 | 503, reason?: string, fields: LogFields = {}): Response => {
    // An accepted notification is logged where it changed something (the order object's transition
    // line); repeats, which WeChat sends by design, change nothing and write nothing.
    if (!acknowledged) log("warn", `${webhook}_rejected`, { reason, ...fields });
    else if (reason !== undefined) log("info", `${webhook}_accepted`, { reason, ...fields });
    return c.body(notificationReply(acknowledged), status, { "Content-Type": "text/xml; charset=utf-8" });
  };
}
