// The simulator's POST /cgi-bin/stable_token: one token while it is valid, force refresh and its daily quota, credential errcodes, faults, and revoking a token through the control API.
import { describe, expect, it } from "vitest";
import { fetchStableToken } from "../../src/wechat/mp";
import { CONFIG } from "./helpers";
import { mpRig, type MpRig } from "./mp-helpers";

interface TokenAnswer {
  access_token?: string;
  expires_in?: number;
  errcode?: number;
}

const ask = (r: MpRig, overrides: Record<string, unknown> = {}) =>
  r.api<TokenAnswer>("/cgi-bin/stable_token", { grant_type: "client_credential", appid: CONFIG.appid, secret: CONFIG.secret, ...overrides });

/** get_order's errcode for `token`: 0 means the token was accepted (the order itself is then not found). */
const tokenErrcode = async (r: MpRig, token: string) => {
  const answer = await r.api<{ errcode: number }>(`/wxa/sec/order/get_order?access_token=${encodeURIComponent(token)}`, { transaction_id: "4200000000000000000000000000" });
  return answer.errcode === 10060001 ? 0 : answer.errcode;
};

describe("stable_token", () => {
  it("hands out the same token, with what is left of its 7200 s, until its last 5 minutes", async () => {
    const r = mpRig();
    const first = await ask(r);
    expect(first).toEqual({ access_token: expect.stringMatching(/^[A-Za-z0-9_]{100,}$/), expires_in: 7200 });
    r.clock.advance(1000);
    expect(await ask(r, { force_refresh: false })).toEqual({ access_token: first.access_token, expires_in: 6200 });
    r.clock.advance(5899);
    expect(await ask(r)).toEqual({ access_token: first.access_token, expires_in: 301 });
    // In the last 5 minutes a new token is issued; the old one works until it expires.
    r.clock.advance(1);
    const second = await ask(r);
    expect(second.access_token).not.toBe(first.access_token);
    expect(second.expires_in).toBe(7200);
    expect(await tokenErrcode(r, first.access_token!)).toBe(0);
    r.clock.advance(300);
    expect(await tokenErrcode(r, first.access_token!)).toBe(42001);
    expect(await tokenErrcode(r, second.access_token!)).toBe(0);
  });

  it("is what the service's fetchStableToken reads", async () => {
    const r = mpRig();
    const token = await fetchStableToken({ apiBase: "http://sim.test", appid: CONFIG.appid, secret: CONFIG.secret, fetch: (input, init) => r.sim.fetch(new Request(input, init)) });
    expect(token).toEqual({ accessToken: (await ask(r)).access_token, expiresIn: 7200 });
  });

  it("force_refresh issues a new token and keeps the old one valid 5 more minutes", async () => {
    const r = mpRig();
    const old = (await ask(r)).access_token!;
    r.clock.advance(60);
    const fresh = await ask(r, { force_refresh: true });
    expect(fresh.access_token).not.toBe(old);
    expect(fresh.expires_in).toBe(7200);
    // Normal mode now returns the new one.
    expect((await ask(r)).access_token).toBe(fresh.access_token);
    r.clock.advance(299);
    expect(await tokenErrcode(r, old)).toBe(0);
    r.clock.advance(1);
    expect(await tokenErrcode(r, old)).toBe(40001);
    expect(await tokenErrcode(r, fresh.access_token!)).toBe(0);
  });

  it("allows 20 force refreshes a Beijing day, then 45009 until the next day", async () => {
    const r = mpRig();
    for (let i = 0; i < 20; i++) expect((await ask(r, { force_refresh: true })).access_token).toBeDefined();
    expect(await ask(r, { force_refresh: true })).toMatchObject({ errcode: 45009 });
    // Normal mode is not limited by it.
    expect((await ask(r)).access_token).toBeDefined();
    expect((await r.control("/__sim/mp/token")).json).toMatchObject({ forceRefreshes: 20, forceRefreshDay: "20260520" });
    r.clock.advance(14 * 3600);
    expect((await ask(r, { force_refresh: true })).access_token).toBeDefined();
  });

  it("answers the credential errcodes in WeChat's order, and 47001 for a body it cannot read", async () => {
    const r = mpRig();
    expect(await ask(r, { appid: undefined })).toMatchObject({ errcode: 41002 });
    expect(await ask(r, { appid: "wx0000000000000000" })).toMatchObject({ errcode: 40013 });
    expect(await ask(r, { secret: "" })).toMatchObject({ errcode: 41004 });
    expect(await ask(r, { secret: "wrong-secret" })).toMatchObject({ errcode: 40125 });
    expect(await ask(r, { grant_type: "authorization_code" })).toMatchObject({ errcode: 40002 });
    expect(await ask(r, { force_refresh: "yes" })).toMatchObject({ errcode: 47001 });
    expect(await r.api("/cgi-bin/stable_token", "not json")).toMatchObject({ errcode: 47001 });
    expect((await r.control<{ calls: { outcome: string }[] }>("/__sim/calls?api=stable_token")).json.calls.map((call) => call.outcome)).toEqual([
      "41002", "40013", "41004", "40125", "40002", "47001", "47001",
    ]);
  });

  it("serves the faults busy (-1), rate_limit (45011) and http_500, then answers normally", async () => {
    const r = mpRig();
    await r.control("/__sim/faults", { api: "stable_token", kind: "busy" });
    await r.control("/__sim/faults", { api: "stable_token", kind: "rate_limit" });
    await r.control("/__sim/faults", { api: "stable_token", kind: "http_500" });
    expect(await ask(r)).toMatchObject({ errcode: -1 });
    expect(await ask(r)).toMatchObject({ errcode: 45011 });
    expect((await r.raw("/cgi-bin/stable_token", { method: "POST", body: "{}" })).status).toBe(500);
    expect((await ask(r)).access_token).toBeDefined();
  });

  it("a revoked token answers 40001 (invalid) or 42001 (expired), and normal mode then issues a new one", async () => {
    const r = mpRig();
    expect((await r.control("/__sim/mp/token/revoke", {})).status).toBe(409);
    const first = (await ask(r)).access_token!;
    expect((await r.control("/__sim/mp/token/revoke", {})).json).toEqual({ revoked: true, as: "invalid", errcode: 40001 });
    expect(await tokenErrcode(r, first)).toBe(40001);
    const second = (await ask(r)).access_token!;
    expect(second).not.toBe(first);
    expect((await r.control("/__sim/mp/token/revoke", { as: "expired" })).json).toMatchObject({ errcode: 42001 });
    expect(await tokenErrcode(r, second)).toBe(42001);
    expect((await ask(r)).access_token).not.toBe(second);
    expect((await r.control("/__sim/mp/token/revoke", { as: "stale" })).status).toBe(400);
    expect(await tokenErrcode(r, "made-up")).toBe(40001);
  });
});
