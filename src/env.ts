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
    }
  }
}

export type Env = Cloudflare.Env;
