// POST /admin/sessions/introspect: the merchant's backend asks whether a mini-program token is live
// and whose it is, before it trusts the token (merchant-priced orders, contract v1.1).
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { errorOf, startHarness } from "./support/harness";

afterEach(() => {
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

const ADMIN = env.ADMIN_TOKEN!;

describe("session introspection", () => {
  it("says a live token is active, whose it is and until when; never the session_key", async () => {
    const h = startHarness();
    const { token, openid } = await h.login(`introspected-${crypto.randomUUID()}`);
    const response = await h.call("/admin/sessions/introspect", { json: { token }, token: ADMIN });
    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toEqual({ active: true, openid, expiresAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/) });
    expect(Date.parse(body.expiresAt as string) - Date.now()).toBeGreaterThan(7000_000);
    expect(JSON.stringify(body)).not.toMatch(/session_?key/i);
    expect(response.headers.get("Cache-Control")).toBe("no-store");
  });

  it("says active: false for a revoked, expired, unknown or malformed token", async () => {
    const h = startHarness();
    const revoked = (await h.login()).token;
    expect((await h.call("/api/logout", { method: "POST", token: revoked })).status).toBe(204);
    const expiring = (await h.login()).token;
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 7201_000);
    for (const token of [revoked, expiring, `wxe_${"A".repeat(43)}`, "not a token", ""]) {
      const response = await h.call("/admin/sessions/introspect", { json: { token }, token: ADMIN });
      expect(await response.json(), token).toEqual({ active: false });
    }
  });

  it("is for operators only, and a body without a token string is 400", async () => {
    const h = startHarness();
    const { token } = await h.login();
    expect((await h.call("/admin/sessions/introspect", { json: { token } })).status).toBe(401);
    expect((await h.call("/admin/sessions/introspect", { json: { token }, token })).status).toBe(403);
    for (const body of [{}, { token: 42 }, { token: "x".repeat(513) }]) {
      const response = await h.call("/admin/sessions/introspect", { json: body, token: ADMIN });
      expect(response.status).toBe(400);
      expect((await errorOf(response)).code).toBe("invalid_request");
    }
  });
});
