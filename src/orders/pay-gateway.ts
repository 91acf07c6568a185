// Builds the WeChat Pay client for the order objects from configuration: the one place that decides
// how refunds reach WeChat (through the merchant's mTLS certificate binding, or plainly to a
// loopback simulator) — an explicit choice from configuration, never a fallback on error.
import { isLoopbackOrigin, requireConfig } from "../config";
import { ApiError } from "../errors";
import type { Env } from "../env";
import { WeChatError, type WeChatApi } from "../wechat/errors";
import { createPayClient, type PayClient, type RefundRequest, type UnifiedOrderRequest } from "../wechat/pay-client";
import { withRetries } from "../wechat/retry";
import { PER_CALL_TIMEOUT_MS, REQUEST_BUDGET_MS } from "../upstream";
import type { PaymentGateway } from "./payment-gateway";
import { wechatV2Gateway } from "./wechat-adapter";

/** Our payment notification endpoint, sent with each unifiedorder. */
export function payNotifyUrl(env: Env): string {
  return `${requireConfig(env, ["publicBaseUrl"]).publicBaseUrl}/api/pay/notify`;
}

/** Our refund notification endpoint, sent with each refund. */
export function refundNotifyUrl(env: Env): string {
  return `${requireConfig(env, ["publicBaseUrl"]).publicBaseUrl}/api/refund/notify`;
}

export function payClientFor(env: Env, timeoutMs: number = PER_CALL_TIMEOUT_MS): PayClient {
  const config = requireConfig(env, ["appid", "mchId", "payKey", "signType", "wechatPayApiBase"]);
  const certificate = env.WECHATPAY_CERT;
  return createPayClient({
    apiBase: config.wechatPayApiBase,
    appid: config.appid,
    mchId: config.mchId,
    key: config.payKey,
    signType: config.signType,
    timeoutMs,
    ...(certificate !== undefined ? { certifiedFetch: (input: RequestInfo | URL, init?: RequestInit) => certificate.fetch(input as RequestInfo, init as RequestInit) } : {}),
  });
}

/**
 * Refunds need the merchant's client certificate. Without the WECHATPAY_CERT binding they are only
 * allowed against a loopback WeChat (the simulator), which asks for no certificate.
 */
export function refundTransportProblem(env: Env): string | null {
  if (env.WECHATPAY_CERT !== undefined) return null;
  return isLoopbackOrigin(requireConfig(env, ["wechatPayApiBase"]).wechatPayApiBase) ? null : "the WECHATPAY_CERT mTLS certificate binding is missing, so refunds cannot reach WeChat";
}

/**
 * What a refund needs before anything is reserved: every setting the refund request is built from,
 * and a way to reach WeChat with the certificate. Refused at the edge (503), so that a refund is
 * never stored that could not be sent.
 */
export function requireRefundTransport(env: Env): void {
  requireConfig(env, ["appid", "mchId", "payKey", "signType", "wechatPayApiBase", "publicBaseUrl"]);
  const problem = refundTransportProblem(env);
  if (problem !== null) throw new ApiError(503, "not_configured", `The service is not configured: ${problem}.`);
}

/** The calls the order object makes, with the notify URLs filled in from configuration. */
export interface OrderPayClient {
  unifiedOrder(request: Omit<UnifiedOrderRequest, "notifyUrl">): ReturnType<PayClient["unifiedOrder"]>;
  orderQuery: PayClient["orderQuery"];
  closeOrder: PayClient["closeOrder"];
  refund(request: Omit<RefundRequest, "notifyUrl">): ReturnType<PayClient["refund"]>;
  refundQuery: PayClient["refundQuery"];
}

/**
 * A pay client whose every call is retried with identical parameters (a new nonce_str, the same
 * business fields) on WeChat's retryable failures, within one budget shared by all its calls.
 * Every failure is a WeChatError: one that is not WeChat's answer (a request that cannot be built,
 * a setting gone bad) becomes `unsendable`, final, so that callers end the attempt in a defined
 * state instead of rethrowing it on every request and alarm run.
 */
export function budgetedPayClient(env: Env, budgetMs: number = REQUEST_BUDGET_MS): OrderPayClient {
  const deadline = performance.now() + budgetMs;
  const attempt = async <T>(api: WeChatApi, operation: (client: PayClient) => Promise<T>): Promise<T> => {
    try {
      return await withRetries((timeoutMs) => operation(payClientFor(env, timeoutMs)), { deadline, perCallMs: PER_CALL_TIMEOUT_MS });
    } catch (error) {
      if (error instanceof WeChatError) throw error;
      throw new WeChatError(api, { kind: "unsendable", reason: error instanceof Error ? error.message : "unknown error" });
    }
  };
  return {
    // The notify URLs are built here, inside the attempt: a bad PUBLIC_BASE_URL is an unsendable call, not a throw.
    unifiedOrder: (request) => attempt("unifiedorder", (c) => c.unifiedOrder({ ...request, notifyUrl: payNotifyUrl(env) })),
    orderQuery: (query) => attempt("orderquery", (c) => c.orderQuery(query)),
    closeOrder: (query) => attempt("closeorder", (c) => c.closeOrder(query)),
    refund: (request) => attempt("refund", (c) => c.refund({ ...request, notifyUrl: refundNotifyUrl(env) })),
    refundQuery: (query) => attempt("refundquery", (c) => c.refundQuery(query)),
  };
}

/** The payment gateway the order objects use: WeChat Pay v2, one retry budget per request or alarm task. */
export function paymentGateway(env: Env): PaymentGateway {
  return wechatV2Gateway(budgetedPayClient(env));
}
