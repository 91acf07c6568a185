// The public surface of the wxpay-edge mini-program client: createClient, its error type and the contract's shapes.
export { createClient, CREATE_RETRY_DELAYS_MS, DEFAULT_STORAGE_KEY, PAYMENT_CHECK_DELAYS_MS } from "./client";
export type { ClientOptions, CreateOrderOptions, WxPayEdgeClient } from "./client";
export { WxPayEdgeError } from "./errors";
export type { ClientErrorCode, ErrorCode, ServiceErrorCode } from "./errors";
export { newIdempotencyKey } from "./idempotency";
export type { CartItem, Checkout, LoginResult, Order, OrderItem, OrderPage, OrderStatus, PayOutcome, Payment, Product } from "./types";
export type { WxApi } from "./wx-api";
