// The typed failures of WeChat calls. Messages are safe to log: they never carry a key, secret, sign, session_key or request URL.

/** Which WeChat call failed; the known names are listed for readability, any other API name is allowed. */
export type WeChatApi =
  | "code2session"
  | "unifiedorder"
  | "orderquery"
  | "closeorder"
  | "refund"
  | "refundquery"
  | (string & {});

/** What went wrong, as data the caller can map to its own responses. */
export type WeChatFailure =
  | { kind: "timeout" } // no answer within the per-call timeout
  | { kind: "network" } // fetch threw
  | { kind: "http"; status: number } // non-2xx
  | { kind: "malformed" } // body unparseable / required fields missing
  | { kind: "bad_signature" } // a SUCCESS response whose sign did not verify
  | { kind: "return_fail"; message: string } // v2 return_code=FAIL (communication level, e.g. 签名错误)
  | { kind: "business"; code: string; description: string } // v2 result_code=FAIL err_code/err_code_des, or code2session errcode
  | { kind: "unsendable"; reason: string }; // the request could not be built or sent: WeChat never saw it (reason names no value)

/** Business codes WeChat documents as "call again with the same parameters" (v2's, and v3's SYSTEM_ERROR). */
const RETRYABLE_BUSINESS_CODES: ReadonlySet<string> = new Set(["SYSTEMERROR", "BIZERR_NEED_RETRY", "SYSTEM_ERROR"]);

/** A failed WeChat call. `failure` says what happened; `retryable` says whether repeating the identical call may help. */
export class WeChatError extends Error {
  readonly api: WeChatApi;
  readonly failure: WeChatFailure;

  constructor(api: WeChatApi, failure: WeChatFailure) {
    super(`WeChat ${api} failed: ${describe(failure)}`);
    this.name = "WeChatError";
    this.api = api;
    this.failure = failure;
  }

  /** true for timeout, network, http 5xx, SYSTEMERROR, BIZERR_NEED_RETRY, code2session -1 */
  get retryable(): boolean {
    const failure = this.failure;
    switch (failure.kind) {
      case "timeout":
      case "network":
        return true;
      case "http":
        return failure.status >= 500;
      case "business":
        // code2session answers -1 "system error, retry later"; v2 pay uses named codes.
        return RETRYABLE_BUSINESS_CODES.has(failure.code) || (this.api === "code2session" && failure.code === "-1");
      default:
        return false;
    }
  }
}

function describe(failure: WeChatFailure): string {
  switch (failure.kind) {
    case "timeout":
      return "no answer within the timeout";
    case "network":
      return "network error";
    case "http":
      return `HTTP status ${failure.status}`;
    case "malformed":
      return "malformed response";
    case "bad_signature":
      return "response signature did not verify";
    case "return_fail":
      return `return_code FAIL (${failure.message})`;
    case "business":
      return `${failure.code} (${failure.description})`;
    case "unsendable":
      return `the request could not be sent (${failure.reason})`;
  }
}

/** Longest text taken from a WeChat answer into a failure: enough for a message, bounded against hostile bodies. */
const MAX_UPSTREAM_TEXT = 256;

/**
 * Prepares a text WeChat sent back (errmsg, return_msg, err_code_des) for an error: bounded in length, and with
 * every occurrence of the caller's `secrets` removed, in case an upstream or proxy echoes the request back.
 */
export function upstreamText(text: unknown, secrets: readonly string[]): string {
  let clean = typeof text === "string" ? text : "";
  for (const secret of secrets) if (secret !== "") clean = clean.split(secret).join("[redacted]");
  return clean.length > MAX_UPSTREAM_TEXT ? `${clean.slice(0, MAX_UPSTREAM_TEXT)}…` : clean;
}
