// Rate limits: logins per client address and order creations per user, answered with 429 and
// Retry-After before any work is done. Backed by Workers Rate Limiting (Miniflare's here).
import { afterEach, describe, expect, it, vi } from "vitest";
import { errorOf, startHarness } from "./support/harness";

afterEach(() => vi.unstubAllGlobals());

describe("rate limits", () => {
  it("allow 60 login attempts a minute per client address, then 429 with Retry-After", async () => {
    const h = startHarness();
    const address = `198.51.100.${1 + Math.floor(Math.random() * 254)}`;
    const attempt = () => h.call("/api/login", { json: { code: "an-invalid-code" }, headers: { "CF-Connecting-IP": address } });
    const statuses: number[] = [];
    for (let i = 0; i < 60; i++) statuses.push((await attempt()).status);
    expect(statuses.every((s) => s === 401)).toBe(true);
    const callsBefore = (await h.calls("code2session")).length;

    const refused = await attempt();
    expect(refused.status).toBe(429);
    expect(refused.headers.get("Retry-After")).toBe("60");
    expect((await errorOf(refused)).code).toBe("rate_limited");
    expect((await h.calls("code2session")).length).toBe(callsBefore);

    // another address is not affected
    const { code } = await h.simControl<{ code: string }>("/__sim/login-codes", {});
    expect((await h.call("/api/login", { json: { code }, headers: { "CF-Connecting-IP": "198.51.100.255" } })).status).toBe(200);
  });

  it("allow 30 order creations a minute per user, then 429 without creating anything", async () => {
    const h = startHarness();
    const { token } = await h.login(`shopper-${crypto.randomUUID()}`);
    for (let i = 0; i < 30; i++) expect((await h.createOrder(token)).status).toBe(201);
    const refused = await h.createOrder(token);
    expect(refused.status).toBe(429);
    expect(refused.headers.get("Retry-After")).toBe("60");
    expect(await h.calls("prepay")).toHaveLength(30);
    const list = (await (await h.call("/api/orders?limit=50", { token })).json()) as { orders: unknown[] };
    expect(list.orders).toHaveLength(30);

    // another user is not affected
    const other = await h.login(`other-${crypto.randomUUID()}`);
    expect((await h.createOrder(other.token)).status).toBe(201);
  });
});
