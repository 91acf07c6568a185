// code2session as the simulator serves it (protocol reference §1.2, §5 items 1–2).
import { describe, expect, it } from "vitest";
import { CONFIG, rig, type Rig } from "./helpers";

type Reply = { session_key?: string; openid?: string; errcode?: number; errmsg?: string };

async function exchange(r: Rig, params: Record<string, string | undefined>): Promise<{ status: number; type: string | null; body: Reply }> {
  const query = new URLSearchParams();
  const all = { appid: CONFIG.appid, secret: CONFIG.secret, grant_type: "authorization_code", ...params };
  for (const [name, value] of Object.entries(all)) if (value !== undefined) query.set(name, value);
  const response = await r.raw(`/sns/jscode2session?${query}`);
  return { status: response.status, type: response.headers.get("content-type"), body: (await response.json()) as Reply };
}

async function mint(r: Rig, body: Record<string, string> = {}) {
  const { status, json } = await r.control<{ code: string; openid: string; user: string }>("/__sim/login-codes", body);
  expect(status).toBe(200);
  return json;
}

const RID = /, rid: [0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}$/;

describe("code2session", () => {
  it("exchanges a fresh code for session_key and openid, with no errcode field", async () => {
    const r = rig();
    const { code, openid } = await mint(r, { user: "alice" });
    const { status, body } = await exchange(r, { js_code: code });
    expect(status).toBe(200);
    expect(Object.keys(body).sort()).toEqual(["openid", "session_key"]);
    expect(body.openid).toBe(openid);
    expect(body.session_key).toMatch(/^[A-Za-z0-9+/]{22}==$/);
    expect(atob(body.session_key!)).toHaveLength(16);
  });

  it("mints codes shaped like wx.login's and openids shaped like real ones", async () => {
    const { code, openid } = await mint(rig());
    expect(code).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(openid).toMatch(/^o[A-Za-z0-9_-]{27}$/);
  });

  it("gives the same user the same openid every time, also across simulators", async () => {
    const a = await mint(rig(), { user: "alice" });
    const again = await mint(rig(), { user: "alice" });
    const bob = await mint(rig(), { user: "bob" });
    expect(again.openid).toBe(a.openid);
    expect(bob.openid).not.toBe(a.openid);
  });

  it("gives the same user a different openid under another appid", async () => {
    const r = rig();
    const here = await mint(r, { user: "alice" });
    const elsewhere = await mint(r, { user: "alice", appid: "wx0000000000000001" });
    expect(elsewhere.openid).not.toBe(here.openid);
  });

  it("invents a user when none is named", async () => {
    const r = rig();
    const one = await mint(r);
    const two = await mint(r);
    expect(one.openid).not.toBe(two.openid);
  });

  it("answers 40163 'code been used' for a second exchange of the same code", async () => {
    const r = rig();
    const { code } = await mint(r);
    expect((await exchange(r, { js_code: code })).body.openid).toBeDefined();
    const { status, body } = await exchange(r, { js_code: code });
    expect(status).toBe(200);
    expect(body.errcode).toBe(40163);
    expect(body.errmsg).toMatch(/^code been used/);
    expect(body.errmsg).toMatch(RID);
    expect(body.openid).toBeUndefined();
  });

  it("answers 40029 'invalid code' for a code it never issued", async () => {
    const { status, body } = await exchange(rig(), { js_code: "051v0m000ObAyK19vV1005SDWf0v0m0s" });
    expect(status).toBe(200);
    expect(body.errcode).toBe(40029);
    expect(body.errmsg).toMatch(/^invalid code/);
    expect(body.errmsg).toMatch(RID);
  });

  it("honours a code for 300 s: valid at 299 s, 40029 at 300 s", async () => {
    const r = rig();
    const early = await mint(r);
    const late = await mint(r);
    await r.control("/__sim/clock/advance", { seconds: 299 });
    expect((await exchange(r, { js_code: early.code })).body.openid).toBe(early.openid);
    await r.control("/__sim/clock/advance", { seconds: 1 });
    expect((await exchange(r, { js_code: late.code })).body.errcode).toBe(40029);
  });

  it("counts the TTL on the injected clock too", async () => {
    const r = rig();
    const { code } = await mint(r);
    r.clock.advance(301);
    expect((await exchange(r, { js_code: code })).body.errcode).toBe(40029);
  });

  it("keeps answering 40163 for a used code after it would have expired", async () => {
    const r = rig();
    const { code } = await mint(r);
    await exchange(r, { js_code: code });
    r.clock.advance(3600);
    expect((await exchange(r, { js_code: code })).body.errcode).toBe(40163);
  });

  it("refuses a code minted for another mini program with 40029", async () => {
    const r = rig();
    const { code } = await mint(r, { appid: "wx0000000000000001" });
    expect((await exchange(r, { js_code: code })).body.errcode).toBe(40029);
  });

  it.each([
    ["a wrong secret", { secret: "ffffffffffffffffffffffffffffffff" }, 40125, /^invalid appsecret/],
    ["a wrong appid", { appid: "wx0000000000000001" }, 40013, /^invalid appid/],
    ["a missing appid", { appid: undefined }, 41002, /^appid missing/],
    ["a missing secret", { secret: undefined }, 41004, /^appsecret missing/],
    ["a wrong grant_type", { grant_type: "client_credential" }, 40002, /^invalid grant_type/],
    ["a missing grant_type", { grant_type: undefined }, 40002, /^invalid grant_type/],
  ])("answers %s with errcode %i and does not consume the code", async (_, params, errcode, errmsg) => {
    const r = rig();
    const { code, openid } = await mint(r);
    const { status, body } = await exchange(r, { js_code: code, ...params });
    expect(status).toBe(200);
    expect(body.errcode).toBe(errcode);
    expect(body.errmsg).toMatch(errmsg);
    expect((await exchange(r, { js_code: code })).body.openid).toBe(openid);
  });

  it("answers a missing js_code with 41008", async () => {
    expect((await exchange(rig(), {})).body.errcode).toBe(41008);
  });

  it("labels its JSON text/plain, as the real endpoint does", async () => {
    expect((await exchange(rig(), { js_code: "x" })).type).toBe("text/plain");
  });

  it("logs every exchange with its query and outcome", async () => {
    const r = rig();
    const { code } = await mint(r);
    await exchange(r, { js_code: code });
    await exchange(r, { js_code: code });
    const { json } = await r.control<{ calls: { api: string; fields: Record<string, string>; outcome: string }[] }>(
      "/__sim/calls?api=code2session",
    );
    expect(json.calls.map((call) => call.outcome)).toEqual(["SUCCESS", "40163"]);
    expect(json.calls[0]!.fields).toEqual({
      appid: CONFIG.appid,
      secret: CONFIG.secret,
      grant_type: "authorization_code",
      js_code: code,
    });
  });
});
