// The v3 refund endpoints (§4.7): creating a refund (PROCESSING, with v2's rules: Σ ≤ total, 50
// refunds, one minute apart, idempotent out_refund_no), its completion and REFUND.* notification,
// and the refund query. Every answer's signature is checked.
import { describe, expect, it } from "vitest";
import { CONFIG } from "./helpers";
import { ORDER, V3_REFUND_NOTIFY_URL, V3_START, v3Rig, verify, type V3Answer } from "./v3-helpers";

function expectError(answer: V3Answer, status: number, code: string) {
  expect(answer.status).toBe(status);
  expect(answer.json.code).toBe(code);
  expect(answer.check.ok).toBe(true);
}

describe("POST /v3/refund/domestic/refunds", () => {
  it("answers 200 with the Refund in PROCESSING, signed; the order becomes REFUND", async () => {
    const r = v3Rig();
    const { transactionId } = await r.paidOrder();
    const answer = await r.refund({ reason: "out of stock" });
    expect(answer.status).toBe(200);
    expect(answer.check.ok).toBe(true);
    expect(answer.json).toEqual({
      refund_id: expect.stringMatching(/^\d{29}$/),
      out_refund_no: "REFUND-V3-0001",
      transaction_id: transactionId,
      out_trade_no: ORDER,
      channel: "ORIGINAL",
      user_received_account: "支付用户零钱",
      create_time: "2026-12-02T10:00:00+08:00",
      status: "PROCESSING",
      funds_account: "UNSETTLED",
      amount: {
        total: 1800,
        refund: 600,
        from: [],
        payer_total: 1800,
        payer_refund: 600,
        settlement_refund: 600,
        settlement_total: 1800,
        discount_refund: 0,
        currency: "CNY",
        refund_fee: 0,
      },
      promotion_detail: [],
    });
    const { json: view } = await r.control("/__sim/refunds/REFUND-V3-0001");
    expect(view).toMatchObject({ protocol: "v3", refundDesc: "out of stock", notifyUrl: V3_REFUND_NOTIFY_URL });
    const query = await r.call("GET", `/v3/pay/transactions/out-trade-no/${ORDER}?mchid=${CONFIG.mchId}`);
    expect(query.json.trade_state).toBe("REFUND");
  });

  it("is idempotent by out_refund_no; other amounts under it are 400 INVALID_REQUEST", async () => {
    const r = v3Rig();
    await r.paidOrder();
    const first = await r.refund();
    r.clock.advance(1);
    expect((await r.refund()).json.refund_id).toBe(first.json.refund_id);
    expectError(await r.refund({ amount: { refund: 700, total: 1800 } }), 400, "INVALID_REQUEST");
  });

  it("keeps v2's rules: one minute apart (429 FREQUENCY_LIMITED), never more than the order", async () => {
    const r = v3Rig();
    await r.paidOrder();
    await r.refund({ out_refund_no: "R1", amount: { refund: 1000, total: 1800 } });
    expectError(await r.refund({ out_refund_no: "R2", amount: { refund: 100, total: 1800 } }), 429, "FREQUENCY_LIMITED");
    r.clock.advance(60);
    expectError(await r.refund({ out_refund_no: "R2", amount: { refund: 900, total: 1800 } }), 400, "INVALID_REQUEST");
    expect((await r.refund({ out_refund_no: "R2", amount: { refund: 800, total: 1800 } })).status).toBe(200);
    r.clock.advance(60);
    expectError(await r.refund({ out_refund_no: "R3", amount: { refund: 1, total: 1800 } }), 400, "INVALID_REQUEST");
    expectError(await r.refund({ out_refund_no: "R4", amount: { refund: 1, total: 1799 } }), 400, "INVALID_REQUEST");
  });

  it("allows 50 refunds of an order and refuses the 51st", async () => {
    const r = v3Rig();
    await r.control("/__sim/settings", { refundSpacingSeconds: 0 });
    await r.paidOrder();
    for (let n = 1; n <= 50; n++) expect((await r.refund({ out_refund_no: `R${n}`, amount: { refund: 1, total: 1800 } })).status).toBe(200);
    expectError(await r.refund({ out_refund_no: "R51", amount: { refund: 1, total: 1800 } }), 400, "INVALID_REQUEST");
  });

  it("is 404 RESOURCE_NOT_EXISTS for an unknown or unpaid order, by out_trade_no or transaction_id", async () => {
    const r = v3Rig();
    expectError(await r.refund(), 404, "RESOURCE_NOT_EXISTS");
    await r.prepay(await r.openid());
    expectError(await r.refund(), 404, "RESOURCE_NOT_EXISTS");
    expectError(await r.refund({ out_trade_no: undefined, transaction_id: "4200000000202612020000000000" }), 404, "RESOURCE_NOT_EXISTS");
  });

  it("finds the order by transaction_id, which wins over out_trade_no", async () => {
    const r = v3Rig();
    const { transactionId } = await r.paidOrder();
    const answer = await r.refund({ out_trade_no: "SOMETHING-ELSE", transaction_id: transactionId });
    expect(answer.json).toMatchObject({ status: "PROCESSING", out_trade_no: ORDER });
  });

  it.each([
    ["neither transaction_id nor out_trade_no", { out_trade_no: undefined }],
    ["a transaction_id that is not 28 digits", { out_trade_no: undefined, transaction_id: "42" }],
    ["no out_refund_no", { out_refund_no: undefined }],
    ["an out_refund_no with a space", { out_refund_no: "R 1" }],
    ["an 81-character reason", { reason: "因".repeat(81) }],
    ["a notify_url with a query", { notify_url: "https://merchant.example.com/r?x=1" }],
    ["funds_account other than AVAILABLE", { funds_account: "UNAVAILABLE" }],
    ["no amount", { amount: undefined }],
    ["a refund above the total", { amount: { refund: 1801, total: 1800 } }],
    ["a fractional refund", { amount: { refund: 1.5, total: 1800 } }],
    ["a currency other than CNY", { amount: { refund: 1, total: 1800, currency: "HKD" } }],
  ])("refuses %s with 400 PARAM_ERROR", async (_name, overrides) => {
    const r = v3Rig();
    await r.paidOrder();
    expectError(await r.refund(overrides), 400, "PARAM_ERROR");
    expect((await r.control("/__sim/refunds/REFUND-V3-0001")).status).toBe(404);
  });

  it("funds_account AVAILABLE is reported back", async () => {
    const r = v3Rig();
    await r.paidOrder();
    expect((await r.refund({ funds_account: "AVAILABLE" })).json.funds_account).toBe("AVAILABLE");
  });
});

describe("a v3 refund finishing", () => {
  it("becomes SUCCESS after the refund delay and sends REFUND.SUCCESS, encrypted and signed", async () => {
    const r = v3Rig();
    const { transactionId } = await r.paidOrder();
    const created = await r.refund();
    r.clock.advance(5);
    await r.sim.runDue();
    const query = await r.call("GET", "/v3/refund/domestic/refunds/REFUND-V3-0001");
    expect(query.check.ok).toBe(true);
    expect(query.json).toMatchObject({ status: "SUCCESS", success_time: "2026-12-02T10:00:05+08:00", refund_id: created.json.refund_id });

    expect(r.notifications).toHaveLength(1);
    const [notification] = r.notifications;
    expect(notification!.url).toBe(V3_REFUND_NOTIFY_URL);
    expect(notification!.headers.get("Content-Type")).toBe("application/json");
    expect(await verify(notification!.headers, notification!.body, r.sim.now())).toMatchObject({ ok: true });
    const { envelope, resource } = await r.open(notification!);
    expect(envelope).toMatchObject({
      create_time: "2026-12-02T10:00:05+08:00",
      resource_type: "encrypt-resource",
      event_type: "REFUND.SUCCESS",
      summary: "退款成功",
      resource: { original_type: "refund", algorithm: "AEAD_AES_256_GCM", associated_data: "refund", nonce: expect.stringMatching(/^[0-9A-Za-z]{12}$/) },
    });
    expect(resource).toEqual({
      mchid: CONFIG.mchId,
      out_trade_no: ORDER,
      transaction_id: transactionId,
      out_refund_no: "REFUND-V3-0001",
      refund_id: created.json.refund_id,
      refund_status: "SUCCESS",
      success_time: "2026-12-02T10:00:05+08:00",
      user_received_account: "支付用户零钱",
      amount: { total: 1800, refund: 600, payer_total: 1800, payer_refund: 600 },
    });
    const { json: view } = await r.control("/__sim/refunds/REFUND-V3-0001");
    expect(view.notifications).toMatchObject([{ attempt: 1, acknowledged: true, status: 204 }]);
  });

  it.each([
    ["REFUNDCLOSE", "REFUND.CLOSED", "CLOSED", "退款关闭"],
    ["CHANGE", "REFUND.ABNORMAL", "ABNORMAL", "退款异常"],
  ])("finished as %s by the control API: %s, status %s", async (status, event, v3Status, summary) => {
    const r = v3Rig();
    await r.control("/__sim/settings", { refundDelaySeconds: null });
    await r.paidOrder();
    await r.refund();
    expect((await r.control("/__sim/refunds/REFUND-V3-0001/complete", { status })).json).toMatchObject({ delivered: true });
    const { envelope, resource } = await r.open(r.notifications[0]!);
    expect(envelope).toMatchObject({ event_type: event, summary });
    expect(resource.refund_status).toBe(v3Status);
    expect(resource.success_time).toBeUndefined();
    expect((await r.call("GET", "/v3/refund/domestic/refunds/REFUND-V3-0001")).json.status).toBe(v3Status);
  });

  it("sends nothing without a notify_url", async () => {
    const r = v3Rig();
    await r.paidOrder();
    await r.refund({ notify_url: undefined });
    r.clock.advance(5);
    await r.sim.runDue();
    expect((await r.call("GET", "/v3/refund/domestic/refunds/REFUND-V3-0001")).json.status).toBe("SUCCESS");
    expect(r.notifications).toHaveLength(0);
  });
});

describe("GET /v3/refund/domestic/refunds/{out_refund_no}", () => {
  it("is 404 RESOURCE_NOT_EXISTS for an unknown refund", async () => {
    expectError(await v3Rig().call("GET", "/v3/refund/domestic/refunds/NOPE"), 404, "RESOURCE_NOT_EXISTS");
  });

  it("shows the refund, its create_time in RFC 3339 Beijing time", async () => {
    const r = v3Rig();
    await r.paidOrder();
    await r.refund();
    const { json } = await r.call("GET", "/v3/refund/domestic/refunds/REFUND-V3-0001");
    expect(json).toMatchObject({ status: "PROCESSING", create_time: "2026-12-02T10:00:00+08:00" });
    expect(new Date(json.create_time).getTime()).toBe(V3_START);
  });
});
