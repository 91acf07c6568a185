// WeChat Pay API v3 behind the PaymentGateway seam, as wechat-adapter.ts is for v2: builds each
// request from the order's fixed parameters and maps v3's vocabulary (trade_state, refund status,
// error codes) to the order core's domain results, once. Nothing past this file compares a v3 string.
import { formatRfc3339Beijing } from "../wechat/beijing-time";
import { tradeState, v3ErrorCode, v3RefundStatus } from "../wechat/codes";
import { WeChatError } from "../wechat/errors";
import type { V3RefundResult, V3Transaction } from "../wechat/v3";
import type { V3PayClient, V3Refund } from "../wechat/v3/pay-client";
import type { PaymentFact, RefundOutcome, RefundReport } from "./order-record";
import type { PaymentGateway, TradeReport } from "./payment-gateway";
import { failed, failureOf } from "./wechat-adapter";

/** The v3 calls the order object makes, with the notify URLs filled in from configuration. */
export interface OrderV3Client {
  jsapiPrepay(request: Omit<Parameters<V3PayClient["jsapiPrepay"]>[0], "notifyUrl">): ReturnType<V3PayClient["jsapiPrepay"]>;
  queryOrder: V3PayClient["queryOrder"];
  closeOrder: V3PayClient["closeOrder"];
  refund(request: Omit<Parameters<V3PayClient["refund"]>[0], "notifyUrl">): ReturnType<V3PayClient["refund"]>;
  refundQuery: V3PayClient["refundQuery"];
}

/** The v3 gateway over a client whose every failure is a WeChatError. */
export function wechatV3Gateway(client: OrderV3Client): PaymentGateway {
  return {
    async prepare(request) {
      try {
        const { prepayId } = await client.jsapiPrepay({
          outTradeNo: request.orderId,
          description: request.description,
          total: request.amount,
          openid: request.openid,
          timeExpire: formatRfc3339Beijing(request.expiresAt),
          payerClientIp: request.clientIp,
        });
        return { kind: "prepared", prepayId };
      } catch (error) {
        const failure = failed(error);
        const code = error instanceof WeChatError ? v3ErrorCode(error) : null;
        // WeChat holds this out_trade_no in another state than ours: the order core asks which.
        const conflict = code === "ORDERPAID" || code === "ORDER_CLOSED" || code === "OUT_TRADE_NO_USED";
        return { kind: conflict ? "conflict" : "failed", failure };
      }
    },

    async query(orderId) {
      try {
        return { kind: "answered", report: tradeReport(await client.queryOrder(orderId)) };
      } catch (error) {
        const code = error instanceof WeChatError ? v3ErrorCode(error) : null;
        if (code === "ORDER_NOT_EXIST" || code === "ORDERNOTEXIST") return { kind: "answered", report: { kind: "no_payment" } };
        return { kind: "failed", failure: failed(error) };
      }
    },

    async close(orderId) {
      try {
        await client.closeOrder(orderId);
        return { kind: "closed" };
      } catch (error) {
        const code = error instanceof WeChatError ? v3ErrorCode(error) : null;
        if (code === "ORDERPAID") return { kind: "paid" };
        if (code === "ORDER_CLOSED" || code === "ORDER_NOT_EXIST" || code === "ORDERNOTEXIST") return { kind: "closed" };
        return { kind: "failed", failure: failed(error) };
      }
    },

    async refund(request) {
      try {
        const result = await client.refund({
          outTradeNo: request.orderId,
          outRefundNo: request.refundId,
          refund: request.amount,
          total: request.orderAmount,
          ...(request.reason !== null ? { reason: request.reason } : {}),
        });
        return { kind: "accepted", wechatRefundId: result.refundId };
      } catch (error) {
        const code = error instanceof WeChatError ? v3ErrorCode(error) : null;
        return { kind: code === "FREQUENCY_LIMITED" ? "throttled" : "failed", failure: failed(error) };
      }
    },

    async refundStatus(refundId) {
      try {
        const result: V3Refund = await client.refundQuery(refundId);
        return { kind: "answered", outcome: refundOutcome(result.status), wechatRefundId: result.refundId };
      } catch (error) {
        if (error instanceof WeChatError && v3ErrorCode(error) === "RESOURCE_NOT_EXISTS") return { kind: "lost", failure: failureOf(error) };
        return { kind: "failed", failure: failed(error) };
      }
    },
  };
}

/** A verified v3 payment, in the order core's words (amount as a string, as v2's is compared). */
export function v3PaymentFact(transaction: V3Transaction): PaymentFact | null {
  if (transaction.transactionId === null || transaction.amountTotal === null) return null;
  return { transactionId: transaction.transactionId, totalFee: String(transaction.amountTotal), paidAt: parseRfc3339(transaction.successTime) };
}

/** A decrypted v3 refund notification, in the order core's words. */
export function v3RefundReport(result: V3RefundResult): RefundReport {
  return {
    orderId: result.outTradeNo,
    refundId: result.outRefundNo,
    refundFee: String(result.amountRefund),
    totalFee: String(result.amountTotal),
    wechatRefundId: result.refundId,
    outcome: refundOutcome(result.refundStatus),
  };
}

function tradeReport(transaction: V3Transaction): TradeReport {
  const state = tradeState(transaction.tradeState);
  const fact = v3PaymentFact(transaction);
  if ((state === "SUCCESS" || state === "REFUND") && fact !== null) return { kind: "paid", payment: fact };
  if (state === "CLOSED" || state === "REVOKED") return { kind: "closed", note: `WeChat says ${state}` };
  if (state === "USERPAYING") return { kind: "paying" };
  if (state === "NOTPAY") return { kind: "unpaid" };
  return { kind: "no_payment" };
}

function refundOutcome(status: string): RefundOutcome {
  const code = v3RefundStatus(status);
  switch (code) {
    case "SUCCESS":
      return { kind: "succeeded" };
    case "CLOSED":
      return { kind: "failed", note: "CLOSED" };
    case "ABNORMAL":
      return { kind: "attention" };
    case "PROCESSING":
    case null:
      return { kind: "processing" };
  }
}

function parseRfc3339(text: string | null): number | null {
  if (text === null) return null;
  const ms = Date.parse(text);
  return Number.isFinite(ms) ? ms : null;
}
