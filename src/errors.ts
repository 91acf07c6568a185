// Typed API errors and their one rendering as the contract's JSON error body. Messages are
// written for the caller and must never carry secrets, tokens, session_key or stack traces.

/** The machine codes of the contract (plus the few it leaves to us, documented in README). */
export type ErrorCode =
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

export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 413 | 415 | 429 | 500 | 502 | 503 | 504;

/** An error that is safe to show: a status, a machine code and a human message. */
export class ApiError extends Error {
  override readonly name = "ApiError";
  constructor(
    readonly status: ErrorStatus,
    readonly code: ErrorCode,
    message: string,
    /** Extra response headers, e.g. Retry-After. */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }

  static invalidRequest(message: string): ApiError {
    return new ApiError(400, "invalid_request", message);
  }
  static unauthorized(message = "A valid bearer token is required."): ApiError {
    return new ApiError(401, "unauthorized", message, { "WWW-Authenticate": 'Bearer realm="wxpay-edge"' });
  }
  static notFound(message = "Not found."): ApiError {
    return new ApiError(404, "not_found", message);
  }
}

/** The contract's error body. Unknown errors become a bare 500 that reveals nothing. */
export function errorResponse(error: unknown): Response {
  const e =
    error instanceof ApiError ? error : new ApiError(500, "internal_error", "Internal error.");
  return new Response(JSON.stringify({ error: { code: e.code, message: e.message } }), {
    status: e.status,
    headers: { "Content-Type": "application/json; charset=utf-8", ...e.headers },
  });
}
