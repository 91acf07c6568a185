// Mini Program login: minting wx.login codes (for the control API) and GET /sns/jscode2session
// with WeChat's rules: 300 s codes, single use, HTTP 200 JSON always, no errcode on success.
import { Hono } from "hono";
import type { SimContext } from "./context";
import { sleep } from "./faults";
import { newLoginCode, newRid, newSessionKey, newUserName, openidFor } from "./ids";

export const CODE_TTL_MS = 300_000;

type Code2SessionReply =
  | { session_key: string; openid: string }
  | { errcode: number; errmsg: string };

function loginError(errcode: number, message: string): Code2SessionReply {
  // Real errmsg values end in a trace id, e.g. "invalid code, rid: 652d44d0-1d0af18b-5b069232".
  return { errcode, errmsg: `${message}, rid: ${newRid()}` };
}

/** What a real wx.login would produce for `user` of the mini program `appid`. */
export async function mintLoginCode(
  ctx: SimContext,
  options: { user?: string; appid?: string },
): Promise<{ code: string; openid: string; user: string }> {
  const user = options.user ?? newUserName();
  const appid = options.appid ?? ctx.config.appid;
  const openid = await openidFor(appid, user);
  const code = newLoginCode();
  ctx.state.openids.set(openid, appid);
  ctx.state.codes.set(code, { code, appid, openid, issuedAt: ctx.time.now(), consumed: false });
  return { code, openid, user };
}

/** The code2session decision. A failed exchange never consumes the code. */
function exchange(ctx: SimContext, query: Record<string, string>): Code2SessionReply {
  const { appid, secret, js_code: jsCode, grant_type: grantType } = query;
  if (!appid) return loginError(41002, "appid missing");
  if (appid !== ctx.config.appid) return loginError(40013, "invalid appid");
  if (!secret) return loginError(41004, "appsecret missing");
  if (secret !== ctx.config.secret) return loginError(40125, "invalid appsecret");
  if (grantType !== "authorization_code") return loginError(40002, "invalid grant_type");
  if (!jsCode) return loginError(41008, "missing code");

  const record = ctx.state.codes.get(jsCode);
  // A code minted for another mini program is as unknown to this appid as a made-up one.
  if (!record || record.appid !== appid) return loginError(40029, "invalid code");
  // Checked before expiry: a consumed code keeps answering 40163, as observed on the real API.
  if (record.consumed) return loginError(40163, "code been used");
  if (ctx.time.now() - record.issuedAt >= CODE_TTL_MS) return loginError(40029, "invalid code");

  record.consumed = true;
  // A fresh session_key on every exchange: clients must not assume it survives a new wx.login.
  return { session_key: newSessionKey(), openid: record.openid };
}

function jsonReply(body: Code2SessionReply): Response {
  // The real endpoint labels its JSON text/plain; clients must parse the body regardless.
  return new Response(JSON.stringify(body), { headers: { "content-type": "text/plain" } });
}

export function loginRoutes(ctx: SimContext): Hono {
  const app = new Hono();

  app.get("/sns/jscode2session", async (c) => {
    const fields = c.req.query();
    const fault = ctx.faults.take("code2session");
    const log = (outcome: string) =>
      ctx.calls.record({ api: "code2session", at: ctx.time.now(), fields, outcome, fault: fault?.kind ?? null });

    if (fault?.kind === "delay") await sleep(fault.delayMs);
    if (fault?.kind === "http_500") {
      log("http_500");
      return new Response("Internal Server Error", { status: 500, headers: { "content-type": "text/plain" } });
    }
    const reply =
      fault?.kind === "busy"
        ? loginError(-1, "system error")
        : fault?.kind === "rate_limit"
          ? loginError(45011, "api minute-quota reach limit mustslower retry next minute")
          : exchange(ctx, fields);

    log("errcode" in reply ? String(reply.errcode) : "SUCCESS");
    const response = jsonReply(reply);
    if (fault?.kind === "drop") ctx.droppedResponses.set(response, "code2session");
    return response;
  });

  return app;
}
