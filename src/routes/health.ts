// GET /healthz: whether every setting and binding is usable. Names the settings at fault, never their values.
import { Hono } from "hono";
import type { AppEnv } from "../app-env";
import { configProblems, type ConfigProblem } from "../config";
import { refundTransportProblem } from "../orders/pay-gateway";

export const healthRoutes = new Hono<AppEnv>().get("/healthz", (c) => {
  const problems: ConfigProblem[] = configProblems(c.env);
  if (!problems.some((p) => p.setting === "WECHATPAY_API_BASE")) {
    const refunds = refundTransportProblem(c.env);
    if (refunds !== null) problems.push({ setting: "WECHATPAY_CERT", problem: refunds });
  }
  if (problems.length > 0) return c.json({ ok: false, problems }, 503);
  return c.json({ ok: true }, 200);
});
