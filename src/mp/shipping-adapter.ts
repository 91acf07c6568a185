// The order core's shipping gateway on WeChat's mini-program server APIs: the service's stable
// access token (one holder, one retry with a fresh token when WeChat refuses it), upload_shipping_info
// and get_order, with each failure read into the order core's words. Nothing here throws for WeChat.
import { requireConfig } from "../config";
import { ApiError } from "../errors";
import type { Env } from "../env";
import { withAccessToken } from "./access-token-store";
import { WeChatError } from "../wechat/errors";
import {
  classifyShippingError,
  errcodeOf,
  getShippingOrder,
  shippingErrorAdvice,
  uploadShippingInfo,
  type ShippingInfo,
} from "../wechat/mp";
import type { UploadOutcome } from "../orders/shipping-decisions";
import type { ShippingGateway } from "../orders/shipping-gateway";
import type { WeChatShippingState } from "../orders/shipping";

/** Per call: WeChat's JSON APIs answer in well under a second; the alarm tries again later anyway. */
const CALL_TIMEOUT_MS = 5_000;

/** "Already holds exactly this shipping information": an earlier attempt landed. */
const ALREADY_UPLOADED = "10060023";

export function wechatShippingGateway(env: Env): ShippingGateway {
  return {
    async upload(order, request) {
      try {
        const config = requireConfig(env, ["mchId", "wechatApiBase"]);
        const info: ShippingInfo = {
          mchid: config.mchId,
          outTradeNo: order.id,
          payerOpenid: order.openid,
          logisticsType: request.logisticsType,
          packages: request.packages,
          split: request.split,
          ...(request.isAllDelivered === null ? {} : { isAllDelivered: request.isAllDelivered }),
        };
        await withAccessToken(env, (token) => uploadShippingInfo({ apiBase: config.wechatApiBase, timeoutMs: CALL_TIMEOUT_MS }, token, info));
        return { kind: "uploaded" };
      } catch (error) {
        if (errcodeOf(error) === ALREADY_UPLOADED) return { kind: "uploaded" };
        return failedUpload(error);
      }
    },

    async check(orderId) {
      try {
        const config = requireConfig(env, ["mchId", "wechatApiBase"]);
        const found = await withAccessToken(env, (token) => getShippingOrder({ apiBase: config.wechatApiBase, timeoutMs: CALL_TIMEOUT_MS }, token, { mchid: config.mchId, outTradeNo: orderId }));
        return { kind: "answered", state: found.state as WeChatShippingState };
      } catch (error) {
        return { kind: "failed", advice: shippingErrorAdvice(error) };
      }
    },
  };
}

/** A failed upload: whether it may pass later, and whether it may have landed (no clear answer). */
function failedUpload(error: unknown): UploadOutcome {
  // A setting that cannot be used (requireConfig) is fixed by the operator, and then the retry passes.
  if (error instanceof ApiError && error.code === "not_configured") {
    return { kind: "failed", retry: true, uncertain: false, code: null, advice: "the service is not configured for WeChat's APIs: see /healthz" };
  }
  const action = classifyShippingError(error);
  const failure = error instanceof WeChatError ? error.failure : null;
  // Only the upload itself may have landed unanswered: a failed token fetch sent nothing.
  const uncertain =
    error instanceof WeChatError && error.api === "upload_shipping_info" && failure !== null &&
    (failure.kind === "timeout" || failure.kind === "network" || (failure.kind === "http" && failure.status >= 500));
  return { kind: "failed", retry: action !== "final", uncertain, code: errcodeOf(error) ?? null, advice: shippingErrorAdvice(error) };
}
