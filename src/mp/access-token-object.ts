// One Durable Object per mini-program appid: the service's only holder of the stable access token (pitfall 18). Wraps the protocol layer's AccessTokenHolder and keeps the token with its expiry in the object's storage, so that a new instance (after eviction or a deploy) goes on using it instead of fetching again.
import { DurableObject } from "cloudflare:workers";
import { requireConfig } from "../config";
import type { Env } from "../env";
import { WeChatError, type WeChatApi, type WeChatFailure } from "../wechat/errors";
import { AccessTokenHolder, fetchStableToken, tokenCacheDecision, type CachedToken, type StableToken } from "../wechat/mp";

/**
 * What the object answers over RPC. A WeChat failure travels as data: an Error thrown across RPC keeps
 * only its message, and the caller needs the errcode (access-token-store.ts rebuilds the MpApiError).
 */
export type TokenResult = { ok: true; token: string; expiresAt: number } | { ok: false; api: WeChatApi; failure: WeChatFailure };

const SCHEMA = `
CREATE TABLE IF NOT EXISTS access_token (
  appid TEXT PRIMARY KEY,
  token TEXT NOT NULL,
  expires_at INTEGER NOT NULL
)`;

export class AccessTokenObject extends DurableObject<Env> {
  readonly #sql: SqlStorage;
  readonly #holder: AccessTokenHolder;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#sql = ctx.storage.sql;
    this.#sql.exec(SCHEMA);
    this.#holder = new AccessTokenHolder({ fetchToken: () => this.#fetch() });
  }

  /**
   * A usable token: held in memory, else the stored one while it is not within 5 minutes of expiry, else
   * fetched (normal mode) by one call however many callers wait. Nothing here logs: the token is only returned.
   */
  async token(): Promise<TokenResult> {
    try {
      const token = await this.#holder.get();
      return { ok: true, token, expiresAt: this.#holder.peek()?.expiresAt ?? 0 };
    } catch (error) {
      if (error instanceof WeChatError) return { ok: false, api: error.api, failure: error.failure };
      throw error;
    }
  }

  /**
   * A caller was refused `token` (40001 / 42001 / 40014): forget it if it is still the one held or stored, so
   * the next token() fetches once; a token already replaced is ignored, so many refusals cause one fetch.
   */
  invalidate(token: string): void {
    this.#holder.invalidate(token);
    this.#sql.exec("DELETE FROM access_token WHERE appid = ? AND token = ?", this.#appid(), token);
  }

  /**
   * For an operator whose token leaked: a new token with force_refresh (20 a day at WeChat; the old one works
   * 5 more minutes). Never called by the service on its own. When WeChat refuses, the held token stays in use.
   */
  async forceRefresh(): Promise<TokenResult> {
    // A fetch in flight settles first, so that it cannot overwrite the forced token afterwards.
    await this.token();
    const config = requireConfig(this.env, ["appid", "secret", "wechatApiBase"]);
    const now = Date.now();
    let fresh: StableToken;
    try {
      fresh = await fetchStableToken({ apiBase: config.wechatApiBase, appid: config.appid, secret: config.secret }, { forceRefresh: true });
    } catch (error) {
      if (error instanceof WeChatError) return { ok: false, api: error.api, failure: error.failure };
      throw error;
    }
    this.#store(config.appid, fresh.accessToken, now + fresh.expiresIn * 1000);
    // The holder forgets the replaced token; its next fetch finds the forced one in storage.
    const held = this.#holder.peek();
    if (held !== undefined) this.#holder.invalidate(held.token);
    return this.token();
  }

  async #fetch(): Promise<StableToken> {
    const config = requireConfig(this.env, ["appid", "secret", "wechatApiBase"]);
    const now = Date.now();
    const stored = this.#stored(config.appid);
    if (stored !== undefined && tokenCacheDecision(stored, now) === "use") {
      // Rounded down: the holder then counts a little less than WeChat's remaining validity, never more.
      return { accessToken: stored.token, expiresIn: Math.floor((stored.expiresAt - now) / 1000) };
    }
    const fresh = await fetchStableToken({ apiBase: config.wechatApiBase, appid: config.appid, secret: config.secret });
    // Counted from when the request left, as the holder does.
    this.#store(config.appid, fresh.accessToken, now + fresh.expiresIn * 1000);
    return fresh;
  }

  #store(appid: string, token: string, expiresAt: number): void {
    this.#sql.exec(
      "INSERT INTO access_token (appid, token, expires_at) VALUES (?, ?, ?) ON CONFLICT (appid) DO UPDATE SET token = excluded.token, expires_at = excluded.expires_at",
      appid,
      token,
      expiresAt,
    );
  }

  #stored(appid: string): CachedToken | undefined {
    const row = this.#sql.exec<{ token: string; expires_at: number }>("SELECT token, expires_at FROM access_token WHERE appid = ?", appid).toArray()[0];
    return row === undefined ? undefined : { token: row.token, expiresAt: row.expires_at };
  }

  #appid(): string {
    return requireConfig(this.env, ["appid"]).appid;
  }
}
