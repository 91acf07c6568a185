// v3 payment notifications (§4.6): the encrypted TRANSACTION.SUCCESS envelope, signed per POST;
// acknowledged only by HTTP 200 or 204 whatever the body, else WeChat's retry schedule; signature
// probes and the merchants that accept them; migration's split of signers; duplicates, drops and
// hold / release, as for v2.
import { describe, expect, it } from "vitest";
import { CONFIG } from "./helpers";
import { ORDER, PLATFORM_SERIAL, V3, V3_NOTIFY_URL, v3Rig, verify, type V3Notification, type V3Rig } from "./v3-helpers";

/** Places ORDER-style order `no` and pays it through the control API. */
async function pay(r: V3Rig, no = ORDER, body: Record<string, unknown> = {}) {
  const placed = await r.prepay(await r.openid(), { out_trade_no: no });
  expect(placed.status).toBe(200);
  return r.control<{ transactionId: string; delivered: boolean; held?: true }>(`/__sim/orders/${no}/pay`, body);
}

const attempts = async (r: V3Rig, no = ORDER) => (await r.control<{ notifications: Record<string, unknown>[] }>(`/__sim/orders/${no}`)).json.notifications;

/** A merchant that verifies as it should: 204 for a good signature, 401 otherwise. */
const strictMerchant = (r: V3Rig) => async (notification: V3Notification) =>
  new Response(null, { status: (await verify(notification.headers, notification.body, r.sim.now())).ok ? 204 : 401 });

describe("a v3 payment notification", () => {
  it("POSTs the encrypted Transaction as JSON with WeChat's signature over the raw body", async () => {
    const r = v3Rig();
    r.clock.advance(30);
    const paid = await pay(r);
    expect(paid.json).toMatchObject({ delivered: true });
    expect(r.notifications).toHaveLength(1);
    const [notification] = r.notifications;
    expect(notification!.url).toBe(V3_NOTIFY_URL);
    expect(notification!.headers.get("Content-Type")).toBe("application/json");
    expect(notification!.headers.get("Wechatpay-Timestamp")).toBe(String(Math.floor(r.sim.now() / 1000)));
    expect(await verify(notification!.headers, notification!.body, r.sim.now())).toEqual({ ok: true, serial: V3.publicKeyId });

    const { envelope, resource } = await r.open(notification!);
    expect(envelope).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      create_time: "2026-12-02T10:00:30+08:00",
      resource_type: "encrypt-resource",
      event_type: "TRANSACTION.SUCCESS",
      summary: "支付成功",
      resource: {
        original_type: "transaction",
        algorithm: "AEAD_AES_256_GCM",
        ciphertext: expect.any(String),
        associated_data: "transaction",
        nonce: expect.stringMatching(/^[0-9A-Za-z]{12}$/),
      },
    });
    // The resource is exactly what the v3 query shows of the paid order.
    const query = await r.call("GET", `/v3/pay/transactions/out-trade-no/${ORDER}?mchid=${CONFIG.mchId}`);
    expect(resource).toEqual(query.json);
    expect(resource).toMatchObject({ trade_state: "SUCCESS", transaction_id: paid.json.transactionId, success_time: "2026-12-02T10:00:30+08:00" });
  });

  it.each([
    [200, "{\"code\":\"FAIL\",\"message\":\"失败\"}"],
    [200, ""],
    [204, null],
  ])("is acknowledged by HTTP %i whatever the body (%j): only the status counts", async (status, body) => {
    const r = v3Rig();
    r.reply = () => new Response(body, { status });
    await pay(r);
    r.clock.advance(3600);
    await r.sim.runDue();
    expect(r.notifications).toHaveLength(1);
    expect(await attempts(r)).toMatchObject([{ attempt: 1, acknowledged: true, status }]);
  });

  it.each([202, 400, 500])("is retried on HTTP %i, even with a v2 SUCCESS body, on WeChat's schedule", async (status) => {
    const r = v3Rig();
    r.reply = () => new Response("<xml><return_code><![CDATA[SUCCESS]]></return_code></xml>", { status });
    await pay(r);
    r.clock.advance(15);
    await r.sim.runDue();
    r.clock.advance(15);
    await r.sim.runDue();
    r.reply = () => new Response(null, { status: 204 });
    r.clock.advance(30);
    await r.sim.runDue();
    expect(await attempts(r)).toMatchObject([
      { attempt: 1, acknowledged: false, status, error: `HTTP ${status}` },
      { attempt: 2, acknowledged: false, status },
      { attempt: 3, acknowledged: false, status },
      { attempt: 4, acknowledged: true, status: 204 },
    ]);
  });

  it("resends the same body on a retry, signed anew at the time of the retry", async () => {
    const r = v3Rig();
    r.reply = () => new Response(null, { status: 500 });
    await pay(r);
    r.clock.advance(3600);
    await r.sim.runDue();
    const [first, ...retries] = r.notifications;
    expect(retries.length).toBeGreaterThan(3);
    for (const retry of retries) expect(retry.body).toBe(first!.body);
    const last = retries.at(-1)!;
    expect(last.headers.get("Wechatpay-Timestamp")).toBe(String(Math.floor(r.sim.now() / 1000)));
    expect(last.headers.get("Wechatpay-Nonce")).not.toBe(first!.headers.get("Wechatpay-Nonce"));
    expect(await verify(last.headers, last.body, r.sim.now())).toMatchObject({ ok: true });
  });

  it("is not sent for deliver: false; duplicates send the same body at once; a dropped POST is retried", async () => {
    const r = v3Rig();
    await pay(r, "QUIET-00001", { deliver: false });
    expect(r.notifications).toHaveLength(0);
    await pay(r, "DUPES-00001", { duplicates: 2 });
    expect(r.notifications).toHaveLength(3);
    expect(new Set(r.notifications.map((n) => n.body)).size).toBe(1);
    r.notifications.length = 0;
    await r.control("/__sim/faults", { api: "notify", kind: "drop" });
    expect((await pay(r, "DROP-000001")).json.delivered).toBe(false);
    r.clock.advance(15);
    await r.sim.runDue();
    expect(r.notifications).toHaveLength(1);
    expect(await attempts(r, "DROP-000001")).toMatchObject([{ acknowledged: false, error: "dropped (injected fault)" }, { acknowledged: true }]);
  });

  it("is held and released like a v2 one, signed at its release", async () => {
    const r = v3Rig();
    await r.control("/__sim/notifications/hold", {});
    expect((await pay(r)).json).toMatchObject({ delivered: false, held: true });
    expect(r.notifications).toHaveLength(0);
    r.clock.advance(10);
    const { json } = await r.control<{ released: { acknowledged: boolean }[] }>("/__sim/notifications/release", {});
    expect(json.released).toMatchObject([{ acknowledged: true }]);
    const [released] = r.notifications;
    expect(released!.headers.get("Wechatpay-Timestamp")).toBe(String(Math.floor(r.sim.now() / 1000)));
    expect(await verify(released!.headers, released!.body, r.sim.now())).toMatchObject({ ok: true });
  });
});

describe("signature probes in notifications", () => {
  it("a merchant that refuses the probe gets the genuine notification on the next retry", async () => {
    const r = v3Rig();
    r.reply = strictMerchant(r);
    await r.control("/__sim/settings", { v3ProbeNotifications: 1 });
    expect((await pay(r)).json.delivered).toBe(false);
    expect(r.notifications[0]!.headers.get("Wechatpay-Signature")).toMatch(/^WECHATPAY\/SIGNTEST\//);
    r.clock.advance(15);
    await r.sim.runDue();
    expect(await attempts(r)).toMatchObject([
      { attempt: 1, acknowledged: false, status: 401, error: "signature probe refused", probe: true },
      { attempt: 2, acknowledged: true, status: 204 },
    ]);
    expect((await attempts(r))[1]!.probe).toBeUndefined();
  });

  it("a merchant that acknowledges the probe with a 2xx is recorded as having accepted it, and not acknowledged", async () => {
    const r = v3Rig();
    r.reply = () => new Response("{}", { status: 200 });
    await r.control("/__sim/settings", { v3ProbeNotifications: 1 });
    await pay(r);
    expect(await attempts(r)).toMatchObject([{ attempt: 1, acknowledged: false, status: 200, error: "signature probe accepted", probe: true }]);
    expect((await r.control(`/__sim/orders/${ORDER}`)).json.nextNotificationAt).not.toBeNull();
  });
});

describe("migration: notifications signed one way or the other", () => {
  it("splits by the seeded share, each notification keeping its signer through its retries", async () => {
    const r = v3Rig();
    await r.control("/__sim/settings", { v3KeyMode: "migration", v3MigrationShare: 0.5, v3MigrationSeed: 7 });
    r.reply = () => new Response(null, { status: 500 });
    for (let n = 0; n < 16; n++) await pay(r, `MIGRATE-${String(n).padStart(4, "0")}`);
    r.clock.advance(15);
    await r.sim.runDue();
    const serialByBody = new Map<string, Set<string>>();
    for (const notification of r.notifications) {
      expect(await verify(notification.headers, notification.body, r.sim.now())).toMatchObject({ ok: true });
      const serials = serialByBody.get(notification.body) ?? new Set();
      serials.add(notification.headers.get("Wechatpay-Serial")!);
      serialByBody.set(notification.body, serials);
    }
    expect(serialByBody.size).toBe(16);
    for (const serials of serialByBody.values()) expect(serials.size).toBe(1);
    const used = [...serialByBody.values()].map((serials) => [...serials][0]);
    expect(used).toContain(V3.publicKeyId);
    expect(used).toContain(PLATFORM_SERIAL);
  });

  it.each([
    [0, PLATFORM_SERIAL],
    [1, V3.publicKeyId],
  ])("a share of %i signs every notification with %s", async (share, serial) => {
    const r = v3Rig();
    await r.control("/__sim/settings", { v3KeyMode: "migration", v3MigrationShare: share });
    for (let n = 0; n < 4; n++) await pay(r, `SHARE-${String(n).padStart(5, "0")}`);
    expect(r.notifications.map((n) => n.headers.get("Wechatpay-Serial"))).toEqual([serial, serial, serial, serial]);
  });
});
