// Bearer-token middleware: resolves `Authorization: Bearer <token>` to a live session or answers
// 401. It never says which of malformed, unknown, revoked or expired the token was.
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../app-env";
import { ApiError } from "../errors";
import { SessionStore } from "../sessions/session-store";

const BEARER = /^Bearer[ ]+(\S+)\s*$/i;

/** Requires a mini-program user's login token; puts the session on `c.var.session`. */
export function requireSession() {
  return createMiddleware<AppEnv>(async function requireSession(c, next) {
    const match = BEARER.exec(c.req.header("Authorization") ?? "");
    const session = match?.[1] ? await new SessionStore(c.env.SESSIONS).find(match[1]) : null;
    if (session === null) throw ApiError.unauthorized();
    c.set("session", session);
    await next();
  });
}
