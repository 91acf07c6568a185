// POST /api/login and POST /api/logout: exchanging a wx.login code for our bearer token, and
// revoking it. WeChat's session_key is stored with the session and never returned.
import { Hono } from "hono";
import type { AppEnv } from "../app-env";
import { requireConfig } from "../config";
import { requireJsonBody } from "../http/body";
import { rateLimit } from "../http/rate-limit";
import { requireSession } from "../http/require-session";
import { schemas, valid } from "../http/validation";
import { SessionStore } from "../sessions/session-store";
import { loginError, PER_CALL_TIMEOUT_MS, REQUEST_BUDGET_MS } from "../upstream";
import { code2Session } from "../wechat/login-client";
import { withRetries } from "../wechat/retry";

export const loginRoutes = new Hono<AppEnv>()
  .post("/api/login", rateLimit("login"), requireJsonBody(), valid("json", schemas.login), async (c) => {
    const { code } = c.req.valid("json");
    const config = requireConfig(c.env, ["appid", "secret", "wechatApiBase", "sessionTtlSeconds"]);

    // WeChat's "busy" (-1), 5xx and time-outs are retried within the budget; a failed exchange
    // does not use the code up, so the same code is sent again.
    const wechat = await withRetries(
      (timeoutMs) => code2Session({ apiBase: config.wechatApiBase, appid: config.appid, secret: config.secret, timeoutMs }, code),
      { deadline: performance.now() + REQUEST_BUDGET_MS, perCallMs: PER_CALL_TIMEOUT_MS },
    ).catch((error: unknown) => {
      throw loginError(error, c.get("requestId"));
    });

    const { token } = await new SessionStore(c.env.SESSIONS).create({
      openid: wechat.openid,
      sessionKey: wechat.sessionKey,
      ...(wechat.unionid !== undefined ? { unionid: wechat.unionid } : {}),
      ttlSeconds: config.sessionTtlSeconds,
    });
    return c.json({ token, openid: wechat.openid, expiresIn: config.sessionTtlSeconds }, 200);
  })
  .post("/api/logout", requireSession(), async (c) => {
    await new SessionStore(c.env.SESSIONS).revoke(c.get("session"));
    return c.body(null, 204);
  });
