// The stable access token of the mini-program server APIs: the /cgi-bin/stable_token call, when to reuse a cached token, and one in-memory holder that fetches once for any number of waiting callers. Never lets the AppSecret or a token into an error.
//
// Facts from WeChat's documentation of getStableAccessToken
// (https://developers.weixin.qq.com/doc/service/api/base/api_getstableaccesstoken, the same page for
// mini-games https://developers.weixin.qq.com/minigame/dev/api-backend/open-api/access-token/auth.getStableAccessToken.html):
// - POST JSON {grant_type: "client_credential", appid, secret, force_refresh} → {access_token, expires_in};
//   the secret travels in the body, never in the URL.
// - Normal mode returns the same token while it is valid; WeChat renews it 5 minutes before it expires, and
//   in those last 5 minutes old and new tokens both work ("expires_in >= 300" at any time).
// - force_refresh invalidates the current token, is limited to 20 a day and 30 s apart: a holder never uses it
//   on its own (pitfall 18); it is an operator's tool for a leaked token.
// - Separate from /cgi-bin/token: the two kinds of token do not invalidate each other.
// errcodes (WeChat's common errcode table, e.g. https://developers.weixin.qq.com/doc/channels/API/basics/commErrCode.html,
// and the errcodes WeChat returns from this call as reported on developers.weixin.qq.com/community):
// -1 system busy (retry), 40002 grant_type must be client_credential, 40013 invalid appid, 40125 invalid
// appsecret, 40164 caller IP not in the whitelist, 41002 appid missing, 41004 secret missing, 43002 POST
// required, 45009 daily quota reached, 45011 minute quota reached (retry next minute). Callers' tokens are
// refused with 40001 (invalid or not the latest), 42001 (expired) or 40014 (not a valid access_token).
import { MpApiError, callMpApi, errcodeOf, type MpApiConfig } from "./api-call";

/** Where and as whom to fetch the stable token. */
export interface StableTokenConfig extends MpApiConfig {
  appid: string;
  /** The mini-program AppSecret: sent in the JSON body only. */
  secret: string;
}

/** A token as WeChat hands it out. */
export interface StableToken {
  accessToken: string;
  /** seconds of validity WeChat announced (at most 7200) */
  expiresIn: number;
}

/** A token held in a cache, with the instant (ms since the epoch) WeChat said it expires. */
export interface CachedToken {
  token: string;
  expiresAt: number;
}

const API = "stable_token";

/** Fetch a new token this long before the cached one expires: WeChat renews it then (see the header). */
export const TOKEN_REFRESH_MARGIN_MS = 5 * 60_000;

/**
 * POST {apiBase}/cgi-bin/stable_token. `forceRefresh` is for an operator only (20 a day); automatic callers
 * use the normal mode, which returns the current token.
 *
 * Throws MpApiError (a WeChatError): business (code = String(errcode)), timeout, network, http, malformed
 * (no access_token or no positive expires_in). `retryable` is true for -1, time-outs, network errors and 5xx.
 */
export async function fetchStableToken(config: StableTokenConfig, options: { forceRefresh?: boolean } = {}): Promise<StableToken> {
  if (config.appid === "" || config.secret === "") throw new RangeError("appid and secret must not be empty");
  const answer = await callMpApi(config, {
    api: API,
    path: "/cgi-bin/stable_token",
    body: { grant_type: "client_credential", appid: config.appid, secret: config.secret, force_refresh: options.forceRefresh === true },
    secrets: [config.secret],
  });
  const { access_token: accessToken, expires_in: expiresIn } = answer;
  if (typeof accessToken !== "string" || accessToken === "" || typeof expiresIn !== "number" || !Number.isInteger(expiresIn) || expiresIn <= 0) {
    throw new MpApiError(API, { kind: "malformed" });
  }
  return { accessToken, expiresIn };
}

/**
 * Whether a cached token may still be used at `now` (ms): "use" until TOKEN_REFRESH_MARGIN_MS before it
 * expires, "fetch" from then on (or when there is none). Pure.
 */
export function tokenCacheDecision(cached: CachedToken | undefined, now: number, marginMs = TOKEN_REFRESH_MARGIN_MS): "use" | "fetch" {
  return cached !== undefined && now < cached.expiresAt - marginMs ? "use" : "fetch";
}

/** errcodes WeChat answers when the access token a call carried is no longer good. */
const INVALID_TOKEN_ERRCODES: ReadonlySet<string> = new Set(["40001", "42001", "40014"]);

/**
 * True when `error` says the access token used was invalid (40001), expired (42001) or not a token (40014):
 * the caller invalidates that token and fetches once more in normal mode, never with force_refresh.
 */
export function isInvalidTokenError(error: unknown): boolean {
  const code = errcodeOf(error);
  return code !== undefined && INVALID_TOKEN_ERRCODES.has(code);
}

export interface AccessTokenHolderOptions {
  /** fetches a token, normally `() => fetchStableToken(config)` */
  fetchToken: () => Promise<StableToken>;
  /** ms clock, default Date.now */
  now?: () => number;
  /** how long before expiry a new token is fetched, default TOKEN_REFRESH_MARGIN_MS */
  refreshMarginMs?: number;
}

/**
 * One process's access token: cached until TOKEN_REFRESH_MARGIN_MS before it expires, fetched by one
 * call at a time however many callers wait (they all share that fetch's outcome), and dropped by
 * `invalidate(token)` only while `token` is still the one held, so that any number of callers reporting
 * the same 40001 cause a single new fetch. In memory only: the Durable Object that owns it for the whole
 * service is the caller's business.
 */
export class AccessTokenHolder {
  readonly #options: AccessTokenHolderOptions;
  #cached: CachedToken | undefined;
  #inFlight: Promise<CachedToken> | null = null;

  constructor(options: AccessTokenHolderOptions) {
    this.#options = options;
  }

  /**
   * A usable token: the cached one, or the outcome of the fetch in flight, or a new fetch. When a refresh
   * ahead of expiry fails while the cached token has not yet expired, that token is still returned (it is
   * still valid for WeChat); otherwise the fetch's error is thrown to every waiting caller.
   */
  async get(): Promise<string> {
    const now = this.#now();
    const cached = this.#cached;
    if (tokenCacheDecision(cached, now, this.#options.refreshMarginMs) === "use") return cached!.token;
    try {
      return (await this.#fetchOnce()).token;
    } catch (error) {
      const still = this.#cached;
      if (still !== undefined && this.#now() < still.expiresAt) return still.token;
      throw error;
    }
  }

  /** Forgets `token` if it is the one held (a caller was told 40001 / 42001 / 40014 for it); else does nothing. */
  invalidate(token: string): void {
    if (this.#cached?.token === token) this.#cached = undefined;
  }

  /** The token held now and its expiry (for health checks and tests); never fetches. */
  peek(): CachedToken | undefined {
    return this.#cached;
  }

  #fetchOnce(): Promise<CachedToken> {
    if (this.#inFlight !== null) return this.#inFlight;
    const started = this.#now();
    this.#inFlight = this.#options
      .fetchToken()
      .then(({ accessToken, expiresIn }) => {
        // Counted from when the request left: WeChat's clock started no later than that.
        const fresh = { token: accessToken, expiresAt: started + expiresIn * 1000 };
        this.#cached = fresh;
        return fresh;
      })
      .finally(() => {
        this.#inFlight = null;
      });
    return this.#inFlight;
  }

  #now(): number {
    return (this.#options.now ?? Date.now)();
  }
}

/**
 * Runs `work` with the holder's token; if WeChat refuses that token (isInvalidTokenError), invalidates it and
 * runs `work` once more with the token fetched then. Any other failure, or a second refusal, is thrown.
 */
export async function withAccessToken<T>(holder: AccessTokenHolder, work: (accessToken: string) => Promise<T>): Promise<T> {
  const token = await holder.get();
  try {
    return await work(token);
  } catch (error) {
    if (!isInvalidTokenError(error)) throw error;
    holder.invalidate(token);
    return work(await holder.get());
  }
}
