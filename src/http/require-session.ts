// Bearer-token middleware: resolves `Authorization: Bearer <token>` to a live session or answers
// 401. It never says which of malformed, unknown, revoked or expired the token was.
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../app-env";
import { ApiError } from "../errors";
import { SessionStore } from "../sessions/session-store";
import { bearerToken } from "./bearer";

/** Requires a mini-program user's login token; puts the session in the context (`c.get("session")`). */
export function requireSession() {
  return createMiddleware<AppEnv>(async function requireSession(c, next) {
    const token = bearerToken(c.req.header("Authorization"));
    const session = token !== undefined ? await new SessionStore(c.env.SESSIONS).find(token) : null;
    if (session === null) throw ApiError.unauthorized();
    c.set("session", session);
    await next();
  });
}
