// One JSON call to a mini-program server API (api.weixin.qq.com): POST, errcode check, typed failures. Never lets a secret, an access token or the URL into an error.
import { WeChatError, upstreamText, type WeChatApi, type WeChatFailure } from "../errors";
import { checkTimeout, exchange, joinUrl, platformFetch } from "../http";
import { jsonObject } from "../json";

/** Where and how to reach the mini-program server APIs; shared by the token, shipping and query calls. */
export interface MpApiConfig {
  /** e.g. "https://api.weixin.qq.com", or a simulator's origin. */
  apiBase: string;
  fetch?: typeof fetch;
  /** Per-call deadline, default 5000 ms. */
  timeoutMs?: number;
}

/**
 * errcodes of the mini-program server APIs that mean "WeChat is busy, the same call later may pass":
 * -1 (system error, every API), 10060012 and 10060019 (系统错误 of the order-shipping APIs: "系统繁忙，
 * 此时请开发者稍候再试" in the uploadShippingInfo / get_order errcode tables).
 */
const BUSY_ERRCODES: ReadonlySet<string> = new Set(["-1", "10060012", "10060019"]);

/**
 * A failed mini-program API call. The same WeChatError (same `failure` kinds, same `instanceof`), whose
 * `retryable` also knows the errcodes these JSON APIs use for "busy": WeChatError itself only knows
 * v2 pay codes and code2session's -1.
 */
export class MpApiError extends WeChatError {
  constructor(api: WeChatApi, failure: WeChatFailure) {
    super(api, failure);
    this.name = "MpApiError";
  }

  override get retryable(): boolean {
    return super.retryable || (this.failure.kind === "business" && BUSY_ERRCODES.has(this.failure.code));
  }
}

/** The errcode of a business failure of a mini-program API, or undefined for every other failure. */
export function errcodeOf(error: unknown): string | undefined {
  return error instanceof WeChatError && error.failure.kind === "business" ? error.failure.code : undefined;
}

/** What one call sends. `query` may hold the access token: it is part of the URL only, never of an error. */
export interface MpCall {
  api: WeChatApi;
  path: string;
  query?: Readonly<Record<string, string>>;
  body: unknown;
  /** values to scrub from any text WeChat sends back (the AppSecret, the access token) */
  secrets: readonly string[];
}

/**
 * POSTs `body` as JSON and returns the answer's object once its errcode says success (absent, null or 0).
 * Throws MpApiError: business (code = String(errcode), description = scrubbed errmsg), timeout, network,
 * http, malformed (not a JSON object). Lower-level failures are re-thrown as MpApiError so that `retryable`
 * is the same everywhere.
 */
export async function callMpApi(config: MpApiConfig, call: MpCall): Promise<Record<string, unknown>> {
  const timeoutMs = checkTimeout(config.timeoutMs);
  const search = call.query === undefined ? "" : `?${new URLSearchParams(call.query).toString()}`;
  let text: string;
  try {
    text = await exchange(
      call.api,
      config.fetch ?? platformFetch,
      `${joinUrl(config.apiBase, call.path)}${search}`,
      { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(call.body) },
      timeoutMs,
    );
  } catch (error) {
    if (error instanceof WeChatError) throw new MpApiError(error.api, error.failure);
    throw error;
  }

  const fields = jsonObject(text);
  if (fields === null) throw new MpApiError(call.api, { kind: "malformed" });
  const errcode = fields.errcode;
  // WeChat answers HTTP 200 for failures too; the errcode decides.
  if (errcode !== undefined && errcode !== null && errcode !== 0 && errcode !== "0") {
    throw new MpApiError(call.api, { kind: "business", code: String(errcode), description: upstreamText(fields.errmsg, call.secrets) });
  }
  return fields;
}
