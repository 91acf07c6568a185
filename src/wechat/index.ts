// The public surface of the WeChat protocol layer (login, v2 pay and refunds, notifications, signatures, XML). Imports nothing of the app that uses it.
export { SIGN_TYPES, isSignType, sign, signingString, verifySign, type Fields, type SignType } from "./sign";
export { DEFAULT_XML_LIMITS, XmlError, buildXml, parseXml, type XmlErrorReason, type XmlLimits } from "./xml";
export { WeChatError, type WeChatApi, type WeChatFailure } from "./errors";
export { code2Session, type LoginClientConfig, type WeChatSession } from "./login-client";
export {
  createPayClient,
  type OrderQueryResult,
  type PayClient,
  type PayClientConfig,
  type RefundQueryResult,
  type RefundRequest,
  type RefundResult,
  type UnifiedOrderRequest,
} from "./pay-client";
export {
  RefundInfoError,
  decryptRefundInfo,
  encryptRefundInfo,
  verifyRefundNotification,
  type RefundInfoErrorReason,
  type RefundNotice,
  type RefundNotificationCheck,
  type RefundNotificationRejection,
} from "./refund-notification";
export { buildPaymentParams, type PaymentParams } from "./payment-params";
export { randomNonce } from "./nonce";
export { formatBeijingTime, parseBeijingTime } from "./beijing-time";
export { DEFAULT_TIMEOUT_MS } from "./http";
export { withRetries, type RetryPolicy } from "./retry";
