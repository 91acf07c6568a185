// The few wx functions the client uses, as one injectable object, and promise wrappers around their callbacks.
import { WxPayEdgeError } from "./errors";

/**
 * The subset of `wx` the client calls. WeChat's global `wx` fits it, and so do Taro's and uni-app's
 * (`Taro`, `uni`): each takes WeChat's option objects with success / fail callbacks.
 */
export interface WxApi {
  login(option: WechatMiniprogram.LoginOption): unknown;
  request(option: WechatMiniprogram.RequestOption): unknown;
  requestPayment(option: WechatMiniprogram.RequestPaymentOption): unknown;
  getStorageSync(key: string): unknown;
  setStorageSync(key: string, data: string): void;
  removeStorageSync(key: string): void;
}

/** An HTTP answer as wx.request hands it over (any status: wx.request succeeds on a 4xx or 5xx too). */
export interface WxResponse {
  readonly status: number;
  readonly data: unknown;
  /** Header names as the platform delivers them; read with `headerOf`. */
  readonly headers: Readonly<Record<string, unknown>>;
}

/** Sends one request; a failure to get any answer is a `network` WxPayEdgeError. */
export function sendRequest(
  wx: WxApi,
  option: { url: string; method: "GET" | "POST"; header: Record<string, string>; data?: object },
): Promise<WxResponse> {
  return new Promise((resolve, reject) => {
    wx.request({
      url: option.url,
      method: option.method,
      header: option.header,
      ...(option.data === undefined ? {} : { data: option.data }),
      dataType: "json",
      success: (res) => resolve({ status: res.statusCode, data: res.data, headers: res.header ?? {} }),
      fail: (err) => reject(new WxPayEdgeError("network", 0, `The request did not reach the service: ${err.errMsg}.`)),
    });
  });
}

/** The code of wx.login; a failure is a `login_failed` WxPayEdgeError. */
export function loginCode(wx: WxApi): Promise<string> {
  return new Promise((resolve, reject) => {
    wx.login({
      success: (res) => resolve(res.code),
      fail: (err) => reject(new WxPayEdgeError("login_failed", 0, `wx.login failed: ${err.errMsg}.`)),
    });
  });
}

/** How the pay sheet closed: `ok` only says it closed after the user confirmed, not that money moved. */
export type PaySheetResult = { readonly kind: "ok" } | { readonly kind: "cancelled" } | { readonly kind: "failed"; readonly errMsg: string };

/** Opens WeChat's pay sheet. "requestPayment:fail cancel" is the user closing it. */
export function openPaySheet(wx: WxApi, payment: WechatMiniprogram.RequestPaymentOption): Promise<PaySheetResult> {
  return new Promise((resolve) => {
    wx.requestPayment({
      ...payment,
      success: () => resolve({ kind: "ok" }),
      fail: (err) => resolve(/cancel/i.test(err.errMsg) ? { kind: "cancelled" } : { kind: "failed", errMsg: err.errMsg }),
    });
  });
}

/** A header's value whatever the case of its name (platforms differ). */
export function headerOf(headers: Readonly<Record<string, unknown>>, name: string): string | null {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === wanted && typeof value === "string") return value;
  }
  return null;
}
