// GET /healthz: whether every setting and binding is usable. Names the settings at fault, never their values.
import { Hono } from "hono";
import type { AppEnv } from "../app-env";
import { configProblems, keyProblems, type ConfigProblem } from "../config";
import { refundTransportProblem } from "../orders/pay-gateway";

export const healthRoutes = new Hono<AppEnv>().get("/healthz", async (c) => {
  const problems: ConfigProblem[] = [...configProblems(c.env), ...(await keyProblems(c.env))];
  // Which refunds need a certificate depends on these two; while either is unusable, that is the problem to report.
  if (!problems.some((p) => p.setting === "WECHATPAY_API_BASE" || p.setting === "WECHATPAY_API_VERSION")) {
    const refunds = refundTransportProblem(c.env);
    if (refunds !== null) problems.push({ setting: "WECHATPAY_CERT", problem: refunds });
  }
  if (problems.length > 0) return c.json({ ok: false, problems }, 503);
  return c.json({ ok: true }, 200);
});
