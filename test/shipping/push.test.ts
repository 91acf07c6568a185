// WeChat's message push at /api/wechat/push, from the simulator's pushes: the console's URL check,
// settlement pushes in safe mode (this project's configuration has an EncodingAESKey: plaintext
// pushes are refused), what a settlement changes on its order, and that forged, stale, replayed or
// undecryptable pushes change nothing. Plain mode is accepted where no key is configured
// (test/shipping/virtual.test.ts runs in such a project).
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { orderObject } from "../../src/orders/order-store";
import { pushSignature } from "../../src/wechat/mp";
import { startHarness, SERVICE_ORIGIN, type Harness } from "../support/harness";
import { storedRows } from "../support/stored";

const ADMIN = env.ADMIN_TOKEN!;
const TOKEN = env.WECHAT_PUSH_TOKEN!;

type Push = { id: string; url: string; status: number | null; reply: string | null; acknowledged: boolean; message: string };
type Shipping = { status: string; settledAt: string | null; estimatedSettlementAt: string | null; logisticsType: string | null; uploadedAt: string | null };
type AdminView = { shipping: Shipping | null; events: { id: string; type: string; status: string }[] };

let h: Harness;
let token: string;
beforeEach(async () => {
  h = startHarness();
  ({ token } = await h.login(`push-${crypto.randomUUID()}`));
  await h.simControl("/__sim/settings", { mpPaymentVisibleAfterSeconds: 0 });
});
afterEach(() => {
  h.merchant.release();
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

async function paidOrder(): Promise<string> {
  const response = await h.createOrder(token);
  const id = ((await response.json()) as { order: { id: string } }).order.id;
  await h.simControl(`/__sim/orders/${id}/pay`, {});
  return id;
}

async function shippedOrder(): Promise<string> {
  const id = await paidOrder();
  expect((await h.call(`/admin/orders/${id}/shipping`, { token: ADMIN, json: { logisticsType: "virtual", itemDesc: "Course" } })).status).toBe(202);
  return id;
}

const push = (outTradeNo: string, options: { settled?: boolean; mode?: "plain" | "safe"; event?: string } = {}) =>
  h.simControl<Push>("/__sim/push", { event: options.event ?? "trade_manage_order_settlement", outTradeNo, mode: options.mode ?? "safe", settled: options.settled ?? true });

async function adminView(id: string): Promise<AdminView> {
  const response = await h.call(`/admin/orders/${id}`, { token: ADMIN });
  expect(response.status).toBe(200);
  return (await response.json()) as AdminView;
}

const storedShipping = (id: string) => storedRows(orderObject(env, id), "shipping");

/** Sends a push to the service as WeChat would: `query` on the URL, `body` as JSON. */
const sendPush = (query: Record<string, string>, body: string) =>
  h.call(`/api/wechat/push?${new URLSearchParams(query)}`, { method: "POST", headers: { "Content-Type": "application/json" }, body });

/** The query and body of a push the simulator sent. */
function sent(record: Push): { query: Record<string, string>; body: string } {
  const url = new URL(record.url);
  return { query: Object.fromEntries(url.searchParams), body: String(h.notifications.at(-1)!.body) };
}

describe("GET /api/wechat/push (the console's URL check)", () => {
  const now = () => String(Math.floor(Date.now() / 1000));

  it("answers echostr, as text, when the signature over token, timestamp and nonce matches", async () => {
    const timestamp = now();
    const signature = await pushSignature([TOKEN, timestamp, "1357"]);
    const response = await h.call(`/api/wechat/push?${new URLSearchParams({ signature, timestamp, nonce: "1357", echostr: "4376089211723856" })}`);
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Type")).toMatch(/^text\/plain/);
    expect(await response.text()).toBe("4376089211723856");
  });

  it.each([
    ["a forged signature", (ts: string) => ({ signature: "0".repeat(40), timestamp: ts, nonce: "1357" }), 403],
    ["a timestamp 6 minutes old", (ts: string) => ({ timestamp: String(Number(ts) - 360), nonce: "1357" }), 403],
    ["no nonce", (ts: string) => ({ timestamp: ts }), 400],
  ])("refuses %s and echoes nothing", async (_what, make, status) => {
    const query: Record<string, string> = { ...make(now()), echostr: "4376089211723856" };
    query.signature ??= await pushSignature([TOKEN, query.timestamp ?? "", query.nonce ?? ""]);
    const response = await h.call(`/api/wechat/push?${new URLSearchParams(query)}`);
    expect(response.status).toBe(status);
    expect(await response.text()).not.toContain("4376089211723856");
  });
});

describe("a settlement push", () => {
  it("records when WeChat settled the payment, answers success, and announces order.settled once", async () => {
    const id = await shippedOrder();
    const record = await push(id);
    expect(record).toMatchObject({ status: 200, reply: "success", acknowledged: true });
    const settlementTime = (JSON.parse(record.message) as { settlement_time: number }).settlement_time;
    const { shipping } = await adminView(id);
    expect(shipping).toMatchObject({ status: "uploaded", settledAt: new Date(settlementTime * 1000).toISOString() });
    const settled = await vi.waitFor(
      async () => {
        const event = (await adminView(id)).events.find((e) => e.type === "order.settled");
        expect(event?.status).toBe("delivered");
        return event!;
      },
      { timeout: 5_000, interval: 50 },
    );
    expect(settled.id).toBe(`evt_${id}.settled`);
    expect(h.merchant.of(settled.id)[0]!.event.data).toMatchObject({ order: { id }, shipping: { settledAt: shipping!.settledAt } });

    // WeChat pushes again (it does, until it hears success): nothing more changes.
    const again = sent(await push(id));
    expect((await sendPush(again.query, again.body)).status).toBe(200);
    expect((await adminView(id)).events.filter((e) => e.type === "order.settled")).toHaveLength(1);
  });

  it("records WeChat's estimate when the buyer confirmed receipt, without an event", async () => {
    const id = await shippedOrder();
    const record = await push(id, { settled: false });
    const estimate = (JSON.parse(record.message) as { estimated_settlement_time: number }).estimated_settlement_time;
    const view = await adminView(id);
    expect(view.shipping).toMatchObject({ settledAt: null, estimatedSettlementAt: new Date(estimate * 1000).toISOString() });
    expect(view.events.map((e) => e.type)).not.toContain("order.settled");
  });

  it("settles an order shipped outside the service (in WeChat's own console): shown as uploaded elsewhere", async () => {
    const id = await paidOrder();
    await push(id);
    expect((await adminView(id)).shipping).toMatchObject({ status: "uploaded", logisticsType: null, uploadedAt: null, settledAt: expect.any(String) });
  });

  it("acknowledges a shipping reminder and a push for an order that is not ours, changing nothing", async () => {
    const id = await paidOrder();
    expect(await push(id, { event: "trade_manage_remind_shipping" })).toMatchObject({ status: 200, reply: "success" });
    expect(await storedShipping(id)).toEqual([]);
  });
});

describe("a push that does not verify changes nothing", () => {
  async function capture(): Promise<{ id: string; query: Record<string, string>; body: string }> {
    const id = await shippedOrder();
    // A push to elsewhere: the service never sees it, the test holds WeChat's genuine query and body.
    const record = await h.simControl<Push>("/__sim/push", { event: "trade_manage_order_settlement", outTradeNo: id, mode: "safe", settled: true, url: `${SERVICE_ORIGIN}/elsewhere` });
    return { id, ...sent(record) };
  }

  async function expectUnchanged(id: string): Promise<void> {
    expect(await storedShipping(id)).toEqual([expect.objectContaining({ settled_at: null, estimated_settlement_at: null })]);
  }

  it("is accepted as WeChat sent it (the control case)", async () => {
    const { id, query, body } = await capture();
    const response = await sendPush(query, body);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("success");
    expect((await adminView(id)).shipping?.settledAt).not.toBeNull();
  });

  it.each([
    ["a forged msg_signature", async (q: Record<string, string>, b: string) => ({ query: { ...q, msg_signature: "0".repeat(40) }, body: b })],
    ["an Encrypt swapped for another (signed anew, but not for our key)", async (q: Record<string, string>, b: string) => {
      const encrypt = btoa("x".repeat(64));
      const body = JSON.stringify({ ...JSON.parse(b), Encrypt: encrypt });
      return { query: { ...q, msg_signature: await pushSignature([TOKEN, q.timestamp!, q.nonce!, encrypt]) }, body };
    }],
    ["the same push in plaintext (its signature covers no body)", async (q: Record<string, string>) => {
      const { encrypt_type: _e, msg_signature: _m, ...plain } = q;
      return { query: plain, body: JSON.stringify({ Event: "trade_manage_order_settlement", merchant_trade_no: "x", transaction_id: "x", merchant_id: "x", settlement_time: 1 }) };
    }],
  ])("refuses %s with 403", async (_what, tamper) => {
    const { id, query, body } = await capture();
    const forged = await tamper(query, body);
    expect((await sendPush(forged.query, forged.body)).status).toBe(403);
    await expectUnchanged(id);
  });

  it("refuses a replay more than 5 minutes after WeChat signed it", async () => {
    const { id, query, body } = await capture();
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Number(query.timestamp) * 1000 + 5 * 60_000 + 1_000);
    expect((await sendPush(query, body)).status).toBe(403);
    await expectUnchanged(id);
  });

  it("refuses a body that is not JSON with 400", async () => {
    const { id, query } = await capture();
    expect((await sendPush(query, "<xml/>")).status).toBe(400);
    await expectUnchanged(id);
  });
});
