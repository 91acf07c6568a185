// Rate limits on the endpoints worth abusing, backed by Workers' Rate Limiting bindings (limits set
// in wrangler.toml): logins per client address, order creations per user. Over → 429 + Retry-After.
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../app-env";
import { ApiError } from "../errors";
import { log } from "../log";
import { clientIp } from "./client-ip";

/** The bindings' period (wrangler.toml): the longest a refused client must wait. */
const PERIOD_SECONDS = 60;

const LIMITS = {
  /** per client address (CF-Connecting-IP), before anything reaches WeChat */
  login: { binding: "LOGIN_RATE_LIMIT", key: (c) => `ip:${clientIp(c.req.raw)}` },
  /** per user, after the bearer token is checked */
  createOrder: { binding: "ORDER_RATE_LIMIT", key: (c) => `user:${c.var.session.openid}` },
} as const satisfies Record<string, { binding: "LOGIN_RATE_LIMIT" | "ORDER_RATE_LIMIT"; key: (c: { req: { raw: Request }; var: AppEnv["Variables"] }) => string }>;

export function rateLimit(kind: keyof typeof LIMITS) {
  const { binding, key } = LIMITS[kind];
  return createMiddleware<AppEnv>(async function rateLimit(c, next) {
    const { success } = await c.env[binding].limit({ key: key(c) });
    if (!success) {
      log("warn", "rate_limited", { limit: kind });
      throw new ApiError(429, "rate_limited", "Too many requests; try again in a minute.", { "Retry-After": String(PERIOD_SECONDS) });
    }
    await next();
  });
}
