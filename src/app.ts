// Wires the HTTP app: request ids, the routes, and the single place errors become responses.
import { Hono } from "hono";
import type { AppEnv } from "./app-env";
import { HTTPException } from "hono/http-exception";
import { ApiError, errorResponse } from "./errors";
import { limitBody } from "./http/body";
import { secretsOf } from "./config";
import { log, withLogContext } from "./log";
import { healthRoutes } from "./routes/health";
import { loginRoutes } from "./routes/login";
import { orderRoutes } from "./routes/orders";
import { productRoutes } from "./routes/products";
import { payNotifyRoutes } from "./routes/pay-notify";
import { adminRoutes } from "./routes/admin";
import { refundNotifyRoutes } from "./routes/refund-notify";
import { v3NotifyRoutes } from "./routes/v3-notify";
import { openApiRoutes } from "./routes/openapi";
import { wechatPushRoutes } from "./routes/wechat-push";

export const app = new Hono<AppEnv>();

/** Answers that carry a token or someone's orders: no cache on the way may keep them. */
const PRIVATE_ANSWERS = /^\/(?:api\/(?:login|logout|orders)(?:\/|$)|admin(?:\/|$))/;

/**
 * Every answer's own headers, errors included: its request id, no type sniffing by browsers, and
 * no caching of private answers. Set before the answer exists, they are part of it when a route
 * builds it with the context (no copy); an answer built elsewhere (onError, notFound) gets them
 * afterwards, where Hono must copy the finished response to change its headers.
 */
app.use(async function responseHeaders(c, next) {
  const id = crypto.randomUUID();
  c.set("requestId", id);
  const headers: [string, string][] = [["X-Request-Id", id], ["X-Content-Type-Options", "nosniff"]];
  if (PRIVATE_ANSWERS.test(c.req.path)) headers.push(["Cache-Control", "no-store"]);
  for (const [name, value] of headers) c.header(name, value);
  await withLogContext(id, secretsOf(c.env), next);
  for (const [name, value] of headers) if (c.res.headers.get(name) !== value) c.header(name, value);
});

app.use(limitBody());

app.route("/", healthRoutes);
app.route("/", loginRoutes);
app.route("/", orderRoutes);
app.route("/", productRoutes);
app.route("/", payNotifyRoutes);
app.route("/", refundNotifyRoutes);
app.route("/", v3NotifyRoutes);
app.route("/", wechatPushRoutes);
app.route("/", adminRoutes);
app.route("/", openApiRoutes);

app.notFound(() => errorResponse(ApiError.notFound("No such endpoint.")));

app.onError((caught, c) => {
  const error = caught instanceof HTTPException ? fromHttpException(caught) : caught;
  if (!(error instanceof ApiError)) {
    // The name only: messages of unknown errors may quote inputs or internals.
    log("error", "unhandled_error", { requestId: c.get("requestId"), error: error.name });
  }
  const response = errorResponse(error);
  response.headers.set("X-Request-Id", c.get("requestId"));
  return response;
});

/** Hono's own errors (e.g. its JSON validator meeting malformed JSON) in the contract's shape. */
function fromHttpException(error: HTTPException): ApiError {
  if (error.status === 413) return new ApiError(413, "payload_too_large", "The request body is too large.");
  if (error.status === 400) return ApiError.invalidRequest(error.message === "Malformed JSON in request body" ? "The request body is not valid JSON." : "The request is not valid.");
  return new ApiError(500, "internal_error", "Internal error.");
}
