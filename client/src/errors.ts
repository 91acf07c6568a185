// The one error type of the client: the service's error codes, plus a few for what fails on the phone.

/** The machine codes the service answers with (its HTTP contract). */
export type ServiceErrorCode =
  | "invalid_request"
  | "invalid_code"
  | "unauthorized"
  | "forbidden"
  | "not_found"
  | "invalid_state"
  | "payload_too_large"
  | "unsupported_media_type"
  | "rate_limited"
  | "upstream_error"
  | "upstream_timeout"
  | "not_configured"
  | "internal_error";

/**
 * Codes of failures that never got a service error body:
 * - `network`: `wx.request` failed (no connection, time-out, domain not allowed); status 0;
 * - `invalid_response`: an answer that is not the service's JSON (a proxy's error page, say);
 * - `login_failed`: `wx.login` failed; status 0;
 * - `payment_failed`: `wx.requestPayment` failed for another reason than the user cancelling; status 0.
 */
export type ClientErrorCode = "network" | "invalid_response" | "login_failed" | "payment_failed";

export type ErrorCode = ServiceErrorCode | ClientErrorCode;

const SERVICE_CODES: ReadonlySet<string> = new Set<ServiceErrorCode>([
  "invalid_request", "invalid_code", "unauthorized", "forbidden", "not_found", "invalid_state", "payload_too_large",
  "unsupported_media_type", "rate_limited", "upstream_error", "upstream_timeout", "not_configured", "internal_error",
]);

/** Whether a string is one of the service's error codes. */
export function isServiceErrorCode(code: unknown): code is ServiceErrorCode {
  return typeof code === "string" && SERVICE_CODES.has(code);
}

/** Every failure of the client: switch on `code`; `message` is safe to log (it never holds the token). */
export class WxPayEdgeError extends Error {
  override readonly name = "WxPayEdgeError";
  constructor(
    readonly code: ErrorCode,
    /** The HTTP status, or 0 when no answer came (`network`, `login_failed`, `payment_failed`). */
    readonly status: number,
    message: string,
    /** The service's `X-Request-Id`, to quote when asking the merchant about a failure. */
    readonly requestId: string | null = null,
  ) {
    super(message);
  }
}
