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

app.use(async function requestId(c, next) {
  const id = crypto.randomUUID();
  c.set("requestId", id);
  await withLogContext(id, secretsOf(c.env), next);
  c.header("X-Request-Id", id);
});

/** Answers that carry a token or someone's orders: no cache on the way may keep them. */
const PRIVATE_ANSWERS = /^\/(?:api\/(?:login|logout|orders)(?:\/|$)|admin(?:\/|$))/;

app.use(async function responseHeaders(c, next) {
  await next();
  // Every answer, errors included: a browser never guesses another type than the one we send.
  c.header("X-Content-Type-Options", "nosniff");
  if (PRIVATE_ANSWERS.test(c.req.path)) c.header("Cache-Control", "no-store");
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
    log("error", "unhandled_error", { requestId: c.var.requestId, error: error.name });
  }
  const response = errorResponse(error);
  response.headers.set("X-Request-Id", c.var.requestId);
  return response;
});

/** Hono's own errors (e.g. its JSON validator meeting malformed JSON) in the contract's shape. */
function fromHttpException(error: HTTPException): ApiError {
  if (error.status === 413) return new ApiError(413, "payload_too_large", "The request body is too large.");
  if (error.status === 400) return ApiError.invalidRequest(error.message === "Malformed JSON in request body" ? "The request body is not valid JSON." : "The request is not valid.");
  return new ApiError(500, "internal_error", "Internal error.");
}
