// The Worker's bindings: the one place their names and types are declared. Values are read and
// validated only by config.ts; storage bindings are touched only by their owning modules.
import type { OrderObject } from "./orders/order-object";
import type { UserOrdersObject } from "./orders/user-orders-object";

declare global {
  namespace Cloudflare {
    interface Env {
      /** Login sessions, keyed by a hash of the bearer token (sessions/session-store.ts). */
      SESSIONS: KVNamespace;
      /** One Durable Object per order (orders/order-object.ts). */
      ORDERS: DurableObjectNamespace<OrderObject>;
      /** One Durable Object per user: the user's order index and Idempotency-Keys (orders/user-orders-object.ts). */
      USER_ORDERS: DurableObjectNamespace<UserOrdersObject>;

      /** The operator's order index (listing/order-index.ts). */
      ORDER_INDEX: D1Database;
      /** Rate limits (wrangler.toml [[ratelimits]]): logins per client, order creations per user,
       * failed operator authentications per client. */
      LOGIN_RATE_LIMIT: RateLimit;
      ORDER_RATE_LIMIT: RateLimit;
      ADMIN_AUTH_RATE_LIMIT: RateLimit;
      /** The merchant's API client certificate (mTLS binding) for /secapi/pay/refund; absent locally. */
      WECHATPAY_CERT?: Fetcher;

      WECHAT_APPID?: string;
      WECHAT_SECRET?: string;
      WECHATPAY_MCHID?: string;
      WECHATPAY_KEY?: string;
      WECHATPAY_SIGN_TYPE?: string;
      PUBLIC_BASE_URL?: string;
      WECHAT_API_BASE?: string;
      WECHATPAY_API_BASE?: string;
      ADMIN_TOKEN?: string;
      PRODUCTS?: string;
      SESSION_TTL_SECONDS?: string;
      ORDER_TTL_SECONDS?: string;
      WECHATPAY_API_VERSION?: string;
      WECHATPAY_APIV3_KEY?: string;
      WECHATPAY_PRIVATE_KEY?: string;
      WECHATPAY_CERT_SERIAL?: string;
      WECHATPAY_PUBLIC_KEY?: string;
      WECHATPAY_PUBLIC_KEY_ID?: string;
    }
  }
}

export type Env = Cloudflare.Env;
