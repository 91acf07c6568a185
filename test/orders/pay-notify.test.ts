// POST /api/pay/notify: only a notification that passes every check makes an order paid, exactly
// once; it is acknowledged only after the state is stored; anything else gets FAIL and changes nothing.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { orderObject } from "../../src/orders/order-store";
import { sign } from "../../src/wechat/sign";
import { buildXml, parseXml } from "../../src/wechat/xml";
import { startHarness, type Harness } from "../support/harness";

const SUCCESS_REPLY = "<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>";

let h: Harness;
let token: string;
beforeEach(async () => {
  h = startHarness();
  ({ token } = await h.login(`payer-${crypto.randomUUID()}`));
});
afterEach(() => vi.unstubAllGlobals());

async function newOrder(): Promise<string> {
  const response = await h.createOrder(token);
  expect(response.status).toBe(201);
  return ((await response.json()) as { order: { id: string } }).order.id;
}

async function state(id: string) {
  const stub = orderObject(env, id);
  return { order: await stub.read(), history: await stub.history() };
}

function postNotification(body: string | BodyInit, headers: Record<string, string> = {}) {
  return h.call("/api/pay/notify", { method: "POST", headers: { "Content-Type": "text/xml", ...headers }, body });
}

/** A notification for `id` signed with our key, built from a real one the simulator sent. */
async function resigned(template: string, changes: Record<string, string>, signType: "MD5" | "HMAC-SHA256" = "HMAC-SHA256", withSignType = true) {
  const fields: Record<string, string> = { ...parseXml(template), ...changes };
  delete fields.sign;
  if (signType === "HMAC-SHA256" && withSignType) fields.sign_type = "HMAC-SHA256";
  else delete fields.sign_type;
  return buildXml({ ...fields, sign: await sign(fields, env.WECHATPAY_KEY!, signType) });
}

describe("a genuine payment notification", () => {
  it("makes the order paid with WeChat's transaction id and time, and is acknowledged with SUCCESS", async () => {
    const id = await newOrder();
    const paid = await h.simControl<{ transactionId: string; delivered: boolean }>(`/__sim/orders/${id}/pay`, {});
    expect(paid.delivered).toBe(true);
    const { order, history } = await state(id);
    expect(order).toMatchObject({ status: "paid", transactionId: paid.transactionId, paidAfterClose: false });
    expect(order!.paidAt).not.toBeNull();
    expect(history.map((e) => [e.from, e.to, e.source])).toEqual([
      [null, "pending", "api"],
      ["pending", "paid", "notify"],
    ]);
    const view = (await (await h.call(`/api/orders/${id}`, { token })).json()) as { order: { status: string; paidAt: string } };
    expect(view.order.status).toBe("paid");
  });

  it("replies with exactly WeChat's SUCCESS document, HTTP 200, no XML declaration", async () => {
    const id = await newOrder();
    await h.simControl(`/__sim/orders/${id}/pay`, {});
    const response = await postNotification(h.notifications[0]!);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe(SUCCESS_REPLY);
  });

  it("verifies an MD5-signed notification for an HMAC-SHA256 merchant (WeChat does send them)", async () => {
    const id = await newOrder();
    const paid = await h.simControl<{ delivered: boolean }>(`/__sim/orders/${id}/pay`, { signType: "MD5" });
    expect(paid.delivered).toBe(true);
    expect(parseXml(h.notifications[0]!).sign).toHaveLength(32);
    expect((await state(id)).order!.status).toBe("paid");
  });

  it("verifies an HMAC-SHA256 notification that carries no sign_type field", async () => {
    const { xml } = await captureNotification();
    const pending = await newOrder();
    const body = await resigned(xml, { out_trade_no: pending }, "HMAC-SHA256", false);
    expect(parseXml(body).sign_type).toBeUndefined();
    expect(await (await postNotification(body)).text()).toBe(SUCCESS_REPLY);
    expect((await state(pending)).order!.status).toBe("paid");
  });

  it("applies repeats, sequential and simultaneous, exactly once", async () => {
    const id = await newOrder();
    await h.simControl(`/__sim/orders/${id}/pay`, { duplicates: 5 });
    const replies = await Promise.all(Array.from({ length: 25 }, () => postNotification(h.notifications[0]!)));
    for (const reply of replies) {
      expect(reply.status).toBe(200);
      expect(await reply.text()).toBe(SUCCESS_REPLY);
    }
    const { history } = await state(id);
    expect(history.filter((e) => e.to === "paid")).toHaveLength(1);
  });

  it("is recorded even for an order closed here, and flagged so an operator can refund it", async () => {
    const id = await newOrder();
    await h.simControl(`/__sim/orders/${id}/pay`, { deliver: false });
    // Closed here while WeChat had already taken the money (e.g. the closeorder answer was lost).
    await runInDurableObject(orderObject(env, id), (_instance, ctx) => {
      ctx.storage.sql.exec("UPDATE order_record SET status = 'closed'");
    });
    const template = await resigned((await captureNotification()).xml, { out_trade_no: id, total_fee: "1800" });
    expect(await (await postNotification(template)).text()).toBe(SUCCESS_REPLY);
    const { order, history } = await state(id);
    expect(order).toMatchObject({ status: "paid", paidAfterClose: true });
    expect(history.at(-1)).toMatchObject({ from: "closed", to: "paid", source: "notify" });
    expect(history.at(-1)!.note).toMatch(/refund/);
  });
});

/** A real notification from the simulator, for an order of its own. */
async function captureNotification(): Promise<{ id: string; xml: string }> {
  const id = await newOrder();
  await h.simControl(`/__sim/orders/${id}/pay`, {});
  return { id, xml: h.notifications.at(-1)! };
}

describe("a notification that fails a check gets FAIL and changes nothing", () => {
  async function expectRejected(body: string | BodyInit, pendingId: string, headers?: Record<string, string>) {
    const before = await state(pendingId);
    const response = await postNotification(body, headers);
    expect(response.status).not.toBe(200);
    expect(parseXml(await response.text()).return_code).toBe("FAIL");
    expect(await state(pendingId)).toEqual(before);
  }

  it("a forged sign", async () => {
    const { xml } = await captureNotification();
    const pending = await newOrder();
    const fields = parseXml(xml);
    await expectRejected(buildXml({ ...fields, out_trade_no: pending }), pending);
    await expectRejected(buildXml({ ...fields, out_trade_no: pending, sign: "0".repeat(64) }), pending);
    const { sign: _dropped, ...unsigned } = fields;
    await expectRejected(buildXml({ ...unsigned, out_trade_no: pending }), pending);
  });

  it("a sign made with another key", async () => {
    const { xml } = await captureNotification();
    const pending = await newOrder();
    const fields: Record<string, string> = { ...parseXml(xml), out_trade_no: pending };
    delete fields.sign;
    await expectRejected(buildXml({ ...fields, sign: await sign(fields, "x".repeat(32), "HMAC-SHA256") }), pending);
  });

  it("another appid or mch_id, even correctly signed", async () => {
    const { xml } = await captureNotification();
    const pending = await newOrder();
    await expectRejected(await resigned(xml, { out_trade_no: pending, appid: "wx0000000000000000" }), pending);
    await expectRejected(await resigned(xml, { out_trade_no: pending, mch_id: "1900000000" }), pending);
  });

  it("an amount other than the order's, even correctly signed", async () => {
    const { xml } = await captureNotification();
    const pending = await newOrder();
    for (const total_fee of ["1", "1799", "1801", "18.00", "01800", "180000"]) {
      await expectRejected(await resigned(xml, { out_trade_no: pending, total_fee }), pending);
    }
  });

  it("an order we do not have", async () => {
    const { xml } = await captureNotification();
    const pending = await newOrder();
    await expectRejected(await resigned(xml, { out_trade_no: "20990101000000NoSuchOrder000000" }), pending);
  });

  it("an authentic notice of a failed payment (result_code FAIL) is acknowledged and changes nothing", async () => {
    const { xml } = await captureNotification();
    const pending = await newOrder();
    const before = await state(pending);
    const body = await resigned(xml, { out_trade_no: pending, result_code: "FAIL", err_code: "NOTENOUGH", err_code_des: "余额不足" });
    const response = await postNotification(body);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe(SUCCESS_REPLY);
    expect(await state(pending)).toEqual(before);
  });

  it("return_code FAIL", async () => {
    const pending = await newOrder();
    await expectRejected(buildXml({ return_code: "FAIL", return_msg: "x" }), pending);
  });

  it("malformed, DTD-carrying, oversized or non-UTF-8 bodies", async () => {
    const { xml } = await captureNotification();
    const pending = await newOrder();
    const real = await resigned(xml, { out_trade_no: pending });
    await expectRejected(real.slice(0, -10), pending);
    await expectRejected("", pending);
    await expectRejected('<!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]>' + real, pending);
    await expectRejected(real.replace("</xml>", `<pad>${"x".repeat(20_000)}</pad></xml>`), pending);
    await expectRejected(new Uint8Array([0x3c, 0x78, 0x6d, 0x6c, 0x3e, 0xff, 0xfe, 0x3c, 0x2f, 0x78, 0x6d, 0x6c, 0x3e]), pending);
    // and the real one still works afterwards
    expect(await (await postNotification(real)).text()).toBe(SUCCESS_REPLY);
  });
});

describe("when the notification cannot be stored", () => {
  it("WeChat's retry schedule delivers it again, and the order becomes paid once", async () => {
    const id = await newOrder();
    await h.simControl("/__sim/faults", { api: "notify", kind: "drop", times: 2 });
    const paid = await h.simControl<{ delivered: boolean }>(`/__sim/orders/${id}/pay`, {});
    expect(paid.delivered).toBe(false);
    expect((await state(id)).order!.status).toBe("pending");
    await h.simControl("/__sim/clock/advance", { seconds: 15 });
    await h.simControl("/__sim/clock/advance", { seconds: 15 });
    const { order, history } = await state(id);
    expect(order!.status).toBe("paid");
    expect(history.filter((e) => e.to === "paid")).toHaveLength(1);
  });
});
