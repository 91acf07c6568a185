// Secrets stay secret: a whole flow (login, orders, payment and refund notifications, forged
// inputs, operator calls, logout) writes structured log lines, each with a request id, and neither
// those lines nor any response carries the merchant key, the AppSecret, the admin token, the
// merchant webhook secret, a bearer token, a session_key or a sign (WeChat's, ours on a request to
// WeChat, or a merchant event's); on API v3 neither the APIv3 key nor the merchant's private key.
import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, expect, it, vi } from "vitest";
import { md5Hex } from "../src/wechat/sign";
import { orderObject } from "../src/orders/order-store";
import { hashToken } from "../src/sessions/token";
import { startHarness } from "./support/harness";

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

it("no secret, token, session_key or sign appears in any log line or response of a full flow", async () => {
  const lines: string[] = [];
  for (const method of ["log", "info", "warn", "error", "debug"] as const) {
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => void lines.push(args.map(String).join(" ")));
  }
  const h = startHarness();
  // The merchant's receiver refuses the first event once: its failure is logged too.
  let merchantCalls = 0;
  h.merchant.answer = () => (merchantCalls++ === 0 ? 500 : 204);
  const responses: string[] = [];
  const call = async (path: string, init?: Parameters<typeof h.call>[1]) => {
    const response = await h.call(path, init);
    responses.push(`${response.status} ${[...response.headers].map(([k, v]) => `${k}: ${v}`).join("\n")}\n${await response.clone().text()}`);
    return response;
  };

  // login, and a failed login
  const { code } = await h.simControl<{ code: string }>("/__sim/login-codes", { user: "secret-keeper" });
  const { token } = (await (await call("/api/login", { json: { code } })).json()) as { token: string };
  await call("/api/login", { json: { code } });
  await call("/api/login", { json: { code: "x" }, headers: { Authorization: `Bearer ${token}` } });

  // an order paid by notification, a forged notification, a lost one found by query
  const paid = (await (await call("/api/orders", { json: { items: [{ sku: "coffee", quantity: 1 }] }, token })).json()) as {
    order: { id: string };
    payment: { paySign: string };
  };
  await h.simControl(`/__sim/orders/${paid.order.id}/pay`, {});
  const notification = h.notifications.at(-1)!;
  const forged = await h.pay.payment(notification, { amount: 1 });
  await call(forged.path, await h.pay.request(forged));
  const resent = await h.pay.request(notification);
  await call(notification.path, resent);
  const lost = ((await (await call("/api/orders", { json: { items: [{ sku: "tea", quantity: 1 }] }, token })).json()) as { order: { id: string } }).order.id;
  await h.simControl(`/__sim/orders/${lost}/pay`, { deliver: false });
  await call(`/api/orders/${lost}`, { token });
  await call("/api/orders", { token });

  // an order that expires and is closed by its alarm, with WeChat failing once
  const expiring = ((await (await call("/api/orders", { json: { items: [{ sku: "cake", quantity: 1 }] }, token })).json()) as { order: { id: string; expiresAt: string } }).order;
  await h.fault("query", "SYSTEMERROR");
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(Date.parse(expiring.expiresAt) + 120_000);
  await runDurableObjectAlarm(orderObject(env, expiring.id));
  vi.useRealTimers();

  // operator: wrong token, a refund, its notification, a forged one
  await call(`/admin/orders/${paid.order.id}`, { token: `${env.ADMIN_TOKEN}-wrong` });
  await call(`/admin/orders/${paid.order.id}/refunds`, { json: { amount: 100 }, token: env.ADMIN_TOKEN! });
  await h.simControl("/__sim/clock/advance", { seconds: 10 });
  const refundNotification = h.notifications.at(-1)!;
  const unsealed = await h.pay.refund(refundNotification, { amount: 1 }, "garbage");
  await call(unsealed.path, await h.pay.request(unsealed));
  await call(`/admin/orders/${paid.order.id}`, { token: env.ADMIN_TOKEN! });
  await call(`/admin/orders/${paid.order.id}/events/evt_${paid.order.id}.paid/redeliver`, { method: "POST", token: env.ADMIN_TOKEN! });
  await vi.waitFor(() => expect(h.merchant.deliveries.filter((d) => d.answer === 204).length).toBeGreaterThan(0));
  await call("/admin/events?limit=100", { token: env.ADMIN_TOKEN! });

  await call("/api/logout", { method: "POST", token });

  // What must never be written or answered.
  const session = (await env.SESSIONS.get(`session:v1:${await hashToken(token)}`, "json")) as { sessionKey: string } | null;
  const forbidden = [
    env.WECHATPAY_KEY!,
    env.WECHAT_SECRET!,
    env.ADMIN_TOKEN!,
    md5Hex(new TextEncoder().encode(env.WECHATPAY_KEY!)).toLowerCase(),
    token,
    paid.payment.paySign,
    ...h.pay.sealsOf(notification, resent),
    ...(session ? [session.sessionKey] : []),
    ...h.pay.requestSignatures(h.outbound, await h.calls("prepay")),
    // API v3's secrets (absent on v2): the APIv3 key, and every line of the private key's PEM body.
    ...[env.WECHATPAY_APIV3_KEY ?? "", ...(env.WECHATPAY_PRIVATE_KEY ?? "").split("\n").filter((line) => !line.startsWith("-----"))].filter((s) => s.length >= 16),
    env.MERCHANT_WEBHOOK_SECRET!,
    env.MERCHANT_WEBHOOK_SECRET!.slice("whsec_".length),
    ...h.merchant.deliveries.map((d) => d.signature),
  ];
  expect(h.merchant.deliveries.length).toBeGreaterThan(1);
  expect(lines.length).toBeGreaterThan(10);
  expect(responses.length).toBeGreaterThan(10);
  for (const secret of forbidden) for (const line of lines) expect(line).not.toContain(secret);
  // Responses: the login hands its token out once, and an order's payment carries the paySign that
  // wx.requestPayment needs; nothing else of the list appears anywhere.
  for (const [index, response] of responses.entries()) {
    for (const secret of forbidden) {
      if ((secret === token && index === 0) || (secret === paid.payment.paySign && response.includes('"payment"'))) continue;
      expect(response).not.toContain(secret);
    }
  }

  // every line is one JSON object with its request's id
  for (const line of lines) {
    const record = JSON.parse(line) as { requestId: unknown; event: unknown; level: unknown };
    expect(typeof record.event).toBe("string");
    expect(record.requestId).toEqual(expect.any(String));
  }
});
