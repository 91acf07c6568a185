// Mini Program login: exchanges a wx.login code for openid and session_key (code2Session). Never lets the AppSecret, its URL or a session_key reach an error.
import { WeChatError, upstreamText } from "./errors";
import { checkTimeout, exchange, joinUrl, platformFetch } from "./http";
import { jsonObject } from "./json";

/** Where and as whom to call code2Session. */
export interface LoginClientConfig {
  /** e.g. "https://api.weixin.qq.com", or a simulator's origin. */
  apiBase: string;
  appid: string;
  /** The Mini Program AppSecret; sent only in the query string WeChat requires. */
  secret: string;
  fetch?: typeof fetch;
  /** Per-call deadline, default 5000 ms. */
  timeoutMs?: number;
}

/** The result of a successful exchange. `sessionKey` must stay on the server. */
export interface WeChatSession {
  openid: string;
  sessionKey: string;
  unionid?: string;
}

const API = "code2session";

/**
 * GET {apiBase}/sns/jscode2session. Success is recognised by `openid` (and session_key) being present, not by
 * errcode == 0 (success normally has no errcode). Any errcode ≠ 0 → WeChatError business.
 *
 * Throws WeChatError: business (code = String(errcode), description = errmsg), timeout, network, http, malformed.
 */
export async function code2Session(config: LoginClientConfig, jsCode: string): Promise<WeChatSession> {
  if (jsCode === "") throw new RangeError("jsCode must not be empty");
  const timeoutMs = checkTimeout(config.timeoutMs);
  const query = new URLSearchParams({
    appid: config.appid,
    secret: config.secret,
    js_code: jsCode,
    grant_type: "authorization_code",
  });
  const url = `${joinUrl(config.apiBase, "/sns/jscode2session")}?${query.toString()}`;
  const text = await exchange(API, config.fetch ?? platformFetch, url, { method: "GET" }, timeoutMs);

  const body = jsonObject(text);
  if (body === null) throw new WeChatError(API, { kind: "malformed" });
  const errcode = body.errcode;
  // WeChat answers HTTP 200 for errors too; the errcode decides. Absent, null and 0 all mean "no error".
  if (errcode !== undefined && errcode !== null && errcode !== 0 && errcode !== "0") {
    throw new WeChatError(API, {
      kind: "business",
      code: String(errcode),
      description: upstreamText(body.errmsg, [config.secret]),
    });
  }
  const { openid, session_key: sessionKey, unionid } = body;
  if (!isNonEmptyString(openid) || !isNonEmptyString(sessionKey)) throw new WeChatError(API, { kind: "malformed" });
  return isNonEmptyString(unionid) ? { openid, sessionKey, unionid } : { openid, sessionKey };
}


function isNonEmptyString(value: unknown): value is string {
  return typeof value === "string" && value !== "";
}
