// GET /openapi.json: the OpenAPI 3.1 description of every endpoint (src/openapi/). The same for
// everyone and changed only by a deploy, so any cache may keep it a while.
import { Hono } from "hono";
import type { AppEnv } from "../app-env";
import { openApiJson } from "../openapi/document";

/** GET /openapi.json, public: it describes endpoints, never anyone's data. */
export const openApiRoutes = new Hono<AppEnv>().get("/openapi.json", (c) =>
  c.body(openApiJson(), 200, { "Content-Type": "application/json; charset=utf-8", "Cache-Control": "public, max-age=300" }),
);
