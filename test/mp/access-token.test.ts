// The service's one access-token holder (AccessTokenObject through access-token-store.ts) against the in-process simulator: one stable_token call for many callers, one fetch after a refused token, the stored token reused by a new instance, and typed errors without the secret.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createSimulator } from "../../sim/src/simulator";
import type { Env } from "../../src/env";
import { AccessTokenObject } from "../../src/mp/access-token-object";
import { accessTokenObject, forceRefreshAccessToken, getAccessToken, invalidateAccessToken, withAccessToken } from "../../src/mp/access-token-store";
import { MpApiError, errcodeOf, getShippingOrder } from "../../src/wechat/mp";
import { startHarness, type Harness } from "../support/harness";

let objects = 0;
/**
 * The service's env under another object name: storage is shared by the tests of a file, so each test
 * gets its own AccessTokenObject (named by this appid; the object itself asks WeChat as the configured one).
 */
function freshEnv(): Env {
  objects += 1;
  return { ...env, WECHAT_APPID: `wx${String(objects).padStart(4, "0")}${Math.random().toString(36).slice(2, 14).padEnd(12, "0")}` };
}

const stableTokenCalls = async (h: Harness) => (await h.calls("stable_token")).length;

/** A call that needs the token: get_order for an order WeChat does not know (10060001 means the token passed). */
function probe(h: Harness, token: string): Promise<string> {
  return getShippingOrder({ apiBase: env.WECHAT_API_BASE ?? "" }, token, { mchid: env.WECHATPAY_MCHID ?? "", outTradeNo: "NO-SUCH-ORDER" }).then(
    () => token,
    (error: unknown) => (errcodeOf(error) === "10060001" ? token : Promise.reject(error)),
  );
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe("the access-token holder", () => {
  it("fetches once for 50 concurrent callers, and serves later callers from memory", async () => {
    const h = startHarness();
    const serviceEnv = freshEnv();
    const tokens = await Promise.all(Array.from({ length: 50 }, () => getAccessToken(serviceEnv)));
    expect(new Set(tokens).size).toBe(1);
    expect(await getAccessToken(serviceEnv)).toBe(tokens[0]);
    expect(await stableTokenCalls(h)).toBe(1);
    // Normal mode only.
    expect(JSON.parse((await h.calls("stable_token"))[0]!.fields.body!)).toMatchObject({ force_refresh: false });
  });

  it("fetches once when 50 callers are refused the same token (40001), and each retries once", async () => {
    const h = startHarness();
    const serviceEnv = freshEnv();
    const first = await getAccessToken(serviceEnv);
    await h.simControl("/__sim/mp/token/revoke", { as: "invalid" });
    const used = await Promise.all(Array.from({ length: 50 }, () => withAccessToken(serviceEnv, (token) => probe(h, token))));
    expect(new Set(used).size).toBe(1);
    expect(used[0]).not.toBe(first);
    expect(await stableTokenCalls(h)).toBe(2);
    // A late report of the old token changes nothing.
    await invalidateAccessToken(serviceEnv, first);
    expect(await getAccessToken(serviceEnv)).toBe(used[0]);
    expect(await stableTokenCalls(h)).toBe(2);
  });

  it("after 42001 (expired) fetches again; a second refusal is the caller's error", async () => {
    const h = startHarness();
    const serviceEnv = freshEnv();
    await getAccessToken(serviceEnv);
    await h.simControl("/__sim/mp/token/revoke", { as: "expired" });
    const token = await withAccessToken(serviceEnv, (t) => probe(h, t));
    expect(await stableTokenCalls(h)).toBe(2);
    await h.simControl("/__sim/mp/token/revoke", { as: "invalid" });
    const refused = await withAccessToken(serviceEnv, async () => {
      throw new MpApiError("get_order", { kind: "business", code: "40001", description: "invalid credential" });
    }).catch((error: unknown) => error);
    expect(errcodeOf(refused)).toBe("40001");
    expect(token).not.toBe(await getAccessToken(serviceEnv));
  });

  it("a new instance (eviction, deploy) uses the stored token, unless it is within 5 minutes of expiry", async () => {
    const h = startHarness();
    const stub = accessTokenObject(env, "restart-test");
    await runInDurableObject(stub, async (instance: AccessTokenObject, state) => {
      const first = await instance.token();
      expect(first).toMatchObject({ ok: true });
      const again = new AccessTokenObject(state, env);
      expect(await again.token()).toMatchObject({ ok: true, token: first.ok ? first.token : "" });
      expect(await stableTokenCalls(h)).toBe(1);

      state.storage.sql.exec("UPDATE access_token SET expires_at = ?", Date.now() + 299_000);
      const late = new AccessTokenObject(state, env);
      expect(await late.token()).toMatchObject({ ok: true });
      expect(await stableTokenCalls(h)).toBe(2);

      // An invalidated token is forgotten by the storage too.
      const current = await late.token();
      late.invalidate(current.ok ? current.token : "");
      const afterRestart = new AccessTokenObject(state, env);
      await afterRestart.token();
      expect(await stableTokenCalls(h)).toBe(3);
    });
  });

  it("surfaces a wrong secret as a typed error that carries neither the secret nor a token", async () => {
    const secret = env.WECHAT_SECRET ?? "";
    const sim = createSimulator({ appid: env.WECHAT_APPID ?? "", secret: "AnotherSecret000000000000000000", mchId: env.WECHATPAY_MCHID ?? "", key: env.WECHATPAY_KEY ?? "" });
    vi.stubGlobal("fetch", (input: RequestInfo | URL, init?: RequestInit) => sim.fetch(new Request(input, init)));
    const error = await getAccessToken(freshEnv()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MpApiError);
    expect((error as MpApiError).failure).toMatchObject({ kind: "business", code: "40125" });
    for (const text of [String(error), JSON.stringify(error), JSON.stringify((error as MpApiError).failure), (error as Error).stack ?? ""]) {
      expect(text).not.toContain(secret);
    }
  });

  it("force refresh is an operator's call, limited to 20 a day (45009 as a typed error); the held token stays usable", async () => {
    const h = startHarness();
    const serviceEnv = freshEnv();
    const before = await getAccessToken(serviceEnv);
    await forceRefreshAccessToken(serviceEnv);
    const forced = await getAccessToken(serviceEnv);
    expect(forced).not.toBe(before);
    const calls = await h.calls("stable_token");
    expect(calls.map((call) => JSON.parse(call.fields.body!).force_refresh)).toEqual([false, true]);
    for (let i = 1; i < 20; i++) await forceRefreshAccessToken(serviceEnv);
    const refused = await forceRefreshAccessToken(serviceEnv).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(MpApiError);
    expect(errcodeOf(refused)).toBe("45009");
    expect((refused as MpApiError).retryable).toBe(false);
    // A refused force refresh leaves the held token in use, and fetches nothing more.
    const last = await getAccessToken(serviceEnv);
    expect(await probe(h, last)).toBe(last);
    expect(await stableTokenCalls(h)).toBe(22);
  });

  it("surfaces busy (-1) as a retryable typed error and fetches again on the next call", async () => {
    const h = startHarness();
    const serviceEnv = freshEnv();
    await h.simControl("/__sim/faults", { api: "stable_token", kind: "busy" });
    const busy = await getAccessToken(serviceEnv).catch((e: unknown) => e);
    expect(busy).toBeInstanceOf(MpApiError);
    expect((busy as MpApiError).retryable).toBe(true);
    expect(await getAccessToken(serviceEnv)).toEqual(expect.any(String));
  });
});
