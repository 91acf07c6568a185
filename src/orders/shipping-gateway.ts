// The seam between the order core and WeChat's order shipping management: what the order object
// asks, answered in the order core's words. Types only; src/mp/shipping-adapter.ts implements it
// with the mini-program server APIs (the service's stable access token, upload_shipping_info, get_order).
import type { ShippingCheck, UploadOutcome } from "./shipping-decisions";
import type { ShippingRequest } from "./shipping";

/** Whose payment a shipping call is about: our out_trade_no and the payer (WeChat checks the openid is the payer's). */
export interface ShippedOrder {
  readonly id: string;
  readonly openid: string;
}

/** The shipping APIs as the order object uses them. No method throws for WeChat's failures. */
export interface ShippingGateway {
  upload(order: ShippedOrder, request: ShippingRequest): Promise<UploadOutcome>;
  check(orderId: string): Promise<ShippingCheck>;
}
