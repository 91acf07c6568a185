// The Worker's bindings. Their names and types come from wrangler.toml through `npm run types`
// (worker-configuration.d.ts, generated; CI checks it is current). Values are read and validated
// only by config.ts; storage bindings are touched only by their owning modules.

declare global {
  namespace Cloudflare {
    interface Env {
      /**
       * The merchant's API client certificate (mTLS binding) for /secapi/pay/refund. Declared here
       * because wrangler.toml has it commented out until the certificate is uploaded; absent locally.
       */
      WECHATPAY_CERT?: Fetcher;
      /**
       * API v3 secrets, set only by a shop on WECHATPAY_API_VERSION=v3 (config.ts requires them
       * then): declared here because wrangler.toml lists only the secrets every deploy needs.
       */
      WECHATPAY_APIV3_KEY?: string;
      WECHATPAY_PRIVATE_KEY?: string;
      /** Set only by a shop that receives merchant events (config.ts requires it with MERCHANT_WEBHOOK_URL). */
      MERCHANT_WEBHOOK_SECRET?: string;
    }
  }
}

export type Env = Cloudflare.Env;
