// POST /api/login and /api/logout, through the service's fetch against the WeChat simulator.
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { hashToken } from "../src/sessions/token";
import { REQUEST_BUDGET_MS } from "../src/upstream";
import { errorOf, kvKeys, startHarness, type Harness } from "./support/harness";

let h: Harness;
let sessionsBefore: string[];
beforeEach(async () => {
  h = startHarness();
  sessionsBefore = await allSessionKeys();
});
afterEach(() => {
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

async function allSessionKeys(): Promise<string[]> {
  return (await kvKeys("session:")).map((k) => k.name);
}

/** KV holds exactly the sessions it held when the test began. */
async function expectNoNewSession(): Promise<void> {
  expect(await allSessionKeys()).toEqual(sessionsBefore);
}

describe("POST /api/login", () => {
  it("exchanges a wx.login code for an opaque token, the openid and the lifetime", async () => {
    const { code, openid } = await h.simControl<{ code: string; openid: string }>("/__sim/login-codes", { user: "alice" });
    const response = await h.call("/api/login", { json: { code } });
    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(["expiresIn", "openid", "token"]);
    expect(body.openid).toBe(openid);
    expect(body.expiresIn).toBe(Number(env.SESSION_TTL_SECONDS));
    expect(body.token).toMatch(/^wxe_[A-Za-z0-9_-]{43}$/);
  });

  it("stores only the token's hash in KV, with the openid, the session_key and a TTL", async () => {
    const before = Date.now();
    const { token, openid } = await h.login("bob");
    const keys = await kvKeys("session:v1:");
    const expectedName = `session:v1:${await hashToken(token)}`;
    const key = keys.find((k) => k.name === expectedName);
    expect(key).toBeDefined();
    // KV expiry is in whole seconds.
    expect(key!.expiration).toBeGreaterThanOrEqual(Math.floor(before / 1000) + Number(env.SESSION_TTL_SECONDS) - 1);
    expect(key!.expiration).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000) + Number(env.SESSION_TTL_SECONDS) + 1);

    for (const k of keys) expect(k.name).not.toContain(token);
    const record = (await env.SESSIONS.get(key!.name, "json")) as Record<string, unknown>;
    expect(record.openid).toBe(openid);
    expect(record.sessionKey).toMatch(/^[A-Za-z0-9+/]{22}==$/);
    expect(JSON.stringify(record)).not.toContain(token);
  });

  it("never returns session_key, in the body or the headers", async () => {
    const { code } = await h.simControl<{ code: string }>("/__sim/login-codes", { user: "carol" });
    const response = await h.call("/api/login", { json: { code } });
    const text = await response.text();
    const { token } = JSON.parse(text) as { token: string };
    const { sessionKey } = (await env.SESSIONS.get(`session:v1:${await hashToken(token)}`, "json")) as { sessionKey: string };
    expect(text).not.toContain(sessionKey);
    expect(text).not.toMatch(/session_?key/i);
    for (const [, value] of response.headers) expect(value).not.toContain(sessionKey);
  });

  it("gives the same user the same openid on every login, and a new token each time", async () => {
    const first = await h.login("dave");
    const second = await h.login("dave");
    expect(second.openid).toBe(first.openid);
    expect(second.token).not.toBe(first.token);
  });

  it("refuses a code that was already used with 401 invalid_code, and stores nothing", async () => {
    const { code } = await h.simControl<{ code: string }>("/__sim/login-codes", { user: "erin" });
    expect((await h.call("/api/login", { json: { code } })).status).toBe(200);
    const keysBefore = await allSessionKeys();
    const again = await h.call("/api/login", { json: { code } });
    expect(again.status).toBe(401);
    expect((await errorOf(again)).code).toBe("invalid_code");
    expect(await allSessionKeys()).toEqual(keysBefore);
  });

  it("refuses an unknown code with 401 invalid_code", async () => {
    const response = await h.call("/api/login", { json: { code: "081aBcDeFgHiJkLmNoPqRsTuVwXyZ012" } });
    expect(response.status).toBe(401);
    expect((await errorOf(response)).code).toBe("invalid_code");
    await expectNoNewSession();
  });

  it("refuses a code older than WeChat's five minutes", async () => {
    const { code } = await h.simControl<{ code: string }>("/__sim/login-codes", { user: "frank" });
    await h.simControl("/__sim/clock/advance", { seconds: 301 });
    const response = await h.call("/api/login", { json: { code } });
    expect(response.status).toBe(401);
    expect((await errorOf(response)).code).toBe("invalid_code");
  });

  it("answers WeChat's rate limit (45011) with 429 rate_limited and Retry-After", async () => {
    await h.simControl("/__sim/faults", { api: "code2session", kind: "rate_limit" });
    const { code } = await h.simControl<{ code: string }>("/__sim/login-codes", {});
    const response = await h.call("/api/login", { json: { code } });
    expect(response.status).toBe(429);
    expect(response.headers.get("Retry-After")).toMatch(/^[0-9]+$/);
    expect((await errorOf(response)).code).toBe("rate_limited");
    await expectNoNewSession();
  });

  it("retries WeChat being busy (-1) with the same code, and logs in", async () => {
    await h.simControl("/__sim/faults", { api: "code2session", kind: "busy" });
    const { code } = await h.simControl<{ code: string }>("/__sim/login-codes", {});
    const response = await h.call("/api/login", { json: { code } });
    expect(response.status).toBe(200);
    const calls = await h.calls("code2session");
    expect(calls.map((c) => c.fields.js_code)).toEqual([code, code]);
  });

  it("answers WeChat staying busy (-1) with 502 upstream_error; the same code works once it recovers", async () => {
    await h.simControl("/__sim/faults", { api: "code2session", kind: "busy", times: 20 });
    const { code } = await h.simControl<{ code: string }>("/__sim/login-codes", {});
    const response = await h.call("/api/login", { json: { code } });
    expect(response.status).toBe(502);
    expect((await errorOf(response)).code).toBe("upstream_error");
    await expectNoNewSession();
    await h.clearFaults();
    expect((await h.call("/api/login", { json: { code } })).status).toBe(200);
  });

  it("answers lasting HTTP failures at WeChat with 502 upstream_error", async () => {
    await h.simControl("/__sim/faults", { api: "code2session", kind: "http_500", times: 20 });
    const { code } = await h.simControl<{ code: string }>("/__sim/login-codes", {});
    const response = await h.call("/api/login", { json: { code } });
    expect(response.status).toBe(502);
    expect((await errorOf(response)).code).toBe("upstream_error");
  });

  it("answers WeChat not answering within the budget with 504 upstream_timeout", async () => {
    await h.simControl("/__sim/faults", { api: "code2session", kind: "delay", delayMs: 10_000, times: 5 });
    const { code } = await h.simControl<{ code: string }>("/__sim/login-codes", {});
    const started = Date.now();
    const response = await h.call("/api/login", { json: { code } });
    expect(response.status).toBe(504);
    expect((await errorOf(response)).code).toBe("upstream_timeout");
    expect(Date.now() - started).toBeLessThan(REQUEST_BUDGET_MS + 1000);
    await expectNoNewSession();
  }, 20_000);

  it("sends the AppSecret only to WeChat: never in an error, whatever WeChat answers", async () => {
    for (const kind of ["busy", "http_500", "rate_limit"]) {
      await h.simControl("/__sim/faults", { api: "code2session", kind, times: 20 });
      const { code } = await h.simControl<{ code: string }>("/__sim/login-codes", {});
      const text = await (await h.call("/api/login", { json: { code } })).text();
      expect(text).not.toContain(env.WECHAT_SECRET);
      await h.clearFaults();
    }
  });

  describe("bad input gets 400 and never reaches WeChat", () => {
    const cases: [string, RequestInit][] = [
      ["no body", { method: "POST", headers: { "Content-Type": "application/json" } }],
      ["an empty code", { method: "POST", headers: { "Content-Type": "application/json" }, body: '{"code":""}' }],
      ["a missing code", { method: "POST", headers: { "Content-Type": "application/json" }, body: '{"user":"x"}' }],
      ["a numeric code", { method: "POST", headers: { "Content-Type": "application/json" }, body: '{"code":12345}' }],
      ["a code with spaces", { method: "POST", headers: { "Content-Type": "application/json" }, body: '{"code":"a b"}' }],
      ["malformed JSON", { method: "POST", headers: { "Content-Type": "application/json" }, body: '{"code":' }],
      ["a JSON array", { method: "POST", headers: { "Content-Type": "application/json" }, body: '["code"]' }],
      ["a __proto__ key only", { method: "POST", headers: { "Content-Type": "application/json" }, body: '{"__proto__":{"code":"x"}}' }],
    ];
    for (const [name, init] of cases) {
      it(`refuses ${name}`, async () => {
        const response = await h.call("/api/login", init);
        expect(response.status).toBe(400);
        expect((await errorOf(response)).code).toBe("invalid_request");
        expect(h.outbound).toEqual([]);
        await expectNoNewSession();
      });
    }

    it("refuses a non-JSON Content-Type with 415", async () => {
      const response = await h.call("/api/login", { method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" }, body: "code=abc" });
      expect(response.status).toBe(415);
      expect(h.outbound).toEqual([]);
    });

    it("refuses an oversized body with 413, declared or streamed", async () => {
      const big = JSON.stringify({ code: "a".repeat(20_000) });
      const declared = await h.call("/api/login", { method: "POST", headers: { "Content-Type": "application/json" }, body: big });
      expect(declared.status).toBe(413);
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          for (let i = 0; i < 10; i++) controller.enqueue(new TextEncoder().encode(" ".repeat(1024)));
          controller.close();
        },
      });
      const streamed = await h.call("/api/login", { method: "POST", headers: { "Content-Type": "application/json" }, body: stream, duplex: "half" } as RequestInit);
      expect(streamed.status).toBe(413);
      expect(h.outbound).toEqual([]);
      await expectNoNewSession();
    });

    it("ignores unknown fields", async () => {
      const { code } = await h.simControl<{ code: string }>("/__sim/login-codes", {});
      const response = await h.call("/api/login", { json: { code, openid: "oEvilEvilEvilEvilEvilEvil0000", admin: true } });
      expect(response.status).toBe(200);
      expect(((await response.json()) as { openid: string }).openid).not.toBe("oEvilEvilEvilEvilEvilEvil0000");
    });
  });
});

describe("bearer tokens", () => {
  it("POST /api/logout revokes the token at once", async () => {
    const { token } = await h.login("gina");
    const response = await h.call("/api/logout", { method: "POST", token });
    expect(response.status).toBe(204);
    expect(await env.SESSIONS.get(`session:v1:${await hashToken(token)}`)).toBeNull();
    const again = await h.call("/api/logout", { method: "POST", token });
    expect(again.status).toBe(401);
    expect((await errorOf(again)).code).toBe("unauthorized");
  });

  it("refuses an expired token with 401, even while KV still holds the record", async () => {
    const { token } = await h.login("hank");
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + (Number(env.SESSION_TTL_SECONDS) + 1) * 1000);
    expect(await env.SESSIONS.get(`session:v1:${await hashToken(token)}`)).not.toBeNull();
    const response = await h.call("/api/logout", { method: "POST", token });
    expect(response.status).toBe(401);
    expect((await errorOf(response)).code).toBe("unauthorized");
  });

  const badHeaders: [string, Record<string, string>][] = [
    ["no Authorization header", {}],
    ["an empty bearer", { Authorization: "Bearer " }],
    ["another scheme", { Authorization: "Basic dXNlcjpwYXNz" }],
    ["a malformed token", { Authorization: "Bearer not-a-token" }],
    ["a well-formed unknown token", { Authorization: `Bearer wxe_${"A".repeat(43)}` }],
    ["a token hash instead of the token", { Authorization: `Bearer ${"a".repeat(64)}` }],
  ];
  for (const [name, headers] of badHeaders) {
    it(`refuses ${name} with 401 unauthorized`, async () => {
      const response = await h.call("/api/logout", { method: "POST", headers });
      expect(response.status).toBe(401);
      expect(response.headers.get("WWW-Authenticate")).toMatch(/^Bearer/);
      expect((await errorOf(response)).code).toBe("unauthorized");
    });
  }
});
