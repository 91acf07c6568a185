// The WeChat Pay v2 refund endpoints: POST /secapi/pay/refund (accepts a refund as PROCESSING and
// schedules its completion) and POST /pay/refundquery (the indexed `_$n` answer). Both go through
// the shared v2 envelope, faults and call log of pay.ts. The client certificate that
// /secapi/ requires in production is not checked: workerd cannot see one here.
import { Hono } from "hono";
import type { SimContext } from "./context";
import { newRefundId } from "./ids";
import { isPaid, type BusinessError } from "./order-rules";
import { handlePayCall } from "./pay";
import { resultFail, resultSuccess, returnFail, type PayOutcome } from "./pay-envelope";
import {
  DEFAULT_REFUND_ACCOUNT,
  ORDER_NOT_EXIST,
  REFUND_NOT_EXIST,
  REFUND_QUERY_PAGE,
  REFUND_QUERY_UNPAGED_MAX,
  decideRefund,
  refundQueryFields,
  refundReplyFields,
  validateRefundRequest,
} from "./refund-rules";
import type { SignType } from "./sign";
import { refundsOf, type OrderRecord, type RefundRecord } from "./state";
import type { XmlFields } from "./xml";

const fail = (signType: SignType, error: BusinessError) => resultFail(signType, error.errCode, error.errCodeDes);

function refund(ctx: SimContext, fields: XmlFields, signType: SignType): PayOutcome {
  const invalid = validateRefundRequest(fields);
  if (invalid) return fail(signType, invalid);
  const totalFee = Number(fields.total_fee);
  const refundFee = Number(fields.refund_fee);
  // Seen on real refunds: a refund_fee above total_fee is refused at the return level, unsigned.
  if (refundFee > totalFee) return returnFail("PARAM_ERROR", "invalid refund_fee");

  const { state } = ctx;
  // transaction_id wins when both are given, as documented.
  const outTradeNo = fields.transaction_id ? state.transactions.get(fields.transaction_id) : fields.out_trade_no;
  const order = outTradeNo === undefined ? undefined : state.orders.get(outTradeNo);
  // "订单不存在" is also what an unpaid order gets: there is nothing to refund yet.
  if (!order || !isPaid(order) || order.transactionId === null) return fail(signType, ORDER_NOT_EXIST);

  const now = ctx.time.now();
  const outRefundNo = fields.out_refund_no!;
  const decision = decideRefund(
    order,
    refundsOf(state, order.outTradeNo),
    state.refunds.get(outRefundNo),
    { outRefundNo, totalFee, refundFee },
    now,
    ctx.settings.refundSpacingSeconds * 1000,
  );
  if (decision.kind === "refuse") return fail(signType, decision.error);
  if (decision.kind === "repeat") return resultSuccess(signType, refundReplyFields(decision.refund));

  const delay = ctx.settings.refundDelaySeconds;
  const record: RefundRecord = {
    outRefundNo,
    refundId: newRefundId(now),
    outTradeNo: order.outTradeNo,
    transactionId: order.transactionId,
    totalFee,
    refundFee,
    refundDesc: fields.refund_desc || null,
    refundAccount: fields.refund_account || DEFAULT_REFUND_ACCOUNT,
    notifyUrl: fields.notify_url || null,
    status: "PROCESSING",
    createdAt: now,
    completeAt: delay === null ? null : now + delay * 1000,
    finishedAt: null,
    successTime: null,
    notification: null,
    notifications: [],
  };
  state.refunds.set(outRefundNo, record);
  state.refundIds.set(record.refundId, outRefundNo);
  order.tradeState = "REFUND";
  return resultSuccess(signType, refundReplyFields(record));
}

/** The refunds a refundquery names, by refund_id > out_refund_no > transaction_id > out_trade_no. */
function refundQuery(ctx: SimContext, fields: XmlFields, signType: SignType): PayOutcome {
  const { state } = ctx;
  const { refund_id: refundId, out_refund_no: outRefundNo, transaction_id: transactionId, out_trade_no: outTradeNo } = fields;
  if (!refundId && !outRefundNo && !transactionId && !outTradeNo) {
    return resultFail(signType, "LACK_PARAMS", "缺少参数refund_id、out_refund_no、transaction_id或out_trade_no");
  }

  // By refund: that refund alone.
  if (refundId || outRefundNo) {
    const number = refundId ? state.refundIds.get(refundId) : outRefundNo;
    const refund = number === undefined ? undefined : state.refunds.get(number);
    const order = refund && state.orders.get(refund.outTradeNo);
    if (!refund || !order) return fail(signType, REFUND_NOT_EXIST);
    return resultSuccess(signType, refundQueryFields(order, [refund]));
  }

  // By order: all its refunds, or a page of 10 from `offset`.
  const key = transactionId ? state.transactions.get(transactionId) : outTradeNo;
  const order: OrderRecord | undefined = key === undefined ? undefined : state.orders.get(key);
  const all = order ? refundsOf(state, order.outTradeNo) : [];
  if (!order || all.length === 0) return fail(signType, REFUND_NOT_EXIST);
  if (fields.offset === undefined || fields.offset === "") {
    if (all.length > REFUND_QUERY_UNPAGED_MAX) {
      return resultFail(signType, "PARAM_ERROR", `退款笔数超过${REFUND_QUERY_UNPAGED_MAX}笔，请使用offset或退款单号查询`);
    }
    return resultSuccess(signType, refundQueryFields(order, all));
  }
  if (!/^\d{1,9}$/.test(fields.offset)) return resultFail(signType, "PARAM_ERROR", "offset参数错误");
  const offset = Number(fields.offset);
  const page = all.slice(offset, offset + REFUND_QUERY_PAGE);
  if (page.length === 0) return fail(signType, REFUND_NOT_EXIST);
  return resultSuccess(signType, refundQueryFields(order, page, all.length));
}

export function refundRoutes(ctx: SimContext): Hono {
  const app = new Hono();
  // app.all: a GET must reach the handler to be answered REQUIRE_POST_METHOD, not 404.
  app.all("/secapi/pay/refund", (c) => handlePayCall(ctx, "refund", c.req.raw, refund));
  app.all("/pay/refundquery", (c) => handlePayCall(ctx, "refundquery", c.req.raw, refundQuery));
  return app;
}
