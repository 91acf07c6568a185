// The simulator's upload_shipping_info and get_order: the token and permission checks, the body checks the service's shipping.ts expects of WeChat, the payment delay, the one re-shipment, refunds, and the order_state the control API moves on.
import { describe, expect, it } from "vitest";
import { MpApiError, getShippingOrder, uploadShippingInfo, type ShippingInfo } from "../../src/wechat/mp";
import { CONFIG } from "./helpers";
import { mpRig, uploadBody, type MpRig } from "./mp-helpers";

interface Answer {
  errcode: number;
  errmsg: string;
  order?: Record<string, unknown>;
}

async function upload(r: MpRig, body: unknown, token?: string): Promise<Answer> {
  return r.api<Answer>(`/wxa/sec/order/upload_shipping_info?access_token=${token ?? (await r.token())}`, body);
}

async function getOrder(r: MpRig, body: unknown, token?: string): Promise<Answer> {
  return r.api<Answer>(`/wxa/sec/order/get_order?access_token=${token ?? (await r.token())}`, body);
}

const byTradeNo = { merchant_id: CONFIG.mchId, merchant_trade_no: "ORDER-0001" };

describe("upload_shipping_info", () => {
  it("accepts a valid upload for a paid order once WeChat's shipping service knows the payment", async () => {
    const r = mpRig();
    await r.paidOrder();
    const openid = await r.openid("payer");
    // In the first minute after payment the shipping service does not know it yet.
    r.clock.advance(59);
    expect(await upload(r, uploadBody(openid))).toMatchObject({ errcode: 10060001 });
    r.clock.advance(1);
    expect(await upload(r, uploadBody(openid))).toEqual({ errcode: 0, errmsg: "ok" });
    expect((await r.control("/__sim/mp/orders/ORDER-0001")).json).toMatchObject({ orderState: 2, uploads: 1 });
  });

  it("takes the body the service's uploadShippingInfo builds, and get_order reads back as the service expects", async () => {
    const r = mpRig();
    const { openid, transactionId } = await r.shippableOrder();
    const config = { apiBase: "http://sim.test", fetch: (input: RequestInfo | URL, init?: RequestInit) => r.sim.fetch(new Request(input, init)), now: () => r.sim.now() };
    const info: ShippingInfo = {
      mchid: CONFIG.mchId,
      outTradeNo: "ORDER-0001",
      payerOpenid: openid,
      logisticsType: "express",
      packages: [{ trackingNo: "YT0000001", expressCompany: "YTO", itemDesc: "咖啡 ☕ x1" }],
    };
    const token = await r.token();
    expect(await getShippingOrder(config, token, { mchid: CONFIG.mchId, outTradeNo: "ORDER-0001" })).toMatchObject({ orderState: 1, transactionId });
    await uploadShippingInfo(config, token, info);
    expect(await getShippingOrder(config, token, { mchid: CONFIG.mchId, outTradeNo: "ORDER-0001" })).toMatchObject({
      orderState: 2,
      state: "shipped",
      paidAmount: 1800,
      openid,
    });
    await uploadShippingInfo(config, token, { ...info, logisticsType: "virtual", packages: [{ itemDesc: "e-voucher" }] });
    const refused = await uploadShippingInfo(config, token, info).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(MpApiError);
    expect((refused as MpApiError).failure).toMatchObject({ kind: "business", code: "10060003" });
  });

  it("refuses malformed bodies with WeChat's errcodes", async () => {
    const r = mpRig();
    const { openid } = await r.shippableOrder();
    const entry = { tracking_no: "SF1", express_company: "SF", item_desc: "Coffee" };
    const cases: [Record<string, unknown>, number][] = [
      [{ shipping_list: entry }, 47001],
      [{ shipping_list: [] }, 268485228],
      [{ delivery_mode: 2, is_all_delivered: true, shipping_list: Array.from({ length: 16 }, () => entry) }, 10060024],
      [{ shipping_list: [entry, entry] }, 268485228],
      [{ delivery_mode: 2, logistics_type: 3, is_all_delivered: true, shipping_list: [entry, entry] }, 10060006],
      [{ delivery_mode: 2, shipping_list: [entry, entry] }, 10060007],
      [{ delivery_mode: 3 }, 268485224],
      [{ logistics_type: 5 }, 10060005],
      [{ shipping_list: [{ ...entry, tracking_no: "" }] }, 268485226],
      [{ shipping_list: [{ ...entry, express_company: undefined }] }, 268485227],
      [{ shipping_list: [{ ...entry, item_desc: " " }] }, 10060008],
      [{ shipping_list: [{ ...entry, item_desc: "咖".repeat(121) }] }, 10060009],
      [{ upload_time: "2026-05-20 10:05:00" }, 268485216],
      [{ payer: {} }, 47001],
      [{ payer: { openid: "o-someone-else" } }, 10060031],
      [{ order_key: { order_number_type: 3 } }, 268485194],
      [{ order_key: { order_number_type: 1, out_trade_no: "ORDER-0001" } }, 268485196],
      [{ order_key: { order_number_type: 1, mchid: CONFIG.mchId } }, 268485197],
      [{ order_key: { order_number_type: 2 } }, 268485195],
      [{ order_key: { order_number_type: 1, mchid: "1900000999", out_trade_no: "ORDER-0001" } }, 10060001],
      [{ order_key: { order_number_type: 1, mchid: CONFIG.mchId, out_trade_no: "ORDER-0404" } }, 10060001],
    ];
    for (const [overrides, errcode] of cases) expect({ overrides, answer: await upload(r, uploadBody(openid, overrides)) }).toMatchObject({ answer: { errcode } });
    expect(await upload(r, "{not json")).toMatchObject({ errcode: 47001 });
    // Split delivery of 15 parcels and a 120-character description are within the limits.
    const fifteen = Array.from({ length: 15 }, () => ({ ...entry, item_desc: "咖".repeat(120) }));
    expect(await upload(r, uploadBody(openid, { delivery_mode: 2, is_all_delivered: true, shipping_list: fifteen }))).toMatchObject({ errcode: 0 });
  });

  it("names the order by transaction_id too; allows one re-shipment, then 10060003", async () => {
    const r = mpRig();
    const { openid, transactionId } = await r.shippableOrder();
    const byTransaction = { order_key: { order_number_type: 2, transaction_id: transactionId } };
    expect(await upload(r, uploadBody(openid, byTransaction))).toMatchObject({ errcode: 0 });
    expect(await upload(r, uploadBody(openid, { logistics_type: 4, shipping_list: [{ item_desc: "picked up" }] }))).toMatchObject({ errcode: 0 });
    expect(await upload(r, uploadBody(openid))).toMatchObject({ errcode: 10060003 });
    expect((await r.control("/__sim/mp/orders/ORDER-0001")).json).toMatchObject({ uploads: 2, shipping: { logisticsType: 4 } });
  });

  it("ships a partly refunded order; refuses a fully refunded one (10060004) and an unpaid one (10060001)", async () => {
    const r = mpRig();
    const { openid } = await r.shippableOrder();
    expect((await r.refund()).fields.result_code).toBe("SUCCESS");
    expect(await upload(r, uploadBody(openid))).toMatchObject({ errcode: 0 });
    expect((await getOrder(r, byTradeNo)).order).toMatchObject({ order_state: 2 });
    await r.control("/__sim/settings", { refundSpacingSeconds: 0 });
    expect((await r.refund({ out_refund_no: "REFUND-0002", refund_fee: "1200" })).fields.result_code).toBe("SUCCESS");
    expect(await upload(r, uploadBody(openid))).toMatchObject({ errcode: 10060004 });
    expect((await getOrder(r, byTradeNo)).order).toMatchObject({ order_state: 5 });
    expect((await r.unifiedOrder(openid, { out_trade_no: "ORDER-0002" })).fields.result_code).toBe("SUCCESS");
    const unpaid = { order_key: { order_number_type: 1, mchid: CONFIG.mchId, out_trade_no: "ORDER-0002" } };
    expect(await upload(r, uploadBody(openid, unpaid))).toMatchObject({ errcode: 10060001 });
    // The control API's refund shortcut refunds the whole order.
    await r.control("/__sim/orders/ORDER-0002/pay", {});
    await r.control("/__sim/orders/ORDER-0002/refund", {});
    r.clock.advance(60);
    expect(await upload(r, uploadBody(openid, unpaid))).toMatchObject({ errcode: 10060004 });
    expect((await getOrder(r, { merchant_id: CONFIG.mchId, merchant_trade_no: "ORDER-0002" })).order).toMatchObject({ order_state: 5 });
  });

  it("checks the token (41001, 40001, 42001) and the service's permission (48001) before the body", async () => {
    const r = mpRig();
    const { openid } = await r.shippableOrder();
    expect(await r.api("/wxa/sec/order/upload_shipping_info", uploadBody(openid))).toMatchObject({ errcode: 41001 });
    expect(await upload(r, uploadBody(openid), "not-a-token")).toMatchObject({ errcode: 40001 });
    const token = await r.token();
    await r.control("/__sim/mp/token/revoke", { as: "expired" });
    expect(await upload(r, "{not json", token)).toMatchObject({ errcode: 42001 });
    await r.control("/__sim/settings", { mpShippingEnabled: false });
    expect(await upload(r, uploadBody(openid))).toMatchObject({ errcode: 48001 });
    expect(await getOrder(r, byTradeNo)).toMatchObject({ errcode: 48001 });
    await r.control("/__sim/settings", { mpShippingEnabled: true, mpPaymentVisibleAfterSeconds: 0 });
    expect(await upload(r, uploadBody(openid))).toMatchObject({ errcode: 0 });
    expect((await r.control("/__sim/settings", { mpShippingEnabled: "no" })).status).toBe(400);
  });

  it("serves the faults busy, rate_limit and drop", async () => {
    const r = mpRig();
    const { openid } = await r.shippableOrder();
    const token = await r.token();
    await r.control("/__sim/faults", { api: "upload_shipping_info", kind: "busy" });
    await r.control("/__sim/faults", { api: "get_order", kind: "rate_limit" });
    expect(await upload(r, uploadBody(openid), token)).toMatchObject({ errcode: -1 });
    expect(await getOrder(r, byTradeNo, token)).toMatchObject({ errcode: 45011 });
    await r.control("/__sim/faults", { api: "upload_shipping_info", kind: "drop" });
    // The upload lands, its answer is lost.
    await expect(upload(r, uploadBody(openid), token)).rejects.toThrow(/dropped|drop/);
    expect((await getOrder(r, byTradeNo, token)).order).toMatchObject({ order_state: 2 });
  });
});

describe("get_order", () => {
  it("follows the shipping state: 1 to ship, 2 shipped, then 3, 6 and 4 as the control API moves it", async () => {
    const r = mpRig();
    const { openid, transactionId } = await r.shippableOrder();
    expect(await getOrder(r, { transaction_id: transactionId })).toMatchObject({
      errcode: 0,
      order: { transaction_id: transactionId, merchant_id: CONFIG.mchId, merchant_trade_no: "ORDER-0001", order_state: 1, paid_amount: 1800, openid },
    });
    expect((await r.control("/__sim/mp/orders/ORDER-0001/state", { orderState: 3 })).status).toBe(409);
    await upload(r, uploadBody(openid));
    expect((await getOrder(r, byTradeNo)).order).toMatchObject({ order_state: 2, shipping: { delivery_mode: 1, logistics_type: 1, finish_shipping: true } });
    for (const orderState of [3, 6, 4]) {
      expect((await r.control("/__sim/mp/orders/ORDER-0001/state", { orderState })).json).toEqual({ outTradeNo: "ORDER-0001", orderState });
      expect((await getOrder(r, byTradeNo)).order).toMatchObject({ order_state: orderState });
    }
    // Once received, the order takes no further upload.
    expect(await upload(r, uploadBody(openid))).toMatchObject({ errcode: 10060004 });
    expect((await r.control("/__sim/mp/orders/ORDER-0001/state", { orderState: 5 })).status).toBe(400);
    expect(await getOrder(r, {})).toMatchObject({ errcode: 47001 });
    expect(await getOrder(r, { transaction_id: "4200000000000000000000000000" })).toMatchObject({ errcode: 10060001 });
  });
});
