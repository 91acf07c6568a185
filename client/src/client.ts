// createClient: login, catalog, orders and payment against a wxpay-edge service, from a mini-program.
// Keeps the token in storage, logs in again once on a 401, and never takes the pay sheet's word for a payment.
import { isServiceErrorCode, WxPayEdgeError } from "./errors";
import { newIdempotencyKey } from "./idempotency";
import type { CartItem, Checkout, LoginResult, Order, OrderPage, PayOutcome, Payment, Product } from "./types";
import { headerOf, loginCode, openPaySheet, sendRequest, type WxApi, type WxResponse } from "./wx-api";

/** The storage key under which the token is kept, unless `storageKey` says otherwise. */
export const DEFAULT_STORAGE_KEY = "wxpay-edge:token";

/** Waits after the pay sheet closed before each question to the service; about 10 s in all with the calls. */
export const PAYMENT_CHECK_DELAYS_MS: readonly number[] = [500, 1000, 2000, 4000];

/** Waits between the attempts of one order creation that got no usable answer (3 attempts in all). */
export const CREATE_RETRY_DELAYS_MS: readonly number[] = [1000, 2000];

/** A payment's parameters older than this are not used: the service issues fresh ones (its prepay_id lives 2 h). */
const PAYMENT_FRESH_SECONDS = 3600;

export interface ClientOptions {
  /** The service's origin, e.g. `https://pay.example.com` (a "request legal domain" of the mini-program). */
  readonly baseUrl: string;
  /** The wx functions to use: Taro's `Taro`, uni-app's `uni`, or a fake in tests. Default: the global `wx`. */
  readonly wx?: WxApi;
  /** Where the token is kept in the mini-program's storage. Default `DEFAULT_STORAGE_KEY`. */
  readonly storageKey?: string;
  /** How to wait between retries and payment checks. Default: setTimeout. */
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface CreateOrderOptions {
  /**
   * Names the purchase attempt. The client generates one per call and reuses it for its own retries;
   * pass your own (e.g. from `newIdempotencyKey()`, kept in the page) to retry an attempt that threw,
   * so that a request which reached the service before the network failed cannot create a second order.
   */
  readonly idempotencyKey?: string;
}

/** The mini-program's side of wxpay-edge. Every method rejects with a WxPayEdgeError only. */
export interface WxPayEdgeClient {
  /** wx.login, then `POST /api/login`; keeps the token in storage. Other calls log in by themselves when needed. */
  login(): Promise<LoginResult>;
  /** The catalog (`GET /api/products`), no login needed. */
  products(): Promise<readonly Product[]>;
  /**
   * Creates an order priced by the server. One call is one purchase attempt with one Idempotency-Key:
   * after a network failure, a 502 or a 504 it retries by itself with the same key (3 attempts in all),
   * so however often the request reached the service, at most one order exists for it.
   */
  createOrder(items: readonly CartItem[], options?: CreateOrderOptions): Promise<Checkout>;
  /**
   * Opens WeChat's pay sheet for an order and says how it ended (see PayOutcome). Takes what
   * createOrder returned, or an order alone: parameters already used or an hour old are replaced
   * by fresh ones from `POST /api/orders/:id/pay`. The sheet's success is not a payment: the
   * service is asked until it says `paid` (about 10 s), else the answer is `pending`.
   */
  pay(order: Checkout | Order): Promise<PayOutcome>;
  /** One of the user's orders; a pending one is checked with WeChat by the service first. */
  getOrder(id: string): Promise<Order>;
  /** The user's orders, newest first, `limit` (1 to 50, default 20) at a time. */
  listOrders(options?: { limit?: number; cursor?: string | null }): Promise<OrderPage>;
  /** Closes an unpaid order at WeChat and here; 409 `invalid_state` if it was paid meanwhile. */
  closeOrder(id: string): Promise<Order>;
  /** Revokes the token at the service and forgets it here. Forgets it even when the service cannot be reached. */
  logout(): Promise<void>;
}

type Method = "GET" | "POST";

interface CallOptions {
  readonly body?: object;
  readonly headers?: Record<string, string>;
}

/** A client for one service. Without `wx` it uses the global one, so it must run inside a mini-program. */
export function createClient(options: ClientOptions): WxPayEdgeClient {
  const wx = options.wx ?? globalWx();
  const baseUrl = options.baseUrl.replace(/\/+$/, "");
  const storageKey = options.storageKey ?? DEFAULT_STORAGE_KEY;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  // Payments handed to the pay sheet once: after a cancel, the next attempt asks for fresh ones.
  const usedPayments = new WeakSet<Payment>();
  // Calls that meet a 401 together share one new login.
  let loggingIn: Promise<LoginResult> | null = null;

  const storedToken = (): string | null => {
    const value = wx.getStorageSync(storageKey);
    return typeof value === "string" && value !== "" ? value : null;
  };

  const send = async (method: Method, path: string, call: CallOptions, token: string | null): Promise<WxResponse> => {
    const header: Record<string, string> = { ...call.headers };
    if (call.body !== undefined) header["Content-Type"] = "application/json";
    if (token !== null) header["Authorization"] = `Bearer ${token}`;
    return sendRequest(wx, { url: baseUrl + path, method, header, ...(call.body === undefined ? {} : { data: call.body }) });
  };

  const login = (): Promise<LoginResult> => {
    loggingIn ??= (async () => {
      try {
        const code = await loginCode(wx);
        const result = expectBody<LoginResult>(await send("POST", "/api/login", { body: { code } }, null), "token");
        wx.setStorageSync(storageKey, result.token);
        return result;
      } finally {
        loggingIn = null;
      }
    })();
    return loggingIn;
  };

  /** An authenticated call: logs in first if there is no token, and once more after a 401. */
  const authed = async (method: Method, path: string, call: CallOptions = {}): Promise<WxResponse> => {
    const token = storedToken() ?? (await login()).token;
    const response = await send(method, path, call, token);
    if (response.status !== 401) return response;
    // Another call may have logged in again meanwhile: then its token is tried, without a new login.
    const current = storedToken();
    const fresh = current !== null && current !== token ? current : (await login()).token;
    return send(method, path, call, fresh);
  };

  const getOrder = async (id: string): Promise<Order> =>
    expectBody<{ order: Order }>(await authed("GET", `/api/orders/${encodeURIComponent(id)}`), "order").order;

  /** Fresh parameters for a pending order; if it turned out paid meanwhile, says so instead. */
  const freshPayment = async (orderId: string): Promise<Payment | "paid"> => {
    try {
      return expectBody<Checkout>(await authed("POST", `/api/orders/${encodeURIComponent(orderId)}/pay`), "payment").payment;
    } catch (error) {
      if (error instanceof WxPayEdgeError && error.code === "invalid_state" && wasPaid(await getOrder(orderId))) return "paid";
      throw error;
    }
  };

  /** After the sheet said success: the service's word, asked with growing waits; transient failures are waited out. */
  const confirmPayment = async (orderId: string): Promise<PayOutcome> => {
    for (const delay of PAYMENT_CHECK_DELAYS_MS) {
      await sleep(delay);
      try {
        if (wasPaid(await getOrder(orderId))) return "paid";
      } catch (error) {
        if (!isTransient(error)) throw error;
      }
    }
    return "pending";
  };

  return {
    login,

    async products() {
      return expectBody<{ products: Product[] }>(await send("GET", "/api/products", {}, null), "products").products;
    },

    async createOrder(items, createOptions = {}) {
      const headers = { "Idempotency-Key": createOptions.idempotencyKey ?? newIdempotencyKey() };
      const body = { items: items.map(({ sku, quantity }) => ({ sku, quantity })) };
      for (let attempt = 0; ; attempt++) {
        try {
          return expectBody<Checkout>(await authed("POST", "/api/orders", { body, headers }), "order", 201);
        } catch (error) {
          const delay = CREATE_RETRY_DELAYS_MS[attempt];
          if (delay === undefined || !isTransient(error)) throw error;
          await sleep(delay);
        }
      }
    },

    async pay(target) {
      const order = "order" in target ? target.order : target;
      let payment = "payment" in target && isFresh(target.payment, usedPayments) ? target.payment : null;
      if (payment === null) {
        const fresh = await freshPayment(order.id);
        if (fresh === "paid") return "paid";
        payment = fresh;
      }
      usedPayments.add(payment);
      const sheet = await openPaySheet(wx, { ...payment });
      if (sheet.kind === "ok") return confirmPayment(order.id);
      // The sheet can close on a payment that went through (a slow network, a late cancel tap): ask once.
      const paid = wasPaid(await getOrder(order.id));
      if (sheet.kind === "cancelled") return paid ? "paid" : "cancelled";
      if (paid) return "paid";
      throw new WxPayEdgeError("payment_failed", 0, `wx.requestPayment failed: ${sheet.errMsg}.`);
    },

    getOrder,

    async listOrders(listOptions = {}) {
      const query: string[] = [];
      if (listOptions.limit !== undefined) query.push(`limit=${encodeURIComponent(String(listOptions.limit))}`);
      if (listOptions.cursor !== undefined && listOptions.cursor !== null) query.push(`cursor=${encodeURIComponent(listOptions.cursor)}`);
      const path = query.length === 0 ? "/api/orders" : `/api/orders?${query.join("&")}`;
      return expectBody<OrderPage>(await authed("GET", path), "orders");
    },

    async closeOrder(id) {
      return expectBody<{ order: Order }>(await authed("POST", `/api/orders/${encodeURIComponent(id)}/close`), "order").order;
    },

    async logout() {
      const token = storedToken();
      wx.removeStorageSync(storageKey);
      if (token === null) return;
      const response = await send("POST", "/api/logout", {}, token);
      // 401: the service had already forgotten the token, which is what logging out wants.
      if (response.status !== 204 && response.status !== 401) throw toError(response);
    },
  };
}

/** The global wx of the mini-program runtime; other runtimes must pass theirs. */
function globalWx(): WxApi {
  if (typeof wx === "undefined") throw new TypeError("No global wx here: pass createClient({ wx }) (e.g. Taro or uni).");
  return wx;
}

/** A body of the expected status with the field the endpoint promises; any other answer becomes a WxPayEdgeError. */
function expectBody<T>(response: WxResponse, field: string, status = 200): T {
  if (response.status !== status) throw toError(response);
  const data = response.data;
  if (typeof data !== "object" || data === null || !(field in data)) {
    throw new WxPayEdgeError("invalid_response", response.status, `The service's answer has no ${field}.`, headerOf(response.headers, "X-Request-Id"));
  }
  return data as T;
}

/** The service's error body as a WxPayEdgeError; an answer without one keeps its status. */
function toError(response: WxResponse): WxPayEdgeError {
  const requestId = headerOf(response.headers, "X-Request-Id");
  const error = typeof response.data === "object" && response.data !== null ? (response.data as { error?: unknown }).error : undefined;
  const { code, message } = (typeof error === "object" && error !== null ? error : {}) as { code?: unknown; message?: unknown };
  if (isServiceErrorCode(code)) return new WxPayEdgeError(code, response.status, typeof message === "string" ? message : code, requestId);
  return new WxPayEdgeError("invalid_response", response.status, `The service answered HTTP ${response.status} without an error body.`, requestId);
}

/** Failures after which the same request may well succeed: no answer at all, or the service's upstream failed. */
function isTransient(error: unknown): boolean {
  return error instanceof WxPayEdgeError && (error.code === "network" || error.status === 502 || error.status === 504);
}

/** Whether WeChat took the money for the order (a refund since then does not undo that). */
function wasPaid(order: Order): boolean {
  return order.status === "paid" || order.status === "partially_refunded" || order.status === "refunded";
}

function isFresh(payment: Payment, used: WeakSet<Payment>): boolean {
  return !used.has(payment) && Date.now() / 1000 - Number(payment.timeStamp) < PAYMENT_FRESH_SECONDS;
}
