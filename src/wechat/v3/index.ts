// The public surface of WeChat Pay API v3 in the protocol layer: keys, signatures, verification,
// AEAD resources and notifications. Pure like the rest of src/wechat: no Hono, no storage.
export { AeadError, decryptAead, encryptAead, type AeadErrorReason, type AeadParams } from "./aead";
export { KeyFormatError, importMerchantPrivateKey, importWeChatPayPublicKey, normalizeSerial, parsePlatformCertificate, readPem, type PlatformCertificate } from "./keys";
export { createV3PayClient, type V3JsapiPrepayRequest, type V3PayClient, type V3PayClientConfig, type V3Refund, type V3RefundRequest } from "./pay-client";
export { VerificationKeyRing, readCertificatesAnswer, type KeyRingOptions } from "./key-ring";
export {
  NotificationError,
  openNotification,
  readRefundResult,
  readTransaction,
  type NotificationEnvelope,
  type NotificationRejection,
  type V3RefundResult,
  type V3Transaction,
} from "./notification";
export {
  SIGNATURE_SCHEME,
  authorizationHeader,
  buildRsaPaymentParams,
  requestMessage,
  responseMessage,
  rsaSign,
  rsaVerify,
  signingMessage,
  type MerchantSigner,
  type RsaPaymentParams,
} from "./signature";
export { MAX_CLOCK_SKEW_MS, SIGNATURE_PROBE_PREFIX, verifyWeChatPaySignature, type SignatureCheck, type SignatureRejection, type SignedHeaders, type VerificationKeys } from "./verifier";
