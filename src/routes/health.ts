// GET /healthz: whether every setting is usable. Names the settings at fault, never their values.
import { Hono } from "hono";
import type { AppEnv } from "../app-env";
import { configProblems } from "../config";

export const healthRoutes = new Hono<AppEnv>().get("/healthz", (c) => {
  const problems = configProblems(c.env);
  if (problems.length > 0) return c.json({ ok: false, problems }, 503);
  return c.json({ ok: true }, 200);
});
