// Operator authentication: `Authorization: Bearer <ADMIN_TOKEN>`, compared in constant time.
// A mini-program user's token is never an operator token. Wrong tokens are counted per client
// address (rate-limit.ts): past the limit the client gets 429 instead of another answer.
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../app-env";
import { requireConfig } from "../config";
import { ApiError } from "../errors";
import { sha256Hex } from "../hash";
import { log } from "../log";
import { bearerToken } from "./bearer";
import { countAgainstLimit } from "./rate-limit";

/** 401 without a bearer token, 403 with a wrong one, 429 after too many wrong ones from one client. */
export function requireAdmin() {
  return createMiddleware<AppEnv>(async function requireAdmin(c, next) {
    const { adminToken } = requireConfig(c.env, ["adminToken"]);
    const presented = bearerToken(c.req.header("Authorization"));
    if (presented === undefined) throw ApiError.unauthorized("An operator bearer token is required.");
    if (!(await sameSecret(presented, adminToken))) {
      log("warn", "admin_auth_failed", { path: c.req.path });
      await countAgainstLimit(c, "adminAuthFailure");
      throw new ApiError(403, "forbidden", "This token is not an operator token.");
    }
    await next();
  });
}

/** Equal-length digests compared without an early exit: neither the length nor a prefix of the token leaks. */
async function sameSecret(a: string, b: string): Promise<boolean> {
  const encoder = new TextEncoder();
  const [x, y] = await Promise.all([sha256Hex(a), sha256Hex(b)]);
  return crypto.subtle.timingSafeEqual(encoder.encode(x), encoder.encode(y));
}
