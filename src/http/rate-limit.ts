// Rate limits on what is worth abusing, backed by Workers' Rate Limiting bindings (limits set in
// wrangler.toml): logins per client, order creations per user, and failed operator
// authentications per client. A client is its address, an IPv6 client its /64 (client-ip.ts).
// Over a limit → 429 + Retry-After.
import { createMiddleware } from "hono/factory";
import type { Context } from "hono";
import type { AppEnv } from "../app-env";
import { ApiError } from "../errors";
import { log } from "../log";
import { clientIp, clientNetwork } from "./client-ip";

/** The bindings' period (wrangler.toml): the longest a refused client must wait. */
const PERIOD_SECONDS = 60;

const LIMITS = {
  /** per client, before anything reaches WeChat */
  login: { binding: "LOGIN_RATE_LIMIT", key: (c) => `ip:${clientNetwork(clientIp(c.req.raw))}` },
  /** per user, after the bearer token is checked */
  createOrder: { binding: "ORDER_RATE_LIMIT", key: (c) => `user:${c.get("session").openid}` },
  /** per client, counted only when an operator token is wrong */
  adminAuthFailure: { binding: "ADMIN_AUTH_RATE_LIMIT", key: (c) => `admin:${clientNetwork(clientIp(c.req.raw))}` },
} as const satisfies Record<string, { binding: "LOGIN_RATE_LIMIT" | "ORDER_RATE_LIMIT" | "ADMIN_AUTH_RATE_LIMIT"; key: (c: Context<AppEnv>) => string }>;

export type LimitKind = keyof typeof LIMITS;

/** Counts one event against `kind`'s limit; throws 429 once the client (or user) is over it. */
export async function countAgainstLimit(c: Context<AppEnv>, kind: LimitKind): Promise<void> {
  const { binding, key } = LIMITS[kind];
  const { success } = await c.env[binding].limit({ key: key(c) });
  if (!success) {
    log("warn", "rate_limited", { limit: kind });
    throw new ApiError(429, "rate_limited", "Too many requests; try again in a minute.", { "Retry-After": String(PERIOD_SECONDS) });
  }
}

/** Middleware: every request counts. */
export function rateLimit(kind: LimitKind) {
  return createMiddleware<AppEnv>(async function rateLimit(c, next) {
    await countAgainstLimit(c, kind);
    await next();
  });
}
