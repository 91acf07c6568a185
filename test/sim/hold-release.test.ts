// Out-of-order notifications: POST /__sim/notifications/hold keeps first attempts back,
// /__sim/notifications/release sends them in another order (reverse, or a seeded shuffle), and a
// held notification that is never released is still delivered by the retry schedule.
import { describe, expect, it } from "vitest";
import { RETRY_INTERVALS_S } from "../../sim/src/simulator";
import { ACK, NACK, START, refundInfo, rig, type Rig } from "./helpers";

type Attempt = { at: string; attempt: number; copy: number; acknowledged: boolean; status: number | null; error: string | null; released?: true };
type OrderView = { tradeState: string; nextNotificationAt: string | null; notifications: Attempt[] };
type HeldView = { holding: string[]; held: { kind: string; id: string; copy: number; heldAt: string }[] };
type Released = { kind: string; id: string; copy: number; heldAt: string; releasedAt: string; acknowledged: boolean; status: number | null; error: string | null };
type ReleaseReply = { order: string; seed: number; released: Released[] };

const NOS = ["ORDER-0001", "ORDER-0002", "ORDER-0003", "ORDER-0004", "ORDER-0005", "ORDER-0006"];

/** Places the orders (all for one payer) without paying them. */
async function place(r: Rig, nos: readonly string[]): Promise<void> {
  const openid = await r.openid("payer");
  for (const no of nos) expect((await r.unifiedOrder(openid, { out_trade_no: no })).fields.result_code).toBe("SUCCESS");
}

const pay = (r: Rig, no: string, body: Record<string, unknown> = {}) =>
  r.control<{ transactionId: string; delivered: boolean; held?: boolean }>(`/__sim/orders/${no}/pay`, body);
const hold = (r: Rig, body: Record<string, unknown> = {}) => r.control<HeldView>("/__sim/notifications/hold", body);
const release = (r: Rig, body: Record<string, unknown> = {}) => r.control<ReleaseReply>("/__sim/notifications/release", body);
const held = async (r: Rig) => (await r.control<HeldView>("/__sim/notifications/held")).json;
const order = async (r: Rig, no: string) => (await r.control<OrderView>(`/__sim/orders/${no}`)).json;
const advance = (r: Rig, seconds: number) => r.control("/__sim/clock/advance", { seconds });
/** out_trade_no of every payment notification POSTed so far, in order. */
const delivered = (r: Rig) => r.notifications.map((n) => n.fields.out_trade_no);

/** Places and pays `nos` while holding, and returns the rig. */
async function heldPayments(nos: readonly string[] = NOS.slice(0, 4)): Promise<Rig> {
  const r = rig();
  await place(r, nos);
  expect((await hold(r)).json).toEqual({ holding: ["notify", "refund_notify"], held: [] });
  for (const no of nos) {
    expect((await pay(r, no)).json).toMatchObject({ delivered: false, held: true });
  }
  return r;
}

describe("hold", () => {
  it("keeps every first attempt back: nothing is POSTed, the order is paid, and the attempt is marked held", async () => {
    const r = await heldPayments();
    expect(r.notifications).toHaveLength(0);
    expect((await held(r)).held.map((h) => [h.kind, h.id, h.copy])).toEqual(NOS.slice(0, 4).map((no) => ["notify", no, 0]));
    const view = await order(r, "ORDER-0001");
    expect(view.tradeState).toBe("SUCCESS");
    expect(view.notifications).toEqual([
      { at: new Date(START).toISOString(), attempt: 1, copy: 0, acknowledged: false, status: null, error: "held" },
    ]);
    // counted as a failed first attempt: the retry schedule runs as usual
    expect(view.nextNotificationAt).toBe(new Date(START + RETRY_INTERVALS_S[0] * 1000).toISOString());
  });

  it("holds each duplicate copy separately", async () => {
    const r = rig();
    await place(r, ["ORDER-0001"]);
    await hold(r);
    await pay(r, "ORDER-0001", { duplicates: 2 });
    expect((await held(r)).held.map((h) => h.copy)).toEqual([0, 1, 2]);
    const { json } = await release(r);
    expect(json.released.map((p) => [p.copy, p.acknowledged])).toEqual([[0, true], [1, true], [2, true]]);
    expect(r.notifications).toHaveLength(3);
  });

  it("can be limited to one kind: holding refund_notify leaves payment notifications alone", async () => {
    const r = rig();
    await place(r, ["ORDER-0001"]);
    expect((await hold(r, { kinds: ["refund_notify"] })).json.holding).toEqual(["refund_notify"]);
    expect((await pay(r, "ORDER-0001")).json).toEqual({ transactionId: expect.any(String), delivered: true });
    expect(r.notifications).toHaveLength(1);
  });

  it("holds refund notifications, scheduled or finished by the control API", async () => {
    const r = rig();
    await r.paidOrder();
    await hold(r);
    expect((await r.refund({ out_refund_no: "REFUND-0001", refund_fee: "600" })).fields.result_code).toBe("SUCCESS");
    await advance(r, 60); // REFUND-0001 finishes at +5 s (first attempt held), its first retry goes out at +20 s
    expect((await r.refund({ out_refund_no: "REFUND-0002", refund_fee: "700" })).fields.result_code).toBe("SUCCESS");
    await advance(r, 5); // REFUND-0002 finishes: held
    const complete = await r.control<{ delivered: boolean | null; held?: boolean }>("/__sim/refunds/REFUND-0002/complete", {});
    expect(complete.status).toBe(409); // already finished by the schedule: its first attempt is held
    expect((await held(r)).held.map((h) => [h.kind, h.id])).toEqual([["refund_notify", "REFUND-0001"], ["refund_notify", "REFUND-0002"]]);
    expect(r.notifications).toHaveLength(1);
    expect((await refundInfo(r.notifications[0]!)).out_refund_no).toBe("REFUND-0001");

    const { json } = await release(r, { order: "reverse" });
    expect(json.released.map((p) => p.id)).toEqual(["REFUND-0002", "REFUND-0001"]);
    expect(await Promise.all(r.notifications.slice(1).map(async (n) => (await refundInfo(n)).out_refund_no))).toEqual(["REFUND-0002", "REFUND-0001"]);
    expect(r.sim.nextDueAt()).toBeNull();
  });

  it("reports held: true from /complete when the refund's notification is held", async () => {
    const r = rig();
    await r.control("/__sim/settings", { refundDelaySeconds: null });
    await r.paidOrder();
    await r.refund();
    await hold(r);
    const { json } = await r.control<{ delivered: boolean | null; held?: boolean }>("/__sim/refunds/REFUND-0001/complete", {});
    expect(json).toMatchObject({ delivered: false, held: true });
    expect(r.notifications).toHaveLength(0);
  });
});

describe("release", () => {
  it("in reverse: the last held is POSTed first, each awaited; acknowledged ones stop their retries", async () => {
    const r = await heldPayments();
    const { status, json } = await release(r, { order: "reverse" });
    expect(status).toBe(200);
    expect(json.order).toBe("reverse");
    expect(json.released.map((p) => p.id)).toEqual(["ORDER-0004", "ORDER-0003", "ORDER-0002", "ORDER-0001"]);
    expect(json.released.every((p) => p.acknowledged && p.status === 200)).toBe(true);
    expect(delivered(r)).toEqual(["ORDER-0004", "ORDER-0003", "ORDER-0002", "ORDER-0001"]);
    expect((await order(r, "ORDER-0001")).notifications.map((n) => [n.attempt, n.error, n.released ?? false, n.acknowledged])).toEqual([
      [1, "held", false, false],
      [1, null, true, true],
    ]);
    expect(r.sim.nextDueAt()).toBeNull();
    await advance(r, 2 * 86400);
    expect(r.notifications).toHaveLength(4);
  });

  it("ends the hold: later notifications are delivered at once", async () => {
    const r = await heldPayments(NOS.slice(0, 2));
    await place(r, ["ORDER-0003"]);
    await release(r, { order: "reverse" });
    expect(await held(r)).toEqual({ holding: [], held: [] });
    expect((await pay(r, "ORDER-0003")).json).toEqual({ transactionId: expect.any(String), delivered: true });
    expect(delivered(r)).toEqual(["ORDER-0002", "ORDER-0001", "ORDER-0003"]);
  });

  it("shuffles with a seed: a permutation, the same one for the same seed, and the seed is reported", async () => {
    const orders: string[][] = [];
    for (const seed of [7, 7, 8, 9, 10]) {
      const r = await heldPayments(NOS);
      const { json } = await release(r, { order: "shuffle", seed });
      expect(json.seed).toBe(seed);
      expect([...delivered(r)].sort()).toEqual(NOS);
      expect(json.released.map((p) => p.id)).toEqual(delivered(r));
      orders.push(delivered(r) as string[]);
    }
    expect(orders[1]).toEqual(orders[0]);
    // with 6! orders, some seed of four gives an order that is neither FIFO nor the first one
    expect(orders.some((o) => o.join() !== NOS.join() && o.join() !== orders[0]!.join())).toBe(true);
  });

  it("picks and reports a seed when none is given; FIFO by default", async () => {
    const r = await heldPayments(NOS.slice(0, 3));
    const { json } = await release(r);
    expect(json.order).toBe("fifo");
    expect(Number.isInteger(json.seed)).toBe(true);
    expect(delivered(r)).toEqual(NOS.slice(0, 3));
  });

  it("leaves the retry schedule running for a released POST that is not acknowledged", async () => {
    const r = await heldPayments(NOS.slice(0, 1));
    r.reply = NACK;
    const { json } = await release(r);
    expect(json.released[0]).toMatchObject({ acknowledged: false, status: 200, error: "reply return_code=FAIL" });
    expect(r.sim.nextDueAt()).toBe(START + 15_000);
    r.reply = ACK;
    await advance(r, 15);
    expect(r.notifications).toHaveLength(2);
    expect(r.sim.nextDueAt()).toBeNull();
  });

  it("applies queued notify faults to the released POSTs", async () => {
    const r = await heldPayments(NOS.slice(0, 2));
    await r.control("/__sim/faults", { api: "notify", kind: "drop" });
    const { json } = await release(r, { order: "reverse" });
    expect(json.released.map((p) => [p.id, p.acknowledged, p.error])).toEqual([
      ["ORDER-0002", false, "dropped (injected fault)"],
      ["ORDER-0001", true, null],
    ]);
    expect(delivered(r)).toEqual(["ORDER-0001"]);
    await advance(r, 15);
    expect(delivered(r)).toEqual(["ORDER-0001", "ORDER-0002"]);
  });

  it("with nothing held answers an empty list", async () => {
    expect((await release(rig(), { order: "reverse" })).json).toMatchObject({ order: "reverse", released: [] });
  });
});

describe("a held notification that is never released", () => {
  it("is still delivered by the retry schedule, and a late release sends a stale copy that changes nothing", async () => {
    const r = await heldPayments(NOS.slice(0, 1));
    await advance(r, 14);
    expect(r.notifications).toHaveLength(0);
    await advance(r, 1);
    expect(delivered(r)).toEqual(["ORDER-0001"]);
    expect(r.sim.nextDueAt()).toBeNull();
    const view = await order(r, "ORDER-0001");
    expect(view.notifications.map((n) => [n.attempt, n.error])).toEqual([[1, "held"], [2, null]]);

    // the held POST is still in the network; releasing it later is a late duplicate
    const { json } = await release(r);
    expect(json.released).toHaveLength(1);
    expect(delivered(r)).toEqual(["ORDER-0001", "ORDER-0001"]);
    expect(r.sim.nextDueAt()).toBeNull();
  });

  it("follows the whole schedule when never acknowledged: 16 attempts, the held one first", async () => {
    const r = await heldPayments(NOS.slice(0, 1));
    r.reply = NACK;
    await advance(r, 25 * 3600);
    const view = await order(r, "ORDER-0001");
    expect(view.notifications.map((n) => n.attempt)).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
    expect(r.notifications).toHaveLength(15);
    expect(r.sim.nextDueAt()).toBeNull();
  });

  it("is forgotten by DELETE /__sim/notifications/held (never sent), and the hold ends", async () => {
    const r = await heldPayments(NOS.slice(0, 2));
    const { status, json } = await r.control<{ discarded: { id: string }[] }>("/__sim/notifications/held", undefined, "DELETE");
    expect(status).toBe(200);
    expect(json.discarded.map((d) => d.id)).toEqual(NOS.slice(0, 2));
    expect(await held(r)).toEqual({ holding: [], held: [] });
    expect((await release(r)).json.released).toEqual([]);
    expect(r.notifications).toHaveLength(0);
    await advance(r, 15);
    expect(delivered(r)).toEqual(NOS.slice(0, 2));
  });

  it("is forgotten by /__sim/reset", async () => {
    const r = await heldPayments(NOS.slice(0, 1));
    await r.control("/__sim/reset", {});
    expect(await held(r)).toEqual({ holding: [], held: [] });
  });
});

describe("bad bodies", () => {
  it.each([
    ["/__sim/notifications/hold", { kinds: [] }],
    ["/__sim/notifications/hold", { kinds: ["notify", "login"] }],
    ["/__sim/notifications/hold", { kinds: "notify" }],
    ["/__sim/notifications/release", { order: "random" }],
    ["/__sim/notifications/release", { order: "shuffle", seed: -1 }],
    ["/__sim/notifications/release", { order: "shuffle", seed: 1.5 }],
    ["/__sim/notifications/release", { order: "shuffle", seed: "7" }],
  ])("%s %j → 400", async (path, body) => {
    const r = rig();
    expect(await r.control(path, body)).toMatchObject({ status: 400, json: { error: "BAD_REQUEST" } });
    expect(await held(r)).toEqual({ holding: [], held: [] });
  });
});
