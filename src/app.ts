// Wires the HTTP app: request ids, the routes, and the single place errors become responses.
import { Hono } from "hono";
import type { AppEnv } from "./app-env";
import { ApiError, errorResponse } from "./errors";
import { log } from "./log";
import { healthRoutes } from "./routes/health";
import { loginRoutes } from "./routes/login";
import { orderRoutes } from "./routes/orders";
import { payNotifyRoutes } from "./routes/pay-notify";
import { adminRoutes } from "./routes/admin";
import { refundNotifyRoutes } from "./routes/refund-notify";

export const app = new Hono<AppEnv>();

app.use(async function requestId(c, next) {
  const id = crypto.randomUUID();
  c.set("requestId", id);
  await next();
  c.header("X-Request-Id", id);
});

app.route("/", healthRoutes);
app.route("/", loginRoutes);
app.route("/", orderRoutes);
app.route("/", payNotifyRoutes);
app.route("/", refundNotifyRoutes);
app.route("/", adminRoutes);

app.notFound(() => errorResponse(ApiError.notFound("No such endpoint.")));

app.onError((error, c) => {
  if (!(error instanceof ApiError)) {
    // The name only: messages of unknown errors may quote inputs or internals.
    log("error", "unhandled_error", { requestId: c.var.requestId, error: error.name });
  }
  const response = errorResponse(error);
  response.headers.set("X-Request-Id", c.var.requestId);
  return response;
});
