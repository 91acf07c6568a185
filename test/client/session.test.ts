// The mini-program client's session: wx.login and the token in storage, one re-login on a 401,
// logout, and every failure as one WxPayEdgeError carrying the contract's code.
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createClient, DEFAULT_STORAGE_KEY, WxPayEdgeError, type WxPayEdgeClient } from "../../client/src/index";
import { SERVICE_ORIGIN, startHarness, type Harness } from "../support/harness";
import { fakeWx, recordingSleep, type FakeWx } from "./fake-wx";

let h: Harness;
let wx: FakeWx;
let client: WxPayEdgeClient;
beforeEach(() => {
  h = startHarness();
  wx = fakeWx(h);
  client = createClient({ baseUrl: SERVICE_ORIGIN, wx, sleep: recordingSleep().sleep });
});
afterEach(() => vi.unstubAllGlobals());

const token = () => wx.storage.get(DEFAULT_STORAGE_KEY) as string;

/** Revokes a token behind the client's back (a logout elsewhere), as an expiry would. */
async function revokeAtService(t: string): Promise<void> {
  expect((await h.call("/api/logout", { method: "POST", token: t })).status).toBe(204);
}

async function failureOf(promise: Promise<unknown>): Promise<WxPayEdgeError> {
  const error = await promise.then(() => null, (e: unknown) => e);
  expect(error).toBeInstanceOf(WxPayEdgeError);
  return error as WxPayEdgeError;
}

describe("login", () => {
  it("exchanges a wx.login code for a token and keeps the token under one storage key", async () => {
    const result = await client.login();
    expect(wx.logins).toBe(1);
    expect(result.openid).toMatch(/^o/);
    expect(result.expiresIn).toBe(Number(env.SESSION_TTL_SECONDS));
    expect([...wx.storage.keys()]).toEqual([DEFAULT_STORAGE_KEY]);
    expect(token()).toBe(result.token);
    expect(wx.sent.map((r) => `${r.method} ${r.path}`)).toEqual(["POST /api/login"]);
  });

  it("happens by itself on the first authenticated call, and the stored token serves the calls after it", async () => {
    await client.listOrders();
    await client.listOrders();
    expect(wx.logins).toBe(1);
    expect(wx.sent.map((r) => `${r.method} ${r.path}`)).toEqual(["POST /api/login", "GET /api/orders", "GET /api/orders"]);
    expect(wx.sent[2]!.headers.Authorization).toBe(`Bearer ${token()}`);
  });

  it("uses a token already in storage (a restarted mini-program) without logging in", async () => {
    const { token: kept } = await h.login();
    wx.storage.set(DEFAULT_STORAGE_KEY, kept);
    expect((await client.listOrders()).orders).toEqual([]);
    expect(wx.logins).toBe(0);
  });

  it("keeps the token under another key when told to", async () => {
    const other = createClient({ baseUrl: `${SERVICE_ORIGIN}/`, wx, storageKey: "shop:session" });
    await other.login();
    expect([...wx.storage.keys()]).toEqual(["shop:session"]);
  });

  it("reports a code the service refuses as invalid_code, and stores nothing", async () => {
    const used = await h.simControl<{ code: string }>("/__sim/login-codes", {});
    await h.call("/api/login", { json: { code: used.code } });
    wx.login = (option) => void Promise.resolve().then(() => option.success?.({ code: used.code, errMsg: "login:ok" }));
    const error = await failureOf(client.login());
    expect(error).toMatchObject({ code: "invalid_code", status: 401 });
    expect(wx.storage.size).toBe(0);
  });

  it("reports a failing wx.login as login_failed, without calling the service", async () => {
    wx.login = (option) => void Promise.resolve().then(() => option.fail?.({ errMsg: "login:fail" } as WechatMiniprogram.LoginFailCallbackErr));
    const error = await failureOf(client.listOrders());
    expect(error).toMatchObject({ code: "login_failed", status: 0 });
    expect(wx.sent).toEqual([]);
  });
});

describe("a 401 on an authenticated call", () => {
  it("logs in once more and repeats the call once, with the new token", async () => {
    await client.login();
    const revoked = token();
    await revokeAtService(revoked);

    const page = await client.listOrders();
    expect(page.orders).toEqual([]);
    expect(wx.logins).toBe(2);
    expect(token()).not.toBe(revoked);
    const calls = wx.sent.filter((r) => r.path === "/api/orders");
    expect(calls.map((r) => r.headers.Authorization)).toEqual([`Bearer ${revoked}`, `Bearer ${token()}`]);
  });

  it("is not retried a second time: a token refused again is an unauthorized error", async () => {
    await client.login();
    // Every token the client sends is revoked before the service sees it.
    const request = wx.request.bind(wx);
    wx.request = (option) => {
      const bearer = (option.header as Record<string, string> | undefined)?.Authorization?.replace(/^Bearer /, "");
      if (bearer === undefined) return request(option);
      void revokeAtService(bearer).then(() => request(option));
    };
    const error = await failureOf(client.listOrders());
    expect(error).toMatchObject({ code: "unauthorized", status: 401 });
    expect(wx.logins).toBe(2);
    expect(wx.sent.filter((r) => r.path === "/api/orders")).toHaveLength(2);
  });

  it("costs one login however many calls meet it together", async () => {
    await client.login();
    await revokeAtService(token());
    await Promise.all([client.listOrders(), client.listOrders({ limit: 5 }), client.listOrders({ limit: 7 })]);
    expect(wx.logins).toBe(2);
  });
});

describe("logout", () => {
  it("revokes the token at the service and removes it from storage", async () => {
    await client.login();
    const old = token();
    await client.logout();
    expect(wx.storage.has(DEFAULT_STORAGE_KEY)).toBe(false);
    expect((await h.call("/api/orders", { token: old })).status).toBe(401);
    // The next call logs in afresh.
    await client.listOrders();
    expect(wx.logins).toBe(2);
  });

  it("forgets a token the service had already forgotten, without an error", async () => {
    await client.login();
    await revokeAtService(token());
    await client.logout();
    expect(wx.storage.has(DEFAULT_STORAGE_KEY)).toBe(false);
  });

  it("forgets the token even when the service cannot be reached, and says so", async () => {
    await client.login();
    wx.failToSend(1);
    expect(await failureOf(client.logout())).toMatchObject({ code: "network", status: 0 });
    expect(wx.storage.has(DEFAULT_STORAGE_KEY)).toBe(false);
  });
});

describe("errors", () => {
  it("carry the contract's code, the HTTP status, the service's message and its request id", async () => {
    const error = await failureOf(client.createOrder([{ sku: "no-such-thing", quantity: 1 }]));
    expect(error.code).toBe("invalid_request");
    expect(error.status).toBe(400);
    expect(error.message).toMatch(/sku/);
    expect(error.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(error.name).toBe("WxPayEdgeError");
  });

  it("are not_found for an order that does not exist, and forbidden for another user's", async () => {
    expect(await failureOf(client.getOrder("00000000000000000000000000000000"))).toMatchObject({ code: "not_found", status: 404 });
    const other = createClient({ baseUrl: SERVICE_ORIGIN, wx: fakeWx(h) });
    const { order } = await other.createOrder([{ sku: "tea", quantity: 1 }]);
    expect(await failureOf(client.getOrder(order.id))).toMatchObject({ code: "forbidden", status: 403 });
  });

  it("are network errors (status 0) when wx.request gets no answer", async () => {
    wx.failToSend(1);
    expect(await failureOf(client.products())).toMatchObject({ code: "network", status: 0, requestId: null });
  });

  it("are invalid_response for an answer that is not the service's JSON", async () => {
    const proxy = createClient({
      baseUrl: SERVICE_ORIGIN,
      wx: { ...wx, request: (option) => void Promise.resolve().then(() => option.success?.({ statusCode: 502, data: "<html>Bad gateway</html>", header: {}, errMsg: "request:ok" } as WechatMiniprogram.RequestSuccessCallbackResult)) },
    });
    expect(await failureOf(proxy.products())).toMatchObject({ code: "invalid_response", status: 502 });
  });
});

describe("createClient", () => {
  it("uses the global wx when none is given, and says what to do where there is none", async () => {
    expect(() => createClient({ baseUrl: SERVICE_ORIGIN })).toThrow(/pass createClient\(\{ wx \}\)/);
    vi.stubGlobal("wx", wx);
    await createClient({ baseUrl: SERVICE_ORIGIN }).products();
    expect(wx.sent.map((r) => r.path)).toEqual(["/api/products"]);
  });
});
