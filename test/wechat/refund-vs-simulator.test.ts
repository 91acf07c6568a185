// The refund calls and the refund notification reader against the WeChat simulator in sim/ (written independently),
// in-process: both sides must agree on the wire, including req_info's AES-256-ECB.
import { describe, expect, it } from "vitest";
import { createSimulator } from "../../sim/src/simulator";
import { WeChatError } from "../../src/wechat/errors";
import { createPayClient, type RefundRequest } from "../../src/wechat/pay-client";
import { verifyRefundNotification } from "../../src/wechat/refund-notification";
import { SIGN_TYPES, type Fields, type SignType } from "../../src/wechat/sign";
import { parseXml } from "../../src/wechat/xml";
import { thrownBy } from "./fake-wechat";

const APPID = "wx5f0c3a9e7d1b2c4a";
const SECRET = "0f6b1c2d3e4a5b6c7d8e9f0a1b2c3d4e";
const MCH_ID = "1900000109";
const KEY = "sim0key0for0local0dev0only000032";
const API_BASE = "http://127.0.0.1:8788";
const REFUND_NOTIFY_URL = "https://pay.example.com/api/pay/refund-notify";

/** A simulator, a client for it, and the refund notifications it delivers (acknowledged). */
async function setup(signType: SignType = "HMAC-SHA256") {
  const delivered: Fields[] = [];
  const sim = createSimulator({
    appid: APPID,
    secret: SECRET,
    mchId: MCH_ID,
    key: KEY,
    deliver: async (_url, init) => {
      delivered.push(parseXml(String(init.body)));
      return new Response("<xml><return_code><![CDATA[SUCCESS]]></return_code></xml>");
    },
  });
  const fetch: typeof globalThis.fetch = (input, init) => sim.fetch(new Request(input, init));
  const control = async (path: string, body?: unknown) => {
    const init = body === undefined ? { method: "GET" } : { method: "POST", body: JSON.stringify(body) };
    const response = await sim.fetch(new Request(`${API_BASE}${path}`, init));
    return (await response.json()) as Record<string, unknown>;
  };
  const pay = createPayClient({ apiBase: API_BASE, appid: APPID, mchId: MCH_ID, key: KEY, signType, fetch });

  // A paid order of 1800 fen, its payment notification delivered and set aside.
  const { openid } = (await control("/__sim/login-codes", { user: "alice" })) as { openid: string };
  await pay.unifiedOrder({
    outTradeNo: "SIMREFUND0001",
    totalFee: 1800,
    body: "Coffee shop-咖啡",
    openid,
    spbillCreateIp: "127.0.0.1",
    notifyUrl: "http://127.0.0.1:8787/api/pay/notify",
  });
  await control("/__sim/orders/SIMREFUND0001/pay", {});
  delivered.length = 0;
  return { sim, fetch, control, pay, delivered };
}

const REFUND: RefundRequest = { outTradeNo: "SIMREFUND0001", outRefundNo: "SIMREFUND0001-R1", totalFee: 1800, refundFee: 600 };

async function failureOf(work: () => Promise<unknown>) {
  const error = await thrownBy(work);
  expect(error).toBeInstanceOf(WeChatError);
  return error as WeChatError;
}

describe.each(SIGN_TYPES)("refund vs simulator (%s)", (signType) => {
  it("is accepted, PROCESSING, then SUCCESS with a success time after the simulated delay", async () => {
    const { pay, control } = await setup(signType);
    const accepted = await pay.refund(REFUND);
    expect(accepted.refundId).toMatch(/^\d{29}$/);
    expect(await pay.refundQuery({ outRefundNo: REFUND.outRefundNo })).toMatchObject({
      refundId: accepted.refundId,
      refundStatus: "PROCESSING",
      refundFee: 600,
    });
    await control("/__sim/clock/advance", { seconds: 5 });
    const done = await pay.refundQuery({ outRefundNo: REFUND.outRefundNo });
    expect(done.refundStatus).toBe("SUCCESS");
    expect(done.successTime).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
  });

  it("the simulator's refund notification verifies with our key and names the refund", async () => {
    const { pay, control, delivered } = await setup(signType);
    const accepted = await pay.refund({ ...REFUND, notifyUrl: REFUND_NOTIFY_URL });
    await control(`/__sim/refunds/${REFUND.outRefundNo}/complete`, {});
    expect(delivered).toHaveLength(1);
    const check = await verifyRefundNotification(delivered[0]!, { appid: APPID, mchId: MCH_ID, key: KEY });
    expect(check).toMatchObject({
      ok: true,
      notice: {
        outRefundNo: REFUND.outRefundNo,
        outTradeNo: REFUND.outTradeNo,
        refundId: accepted.refundId,
        totalFee: "1800",
        refundFee: "600",
        settlementRefundFee: "600",
        refundStatus: "SUCCESS",
        successTime: expect.stringMatching(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/),
      },
    });
    expect(await verifyRefundNotification(delivered[0]!, { appid: APPID, mchId: MCH_ID, key: "wrong0key0wrong0key0wrong0key032" })).toEqual({
      ok: false,
      reason: "undecryptable",
    });
  });
});

describe("retries and refusals vs simulator", () => {
  it("a lost reply is a retryable network failure; the identical retry gets the same refund, refunded once", async () => {
    const { pay, control } = await setup();
    await control("/__sim/faults", { api: "refund", kind: "drop" });
    const lost = await failureOf(() => pay.refund(REFUND));
    expect(lost.failure).toEqual({ kind: "network" });
    expect(lost.retryable).toBe(true);
    const retried = await pay.refund(REFUND);
    const order = (await control("/__sim/orders/SIMREFUND0001")) as { refundedFee: number; refunds: { refundId: string }[] };
    expect(order.refundedFee).toBe(600);
    expect(order.refunds.map((refund) => refund.refundId)).toEqual([retried.refundId]);
  });

  it.each(["SYSTEMERROR", "BIZERR_NEED_RETRY"])("%s is a retryable business failure; the retry succeeds", async (kind) => {
    const { pay, control } = await setup();
    await control("/__sim/faults", { api: "refund", kind });
    const failure = await failureOf(() => pay.refund(REFUND));
    expect(failure.failure).toMatchObject({ kind: "business", code: kind });
    expect(failure.retryable).toBe(true);
    expect((await pay.refund(REFUND)).refundFee).toBe(600);
  });

  it("the same out_refund_no with another amount is a business failure, not retryable", async () => {
    const { pay } = await setup();
    await pay.refund(REFUND);
    const failure = await failureOf(() => pay.refund({ ...REFUND, refundFee: 700 }));
    expect(failure.failure).toMatchObject({ kind: "business", code: "REFUND_FEE_MISMATCH" });
    expect(failure.retryable).toBe(false);
  });

  it("a second refund within a minute is INVALID_REQ_TOO_MUCH; over the remainder INVALID_REQUEST", async () => {
    const { pay, control } = await setup();
    await pay.refund({ ...REFUND, refundFee: 1000 });
    const tooSoon = await failureOf(() => pay.refund({ ...REFUND, outRefundNo: "SIMREFUND0001-R2", refundFee: 800 }));
    expect(tooSoon.failure).toMatchObject({ kind: "business", code: "INVALID_REQ_TOO_MUCH" });
    await control("/__sim/clock/advance", { seconds: 60 });
    const tooMuch = await failureOf(() => pay.refund({ ...REFUND, outRefundNo: "SIMREFUND0001-R2", refundFee: 801 }));
    expect(tooMuch.failure).toMatchObject({ kind: "business", code: "INVALID_REQUEST" });
    expect((await pay.refund({ ...REFUND, outRefundNo: "SIMREFUND0001-R2", refundFee: 800 })).refundFee).toBe(800);
  });

  it("an unknown refund is REFUNDNOTEXIST", async () => {
    const { pay } = await setup();
    expect((await failureOf(() => pay.refundQuery({ outRefundNo: "NOPE" }))).failure).toMatchObject({
      kind: "business",
      code: "REFUNDNOTEXIST",
    });
  });

  it("refundQuery finds its refund among several listed for the order", async () => {
    const { pay, control } = await setup();
    await control("/__sim/settings", { refundSpacingSeconds: 0 });
    for (const n of [1, 2, 3]) await pay.refund({ ...REFUND, outRefundNo: `SIMREFUND0001-R${n}`, refundFee: 100 * n });
    expect((await pay.refundQuery({ outRefundNo: "SIMREFUND0001-R2" })).refundFee).toBe(200);
  });

  it("with certifiedFetch configured, only the refund goes through it", async () => {
    const { fetch } = await setup();
    const secapiPaths: string[] = [];
    const certifiedFetch: typeof globalThis.fetch = (input, init) => {
      secapiPaths.push(new URL(new Request(input, init).url).pathname);
      return fetch(input, init);
    };
    const plainOnly: typeof globalThis.fetch = (input, init) => {
      if (new URL(new Request(input, init).url).pathname.startsWith("/secapi/")) throw new Error("no client certificate");
      return fetch(input, init);
    };
    const pay = createPayClient({ apiBase: API_BASE, appid: APPID, mchId: MCH_ID, key: KEY, signType: "MD5", fetch: plainOnly, certifiedFetch });
    await pay.refund(REFUND);
    await pay.refundQuery({ outRefundNo: REFUND.outRefundNo });
    expect(secapiPaths).toEqual(["/secapi/pay/refund"]);
  });
});
