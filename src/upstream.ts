// How the service waits on WeChat: the time-out of one call and the budget of all retries one
// incoming request may spend; and WeChat failures turned into the contract's errors, in one place.
// The WeChat layer's own detail (err_code, HTTP status) goes to the log; the caller gets a stable
// code and a safe message.
import { ApiError } from "./errors";
import { log } from "./log";
import { WeChatError } from "./wechat/errors";

/** One WeChat call may take this long… */
export const PER_CALL_TIMEOUT_MS = 3_000;
/** …and all the attempts an incoming request (or an alarm task) makes of one call, this long. */
export const REQUEST_BUDGET_MS = 7_000;

/** code2session errcodes that mean "this code cannot log anyone in": call wx.login again. */
const INVALID_CODE = new Set(["40029", "40163"]);
const RATE_LIMITED = "45011";
const CODE_BLOCKED = "40226";

/** Maps a failed code2session to the contract's login errors. */
export function loginError(error: unknown, requestId: string): ApiError {
  if (error instanceof WeChatError && error.failure.kind === "business") {
    const code = error.failure.code;
    log("info", "login_rejected", { requestId, errcode: code });
    if (INVALID_CODE.has(code)) {
      return new ApiError(401, "invalid_code", "The login code is invalid, expired or already used; call wx.login again.");
    }
    if (code === RATE_LIMITED) {
      return new ApiError(429, "rate_limited", "WeChat is rate-limiting logins; retry in a minute.", { "Retry-After": "60" });
    }
    if (code === CODE_BLOCKED) {
      return new ApiError(403, "forbidden", "WeChat refused this login (risk control).");
    }
  }
  return upstreamError(error, requestId);
}

/** Any other WeChat failure: 504 when WeChat did not answer in time, else 502. */
export function upstreamError(error: unknown, requestId?: string): ApiError {
  if (!(error instanceof WeChatError)) throw error;
  const f = error.failure;
  log("warn", "wechat_failed", {
    requestId,
    api: error.api,
    kind: f.kind,
    code: f.kind === "business" ? f.code : undefined,
    status: f.kind === "http" ? f.status : undefined,
  });
  return upstreamApiError(f.kind === "timeout");
}

/** The contract's error for a WeChat call that failed: 504 when WeChat did not answer in time, else 502. */
export function upstreamApiError(timedOut: boolean): ApiError {
  return timedOut
    ? new ApiError(504, "upstream_timeout", "WeChat did not answer in time; it is safe to retry.")
    : new ApiError(502, "upstream_error", "WeChat could not complete the request; it is safe to retry.");
}
