// How refunds finish (after refundDelaySeconds, or by the control API) and the encrypted refund
// notification that follows (protocol reference §2.9, §5 item 13): content, encryption, retries, faults.
import { describe, expect, it } from "vitest";
import { RETRY_INTERVALS_S } from "../../sim/src/simulator";
import { decryptReqInfo } from "../../sim/src/refund-crypto";
import { ACK, CONFIG, NACK, REFUND_NOTIFY_URL, START, refundInfo, rig, type Rig } from "./helpers";

type Attempt = { at: string; attempt: number; copy: number; acknowledged: boolean; status: number | null; error: string | null };
type RefundView = {
  status: string;
  completeAt: string | null;
  finishedAt: string | null;
  successTime: string | null;
  nextNotificationAt: string | null;
  notifications: Attempt[];
};

const view = async (r: Rig, outRefundNo = "REFUND-0001") => (await r.control<RefundView>(`/__sim/refunds/${outRefundNo}`)).json;
const advance = (r: Rig, seconds: number) => r.control("/__sim/clock/advance", { seconds });
const complete = (r: Rig, body: Record<string, unknown> = {}, outRefundNo = "REFUND-0001") =>
  r.control<RefundView & { delivered: boolean | null }>(`/__sim/refunds/${outRefundNo}/complete`, body);
const at = (seconds: number) => new Date(START + seconds * 1000).toISOString();

async function refunding(overrides: Record<string, string | undefined> = {}): Promise<Rig> {
  const r = rig();
  await r.paidOrder();
  const reply = await r.refund(overrides);
  expect(reply.fields.result_code).toBe("SUCCESS");
  return r;
}

describe("completion", () => {
  it("a refund stays PROCESSING for refundDelaySeconds (default 5 s), then becomes SUCCESS and is notified", async () => {
    const r = await refunding();
    expect(await view(r)).toMatchObject({ status: "PROCESSING", completeAt: at(5), finishedAt: null });
    expect(r.sim.nextDueAt()).toBe(START + 5000);
    await advance(r, 4);
    expect((await view(r)).status).toBe("PROCESSING");
    expect(r.notifications).toHaveLength(0);
    await advance(r, 1);
    expect(await view(r)).toMatchObject({ status: "SUCCESS", completeAt: null, finishedAt: at(5), successTime: "2026-05-20 10:00:05" });
    expect(r.notifications).toHaveLength(1);
    expect(r.sim.nextDueAt()).toBeNull();
  });

  it("also runs through Simulator.runDue when the injected clock moves (the dev object's alarm path)", async () => {
    const r = await refunding();
    r.clock.advance(5);
    await r.sim.runDue();
    expect((await view(r)).status).toBe("SUCCESS");
    expect(r.notifications).toHaveLength(1);
  });

  it("the delay is a setting; null leaves refunds PROCESSING until the control API finishes them", async () => {
    const r = rig();
    await r.control("/__sim/settings", { refundDelaySeconds: null });
    await r.paidOrder();
    await r.refund();
    await advance(r, 86_400);
    expect(await view(r)).toMatchObject({ status: "PROCESSING", completeAt: null });
    expect(r.sim.nextDueAt()).toBeNull();
    await r.control("/__sim/settings", { refundDelaySeconds: 30 });
    await r.refund({ out_refund_no: "REFUND-0002", refund_fee: "1" });
    expect((await view(r, "REFUND-0002")).completeAt).toBe(at(86_400 + 30));
  });

  it("POST /__sim/refunds/:no/complete finishes at once, as SUCCESS by default, and reports the first delivery", async () => {
    const r = await refunding();
    const { status, json } = await complete(r);
    expect(status).toBe(200);
    expect(json).toMatchObject({ status: "SUCCESS", successTime: "2026-05-20 10:00:00", delivered: true });
    expect(r.notifications).toHaveLength(1);
    await advance(r, 60);
    expect(r.notifications).toHaveLength(1);
  });

  it.each(["REFUNDCLOSE", "CHANGE"])("can finish as %s, which has no success time", async (status) => {
    const r = await refunding();
    expect((await complete(r, { status })).json).toMatchObject({ status, successTime: null });
    const inner = await refundInfo(r.notifications[0]!);
    expect(inner.refund_status).toBe(status);
    expect(inner.success_time).toBeUndefined();
  });

  it("deliver: false finishes the refund without ever notifying", async () => {
    const r = await refunding();
    expect((await complete(r, { deliver: false })).json).toMatchObject({ status: "SUCCESS", delivered: null });
    await advance(r, 86_400);
    expect(r.notifications).toHaveLength(0);
  });

  it("sends no notification for a refund requested without notify_url", async () => {
    const r = await refunding({ notify_url: undefined });
    await advance(r, 5);
    expect((await view(r)).status).toBe("SUCCESS");
    expect(r.notifications).toHaveLength(0);
  });

  it("refuses to finish a refund twice (409), an unknown one (404) and an unknown status (400)", async () => {
    const r = await refunding();
    expect((await complete(r, { status: "FAIL" })).status).toBe(400);
    expect((await complete(r, { deliver: "yes" })).status).toBe(400);
    expect((await complete(r, {}, "NOPE")).status).toBe(404);
    await complete(r);
    expect(await complete(r)).toMatchObject({ status: 409, json: { error: "REFUND_NOT_PROCESSING" } });
  });
});

describe("the refund notification", () => {
  it("is POSTed as text/xml to the refund's notify_url with return_code, return_msg, appid, mch_id, nonce_str, req_info and no sign", async () => {
    const r = await refunding();
    await complete(r);
    const [notification] = r.notifications;
    expect(notification!.url).toBe(REFUND_NOTIFY_URL);
    expect(notification!.contentType).toBe("text/xml");
    expect(notification!.fields).toEqual({
      return_code: "SUCCESS",
      return_msg: "OK",
      appid: CONFIG.appid,
      mch_id: CONFIG.mchId,
      nonce_str: expect.stringMatching(/^[A-Za-z0-9]{32}$/),
      req_info: expect.stringMatching(/^[A-Za-z0-9+/]+={0,2}$/),
    });
  });

  it("encrypts, in req_info, the refund's fields as a <root> document", async () => {
    const r = await refunding({ refund_account: "REFUND_SOURCE_RECHARGE_FUNDS" });
    const { transactionId } = (await r.control<{ transactionId: string }>("/__sim/orders/ORDER-0001")).json;
    const { refundId } = (await r.control<{ refundId: string }>("/__sim/refunds/REFUND-0001")).json;
    await advance(r, 5);
    const plain = await decryptReqInfo(r.notifications[0]!.fields.req_info!, CONFIG.key);
    expect(plain).toMatch(/^<root>\n<out_refund_no><!\[CDATA\[REFUND-0001\]\]><\/out_refund_no>\n/);
    expect(await refundInfo(r.notifications[0]!)).toEqual({
      out_refund_no: "REFUND-0001",
      out_trade_no: "ORDER-0001",
      refund_account: "REFUND_SOURCE_RECHARGE_FUNDS",
      refund_fee: "600",
      refund_id: refundId,
      refund_recv_accout: "支付用户的零钱",
      refund_request_source: "API",
      refund_status: "SUCCESS",
      settlement_refund_fee: "600",
      settlement_total_fee: "1800",
      success_time: "2026-05-20 10:00:05",
      total_fee: "1800",
      transaction_id: transactionId,
    });
  });

  it("decrypts only with the merchant key's MD5", async () => {
    const r = await refunding();
    await complete(r);
    expect(await decryptReqInfo(r.notifications[0]!.fields.req_info!, "another0key0another0key0another0")).toBeNull();
  });

  it("is retried on the payment notification's schedule until acknowledged, resending the same bytes", async () => {
    const r = await refunding();
    r.reply = NACK;
    expect((await complete(r)).json.delivered).toBe(false);
    expect((await view(r)).nextNotificationAt).toBe(at(RETRY_INTERVALS_S[0]));
    await advance(r, 15);
    await advance(r, 15);
    r.reply = ACK;
    await advance(r, 30);
    await advance(r, 86_400);
    expect(r.notifications).toHaveLength(4);
    expect(new Set(r.notifications.map((n) => n.body)).size).toBe(1);
    expect((await view(r)).notifications).toEqual([
      { at: at(0), attempt: 1, copy: 0, acknowledged: false, status: 200, error: "reply return_code=FAIL" },
      { at: at(15), attempt: 2, copy: 0, acknowledged: false, status: 200, error: "reply return_code=FAIL" },
      { at: at(30), attempt: 3, copy: 0, acknowledged: false, status: 200, error: "reply return_code=FAIL" },
      { at: at(60), attempt: 4, copy: 0, acknowledged: true, status: 200, error: null },
    ]);
  });

  it("a scheduled completion's attempts are stamped from the completion time, even after a clock jump", async () => {
    const r = await refunding();
    r.reply = NACK;
    await advance(r, 5 + 15 + 15);
    expect((await view(r)).notifications.map((n) => n.at)).toEqual([at(5), at(20), at(35)]);
  });

  it("gives up after 16 attempts", async () => {
    const r = await refunding();
    r.reply = NACK;
    await complete(r);
    await advance(r, 2 * 86_400);
    expect(r.notifications).toHaveLength(16);
    expect((await view(r)).nextNotificationAt).toBeNull();
  });

  it("can be sent with near-simultaneous duplicates", async () => {
    const r = await refunding();
    await complete(r, { duplicates: 2 });
    expect(r.notifications).toHaveLength(3);
    expect((await view(r)).notifications.map((n) => n.copy)).toEqual([0, 1, 2]);
  });

  it("is unaffected by a payment notification's acknowledgement, and vice versa", async () => {
    const r = rig();
    r.reply = NACK;
    await r.unifiedOrder(await r.openid());
    await r.control("/__sim/orders/ORDER-0001/pay", {});
    r.reply = (n) => (n.fields.req_info ? ACK() : NACK());
    await r.refund();
    await advance(r, 5);
    expect((await view(r)).notifications.map((n) => n.acknowledged)).toEqual([true]);
    const order = (await r.control<{ nextNotificationAt: string | null }>("/__sim/orders/ORDER-0001")).json;
    expect(order.nextNotificationAt).toBe(at(15));
  });
});

describe("refund_notify faults", () => {
  it("drop: the POST is not made, counts as failed and is retried", async () => {
    const r = await refunding();
    await r.control("/__sim/faults", { api: "refund_notify", kind: "drop" });
    expect((await complete(r)).json.delivered).toBe(false);
    expect(r.notifications).toHaveLength(0);
    await advance(r, 15);
    expect(r.notifications).toHaveLength(1);
    expect((await view(r)).notifications.map((n) => [n.attempt, n.acknowledged, n.error])).toEqual([
      [1, false, "dropped (injected fault)"],
      [2, true, null],
    ]);
  });

  it("a notify (payment) fault does not touch refund notifications, nor a refund_notify fault payment ones", async () => {
    const r = rig();
    await r.control("/__sim/faults", { api: "refund_notify", kind: "drop" });
    await r.paidOrder();
    const payment = (await r.control<{ notifications: Attempt[] }>("/__sim/orders/ORDER-0001")).json;
    expect(payment.notifications.map((n) => n.acknowledged)).toEqual([true]);
    await r.control("/__sim/faults", { api: "notify", kind: "drop" });
    await r.refund();
    await complete(r);
    // The queued refund_notify drop is consumed here, the notify drop stays queued.
    expect((await r.control<{ faults: { api: string }[] }>("/__sim/faults")).json.faults.map((f) => f.api)).toEqual(["notify"]);
  });

  it("delay holds the POST back in real time, then delivers", async () => {
    const r = await refunding();
    await r.control("/__sim/faults", { api: "refund_notify", kind: "delay", delayMs: 20 });
    const started = Date.now();
    expect((await complete(r)).json.delivered).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(15);
  });
});
