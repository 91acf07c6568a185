// WeChat's message push to the mini-program's server for the order-shipping events: builds trade_manage_order_settlement or trade_manage_remind_shipping as JSON, signs it (plain: `signature`; safe: `Encrypt` and `msg_signature`), POSTs it and records the reply.
//
// Fields per WeChat's order-shipping guide (消息推送 of 发货信息管理): ToUserName, FromUserName, CreateTime,
// MsgType "event", Event, transaction_id, merchant_id, sub_merchant_id, merchant_trade_no, pay_time, and for the
// settlement event shipped_time, estimated_settlement_time, confirm_receive_method, confirm_receive_time,
// settlement_time (the last only once settled); msg for the reminder. Safe mode's envelope is
// {ToUserName, Encrypt}; the query always carries signature, timestamp and nonce, plus encrypt_type=aes and
// msg_signature in safe mode.
import { isoTime, parseBeijingTime } from "./clock";
import type { SimContext } from "./context";
import { randomString } from "./ids";
import { encryptPush, sortedSha1 } from "./mp-crypto";
import type { OrderRecord, PushRecord } from "./state";

export const PUSH_EVENTS = ["trade_manage_order_settlement", "trade_manage_remind_shipping"] as const;
export type PushEventName = (typeof PUSH_EVENTS)[number];

/** The push settings of the mini program: its Token and, for safe mode, its EncodingAESKey. */
export interface PushKeys {
  token: string | null;
  encodingAesKey: string | null;
}

export interface PushRequest {
  event: PushEventName;
  order: OrderRecord;
  mode: "plain" | "safe";
  url: string;
  /** settlement only: send the settled notice (with settlement_time) instead of the one at delivery */
  settled: boolean;
}

/** Where a push goes when the caller names no URL: the service's push route on its notify_url's origin. */
export function defaultPushUrl(order: OrderRecord): string | null {
  try {
    return `${new URL(order.notifyUrl).origin}/api/wechat/push`;
  } catch {
    return null;
  }
}

/** The original id (gh_…) the pushes name as ToUserName, made up from the appid. */
const originalId = (appid: string) => `gh_${appid.slice(2, 14)}`;

/** The event as WeChat writes it; times in seconds. */
export function pushMessage(ctx: SimContext, request: PushRequest): Record<string, unknown> {
  const { order } = request;
  const now = Math.floor(ctx.time.now() / 1000);
  const paidAt = Math.floor((parseBeijingTime(order.timeEnd ?? "") ?? 0) / 1000);
  const common = {
    ToUserName: originalId(ctx.config.appid),
    FromUserName: order.openid,
    CreateTime: now,
    MsgType: "event",
    Event: request.event,
    transaction_id: order.transactionId,
    merchant_id: ctx.config.mchId,
    sub_merchant_id: "",
    merchant_trade_no: order.outTradeNo,
    pay_time: paidAt,
  };
  if (request.event === "trade_manage_remind_shipping") return { ...common, msg: "您有一笔订单已超过48小时未发货，请尽快发货" };
  const shippedAt = Math.floor((ctx.state.shipping.get(order.outTradeNo)?.uploadedAt ?? ctx.time.now()) / 1000);
  const message: Record<string, unknown> = {
    ...common,
    shipped_time: shippedAt,
    estimated_settlement_time: now + 7 * 86_400,
    confirm_receive_method: 1,
    confirm_receive_time: now,
  };
  if (request.settled) message.settlement_time = now;
  return message;
}

/** The query and body of one push, signed (and in safe mode encrypted) with `keys`. */
export async function signPush(
  ctx: SimContext,
  message: Record<string, unknown>,
  mode: "plain" | "safe",
  keys: { token: string; encodingAesKey: string | null },
): Promise<{ query: Record<string, string>; body: string }> {
  const timestamp = String(Math.floor(ctx.time.now() / 1000));
  const nonce = randomString(10, "0123456789");
  const query: Record<string, string> = { signature: await sortedSha1([keys.token, timestamp, nonce]), timestamp, nonce };
  const plain = JSON.stringify(message);
  if (mode === "plain") return { query, body: plain };
  if (keys.encodingAesKey === null) throw new Error("safe mode needs an EncodingAESKey");
  const encrypt = await encryptPush(plain, keys.encodingAesKey, ctx.config.appid);
  query.encrypt_type = "aes";
  query.msg_signature = await sortedSha1([keys.token, timestamp, nonce, encrypt]);
  return { query, body: JSON.stringify({ ToUserName: message.ToUserName, Encrypt: encrypt }) };
}

/** The most of a reply kept in the record. */
const MAX_REPLY_CHARS = 1000;

/** Sends one push and records it with the reply (HTTP status and text) or why there was none. */
export async function sendPush(
  ctx: SimContext,
  request: PushRequest,
  keys: { token: string; encodingAesKey: string | null },
  deliver: (url: string, init: RequestInit) => Promise<Response>,
  timeoutMs: number,
): Promise<PushRecord> {
  const message = pushMessage(ctx, request);
  const { query, body } = await signPush(ctx, message, request.mode, keys);
  const url = new URL(request.url);
  for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value);
  const record: PushRecord = {
    id: `push-${String(ctx.state.pushes.size + 1).padStart(6, "0")}`,
    event: request.event,
    outTradeNo: request.order.outTradeNo,
    mode: request.mode,
    url: url.toString(),
    at: ctx.time.now(),
    message: JSON.stringify(message),
    status: null,
    reply: null,
    error: null,
  };
  ctx.state.pushes.set(record.id, record);
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("timeout")), timeoutMs);
    });
    const response = await Promise.race([deliver(record.url, { method: "POST", headers: { "content-type": "application/json" }, body }), timeout]);
    record.status = response.status;
    record.reply = (await response.text()).slice(0, MAX_REPLY_CHARS);
  } catch (error) {
    record.error = error instanceof Error && error.message === "timeout" ? "timeout" : "network error";
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
  return record;
}

/** The control API's view of a push. */
export function pushToJson(record: PushRecord) {
  return { ...record, at: isoTime(record.at), acknowledged: record.status === 200 };
}
