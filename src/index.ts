// The Worker's entry: the HTTP app and the Durable Object classes wrangler.toml binds.
import { app } from "./app";
import type { Env } from "./env";

export { AccessTokenObject } from "./mp/access-token-object";
export { OrderObject } from "./orders/order-object";
export { UserOrdersObject } from "./orders/user-orders-object";

export default {
  fetch: (request, env, ctx) => app.fetch(request, env, ctx),
} satisfies ExportedHandler<Env>;
