// The stable access token: the stable_token call and its errcodes, the cache decision, the invalid-token test, and the holder's single flight (50 callers, one fetch; one fetch to recover from 40001).
import { describe, expect, it } from "vitest";
import { WeChatError } from "../../../src/wechat/errors";
import { MpApiError } from "../../../src/wechat/mp/api-call";
import {
  AccessTokenHolder,
  TOKEN_REFRESH_MARGIN_MS,
  fetchStableToken,
  isInvalidTokenError,
  tokenCacheDecision,
  withAccessToken,
  type StableToken,
  type StableTokenConfig,
} from "../../../src/wechat/mp/stable-token";
import { ShippingInputError } from "../../../src/wechat/mp/shipping";
import { errorTexts, fakeJsonFetch, hangingFetch, jsonResponse, thrownBy } from "./fake-mp";

const SECRET = "7c1f0e9d2b3a4c5d6e7f8091a2b3c4d5";
const APPID = "wx5f0c3a9e7d1b2c4a";
const TOKEN = "86_dT4yXkz3bQv9LmN2pR7sW1aE5cF0gH8jK6uY3iO9tZ2xV4nM7qB1wD5eA0rS";

function config(fetch: typeof globalThis.fetch, overrides: Partial<StableTokenConfig> = {}): StableTokenConfig {
  return { apiBase: "https://api.weixin.qq.com", appid: APPID, secret: SECRET, fetch, ...overrides };
}

async function failureOf(work: () => Promise<unknown>): Promise<WeChatError> {
  const error = await thrownBy(work);
  expect(error).toBeInstanceOf(WeChatError);
  return error as WeChatError;
}

describe("fetchStableToken", () => {
  it("POSTs JSON to /cgi-bin/stable_token with the secret in the body, never in the URL", async () => {
    const fetch = fakeJsonFetch(() => jsonResponse({ access_token: TOKEN, expires_in: 7200 }));
    expect(await fetchStableToken(config(fetch))).toEqual({ accessToken: TOKEN, expiresIn: 7200 });
    const [request] = fetch.seen;
    expect(request?.method).toBe("POST");
    expect(request?.url.href).toBe("https://api.weixin.qq.com/cgi-bin/stable_token");
    expect(request?.contentType).toBe("application/json");
    expect(request?.json).toEqual({ grant_type: "client_credential", appid: APPID, secret: SECRET, force_refresh: false });
  });

  it("force_refresh only when asked", async () => {
    const fetch = fakeJsonFetch(() => jsonResponse({ access_token: TOKEN, expires_in: 7200 }));
    await fetchStableToken(config(fetch), { forceRefresh: true });
    expect(fetch.seen[0]?.json).toMatchObject({ force_refresh: true });
  });

  it("accepts errcode 0 beside the token", async () => {
    const fetch = fakeJsonFetch(() => jsonResponse({ errcode: 0, errmsg: "ok", access_token: TOKEN, expires_in: 300 }));
    expect(await fetchStableToken(config(fetch))).toEqual({ accessToken: TOKEN, expiresIn: 300 });
  });

  // errcodes: WeChat's common errcode table and the getStableAccessToken pages (see stable-token.ts).
  it.each([
    [-1, "system error", true],
    [40002, "invalid grant_type", false],
    [40013, "invalid appid", false],
    [40125, "invalid appsecret", false],
    [40164, "invalid ip 203.0.113.7 ipv6 ::ffff:203.0.113.7, not in whitelist", false],
    [41002, "appid missing", false],
    [41004, "appsecret missing", false],
    [43002, "require POST method", false],
    [45009, "reach max api daily quota limit", false],
    [45011, "api minute-quota reach limit mustslower retry next minute", false],
  ])("errcode %i → business failure (retryable: %s)", async (errcode, errmsg, retryable) => {
    const error = await failureOf(() => fetchStableToken(config(fakeJsonFetch(() => jsonResponse({ errcode, errmsg })))));
    expect(error).toBeInstanceOf(MpApiError);
    expect(error.api).toBe("stable_token");
    expect(error.failure).toEqual({ kind: "business", code: String(errcode), description: errmsg });
    expect(error.retryable).toBe(retryable);
  });

  it("an answer without a token or a positive integer expires_in, or not a JSON object → malformed", async () => {
    for (const body of [
      JSON.stringify({ expires_in: 7200 }),
      JSON.stringify({ access_token: "", expires_in: 7200 }),
      JSON.stringify({ access_token: TOKEN }),
      JSON.stringify({ access_token: TOKEN, expires_in: 0 }),
      JSON.stringify({ access_token: TOKEN, expires_in: "7200" }),
      JSON.stringify({ access_token: TOKEN, expires_in: 7200.5 }),
      "[]",
      "null",
      "<html>busy</html>",
    ]) {
      const error = await failureOf(() => fetchStableToken(config(fakeJsonFetch(() => new Response(body)))));
      expect(error.failure, body).toEqual({ kind: "malformed" });
    }
  });

  it("5xx, time-outs and network errors are retryable", async () => {
    expect((await failureOf(() => fetchStableToken(config(fakeJsonFetch(() => new Response("", { status: 502 })))))).retryable).toBe(true);
    const timeout = await failureOf(() => fetchStableToken(config(hangingFetch, { timeoutMs: 20 })));
    expect(timeout.failure).toEqual({ kind: "timeout" });
    expect(timeout.retryable).toBe(true);
    const broken: typeof fetch = async () => {
      throw new TypeError("Network connection lost.");
    };
    expect((await failureOf(() => fetchStableToken(config(broken)))).failure).toEqual({ kind: "network" });
  });

  it("refuses an empty appid or secret without calling WeChat", async () => {
    const fetch = fakeJsonFetch(() => jsonResponse({ access_token: TOKEN, expires_in: 7200 }));
    await expect(fetchStableToken(config(fetch, { secret: "" }))).rejects.toThrow(RangeError);
    await expect(fetchStableToken(config(fetch, { appid: "" }))).rejects.toThrow(RangeError);
    expect(fetch.seen).toHaveLength(0);
  });

  it("never lets the secret into an error, whatever WeChat or the network says", async () => {
    const fetchers: (typeof fetch)[] = [
      fakeJsonFetch(() => jsonResponse({ errcode: 40125, errmsg: `invalid appsecret ${SECRET}, rid: 1` })),
      fakeJsonFetch(() => jsonResponse({ errcode: 47001, errmsg: `data format error: {"secret":"${SECRET}"}` })),
      fakeJsonFetch(() => new Response(`{"secret":"${SECRET}"`)),
      fakeJsonFetch(() => new Response(SECRET, { status: 500 })),
      async (input, init) => {
        throw new TypeError(`fetch failed: ${String(input)} ${String(init?.body)}`);
      },
      hangingFetch,
    ];
    for (const fetch of fetchers) {
      const error = await failureOf(() => fetchStableToken(config(fetch, { timeoutMs: 20 })));
      for (const text of errorTexts(error)) expect(text).not.toContain(SECRET);
      expect(error.cause).toBeUndefined();
    }
  });
});

describe("tokenCacheDecision", () => {
  const expiresAt = 1_000_000_000_000;
  it.each([
    ["no token", undefined, expiresAt - 3_600_000, "fetch"],
    ["an hour left", { token: TOKEN, expiresAt }, expiresAt - 3_600_000, "use"],
    ["5 min + 1 ms left", { token: TOKEN, expiresAt }, expiresAt - TOKEN_REFRESH_MARGIN_MS - 1, "use"],
    ["exactly 5 min left", { token: TOKEN, expiresAt }, expiresAt - TOKEN_REFRESH_MARGIN_MS, "fetch"],
    ["1 min left", { token: TOKEN, expiresAt }, expiresAt - 60_000, "fetch"],
    ["expired", { token: TOKEN, expiresAt }, expiresAt + 1, "fetch"],
  ] as const)("%s → %s", (_, cached, now, decision) => {
    expect(tokenCacheDecision(cached, now)).toBe(decision);
  });

  it("takes another margin", () => {
    expect(tokenCacheDecision({ token: TOKEN, expiresAt }, expiresAt - 60_001, 60_000)).toBe("use");
  });
});

describe("isInvalidTokenError", () => {
  const business = (code: string) => new MpApiError("upload_shipping_info", { kind: "business", code, description: "" });
  it.each([
    ["40001 invalid credential", business("40001"), true],
    ["42001 access_token expired", business("42001"), true],
    ["40014 invalid access_token", business("40014"), true],
    ["a plain WeChatError with 40001", new WeChatError("get_order", { kind: "business", code: "40001", description: "" }), true],
    ["40013 invalid appid", business("40013"), false],
    ["-1 system error", business("-1"), false],
    ["a time-out", new MpApiError("get_order", { kind: "timeout" }), false],
    ["HTTP 401", new MpApiError("get_order", { kind: "http", status: 401 }), false],
    ["input refused before sending", new ShippingInputError("no_packages"), false],
    ["not an error", "40001", false],
  ])("%s → %s", (_, error, expected) => {
    expect(isInvalidTokenError(error)).toBe(expected);
  });
});

/** A token fetch the test resolves by hand, counting calls. */
function manualFetcher() {
  const pending: { resolve: (token: StableToken) => void; reject: (error: unknown) => void }[] = [];
  const fetchToken = () =>
    new Promise<StableToken>((resolve, reject) => {
      pending.push({ resolve, reject });
    });
  return { fetchToken, pending };
}

const tick = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

describe("AccessTokenHolder", () => {
  it("50 concurrent callers share one fetch", async () => {
    const { fetchToken, pending } = manualFetcher();
    const holder = new AccessTokenHolder({ fetchToken, now: () => 0 });
    const callers = Array.from({ length: 50 }, () => holder.get());
    await tick();
    expect(pending).toHaveLength(1);
    pending[0]!.resolve({ accessToken: "T1", expiresIn: 7200 });
    expect(new Set(await Promise.all(callers))).toEqual(new Set(["T1"]));
    expect(holder.peek()).toEqual({ token: "T1", expiresAt: 7_200_000 });
  });

  it("uses the cached token until 5 minutes before expiry, then fetches once", async () => {
    let now = 0;
    let fetches = 0;
    const holder = new AccessTokenHolder({
      fetchToken: async () => ({ accessToken: `T${++fetches}`, expiresIn: 7200 }),
      now: () => now,
    });
    expect(await holder.get()).toBe("T1");
    now = 7_200_000 - TOKEN_REFRESH_MARGIN_MS - 1;
    expect(await holder.get()).toBe("T1");
    now = 7_200_000 - TOKEN_REFRESH_MARGIN_MS;
    expect(await Promise.all([holder.get(), holder.get(), holder.get()])).toEqual(["T2", "T2", "T2"]);
    expect(fetches).toBe(2);
  });

  it("counts expiry from when the fetch left, not when it came back", async () => {
    let now = 1_000;
    const { fetchToken, pending } = manualFetcher();
    const holder = new AccessTokenHolder({ fetchToken, now: () => now });
    const waiting = holder.get();
    await tick();
    now = 4_000;
    pending[0]!.resolve({ accessToken: "T1", expiresIn: 7200 });
    await waiting;
    expect(holder.peek()?.expiresAt).toBe(1_000 + 7_200_000);
  });

  it("a failed fetch reaches every waiting caller, and the next call fetches again", async () => {
    const { fetchToken, pending } = manualFetcher();
    const holder = new AccessTokenHolder({ fetchToken, now: () => 0 });
    const callers = Array.from({ length: 10 }, () => holder.get().then(() => "ok", (error: unknown) => error));
    await tick();
    const busy = new MpApiError("stable_token", { kind: "business", code: "-1", description: "system error" });
    pending[0]!.reject(busy);
    expect(new Set(await Promise.all(callers))).toEqual(new Set([busy]));
    const next = holder.get();
    await tick();
    expect(pending).toHaveLength(2);
    pending[1]!.resolve({ accessToken: "T2", expiresIn: 7200 });
    expect(await next).toBe("T2");
  });

  it("keeps serving a token that is still valid when the refresh ahead of expiry fails", async () => {
    let now = 0;
    let fail = false;
    const holder = new AccessTokenHolder({
      fetchToken: async () => {
        if (fail) throw new MpApiError("stable_token", { kind: "timeout" });
        return { accessToken: "T1", expiresIn: 7200 };
      },
      now: () => now,
    });
    await holder.get();
    fail = true;
    now = 7_200_000 - 60_000;
    expect(await holder.get()).toBe("T1");
    now = 7_200_000;
    await expect(holder.get()).rejects.toMatchObject({ failure: { kind: "timeout" } });
  });

  it("invalidate drops the token only while it is the one held", async () => {
    let fetches = 0;
    const holder = new AccessTokenHolder({ fetchToken: async () => ({ accessToken: `T${++fetches}`, expiresIn: 7200 }), now: () => 0 });
    await holder.get();
    holder.invalidate("T0");
    expect(holder.peek()?.token).toBe("T1");
    holder.invalidate("T1");
    expect(holder.peek()).toBeUndefined();
    expect(await holder.get()).toBe("T2");
    holder.invalidate("T1");
    expect(holder.peek()?.token).toBe("T2");
  });

  it("50 callers told 40001 for the same token cause exactly one new fetch, normal mode", async () => {
    let fetches = 0;
    const forced: boolean[] = [];
    const fetch = fakeJsonFetch((request) => {
      forced.push((request.json as { force_refresh: boolean }).force_refresh);
      return jsonResponse({ access_token: `T${++fetches}`, expires_in: 7200 });
    });
    const holder = new AccessTokenHolder({ fetchToken: () => fetchStableToken(config(fetch)), now: () => 0 });
    expect(await holder.get()).toBe("T1");

    const used: string[] = [];
    const api = async (token: string) => {
      used.push(token);
      await tick();
      if (token === "T1") throw new MpApiError("upload_shipping_info", { kind: "business", code: "40001", description: "invalid credential" });
      return "uploaded";
    };
    const results = await Promise.all(Array.from({ length: 50 }, () => withAccessToken(holder, api)));
    expect(results).toEqual(Array.from({ length: 50 }, () => "uploaded"));
    expect(fetches).toBe(2);
    expect(forced).toEqual([false, false]);
    expect(used.filter((token) => token === "T1")).toHaveLength(50);
    expect(used.filter((token) => token === "T2")).toHaveLength(50);
  });

  it("a token refused twice is not retried a third time, and other failures are not retried", async () => {
    let fetches = 0;
    const holder = new AccessTokenHolder({ fetchToken: async () => ({ accessToken: `T${++fetches}`, expiresIn: 7200 }), now: () => 0 });
    let calls = 0;
    const refused = new MpApiError("get_order", { kind: "business", code: "42001", description: "access_token expired" });
    await expect(
      withAccessToken(holder, async () => {
        calls++;
        throw refused;
      }),
    ).rejects.toBe(refused);
    expect([calls, fetches]).toEqual([2, 2]);

    calls = 0;
    const busy = new MpApiError("get_order", { kind: "business", code: "-1", description: "system error" });
    await expect(
      withAccessToken(holder, async () => {
        calls++;
        throw busy;
      }),
    ).rejects.toBe(busy);
    expect([calls, fetches]).toEqual([1, 2]);
  });
});
