// The one module that touches the ACCESS_TOKEN Durable Object namespace: the service's access token for the configured mini program, and running a WeChat call with it (one retry with a new token after 40001 / 42001 / 40014).
import { requireConfig } from "../config";
import type { Env } from "../env";
import { MpApiError, isInvalidTokenError } from "../wechat/mp";
import type { TokenResult } from "./access-token-object";

/** The object holding `appid`'s token; one per appid for the whole service. */
export function accessTokenObject(env: Env, appid: string) {
  return env.ACCESS_TOKEN.get(env.ACCESS_TOKEN.idFromName(appid));
}

function objectFor(env: Env) {
  return accessTokenObject(env, requireConfig(env, ["appid", "secret", "wechatApiBase"]).appid);
}

function unwrap(result: TokenResult): string {
  if (!result.ok) throw new MpApiError(result.api, result.failure);
  return result.token;
}

/** A usable access token. Throws MpApiError (e.g. 40125 wrong secret, 45009 quota, -1 busy); never with the secret in it. */
export async function getAccessToken(env: Env): Promise<string> {
  return unwrap(await objectFor(env).token());
}

/** Tells the holder WeChat refused `token`; nothing happens if it was already replaced. */
export async function invalidateAccessToken(env: Env, token: string): Promise<void> {
  await objectFor(env).invalidate(token);
}

/** Operator only: a new token with force_refresh (20 a day). Throws MpApiError. */
export async function forceRefreshAccessToken(env: Env): Promise<void> {
  unwrap(await objectFor(env).forceRefresh());
}

/**
 * Runs `work` with the service's token; if WeChat refuses that token, invalidates it and runs `work` once more
 * with the token fetched then (normal mode). Any other failure, or a second refusal, is thrown.
 */
export async function withAccessToken<T>(env: Env, work: (accessToken: string) => Promise<T>): Promise<T> {
  const token = await getAccessToken(env);
  try {
    return await work(token);
  } catch (error) {
    if (!isInvalidTokenError(error)) throw error;
    await invalidateAccessToken(env, token);
    return work(await getAccessToken(env));
  }
}
