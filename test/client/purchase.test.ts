// The mini-program client buying something: the catalog, an order created once per attempt however
// often it is retried, and pay() ending `paid` only on the service's word (WeChat's, through it).
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createClient, CREATE_RETRY_DELAYS_MS, PAYMENT_CHECK_DELAYS_MS, WxPayEdgeError, type WxPayEdgeClient } from "../../client/src/index";
import { SERVICE_ORIGIN, startHarness, type Harness } from "../support/harness";
import { fakeWx, recordingSleep, type FakeWx } from "./fake-wx";

let h: Harness;
let wx: FakeWx;
let waits: number[];
let client: WxPayEdgeClient;
beforeEach(() => {
  h = startHarness();
  wx = fakeWx(h);
  const sleep = recordingSleep();
  waits = sleep.waits;
  client = createClient({ baseUrl: SERVICE_ORIGIN, wx, sleep: sleep.sleep });
});
afterEach(() => vi.unstubAllGlobals());

const sentTo = (method: string, path: string) => wx.sent.filter((r) => r.method === method && r.path === path);

describe("products", () => {
  it("lists the catalog with prices in fen, without logging in", async () => {
    expect(await client.products()).toEqual([
      { sku: "coffee", name: "Coffee", price: 1800 },
      { sku: "tea", name: "Green tea", price: 1200 },
      { sku: "cake", name: "Cheesecake", price: 2650 },
    ]);
    expect(wx.logins).toBe(0);
  });
});

describe("createOrder", () => {
  it("creates an order priced by the server and returns it with the five payment fields", async () => {
    const { order, payment } = await client.createOrder([{ sku: "coffee", quantity: 2 }]);
    expect(order).toMatchObject({ status: "pending", amount: 3600, currency: "CNY", items: [{ sku: "coffee", name: "Coffee", quantity: 2, price: 1800 }] });
    expect(Object.keys(payment).sort()).toEqual(["nonceStr", "package", "paySign", "signType", "timeStamp"]);
    expect(typeof payment.timeStamp).toBe("string");
  });

  it("sends one Idempotency-Key per attempt: two calls are two purchases", async () => {
    const first = await client.createOrder([{ sku: "tea", quantity: 1 }]);
    const second = await client.createOrder([{ sku: "tea", quantity: 1 }]);
    expect(second.order.id).not.toBe(first.order.id);
    const [a, b] = sentTo("POST", "/api/orders").map((r) => r.headers["Idempotency-Key"]);
    expect(a).toMatch(/^[\x21-\x7e]{1,255}$/);
    expect(b).not.toBe(a);
  });

  it("retries an attempt whose answer was lost with the same key: one order, the one the service created", async () => {
    await client.login();
    wx.loseAnswers(1);
    const { order } = await client.createOrder([{ sku: "cake", quantity: 1 }]);
    const attempts = sentTo("POST", "/api/orders");
    expect(attempts).toHaveLength(2);
    expect(attempts[1]!.headers["Idempotency-Key"]).toBe(attempts[0]!.headers["Idempotency-Key"]);
    expect((await client.listOrders()).orders.map((o) => o.id)).toEqual([order.id]);
    expect(await h.calls("prepay")).toHaveLength(1);
    expect(waits).toEqual([CREATE_RETRY_DELAYS_MS[0]]);
  });

  it("retries a 502 (WeChat kept failing) with the same key, and the same order is finished", async () => {
    await client.login();
    await h.fault("prepay", "SYSTEMERROR", { times: 20 });
    // WeChat recovers while the client waits before its second attempt.
    const recovering = createClient({
      baseUrl: SERVICE_ORIGIN,
      wx,
      sleep: async (ms) => {
        waits.push(ms);
        await h.clearFaults();
      },
    });
    const { order, payment } = await recovering.createOrder([{ sku: "coffee", quantity: 1 }]);
    const attempts = sentTo("POST", "/api/orders");
    expect(attempts).toHaveLength(2);
    expect(attempts[1]!.headers["Idempotency-Key"]).toBe(attempts[0]!.headers["Idempotency-Key"]);
    expect(waits).toEqual([CREATE_RETRY_DELAYS_MS[0]]);
    expect(payment.package).toMatch(/^prepay_id=/);
    expect((await client.listOrders()).orders.map((o) => o.id)).toEqual([order.id]);
  });

  it("gives up after three attempts, and takes the caller's key to go on with the same attempt later", async () => {
    await client.login();
    wx.failToSend(3);
    const error = await client.createOrder([{ sku: "tea", quantity: 2 }], { idempotencyKey: "checkout-7" }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "network" });
    expect(error).toBeInstanceOf(WxPayEdgeError);
    expect(sentTo("POST", "/api/orders")).toHaveLength(3);
    expect(waits).toEqual([...CREATE_RETRY_DELAYS_MS]);

    wx.loseAnswers(1);
    const later = await client.createOrder([{ sku: "tea", quantity: 2 }], { idempotencyKey: "checkout-7" });
    const again = await client.createOrder([{ sku: "tea", quantity: 2 }], { idempotencyKey: "checkout-7" });
    expect(again.order.id).toBe(later.order.id);
    expect(new Set(sentTo("POST", "/api/orders").map((r) => r.headers["Idempotency-Key"]))).toEqual(new Set(["checkout-7"]));
    expect((await client.listOrders()).orders).toHaveLength(1);
  });

  it("does not retry what retrying cannot fix: invalid_request once, invalid_state for a key reused with another cart", async () => {
    await client.createOrder([{ sku: "tea", quantity: 1 }], { idempotencyKey: "k1" });
    const error = await client.createOrder([{ sku: "cake", quantity: 1 }], { idempotencyKey: "k1" }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "invalid_state", status: 409 });
    await expect(client.createOrder([{ sku: "tea", quantity: 100 }])).rejects.toMatchObject({ code: "invalid_request", status: 400 });
    expect(sentTo("POST", "/api/orders")).toHaveLength(3);
    expect(waits).toEqual([]);
  });
});

describe("pay", () => {
  it("opens the pay sheet with the order's payment and ends paid once the service says so", async () => {
    const checkout = await client.createOrder([{ sku: "coffee", quantity: 1 }]);
    expect(await client.pay(checkout)).toBe("paid");
    expect(wx.paySheets).toEqual([checkout.order.id]);
    // The fresh parameters of createOrder were used as they were: no extra /pay.
    expect(sentTo("POST", `/api/orders/${checkout.order.id}/pay`)).toEqual([]);
    expect((await client.getOrder(checkout.order.id)).status).toBe("paid");
  });

  it("asks the service after the sheet closes, since the sheet's success is not a payment", async () => {
    const checkout = await client.createOrder([{ sku: "coffee", quantity: 1 }]);
    expect(await client.pay(checkout)).toBe("paid");
    expect(sentTo("GET", `/api/orders/${checkout.order.id}`)).toHaveLength(1);
    expect(waits).toEqual([PAYMENT_CHECK_DELAYS_MS[0]]);
  });

  it("ends paid when WeChat's notification is lost: the service asks WeChat", async () => {
    wx.payActions.push("pay-notification-lost");
    const checkout = await client.createOrder([{ sku: "cake", quantity: 1 }]);
    expect(await client.pay(checkout)).toBe("paid");
    expect(h.notifications).toEqual([]);
    expect((await h.calls("query")).length).toBeGreaterThan(0);
  });

  it("ends cancelled when the user closes the sheet; paying again gets fresh parameters for the same order", async () => {
    wx.payActions.push("cancel");
    const checkout = await client.createOrder([{ sku: "tea", quantity: 1 }]);
    expect(await client.pay(checkout)).toBe("cancelled");
    expect((await client.getOrder(checkout.order.id)).status).toBe("pending");

    expect(await client.pay(checkout)).toBe("paid");
    expect(wx.paySheets).toEqual([checkout.order.id, checkout.order.id]);
    expect(sentTo("POST", `/api/orders/${checkout.order.id}/pay`)).toHaveLength(1);
    expect((await client.listOrders()).orders.map((o) => [o.id, o.status])).toEqual([[checkout.order.id, "paid"]]);
  });

  it("ends paid when the sheet says cancel but the money went through: the service's word wins", async () => {
    wx.payActions.push("pay-reported-as-cancel");
    const checkout = await client.createOrder([{ sku: "tea", quantity: 1 }]);
    expect(await client.pay(checkout)).toBe("paid");
  });

  it("pays an order given alone (from the order list) with parameters from /pay", async () => {
    const { order } = await client.createOrder([{ sku: "tea", quantity: 3 }]);
    const [listed] = (await client.listOrders()).orders;
    expect(await client.pay(listed!)).toBe("paid");
    expect(sentTo("POST", `/api/orders/${order.id}/pay`)).toHaveLength(1);
  });

  it("ends pending, after about ten seconds of asking with growing waits, while WeChat has not confirmed", async () => {
    const checkout = await client.createOrder([{ sku: "coffee", quantity: 1 }]);
    // The sheet reports success, but no money moves: the service keeps saying pending.
    wx.requestPayment = (option) => void Promise.resolve().then(() => option.success?.({ errMsg: "requestPayment:ok" }));
    expect(await client.pay(checkout)).toBe("pending");
    expect(waits).toEqual([...PAYMENT_CHECK_DELAYS_MS]);
    expect(waits.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(10_000);
    expect(sentTo("GET", `/api/orders/${checkout.order.id}`)).toHaveLength(PAYMENT_CHECK_DELAYS_MS.length);
  });

  it("waits out a lost answer while confirming instead of failing a payment that went through", async () => {
    const checkout = await client.createOrder([{ sku: "coffee", quantity: 1 }]);
    const requestPayment = wx.requestPayment.bind(wx);
    wx.requestPayment = (option) => {
      wx.failToSend(1);
      return requestPayment(option);
    };
    expect(await client.pay(checkout)).toBe("paid");
    expect(waits).toEqual(PAYMENT_CHECK_DELAYS_MS.slice(0, 2));
  });

  it("says paid for an order paid meanwhile (the service refuses new parameters for it)", async () => {
    const checkout = await client.createOrder([{ sku: "coffee", quantity: 1 }]);
    await client.pay(checkout);
    expect(await client.pay(checkout.order)).toBe("paid");
    expect(wx.paySheets).toHaveLength(1);
  });

  it("reports another failure of the sheet as payment_failed", async () => {
    const checkout = await client.createOrder([{ sku: "coffee", quantity: 1 }]);
    wx.requestPayment = (option) => void Promise.resolve().then(() => option.fail?.({ errMsg: "requestPayment:fail no permission" }));
    await expect(client.pay(checkout)).rejects.toMatchObject({ code: "payment_failed", message: expect.stringContaining("no permission") });
  });
});

describe("orders", () => {
  it("lists the user's orders newest first, a page at a time", async () => {
    const ids: string[] = [];
    for (const sku of ["coffee", "tea", "cake"]) ids.push((await client.createOrder([{ sku, quantity: 1 }])).order.id);
    const first = await client.listOrders({ limit: 2 });
    expect(first.orders.map((o) => o.id)).toEqual([ids[2], ids[1]]);
    expect(first.cursor).not.toBeNull();
    const second = await client.listOrders({ limit: 2, cursor: first.cursor });
    expect(second.orders.map((o) => o.id)).toEqual([ids[0]]);
    expect(second.cursor).toBeNull();
  });

  it("closes an unpaid order, which can then not be paid", async () => {
    const checkout = await client.createOrder([{ sku: "cake", quantity: 2 }]);
    expect((await client.closeOrder(checkout.order.id)).status).toBe("closed");
    expect((await client.getOrder(checkout.order.id)).status).toBe("closed");
    await expect(client.pay(checkout.order)).rejects.toMatchObject({ code: "invalid_state", status: 409 });
    expect(wx.paySheets).toEqual([]);
  });

  it("refuses to close a paid order with invalid_state", async () => {
    const checkout = await client.createOrder([{ sku: "tea", quantity: 1 }]);
    await client.pay(checkout);
    await expect(client.closeOrder(checkout.order.id)).rejects.toMatchObject({ code: "invalid_state", status: 409 });
  });
});
