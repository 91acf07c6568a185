// The login and pay clients against the WeChat simulator in sim/ (written independently), in-process: the two must agree on the wire.
import { describe, expect, it } from "vitest";
import { createSimulator } from "../../sim/src/simulator";
import { WeChatError } from "../../src/wechat/errors";
import { code2Session } from "../../src/wechat/login-client";
import { createPayClient, type UnifiedOrderRequest } from "../../src/wechat/pay-client";
import { formatBeijingTime } from "../../src/wechat/beijing-time";
import { buildPaymentParams } from "../../src/wechat/payment-params";
import { SIGN_TYPES, type SignType } from "../../src/wechat/sign";
import { thrownBy } from "./fake-wechat";

const APPID = "wx5f0c3a9e7d1b2c4a";
const SECRET = "0f6b1c2d3e4a5b6c7d8e9f0a1b2c3d4e";
const MCH_ID = "1900000109";
const KEY = "sim0key0for0local0dev0only000032";
const API_BASE = "http://127.0.0.1:8788";

function setup(signType: SignType = "HMAC-SHA256") {
  const sim = createSimulator({ appid: APPID, secret: SECRET, mchId: MCH_ID, key: KEY });
  const fetch: typeof globalThis.fetch = (input, init) => sim.fetch(new Request(input, init));
  const control = async (method: string, path: string, body?: unknown) => {
    const response = await sim.fetch(
      new Request(`${API_BASE}${path}`, { method, body: body === undefined ? undefined : JSON.stringify(body) }),
    );
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const login = { apiBase: API_BASE, appid: APPID, secret: SECRET, fetch };
  const pay = createPayClient({ apiBase: API_BASE, appid: APPID, mchId: MCH_ID, key: KEY, signType, fetch });
  return { sim, fetch, control, login, pay };
}

async function mintCode(control: ReturnType<typeof setup>["control"], user = "alice") {
  const { status, body } = await control("POST", "/__sim/login-codes", { user });
  expect(status).toBe(200);
  return body as { code: string; openid: string };
}

async function failureOf(work: () => Promise<unknown>) {
  const error = await thrownBy(work);
  expect(error).toBeInstanceOf(WeChatError);
  return error as WeChatError;
}

let orderSequence = 0;
function order(openid: string, overrides: Partial<UnifiedOrderRequest> = {}): UnifiedOrderRequest {
  orderSequence += 1;
  return {
    outTradeNo: `SIMTEST${Date.now()}${orderSequence}`.slice(0, 32),
    totalFee: 1800,
    body: "Coffee shop-咖啡",
    openid,
    spbillCreateIp: "127.0.0.1",
    notifyUrl: "http://127.0.0.1:8787/api/pay/notify",
    timeExpire: formatBeijingTime(Date.now() + 30 * 60 * 1000),
    ...overrides,
  };
}

describe("code2Session vs simulator", () => {
  it("exchanges a fresh code for the user's openid and a session_key", async () => {
    const { control, login } = setup();
    const { code, openid } = await mintCode(control);
    const session = await code2Session(login, code);
    expect(session.openid).toBe(openid);
    expect(session.sessionKey).toMatch(/^[A-Za-z0-9+/]{22}==$/);
  });

  it("the same user gets the same openid on every login", async () => {
    const { control, login } = setup();
    const first = await code2Session(login, (await mintCode(control, "bob")).code);
    const second = await code2Session(login, (await mintCode(control, "bob")).code);
    expect(second.openid).toBe(first.openid);
  });

  it("a code used twice → business 40163; an unknown code → business 40029", async () => {
    const { control, login } = setup();
    const { code } = await mintCode(control);
    await code2Session(login, code);
    const reused = await failureOf(() => code2Session(login, code));
    expect(reused.failure).toMatchObject({ kind: "business", code: "40163" });
    const unknown = await failureOf(() => code2Session(login, "not-a-code-the-simulator-minted"));
    expect(unknown.failure).toMatchObject({ kind: "business", code: "40029" });
    expect(unknown.retryable).toBe(false);
  });

  it("a wrong secret is refused, and the secret is not in the error", async () => {
    const { control, login } = setup();
    const { code } = await mintCode(control);
    const wrongSecret = "ffffffffffffffffffffffffffffffff";
    const error = await failureOf(() => code2Session({ ...login, secret: wrongSecret }, code));
    expect(error.failure.kind).toBe("business");
    expect(error.message).not.toContain(wrongSecret);
  });

  it("system busy (-1) → business, retryable", async () => {
    const { control, login } = setup();
    const { code } = await mintCode(control);
    await control("POST", "/__sim/faults", { api: "code2session", kind: "busy" });
    const error = await failureOf(() => code2Session(login, code));
    expect(error.failure).toMatchObject({ kind: "business", code: "-1" });
    expect(error.retryable).toBe(true);
  });
});

describe.each(SIGN_TYPES)("v2 pay vs simulator (%s)", (signType) => {
  it("unifiedOrder returns a prepay_id; orderQuery sees NOTPAY, then SUCCESS once paid", async () => {
    const { control, login, pay } = setup(signType);
    const { openid } = await code2Session(login, (await mintCode(control)).code);
    const request = order(openid);
    const { prepayId } = await pay.unifiedOrder(request);
    expect(prepayId).not.toBe("");

    const unpaid = await pay.orderQuery({ outTradeNo: request.outTradeNo });
    expect(unpaid).toMatchObject({ tradeState: "NOTPAY", outTradeNo: request.outTradeNo, totalFee: 1800 });

    const paid = await control("POST", `/__sim/orders/${request.outTradeNo}/pay`, { deliver: false });
    expect(paid.status).toBe(200);
    const query = await pay.orderQuery({ outTradeNo: request.outTradeNo });
    expect(query).toMatchObject({
      tradeState: "SUCCESS",
      totalFee: 1800,
      openid,
      transactionId: paid.body.transactionId,
      timeEnd: expect.stringMatching(/^\d{14}$/),
    });
  });

  it("the payment parameters built for the prepay_id are accepted by the simulator's pay step", async () => {
    const { control, login, pay } = setup(signType);
    const { openid } = await code2Session(login, (await mintCode(control)).code);
    const request = order(openid);
    const { prepayId } = await pay.unifiedOrder(request);
    const params = await buildPaymentParams({ appId: APPID, prepayId, key: KEY, signType });
    expect(params.package).toBe(`prepay_id=${prepayId}`);
    const paid = await control("POST", `/__sim/orders/${request.outTradeNo}/pay`, { deliver: false, prepayId });
    expect(paid.status).toBe(200);
  });

  it("re-ordering with identical parameters succeeds; with a changed amount → INVALID_REQUEST", async () => {
    const { control, login, pay } = setup(signType);
    const { openid } = await code2Session(login, (await mintCode(control)).code);
    const request = order(openid);
    const first = await pay.unifiedOrder(request);
    const again = await pay.unifiedOrder(request);
    expect(again.prepayId).toBe(first.prepayId);
    const changed = await failureOf(() => pay.unifiedOrder({ ...request, totalFee: 1 }));
    expect(changed.failure).toMatchObject({ kind: "business", code: "INVALID_REQUEST" });
    expect(changed.retryable).toBe(false);
  });

  it("closeOrder closes an unpaid order; orderQuery then sees CLOSED", async () => {
    const { control, login, pay } = setup(signType);
    const { openid } = await code2Session(login, (await mintCode(control)).code);
    const request = order(openid);
    await pay.unifiedOrder(request);
    await expect(pay.closeOrder({ outTradeNo: request.outTradeNo })).resolves.toBeUndefined();
    expect((await pay.orderQuery({ outTradeNo: request.outTradeNo })).tradeState).toBe("CLOSED");
  });

  it("closeOrder on a paid order → business ORDERPAID", async () => {
    const { control, login, pay } = setup(signType);
    const { openid } = await code2Session(login, (await mintCode(control)).code);
    const request = order(openid);
    await pay.unifiedOrder(request);
    await control("POST", `/__sim/orders/${request.outTradeNo}/pay`, { deliver: false });
    const error = await failureOf(() => pay.closeOrder({ outTradeNo: request.outTradeNo }));
    expect(error.failure).toMatchObject({ kind: "business", code: "ORDERPAID" });
  });

  it("orderQuery for an order WeChat never saw → business ORDERNOTEXIST", async () => {
    const { pay } = setup(signType);
    const error = await failureOf(() => pay.orderQuery({ outTradeNo: "NEVERPLACED0001" }));
    expect(error.failure).toMatchObject({ kind: "business", code: "ORDERNOTEXIST" });
  });

  it("an injected SYSTEMERROR → business, retryable; the identical retry then succeeds", async () => {
    const { control, login, pay } = setup(signType);
    const { openid } = await code2Session(login, (await mintCode(control)).code);
    const request = order(openid);
    await control("POST", "/__sim/faults", { api: "unifiedorder", kind: "SYSTEMERROR" });
    const error = await failureOf(() => pay.unifiedOrder(request));
    expect(error.failure).toMatchObject({ kind: "business", code: "SYSTEMERROR" });
    expect(error.retryable).toBe(true);
    expect((await pay.unifiedOrder(request)).prepayId).not.toBe("");
  });

  it("an injected HTTP 500 → http, retryable", async () => {
    const { control, pay } = setup(signType);
    await control("POST", "/__sim/faults", { api: "orderquery", kind: "http_500" });
    const error = await failureOf(() => pay.orderQuery({ outTradeNo: "NEVERPLACED0001" }));
    expect(error.failure).toEqual({ kind: "http", status: 500 });
    expect(error.retryable).toBe(true);
  });

  it("a slow answer past timeoutMs → timeout", async () => {
    const { control, fetch } = setup(signType);
    await control("POST", "/__sim/faults", { api: "orderquery", kind: "delay", delayMs: 300 });
    const impatient = createPayClient({ apiBase: API_BASE, appid: APPID, mchId: MCH_ID, key: KEY, signType, fetch, timeoutMs: 30 });
    const error = await failureOf(() => impatient.orderQuery({ outTradeNo: "NEVERPLACED0001" }));
    expect(error.failure).toEqual({ kind: "timeout" });
  });

  it("a dropped answer (the call happened, the reply was lost) → network, retryable", async () => {
    const { control, pay } = setup(signType);
    await control("POST", "/__sim/faults", { api: "orderquery", kind: "drop" });
    const error = await failureOf(() => pay.orderQuery({ outTradeNo: "NEVERPLACED0001" }));
    expect(error.failure).toEqual({ kind: "network" });
    expect(error.retryable).toBe(true);
  });

  it("a client with the wrong key gets return_fail 签名错误", async () => {
    const { fetch } = setup(signType);
    const wrongKey = createPayClient({ apiBase: API_BASE, appid: APPID, mchId: MCH_ID, key: "wrong0key0wrong0key0wrong0key032", signType, fetch });
    const error = await failureOf(() => wrongKey.orderQuery({ outTradeNo: "NEVERPLACED0001" }));
    expect(error.failure.kind).toBe("return_fail");
    expect(error.failure).toMatchObject({ message: expect.stringContaining("签名错误") });
  });
});
