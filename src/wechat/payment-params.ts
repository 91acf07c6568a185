// The five wx.requestPayment parameters for a v2 prepay_id, with their own paySign. Never reuses the unifiedorder sign.
import { randomNonce } from "./nonce";
import { isSignType, sign, type SignType } from "./sign";

/** Exactly what wx.requestPayment takes (appId is signed but not passed). */
export interface PaymentParams {
  timeStamp: string;
  nonceStr: string;
  package: string;
  signType: SignType;
  paySign: string;
}

/**
 * The five wx.requestPayment fields: timeStamp = unix SECONDS as a string; package = "prepay_id=<id>";
 * paySign = v2 sign over exactly appId (capital I), nonceStr, package, signType, timeStamp — never the
 * unifiedorder sign. `signType` must be the one the order was placed with.
 */
export async function buildPaymentParams(input: {
  appId: string;
  prepayId: string;
  key: string;
  signType: SignType;
  /** Clock in milliseconds, default Date.now. */
  now?: () => number;
  /** nonceStr source, default 32 random [A-Za-z0-9]. */
  nonce?: () => string;
}): Promise<PaymentParams> {
  if (input.appId === "" || input.prepayId === "") throw new RangeError("appId and prepayId must not be empty");
  if (!isSignType(input.signType)) throw new TypeError("signType must be MD5 or HMAC-SHA256");
  const ms = (input.now ?? Date.now)();
  if (!Number.isFinite(ms) || ms < 0) throw new RangeError("now() must return a non-negative number of milliseconds");

  const unsigned = {
    timeStamp: String(Math.floor(ms / 1000)), // a string of seconds: a Number fails "parameter.timeStamp should be String"
    nonceStr: (input.nonce ?? randomNonce)(),
    package: `prepay_id=${input.prepayId}`,
    signType: input.signType,
  };
  // The spellings appId and timeStamp are part of the signed string; appid/timestamp would sign something else.
  const paySign = await sign({ appId: input.appId, ...unsigned }, input.key, input.signType);
  return { ...unsigned, paySign };
}
