// Builds the WeChat Pay client for the order objects from configuration: the one place that decides
// which API version is spoken (v2 or v3, WECHATPAY_API_VERSION) and how refunds reach WeChat
// (v2: through the merchant's mTLS certificate binding, or plainly to a loopback simulator) — an
// explicit choice from configuration, never a fallback on error.
import { isLoopbackOrigin, requireConfig } from "../config";
import { ApiError } from "../errors";
import type { Env } from "../env";
import { WeChatError, type WeChatApi } from "../wechat/errors";
import { createPayClient, type PayClient, type RefundRequest, type UnifiedOrderRequest } from "../wechat/pay-client";
import { withRetries } from "../wechat/retry";
import { PER_CALL_TIMEOUT_MS, REQUEST_BUDGET_MS } from "../upstream";
import {
  KeyFormatError,
  VerificationKeyRing,
  createV3PayClient,
  importMerchantPrivateKey,
  importWeChatPayPublicKey,
  type MerchantSigner,
  type V3PayClient,
  type V3PayClientConfig,
} from "../wechat/v3";
import type { PaymentGateway } from "./payment-gateway";
import { wechatV2Gateway } from "./wechat-adapter";
import { wechatV3Gateway, type OrderV3Client } from "./wechat-v3-adapter";

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
  // v3 refunds are signed requests like any other: no client certificate.
  if (env.WECHATPAY_CERT !== undefined || requireConfig(env, ["apiVersion"]).apiVersion === "v3") return null;
  return isLoopbackOrigin(requireConfig(env, ["wechatPayApiBase"]).wechatPayApiBase) ? null : "the WECHATPAY_CERT mTLS certificate binding is missing, so refunds cannot reach WeChat";
}

/**
 * What a refund needs before anything is reserved: every setting the refund request is built from,
 * and a way to reach WeChat with the certificate. Refused at the edge (503), so that a refund is
 * never stored that could not be sent.
 */
export function requireRefundTransport(env: Env): void {
  requireConfig(env, ["appid", "mchId", "wechatPayApiBase", "publicBaseUrl"]);
  if (requireConfig(env, ["apiVersion"]).apiVersion === "v3") requireConfig(env, V3_SETTINGS);
  else requireConfig(env, ["payKey", "signType"]);
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

/** The payment gateway the order objects use, as configured, with one retry budget per request or alarm task. */
export function paymentGateway(env: Env): PaymentGateway {
  return requireConfig(env, ["apiVersion"]).apiVersion === "v3" ? wechatV3Gateway(budgetedV3Client(env)) : wechatV2Gateway(budgetedPayClient(env));
}

// --- API v3 ----------------------------------------------------------------------------------

const V3_SETTINGS = ["appid", "mchId", "wechatPayApiBase", "apiV3Key", "merchantPrivateKey", "merchantCertSerial", "wechatPayPublicKey", "wechatPayPublicKeyId"] as const;

/** What every v3 call and notification of this isolate shares: imported keys and one key ring. */
export interface V3Context {
  readonly appid: string;
  readonly mchid: string;
  readonly apiV3Key: string;
  readonly signer: MerchantSigner;
  readonly keys: VerificationKeyRing;
  /** the client settings but the time-out */
  readonly client: Omit<V3PayClientConfig, "timeoutMs">;
}

// Per isolate and configuration: keys are imported once, and the key ring's certificates (fetched
// at most once per interval) serve every request of the isolate.
const v3Contexts = new WeakMap<Env, Promise<V3Context>>();

/** The v3 context of this configuration; rejects (503 not_configured) when a v3 setting is unusable. */
export function v3Context(env: Env): Promise<V3Context> {
  let context = v3Contexts.get(env);
  if (context === undefined) {
    context = buildV3Context(env);
    v3Contexts.set(env, context);
    context.catch(() => v3Contexts.delete(env));
  }
  return context;
}

async function buildV3Context(env: Env): Promise<V3Context> {
  const config = requireConfig(env, V3_SETTINGS);
  const signer: MerchantSigner = { mchid: config.mchId, serialNo: config.merchantCertSerial, privateKey: await importing("WECHATPAY_PRIVATE_KEY", importMerchantPrivateKey(config.merchantPrivateKey)) };
  const publicKey =
    config.wechatPayPublicKey !== null && config.wechatPayPublicKeyId !== null
      ? { id: config.wechatPayPublicKeyId, key: await importing("WECHATPAY_PUBLIC_KEY", importWeChatPayPublicKey(config.wechatPayPublicKey)) }
      : undefined;
  const client: Omit<V3PayClientConfig, "timeoutMs"> = {
    apiBase: config.wechatPayApiBase,
    appid: config.appid,
    signer,
    apiV3Key: config.apiV3Key,
    // Filled in below: the ring and the client that refreshes it refer to each other.
    keys: { keyFor: (serial) => keys.keyFor(serial) },
    ...(publicKey !== undefined ? { publicKeyId: publicKey.id } : {}),
  };
  const keys: VerificationKeyRing = new VerificationKeyRing({
    ...(publicKey !== undefined ? { publicKey } : {}),
    fetchCertificates: () => createV3PayClient({ ...client, timeoutMs: PER_CALL_TIMEOUT_MS }).certificates(),
  });
  return { appid: config.appid, mchid: config.mchId, apiV3Key: config.apiV3Key, signer, keys, client };
}

/** A key that has the shape of one but that Web Crypto will not take is a configuration problem (503), named. */
async function importing(setting: string, key: Promise<CryptoKey>): Promise<CryptoKey> {
  try {
    return await key;
  } catch (error) {
    if (error instanceof KeyFormatError) throw new ApiError(503, "not_configured", `The service is not configured: ${setting} ${error.message}.`);
    throw error;
  }
}

/** Our v3 notification endpoints, sent with each prepay and refund. */
export function v3NotifyUrl(env: Env, kind: "pay" | "refund"): string {
  return `${requireConfig(env, ["publicBaseUrl"]).publicBaseUrl}/api/v3/${kind}/notify`;
}

/** The v3 calls of one request or alarm task, retried like v2's within one budget; every failure a WeChatError. */
export function budgetedV3Client(env: Env, budgetMs: number = REQUEST_BUDGET_MS): OrderV3Client {
  const deadline = performance.now() + budgetMs;
  const attempt = async <T>(api: WeChatApi, operation: (client: V3PayClient) => Promise<T>): Promise<T> => {
    try {
      const { client } = await v3Context(env);
      return await withRetries((timeoutMs) => operation(createV3PayClient({ ...client, timeoutMs })), { deadline, perCallMs: PER_CALL_TIMEOUT_MS });
    } catch (error) {
      if (error instanceof WeChatError) throw error;
      throw new WeChatError(api, { kind: "unsendable", reason: error instanceof Error ? error.message : "unknown error" });
    }
  };
  return {
    jsapiPrepay: (request) => attempt("jsapi", (c) => c.jsapiPrepay({ ...request, notifyUrl: v3NotifyUrl(env, "pay") })),
    queryOrder: (outTradeNo) => attempt("orderquery", (c) => c.queryOrder(outTradeNo)),
    closeOrder: (outTradeNo) => attempt("closeorder", (c) => c.closeOrder(outTradeNo)),
    refund: (request) => attempt("refund", (c) => c.refund({ ...request, notifyUrl: v3NotifyUrl(env, "refund") })),
    refundQuery: (outRefundNo) => attempt("refundquery", (c) => c.refundQuery(outRefundNo)),
  };
}
