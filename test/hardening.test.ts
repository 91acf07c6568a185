// What a red-team pass found, each as the behaviour that now holds: per-client limits that count an
// IPv6 client by its /64, a limit on wrong operator tokens, operator tokens that must be random,
// no stored state for order ids that do not exist, and the headers every answer carries.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { adminTokenWeakness, EXAMPLE_ADMIN_TOKENS } from "../src/config";
import type { Env } from "../src/env";
import { clientNetwork, parseIpv6 } from "../src/http/client-ip";
import { orderObject } from "../src/orders/order-store";
import { errorOf, startHarness } from "./support/harness";

afterEach(() => vi.unstubAllGlobals());

const ADMIN = env.ADMIN_TOKEN!;
const randomByte = () => Math.floor(Math.random() * 256);
const randomHextet = () => Math.floor(Math.random() * 0x10000).toString(16);

describe("a client, for per-client limits", () => {
  it.each([
    ["203.0.113.7", "203.0.113.7"],
    ["2001:db8:0:1::1", "2001:db8:0:1::/64"],
    ["2001:DB8:0000:0001:ffff:ffff:ffff:ffff", "2001:db8:0:1::/64"],
    ["2001:0db8:0:1:0:0:0:42", "2001:db8:0:1::/64"],
    ["2001:db8::1:0:0:1", "2001:db8:0:0::/64"],
    ["::1", "0:0:0:0::/64"],
    ["::ffff:198.51.100.4", "198.51.100.4"],
    ["::FFFF:c633:6404", "198.51.100.4"],
    ["64:ff9b::198.51.100.4", "64:ff9b:0:0::/64"],
  ])("%s counts as %s", (address, network) => {
    expect(clientNetwork(address)).toBe(network);
  });

  it.each(["1::2::3", "12345::", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", "::g", "1.2.3.4::", "1:2:3:4:5:6:7::8"])("%s is not an IPv6 address", (text) => {
    expect(parseIpv6(text)).toBeNull();
  });

  it("logins from any address of one IPv6 /64 share one limit; another /64 and IPv4 clients are apart", async () => {
    const h = startHarness();
    const prefix = `2001:db8:${randomHextet()}:${randomHextet()}`;
    const statuses: number[] = [];
    for (let i = 0; i < 60; i++) {
      // a fresh address each time, spelled in all the ways one address can be
      const address = i % 2 === 0 ? `${prefix}::${(i + 1).toString(16)}` : `${prefix.toUpperCase()}:0:0:0:${(i + 1).toString(16)}`;
      statuses.push((await h.call("/api/login", { json: { code: "an-invalid-code" }, headers: { "CF-Connecting-IP": address } })).status);
    }
    expect(statuses.every((s) => s === 401)).toBe(true);
    const callsBefore = (await h.calls("code2session")).length;
    const refused = await h.call("/api/login", { json: { code: "an-invalid-code" }, headers: { "CF-Connecting-IP": `${prefix}:1234:5678:9abc:def0` } });
    expect(refused.status).toBe(429);
    expect(refused.headers.get("Retry-After")).toBe("60");
    expect((await h.calls("code2session")).length).toBe(callsBefore);

    const { code } = await h.simControl<{ code: string }>("/__sim/login-codes", {});
    expect((await h.call("/api/login", { json: { code }, headers: { "CF-Connecting-IP": `2001:db8:${randomHextet()}:${randomHextet()}::1` } })).status).toBe(200);
  });
});

describe("wrong operator tokens", () => {
  it("are limited to 10 a minute per client (429 with Retry-After); the right token from another client still works", async () => {
    const h = startHarness();
    const attacker = `198.18.${randomByte()}.${1 + (randomByte() % 254)}`;
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) {
      statuses.push((await h.call("/admin/orders/20261201000000NoSuchOrder0000000", { token: `guess-${i}-${"x".repeat(32)}`, headers: { "CF-Connecting-IP": attacker } })).status);
    }
    expect(statuses.slice(0, 10)).toEqual(new Array(10).fill(403));
    expect(statuses.slice(10)).toEqual([429, 429]);
    const refused = await h.call("/admin/orders/20261201000000NoSuchOrder0000000", { token: "y".repeat(40), headers: { "CF-Connecting-IP": attacker } });
    expect(refused.headers.get("Retry-After")).toBe("60");
    expect((await errorOf(refused)).code).toBe("rate_limited");

    const operator = await h.call("/admin/orders/20261201000000NoSuchOrder0000000", { token: ADMIN, headers: { "CF-Connecting-IP": `198.18.${randomByte()}.255` } });
    expect(operator.status).toBe(404);
  });

  it("count an IPv6 client by its /64", async () => {
    const h = startHarness();
    const prefix = `2001:db8:${randomHextet()}:${randomHextet()}`;
    const statuses: number[] = [];
    for (let i = 1; i <= 11; i++) {
      statuses.push((await h.call("/admin/orders/20261201000000NoSuchOrder0000000", { token: "z".repeat(40), headers: { "CF-Connecting-IP": `${prefix}::${i}` } })).status);
    }
    expect(statuses.at(-1)).toBe(429);
  });
});

describe("the operator token", () => {
  const production = (adminToken: string | undefined): Env =>
    ({ ...env, ADMIN_TOKEN: adminToken, WECHAT_API_BASE: "https://api.weixin.qq.com", WECHATPAY_API_BASE: "https://api.mch.weixin.qq.com", PUBLIC_BASE_URL: "https://pay.example.com" }) as Env;

  it.each([
    ["the published example", EXAMPLE_ADMIN_TOKENS[0]!],
    ["a placeholder", "please-change-me-0123456789abcdefghijkl"],
    ["one character", "a".repeat(40)],
    ["a short piece repeated", "Xy7$".repeat(10)],
    ["a run of the alphabet", "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ"],
    ["few different characters", "0101100111010010110100101101001011010010"],
  ])("is refused when it is %s: /healthz names it, and the token does not open /admin", async (_what, token) => {
    expect(adminTokenWeakness(token)).not.toBeNull();
    const h = startHarness({ env: production(token) });
    const health = await h.call("/healthz");
    expect(health.status).toBe(503);
    const body = (await health.json()) as { problems: { setting: string; problem: string }[] };
    expect(body.problems.map((p) => p.setting)).toContain("ADMIN_TOKEN");
    expect(JSON.stringify(body)).not.toContain(token);

    const response = await h.call("/admin/orders/20261201000000NoSuchOrder0000000", { token });
    expect(response.status).toBe(503);
    const error = await errorOf(response);
    expect(error.code).toBe("not_configured");
    expect(error.message).toContain("ADMIN_TOKEN");
    expect(error.message).not.toContain(token);
  });

  it("is accepted when random (hex or base64 from a random source)", () => {
    for (let i = 0; i < 200; i++) {
      const bytes = crypto.getRandomValues(new Uint8Array(32));
      expect(adminTokenWeakness([...bytes].map((b) => b.toString(16).padStart(2, "0")).join(""))).toBeNull();
      expect(adminTokenWeakness(btoa(String.fromCharCode(...bytes)))).toBeNull();
    }
  });

  it("may be the published example against a loopback WeChat (the local simulator)", async () => {
    expect(EXAMPLE_ADMIN_TOKENS).toContain(ADMIN);
    expect((await startHarness().call("/healthz")).status).toBe(200);
  });
});

describe("an order id that does not exist", () => {
  it("leaves no stored state behind, whoever asks and however", async () => {
    const h = startHarness();
    const { token } = await h.login(`nobody-${crypto.randomUUID()}`);
    const unknown = `20261201000000Unknown${crypto.randomUUID().replaceAll("-", "").slice(0, 11)}`;
    const requests: [string, RequestInit & { json?: unknown; token?: string }][] = [
      [`/api/orders/${unknown}`, { token }],
      [`/api/orders/${unknown}/pay`, { method: "POST", token }],
      [`/api/orders/${unknown}/close`, { method: "POST", token }],
      [`/admin/orders/${unknown}`, { token: ADMIN }],
      [`/admin/orders/${unknown}/refunds`, { json: { amount: 100 }, token: ADMIN }],
      [`/admin/orders/${unknown}/refunds/20261201000000RNoSuchRefund00000/cancel`, { method: "POST", token: ADMIN }],
    ];
    const calledBefore = h.outbound.length;
    for (const [path, init] of requests) expect((await h.call(path, init)).status, path).toBe(404);
    expect(h.outbound.length).toBe(calledBefore);
    // The object asked about holds no table and is no bigger than one nobody ever asked about.
    const storageOf = (name: string) =>
      runInDurableObject(orderObject(env, name), (_i, ctx) => ({
        tables: ctx.storage.sql.exec("SELECT name FROM sqlite_master").toArray(),
        bytes: ctx.storage.sql.databaseSize,
      }));
    expect(await storageOf(unknown)).toEqual(await storageOf(`${unknown.slice(0, -1)}0`));
    expect((await storageOf(unknown)).tables).toEqual([]);
  });
});

describe("response headers", () => {
  it("every answer says nosniff; the login answer and every authenticated one say no-store; none has CORS headers", async () => {
    const h = startHarness();
    const { code } = await h.simControl<{ code: string }>("/__sim/login-codes", {});
    const login = await h.call("/api/login", { json: { code } });
    const { token } = (await login.clone().json()) as { token: string };
    const created = await h.createOrder(token);
    const { order } = (await created.clone().json()) as { order: { id: string } };
    const answers: [string, Response, boolean][] = [
      ["login", login, true],
      ["failed login", await h.call("/api/login", { json: { code } }), true],
      ["create", created, true],
      ["read", await h.call(`/api/orders/${order.id}`, { token }), true],
      ["list", await h.call("/api/orders", { token }), true],
      ["unauthenticated", await h.call("/api/orders", {}), true],
      ["admin", await h.call(`/admin/orders/${order.id}`, { token: ADMIN }), true],
      ["logout", await h.call("/api/logout", { method: "POST", token }), true],
      ["health", await h.call("/healthz"), false],
      ["no such endpoint", await h.call("/nothing-here"), false],
      ["notification", await h.call("/api/pay/notify", { method: "POST", headers: { "Content-Type": "text/xml" }, body: "<xml></xml>" }), false],
    ];
    for (const [what, response, isPrivate] of answers) {
      expect(response.headers.get("X-Content-Type-Options"), what).toBe("nosniff");
      if (isPrivate) expect(response.headers.get("Cache-Control"), what).toBe("no-store");
      expect([...response.headers.keys()].filter((k) => k.startsWith("access-control-")), what).toEqual([]);
    }
  });
});
