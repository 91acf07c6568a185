// code2Session against a fake WeChat: success is openid + session_key, any errcode ≠ 0 is a business failure, the secret never leaks.
import { describe, expect, it } from "vitest";
import { WeChatError } from "../../src/wechat/errors";
import { code2Session, type LoginClientConfig } from "../../src/wechat/login-client";
import { fakeFetch, hangingFetch, jsonResponse, thrownBy, type SeenRequest } from "./fake-wechat";

const SECRET = "0f6b1c2d3e4a5b6c7d8e9f0a1b2c3d4e";
const CODE = "051v0m000ObAyK19vV1005SDWf0v0m0s";

function config(fetch: typeof globalThis.fetch, overrides: Partial<LoginClientConfig> = {}): LoginClientConfig {
  return { apiBase: "https://api.weixin.qq.com", appid: "wx5f0c3a9e7d1b2c4a", secret: SECRET, fetch, ...overrides };
}

async function failureOf(work: () => Promise<unknown>) {
  const error = await thrownBy(work);
  expect(error).toBeInstanceOf(WeChatError);
  return error as WeChatError;
}

const SUCCESS = { session_key: "D1ZWEygStjuLCnZ9IN2l4Q==", openid: "o16wA0b4AZKzgVJR3MBwoUdTfU_E" };

describe("code2Session", () => {
  it("GETs /sns/jscode2session with appid, secret, js_code and grant_type", async () => {
    const fetch = fakeFetch(() => jsonResponse(SUCCESS));
    await code2Session(config(fetch), CODE);
    const [request] = fetch.seen as [SeenRequest];
    expect(request.method).toBe("GET");
    expect(request.url.origin + request.url.pathname).toBe("https://api.weixin.qq.com/sns/jscode2session");
    expect(Object.fromEntries(request.url.searchParams)).toEqual({
      appid: "wx5f0c3a9e7d1b2c4a",
      secret: SECRET,
      js_code: CODE,
      grant_type: "authorization_code",
    });
  });

  it("URL-encodes a code with reserved characters", async () => {
    const fetch = fakeFetch(() => jsonResponse(SUCCESS));
    await code2Session(config(fetch), "a+b/c=d&e");
    expect(fetch.seen[0]?.url.searchParams.get("js_code")).toBe("a+b/c=d&e");
  });

  it("success without errcode (how WeChat answers today)", async () => {
    expect(await code2Session(config(fakeFetch(() => jsonResponse(SUCCESS))), CODE)).toEqual({
      openid: "o16wA0b4AZKzgVJR3MBwoUdTfU_E",
      sessionKey: "D1ZWEygStjuLCnZ9IN2l4Q==",
    });
  });

  it("success with errcode 0 (older documentation)", async () => {
    const fetch = fakeFetch(() => jsonResponse({ ...SUCCESS, errcode: 0, errmsg: "ok" }));
    expect((await code2Session(config(fetch), CODE)).openid).toBe("o16wA0b4AZKzgVJR3MBwoUdTfU_E");
  });

  it("passes unionid through when present (wechatpy fixture)", async () => {
    const fetch = fakeFetch(() => jsonResponse({ ...SUCCESS, expires_in: 7200, unionid: "or4zX05h_Ykt4ju0TUfx3CQsvfTo" }));
    expect(await code2Session(config(fetch), CODE)).toEqual({
      openid: "o16wA0b4AZKzgVJR3MBwoUdTfU_E",
      sessionKey: "D1ZWEygStjuLCnZ9IN2l4Q==",
      unionid: "or4zX05h_Ykt4ju0TUfx3CQsvfTo",
    });
  });

  it.each([
    [40029, "invalid code, rid: 652d44d0-1d0af18b-5b069232", false],
    [40163, "code been used, rid: 652d44d0-1d0af18b-5b069233", false],
    [45011, "api minute-quota reach limit mustslower retry next minute", false],
    [40226, "code blocked", false],
    [-1, "system error", true],
  ])("errcode %i → business (retryable: %s)", async (errcode, errmsg, retryable) => {
    const error = await failureOf(() => code2Session(config(fakeFetch(() => jsonResponse({ errcode, errmsg }))), CODE));
    expect(error.api).toBe("code2session");
    expect(error.failure).toEqual({ kind: "business", code: String(errcode), description: errmsg });
    expect(error.retryable).toBe(retryable);
  });

  it("an errcode wins over an openid in the same answer", async () => {
    const fetch = fakeFetch(() => jsonResponse({ ...SUCCESS, errcode: 40029, errmsg: "invalid code" }));
    expect((await failureOf(() => code2Session(config(fetch), CODE))).failure).toMatchObject({ kind: "business", code: "40029" });
  });

  it("an answer without openid or session_key, or not a JSON object → malformed", async () => {
    for (const body of [
      JSON.stringify({ session_key: SUCCESS.session_key }),
      JSON.stringify({ openid: SUCCESS.openid }),
      JSON.stringify({ openid: "", session_key: SUCCESS.session_key }),
      JSON.stringify({ openid: 123, session_key: SUCCESS.session_key }),
      "[]",
      "null",
      "<html>busy</html>",
      "",
    ]) {
      const error = await failureOf(() => code2Session(config(fakeFetch(() => new Response(body))), CODE));
      expect(error.failure, body).toEqual({ kind: "malformed" });
    }
  });

  it("HTTP 5xx → http, retryable", async () => {
    const error = await failureOf(() => code2Session(config(fakeFetch(() => new Response("", { status: 503 }))), CODE));
    expect(error.failure).toEqual({ kind: "http", status: 503 });
    expect(error.retryable).toBe(true);
  });

  it("no answer within timeoutMs → timeout", async () => {
    const error = await failureOf(() => code2Session(config(hangingFetch, { timeoutMs: 20 }), CODE));
    expect(error.failure).toEqual({ kind: "timeout" });
    expect(error.retryable).toBe(true);
  });

  it("fetch throwing → network", async () => {
    const broken: typeof fetch = async () => {
      throw new TypeError("Network connection lost.");
    };
    expect((await failureOf(() => code2Session(config(broken), CODE))).failure).toEqual({ kind: "network" });
  });

  it("refuses an empty code without calling WeChat", async () => {
    const fetch = fakeFetch(() => jsonResponse(SUCCESS));
    await expect(code2Session(config(fetch), "")).rejects.toThrow(RangeError);
    expect(fetch.seen).toHaveLength(0);
  });

  it("never lets the secret, its URL or a session_key into an error", async () => {
    const answers: (() => Response)[] = [
      () => jsonResponse({ errcode: 40125, errmsg: `invalid appsecret ${SECRET}, rid: 1` }),
      () => jsonResponse({ errcode: 40029, errmsg: `invalid code, url: /sns/jscode2session?secret=${SECRET}` }),
      () => jsonResponse({ session_key: SUCCESS.session_key }),
      () => new Response(`{"session_key":"${SUCCESS.session_key}"`),
      () => new Response(SECRET, { status: 500 }),
    ];
    const fetchers: (typeof fetch)[] = [
      ...answers.map((answer) => fakeFetch(answer)),
      async (input) => {
        throw new TypeError(`fetch failed: ${String(input)}`);
      },
      hangingFetch,
    ];
    for (const fetch of fetchers) {
      const error = await failureOf(() => code2Session(config(fetch, { timeoutMs: 20 }), CODE));
      for (const text of [error.message, String(error), JSON.stringify(error.failure), String(error.stack)]) {
        expect(text).not.toContain(SECRET);
        expect(text).not.toContain(SUCCESS.session_key);
      }
      expect(error.cause).toBeUndefined();
    }
  });
});
