// Shipping information: the upload body WeChat documents, the input it refuses, the upload and get_order calls, and what to do about every errcode.
import { describe, expect, it } from "vitest";
import { formatRfc3339Beijing } from "../../../src/wechat/beijing-time";
import { WeChatError } from "../../../src/wechat/errors";
import { MpApiError } from "../../../src/wechat/mp/api-call";
import {
  MAX_ITEM_DESC_CHARS,
  ShippingInputError,
  buildShippingBody,
  classifyShippingError,
  getShippingOrder,
  shippingErrorAdvice,
  uploadShippingInfo,
  type ShippingClientConfig,
  type ShippingInfo,
  type ShippingInputReason,
} from "../../../src/wechat/mp/shipping";
import { errorTexts, fakeJsonFetch, hangingFetch, jsonResponse, thrownBy } from "./fake-mp";

const ACCESS_TOKEN = "86_Q2w3E4r5T6y7U8i9O0pAsDfGhJkLzXcVbNm1234567890qwertyuiopASDFGH";
const MCHID = "1900000109";
const OUT_TRADE_NO = "WX20221215001";
const OPENID = "ogqztkPsejM9MQAFfwCQSCi4oNg3";
/** 2022-12-15T13:29:35.120+08:00, the upload_time of WeChat's own example. */
const EXAMPLE_MS = Date.UTC(2022, 11, 15, 5, 29, 35, 120);

const EXPRESS: ShippingInfo = {
  mchid: MCHID,
  outTradeNo: OUT_TRADE_NO,
  payerOpenid: OPENID,
  logisticsType: "express",
  packages: [{ trackingNo: "323244567777", expressCompany: "STO", itemDesc: "微信气泡狗集线器*1", consignorContact: "+86-177****1234" }],
};

function config(fetch: typeof globalThis.fetch, overrides: Partial<ShippingClientConfig> = {}): ShippingClientConfig {
  return { apiBase: "https://api.weixin.qq.com", fetch, now: () => EXAMPLE_MS, ...overrides };
}

function inputErrorOf(info: ShippingInfo): ShippingInputError {
  try {
    buildShippingBody(info, EXAMPLE_MS);
  } catch (error) {
    expect(error).toBeInstanceOf(ShippingInputError);
    return error as ShippingInputError;
  }
  throw new Error("expected the input to be refused");
}

describe("formatRfc3339Beijing", () => {
  it.each([
    [EXAMPLE_MS, "2022-12-15T13:29:35.120+08:00"],
    [0, "1970-01-01T08:00:00.000+08:00"],
    // 16:00 UTC on New Year's Eve is already next year in Beijing.
    [Date.UTC(2022, 11, 31, 16, 0, 0, 0), "2023-01-01T00:00:00.000+08:00"],
    [Date.UTC(2024, 1, 28, 23, 59, 59, 999), "2024-02-29T07:59:59.999+08:00"],
    [-1, "1970-01-01T07:59:59.999+08:00"],
  ])("%i → %s", (ms, expected) => {
    expect(formatRfc3339Beijing(ms, { millis: true })).toBe(expected);
  });

  it("refuses a time that is not a finite number", () => {
    expect(() => formatRfc3339Beijing(Number.NaN, { millis: true })).toThrow(RangeError);
  });
});

describe("buildShippingBody", () => {
  it("express, one parcel: WeChat's documented shape, shipping_list an array", () => {
    expect(buildShippingBody(EXPRESS, EXAMPLE_MS)).toEqual({
      order_key: { order_number_type: 1, mchid: MCHID, out_trade_no: OUT_TRADE_NO },
      logistics_type: 1,
      delivery_mode: 1,
      shipping_list: [{ tracking_no: "323244567777", express_company: "STO", item_desc: "微信气泡狗集线器*1", contact: { consignor_contact: "+86-177****1234" } }],
      upload_time: "2022-12-15T13:29:35.120+08:00",
      payer: { openid: OPENID },
    });
  });

  it("virtual goods: one entry with item_desc only", () => {
    const body = buildShippingBody({ ...EXPRESS, logisticsType: "virtual", packages: [{ itemDesc: "话费充值 100 元" }] }, EXAMPLE_MS);
    expect(body.logistics_type).toBe(3);
    expect(body.delivery_mode).toBe(1);
    expect(body.shipping_list).toEqual([{ item_desc: "话费充值 100 元" }]);
    expect("is_all_delivered" in body).toBe(false);
  });

  it.each([
    ["express", 1],
    ["same_city", 2],
    ["virtual", 3],
    ["pickup", 4],
  ] as const)("logistics type %s → %i", (logisticsType, code) => {
    expect(buildShippingBody({ ...EXPRESS, logisticsType }, EXAMPLE_MS).logistics_type).toBe(code);
  });

  it("split express: delivery_mode 2, is_all_delivered, up to 15 parcels, contacts only where given", () => {
    const packages = Array.from({ length: 15 }, (_, i) => ({ trackingNo: `SF${1000 + i}`, expressCompany: "SF", itemDesc: `第 ${i + 1} 件`, receiverContact: i === 0 ? "138****0000" : undefined }));
    const body = buildShippingBody({ ...EXPRESS, packages, split: true, isAllDelivered: false }, EXAMPLE_MS);
    expect(body.delivery_mode).toBe(2);
    expect(body.is_all_delivered).toBe(false);
    expect(body.shipping_list).toHaveLength(15);
    expect(body.shipping_list[0]).toEqual({ tracking_no: "SF1000", express_company: "SF", item_desc: "第 1 件", contact: { receiver_contact: "138****0000" } });
    expect(body.shipping_list[1]).toEqual({ tracking_no: "SF1001", express_company: "SF", item_desc: "第 2 件" });
    expect(JSON.parse(JSON.stringify(body)).shipping_list).toBeInstanceOf(Array);
  });

  it(`item_desc counts characters: ${MAX_ITEM_DESC_CHARS} Chinese characters or emoji pass`, () => {
    for (const desc of ["货".repeat(120), "📦".repeat(120), "a"]) {
      expect(buildShippingBody({ ...EXPRESS, packages: [{ ...EXPRESS.packages[0]!, itemDesc: desc }] }, EXAMPLE_MS).shipping_list[0]?.item_desc).toBe(desc);
    }
  });

  const parcel = EXPRESS.packages[0]!;
  const cases: [string, ShippingInfo, ShippingInputReason, number?][] = [
    ["no mchid", { ...EXPRESS, mchid: "" }, "missing_order_key"],
    ["no out_trade_no", { ...EXPRESS, outTradeNo: " " }, "missing_order_key"],
    ["no payer", { ...EXPRESS, payerOpenid: "" }, "missing_payer"],
    ["an unknown logistics type", { ...EXPRESS, logisticsType: "drone" as never }, "unknown_logistics_type"],
    ["a logistics type named like an Object property", { ...EXPRESS, logisticsType: "toString" as never }, "unknown_logistics_type"],
    ["no packages", { ...EXPRESS, packages: [] }, "no_packages"],
    ["16 packages", { ...EXPRESS, split: true, isAllDelivered: true, packages: Array.from({ length: 16 }, () => parcel) }, "too_many_packages"],
    ["two packages without split", { ...EXPRESS, packages: [parcel, parcel] }, "unified_needs_one_package"],
    ["split for virtual goods", { ...EXPRESS, logisticsType: "virtual", split: true, isAllDelivered: true }, "split_needs_express"],
    ["split without isAllDelivered", { ...EXPRESS, split: true }, "split_needs_is_all_delivered"],
    ["express without tracking number", { ...EXPRESS, packages: [{ ...parcel, trackingNo: "" }] }, "missing_tracking_no", 0],
    ["express without company", { ...EXPRESS, split: true, isAllDelivered: true, packages: [parcel, { ...parcel, expressCompany: undefined }] }, "missing_express_company", 1],
    ["empty item_desc", { ...EXPRESS, packages: [{ ...parcel, itemDesc: "" }] }, "empty_item_desc", 0],
    ["blank item_desc", { ...EXPRESS, logisticsType: "pickup", packages: [{ itemDesc: "   " }] }, "empty_item_desc", 0],
    ["121-character item_desc", { ...EXPRESS, packages: [{ ...parcel, itemDesc: "货".repeat(121) }] }, "item_desc_too_long", 0],
  ];
  it.each(cases)("refuses %s", (_, info, reason, packageIndex) => {
    const error = inputErrorOf(info);
    expect(error.reason).toBe(reason);
    expect(error.packageIndex).toBe(packageIndex);
  });

  it("an input error quotes no value", () => {
    const error = inputErrorOf({ ...EXPRESS, packages: [{ ...parcel, itemDesc: "秘密".repeat(61) }] });
    expect(error.message).toBe("package 0: itemDesc is at most 120 characters");
  });
});

describe("uploadShippingInfo", () => {
  it("POSTs the body as JSON with the access token in the query string only", async () => {
    const fetch = fakeJsonFetch(() => jsonResponse({ errcode: 0, errmsg: "ok" }));
    await uploadShippingInfo(config(fetch), ACCESS_TOKEN, EXPRESS);
    const [request] = fetch.seen;
    expect(request?.method).toBe("POST");
    expect(`${request?.url.origin}${request?.url.pathname}`).toBe("https://api.weixin.qq.com/wxa/sec/order/upload_shipping_info");
    expect(Object.fromEntries(request!.url.searchParams)).toEqual({ access_token: ACCESS_TOKEN });
    expect(request?.contentType).toBe("application/json");
    expect(request?.json).toEqual(buildShippingBody(EXPRESS, EXAMPLE_MS));
    expect(request?.text).not.toContain(ACCESS_TOKEN);
  });

  it("sends nothing for input WeChat would refuse", async () => {
    const fetch = fakeJsonFetch(() => jsonResponse({ errcode: 0 }));
    await expect(uploadShippingInfo(config(fetch), ACCESS_TOKEN, { ...EXPRESS, packages: [] })).rejects.toBeInstanceOf(ShippingInputError);
    await expect(uploadShippingInfo(config(fetch), "", EXPRESS)).rejects.toThrow(RangeError);
    expect(fetch.seen).toHaveLength(0);
  });

  it("an errcode is a business failure with WeChat's errmsg", async () => {
    const fetch = fakeJsonFetch(() => jsonResponse({ errcode: 10060001, errmsg: "支付单不存在, rid: 650a4efa-79ed4280-651d9c91" }));
    const error = await thrownBy(() => uploadShippingInfo(config(fetch), ACCESS_TOKEN, EXPRESS));
    expect(error).toBeInstanceOf(MpApiError);
    expect((error as MpApiError).failure).toEqual({ kind: "business", code: "10060001", description: "支付单不存在, rid: 650a4efa-79ed4280-651d9c91" });
    expect((error as MpApiError).api).toBe("upload_shipping_info");
  });

  it("never lets the access token into an error or its advice", async () => {
    const fetchers: (typeof fetch)[] = [
      fakeJsonFetch(() => jsonResponse({ errcode: 40001, errmsg: `invalid credential, access_token is ${ACCESS_TOKEN}` })),
      fakeJsonFetch(() => jsonResponse({ errcode: 47001, errmsg: `data format error {"access_token":"${ACCESS_TOKEN}"}` })),
      fakeJsonFetch(() => new Response(ACCESS_TOKEN, { status: 503 })),
      fakeJsonFetch(() => new Response(`<html>${ACCESS_TOKEN}</html>`)),
      async (input) => {
        throw new TypeError(`fetch failed: ${String(input)}`);
      },
      hangingFetch,
    ];
    for (const fetch of fetchers) {
      const error = await thrownBy(() => uploadShippingInfo(config(fetch, { timeoutMs: 20 }), ACCESS_TOKEN, EXPRESS));
      expect(error).toBeInstanceOf(WeChatError);
      for (const text of [...errorTexts(error), shippingErrorAdvice(error)]) {
        expect(text).not.toContain(ACCESS_TOKEN);
        expect(text).not.toContain("access_token=");
      }
      expect((error as Error).cause).toBeUndefined();
    }
  });
});

describe("classifyShippingError", () => {
  const business = (code: string) => new MpApiError("upload_shipping_info", { kind: "business", code, description: "" });
  // Every errcode of WeChat's uploadShippingInfo / get_order tables, and the common ones that reach these calls.
  it.each([
    ["-1", "retry"],
    ["10060012", "retry"],
    ["10060019", "retry"],
    ["10060001", "retry"],
    ["45011", "retry"],
    ["40001", "refresh_token"],
    ["42001", "refresh_token"],
    ["40014", "refresh_token"],
    ["10060002", "final"],
    ["10060003", "final"],
    ["10060004", "final"],
    ["10060005", "final"],
    ["10060006", "final"],
    ["10060007", "final"],
    ["10060008", "final"],
    ["10060009", "final"],
    ["10060014", "final"],
    ["10060020", "final"],
    ["10060023", "final"],
    ["10060024", "final"],
    ["10060025", "final"],
    ["10060026", "final"],
    ["10060031", "final"],
    ["268485194", "final"],
    ["268485195", "final"],
    ["268485196", "final"],
    ["268485197", "final"],
    ["268485216", "final"],
    ["268485224", "final"],
    ["268485226", "final"],
    ["268485227", "final"],
    ["268485228", "final"],
    ["47001", "final"],
    ["48001", "final"],
    ["45009", "final"],
    ["99999999", "final"],
  ])("errcode %s → %s", (code, action) => {
    const error = business(code);
    expect(classifyShippingError(error)).toBe(action);
    expect(shippingErrorAdvice(error)).toMatch(new RegExp(`^${code}: .+`));
  });

  it.each([
    ["a time-out", new MpApiError("upload_shipping_info", { kind: "timeout" }), "retry"],
    ["a network error", new MpApiError("upload_shipping_info", { kind: "network" }), "retry"],
    ["HTTP 502", new MpApiError("upload_shipping_info", { kind: "http", status: 502 }), "retry"],
    ["HTTP 404", new MpApiError("upload_shipping_info", { kind: "http", status: 404 }), "final"],
    ["an unreadable answer", new MpApiError("upload_shipping_info", { kind: "malformed" }), "final"],
    ["input refused before sending", new ShippingInputError("no_packages"), "final"],
    ["a plain WeChatError 42001", new WeChatError("get_order", { kind: "business", code: "42001", description: "" }), "refresh_token"],
    ["something else", new TypeError("boom"), "final"],
  ] as const)("%s → %s", (_, error, action) => {
    expect(classifyShippingError(error)).toBe(action);
    expect(shippingErrorAdvice(error)).not.toBe("");
  });

  it("the advice says what to do for the final refusals that need a person", () => {
    expect(shippingErrorAdvice(business("10060003"))).toContain("re-shipment is used up");
    expect(shippingErrorAdvice(business("10060004"))).toContain("cannot be shipped");
    expect(shippingErrorAdvice(business("48001"))).toContain("no permission");
    expect(shippingErrorAdvice(business("47001"))).toContain("shipping_list not an array");
    expect(shippingErrorAdvice(business("10060023"))).toContain("treat it as uploaded");
    expect(shippingErrorAdvice(new MpApiError("upload_shipping_info", { kind: "timeout" }))).toContain("check get_order");
  });

  it("busy errcodes are retryable for withRetries too", () => {
    for (const code of ["-1", "10060012", "10060019"]) expect(business(code).retryable).toBe(true);
    for (const code of ["10060001", "10060003", "40001"]) expect(business(code).retryable).toBe(false);
  });
});

describe("getShippingOrder", () => {
  const order = (state: unknown, overrides: Record<string, unknown> = {}) => ({
    errcode: 0,
    errmsg: "ok",
    order: {
      transaction_id: "4200001927202309157703139548",
      merchant_id: MCHID,
      sub_merchant_id: "",
      merchant_trade_no: OUT_TRADE_NO,
      description: "🍌*1",
      paid_amount: 916,
      openid: OPENID,
      trade_create_time: 1670563533,
      pay_time: 1670563533,
      in_complaint: false,
      order_state: state,
      shipping: { delivery_mode: 1, logistics_type: 1, finish_shipping: true, finish_shipping_count: 1, goods_desc: "🍌*1", shipping_list: [] },
      ...overrides,
    },
  });

  it("POSTs {merchant_id, merchant_trade_no} with the token in the query string", async () => {
    const fetch = fakeJsonFetch(() => jsonResponse(order(2)));
    expect(await getShippingOrder(config(fetch), ACCESS_TOKEN, { mchid: MCHID, outTradeNo: OUT_TRADE_NO })).toEqual({
      orderState: 2,
      state: "shipped",
      transactionId: "4200001927202309157703139548",
      merchantId: MCHID,
      merchantTradeNo: OUT_TRADE_NO,
      paidAmount: 916,
      openid: OPENID,
      inComplaint: false,
    });
    const [request] = fetch.seen;
    expect(request?.url.pathname).toBe("/wxa/sec/order/get_order");
    expect(request?.url.searchParams.get("access_token")).toBe(ACCESS_TOKEN);
    expect(request?.json).toEqual({ merchant_id: MCHID, merchant_trade_no: OUT_TRADE_NO });
  });

  it.each([
    [1, "to_ship"],
    [2, "shipped"],
    [3, "received"],
    [4, "completed"],
    [5, "refunded"],
    [6, "settlement_pending"],
  ])("order_state %i → %s", async (state, name) => {
    const result = await getShippingOrder(config(fakeJsonFetch(() => jsonResponse(order(state)))), ACCESS_TOKEN, { mchid: MCHID, outTradeNo: OUT_TRADE_NO });
    expect([result.orderState, result.state]).toEqual([state, name]);
  });

  it("a state outside 1–6, no order, or an answer about another order → malformed", async () => {
    for (const answer of [
      order(0),
      order(7),
      order("2"),
      order(2.5),
      order(2, { merchant_trade_no: "ANOTHER" }),
      order(2, { merchant_id: "1900000999" }),
      order(2, { transaction_id: undefined }),
      { errcode: 0, errmsg: "ok" },
      { errcode: 0, order: [] },
    ]) {
      const error = await thrownBy(() => getShippingOrder(config(fakeJsonFetch(() => jsonResponse(answer))), ACCESS_TOKEN, { mchid: MCHID, outTradeNo: OUT_TRADE_NO }));
      expect((error as MpApiError).failure, JSON.stringify(answer)).toEqual({ kind: "malformed" });
    }
  });

  it("errcodes are business failures classified like the upload's", async () => {
    const error = await thrownBy(() =>
      getShippingOrder(config(fakeJsonFetch(() => jsonResponse({ errcode: 10060012, errmsg: "system error" }))), ACCESS_TOKEN, { mchid: MCHID, outTradeNo: OUT_TRADE_NO }),
    );
    expect((error as MpApiError).api).toBe("get_order");
    expect(classifyShippingError(error)).toBe("retry");
  });
});
