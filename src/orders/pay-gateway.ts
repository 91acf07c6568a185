// Builds the WeChat Pay client for the order objects from configuration: the one place that decides
// how refunds reach WeChat (through the merchant's mTLS certificate binding, or plainly to a
// loopback simulator) — an explicit choice from configuration, never a fallback on error.
import { requireConfig } from "../config";
import { ApiError } from "../errors";
import type { Env } from "../env";
import { createPayClient, type PayClient } from "../wechat/pay-client";
import { withRetries } from "../wechat/retry";
import { PER_CALL_TIMEOUT_MS, REQUEST_BUDGET_MS } from "../upstream";

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
  const base = requireConfig(env, ["wechatPayApiBase"]).wechatPayApiBase;
  const host = new URL(base).hostname;
  const loopback = host === "localhost" || host === "[::1]" || /^127\./.test(host);
  return loopback ? null : "the WECHATPAY_CERT mTLS certificate binding is missing, so refunds cannot reach WeChat";
}

export function requireRefundTransport(env: Env): void {
  const problem = refundTransportProblem(env);
  if (problem !== null) throw new ApiError(503, "not_configured", `The service is not configured: ${problem}.`);
}

/**
 * A pay client whose every call is retried with identical parameters (a new nonce_str, the same
 * business fields) on WeChat's retryable failures, within one budget shared by all its calls.
 */
export function budgetedPayClient(env: Env, budgetMs: number = REQUEST_BUDGET_MS): PayClient {
  const deadline = performance.now() + budgetMs;
  const attempt = <T>(operation: (client: PayClient) => Promise<T>): Promise<T> =>
    withRetries((timeoutMs) => operation(payClientFor(env, timeoutMs)), { deadline, perCallMs: PER_CALL_TIMEOUT_MS });
  return {
    call: (api, path, fields) => attempt((c) => c.call(api, path, fields)),
    unifiedOrder: (request) => attempt((c) => c.unifiedOrder(request)),
    orderQuery: (query) => attempt((c) => c.orderQuery(query)),
    closeOrder: (query) => attempt((c) => c.closeOrder(query)),
    refund: (request) => attempt((c) => c.refund(request)),
    refundQuery: (query) => attempt((c) => c.refundQuery(query)),
  };
}
