// WeChat Pay API v2 behind the PaymentGateway seam: builds each request from the order's fixed
// parameters, and maps WeChat's vocabulary (trade_state, refund_status, err_code) to the order core's
// domain results, once. Nothing past this file compares a WeChat string.
import { log } from "../log";
import { parseBeijingTime, formatBeijingTime } from "../wechat/beijing-time";
import { payErrorCode, refundStatusCode, tradeState } from "../wechat/codes";
import { WeChatError } from "../wechat/errors";
import type { VerifiedPayment } from "../wechat/payment-notification";
import type { RefundNotice } from "../wechat/refund-notification";
import type { OrderPayClient } from "./pay-gateway";
import type { PaymentFact, RefundOutcome, RefundReport } from "./order-record";
import type { GatewayFailure, PaymentGateway, TradeReport } from "./payment-gateway";

/** The v2 gateway over a pay client whose every failure is a WeChatError (see budgetedPayClient). */
export function wechatV2Gateway(client: OrderPayClient): PaymentGateway {
  return {
    async prepare(request) {
      try {
        const { prepayId } = await client.unifiedOrder({
          outTradeNo: request.orderId,
          body: request.description,
          totalFee: request.amount,
          openid: request.openid,
          spbillCreateIp: request.clientIp,
          timeStart: formatBeijingTime(request.createdAt),
          timeExpire: formatBeijingTime(request.expiresAt),
        });
        return { kind: "prepared", prepayId };
      } catch (error) {
        const failure = failed(error);
        const code = payErrorCode(error as WeChatError);
        // WeChat knows this out_trade_no in another state than ours (our parameters never change).
        const conflict = code === "ORDERPAID" || code === "ORDERCLOSED" || code === "INVALID_REQUEST" || code === "OUT_TRADE_NO_USED";
        return { kind: conflict ? "conflict" : "failed", failure };
      }
    },

    async query(orderId) {
      try {
        return { kind: "answered", report: tradeReport(await client.orderQuery({ outTradeNo: orderId })) };
      } catch (error) {
        if (error instanceof WeChatError && payErrorCode(error) === "ORDERNOTEXIST") return { kind: "answered", report: { kind: "no_payment" } };
        return { kind: "failed", failure: failed(error) };
      }
    },

    async close(orderId) {
      try {
        await client.closeOrder({ outTradeNo: orderId });
        return { kind: "closed" };
      } catch (error) {
        const code = error instanceof WeChatError ? payErrorCode(error) : null;
        if (code === "ORDERPAID") return { kind: "paid" };
        // ORDERCLOSED: already closed at WeChat; ORDERNOTEXIST: WeChat never accepted it.
        if (code === "ORDERCLOSED" || code === "ORDERNOTEXIST") return { kind: "closed" };
        return { kind: "failed", failure: failed(error) };
      }
    },

    async refund(request) {
      try {
        const result = await client.refund({
          outTradeNo: request.orderId,
          outRefundNo: request.refundId,
          totalFee: request.orderAmount,
          refundFee: request.amount,
          ...(request.reason !== null ? { refundDesc: request.reason } : {}),
        });
        return { kind: "accepted", wechatRefundId: result.refundId };
      } catch (error) {
        const code = error instanceof WeChatError ? payErrorCode(error) : null;
        return { kind: code === "INVALID_REQ_TOO_MUCH" || code === "FREQUENCY_LIMITED" ? "throttled" : "failed", failure: failed(error) };
      }
    },

    async refundStatus(refundId) {
      try {
        const result = await client.refundQuery({ outRefundNo: refundId });
        return { kind: "answered", outcome: refundOutcome(result.refundStatus), wechatRefundId: result.refundId ?? null };
      } catch (error) {
        if (error instanceof WeChatError && payErrorCode(error) === "REFUNDNOTEXIST") return { kind: "lost", failure: failureOf(error) };
        return { kind: "failed", failure: failed(error) };
      }
    },
  };
}

/** A verified payment notification's facts, in the order core's words. */
export function paymentFact(payment: Pick<VerifiedPayment, "transactionId" | "totalFee" | "timeEnd">): PaymentFact {
  return { transactionId: payment.transactionId, totalFee: payment.totalFee, paidAt: paidAt(payment.timeEnd) };
}

/** A decrypted refund notification, in the order core's words. */
export function refundReport(notice: RefundNotice): RefundReport {
  return {
    orderId: notice.outTradeNo,
    refundId: notice.outRefundNo,
    refundFee: notice.refundFee,
    totalFee: notice.totalFee,
    wechatRefundId: notice.refundId,
    outcome: refundOutcome(notice.refundStatus),
  };
}

function tradeReport(result: { tradeState: string; transactionId?: string; timeEnd?: string; fields: Readonly<Record<string, string>> }): TradeReport {
  const state = tradeState(result.tradeState);
  if ((state === "SUCCESS" || state === "REFUND") && result.transactionId !== undefined) {
    return { kind: "paid", payment: paymentFact({ transactionId: result.transactionId, totalFee: result.fields.total_fee ?? "", timeEnd: result.timeEnd }) };
  }
  if (state === "CLOSED" || state === "REVOKED") return { kind: "closed", note: `WeChat says ${state}` };
  if (state === "USERPAYING") return { kind: "paying" };
  if (state === "NOTPAY") return { kind: "unpaid" };
  return { kind: "no_payment" };
}

function refundOutcome(status: string): RefundOutcome {
  const code = refundStatusCode(status);
  switch (code) {
    case "SUCCESS":
      return { kind: "succeeded" };
    case "REFUNDCLOSE":
    case "FAIL":
      return { kind: "failed", note: code };
    case "CHANGE":
      return { kind: "attention" };
    case "PROCESSING":
    case null:
      return { kind: "processing" };
  }
}

/** A failed call's failure, logged once here (the caller's request id comes from the log context). */
export function failed(error: unknown): GatewayFailure {
  if (!(error instanceof WeChatError)) throw error;
  const f = error.failure;
  log("warn", "wechat_failed", {
    api: error.api,
    kind: f.kind,
    code: f.kind === "business" ? f.code : undefined,
    status: f.kind === "http" ? f.status : undefined,
  });
  return failureOf(error);
}

export function failureOf(error: WeChatError): GatewayFailure {
  const f = error.failure;
  const note = f.kind === "business" ? f.code : f.kind;
  if (f.kind === "timeout") return { kind: "timeout", note };
  if (error.retryable) return { kind: "unavailable", note };
  if (f.kind === "unsendable") return { kind: "unsendable", note, detail: f.reason };
  return { kind: "refused", note };
}

function paidAt(timeEnd: string | undefined): number | null {
  if (timeEnd === undefined) return null;
  try {
    return parseBeijingTime(timeEnd);
  } catch {
    return null;
  }
}
