// Request bodies: the byte limits (enforced by Hono's bodyLimit before anything parses a body, also
// when a body streams in without Content-Length), the Content-Type rule for JSON, and strict UTF-8.
import { createMiddleware } from "hono/factory";
import { bodyLimit } from "hono/body-limit";
import type { AppEnv } from "../app-env";
import { ApiError } from "../errors";
import { notificationReply } from "../wechat/payment-notification";

/** Byte limits per kind of body (documented in README); `xml` is WeChat's notifications', v2's and v3's. */
export const BODY_LIMITS = {
  json: 8 * 1024,
  xml: 16 * 1024,
} as const;

/** WeChat's notification webhooks: v2's take XML, v3's JSON; every other route takes the contract's JSON (or nothing). */
const XML_ROUTES = new Set(["/api/pay/notify", "/api/refund/notify"]);
const V3_NOTIFY_ROUTES = new Set(["/api/v3/pay/notify", "/api/v3/refund/notify"]);

/** The limit for the request's route; over it → 413 before the body is parsed. */
export function limitBody() {
  const json = bodyLimit({ maxSize: BODY_LIMITS.json, onError: () => tooLarge(BODY_LIMITS.json) });
  // WeChat reads the reply document, not the status: an oversized notification gets FAIL in XML.
  const xml = bodyLimit({
    maxSize: BODY_LIMITS.xml,
    onError: (c) => c.body(notificationReply(false), 413, { "Content-Type": "text/xml; charset=utf-8" }),
  });
  // v3's webhooks answer every refusal alike, {"code":"FAIL","message"}, this one too.
  const v3 = bodyLimit({
    maxSize: BODY_LIMITS.xml,
    onError: (c) => c.json({ code: "FAIL", message: `The notification is larger than ${BODY_LIMITS.xml} bytes.` }, 413),
  });
  return createMiddleware<AppEnv>(function limitBody(c, next) {
    return (XML_ROUTES.has(c.req.path) ? xml : V3_NOTIFY_ROUTES.has(c.req.path) ? v3 : json)(c, next);
  });
}

function tooLarge(limit: number): never {
  throw new ApiError(413, "payload_too_large", `The request body is larger than ${limit} bytes.`);
}

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

/** A JSON body must say so: any other (or no) Content-Type → 415. */
export function requireJsonBody() {
  return createMiddleware<AppEnv>(async function requireJsonBody(c, next) {
    if (!JSON_TYPE.test(c.req.header("Content-Type")?.trim() ?? "")) {
      throw new ApiError(415, "unsupported_media_type", "The request body must be JSON (Content-Type: application/json).");
    }
    await next();
  });
}

// One decoder for every body: without { stream: true } each decode() starts afresh.
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/** Decodes UTF-8 strictly: a body that is not valid UTF-8 is refused rather than mangled. */
export function decodeUtf8(bytes: Uint8Array): string | null {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return null;
  }
}
