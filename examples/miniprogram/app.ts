// The example shop's App: one wxpay-edge client for every page.
import { createClient, type WxPayEdgeClient } from "wxpay-edge-client";

/** The service this shop pays through: one of the mini-program's request legal domains. */
const SERVICE_URL = "https://pay.example.com";

/** What pages get from getApp<ShopApp>(). */
export interface ShopApp {
  readonly globalData: { readonly shop: WxPayEdgeClient };
}

App<ShopApp>({
  globalData: { shop: createClient({ baseUrl: SERVICE_URL }) },
});
