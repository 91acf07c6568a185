// The v3 records in the simulator's store: a simulator built again from it (its Durable Object
// evicted, `npm run dev` restarted) has the v3 orders, refunds, settings and calls of the one
// before, and carries on sending their v3 notifications.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { SqlSimStore } from "../../sim/src/simulator";
import { CONFIG } from "./helpers";
import { ORDER, PLATFORM_SERIAL, v3Rig, verify, type V3Rig } from "./v3-helpers";

/** A SqlSimStore on a fresh SQLite-backed object (the service's ORDERS namespace lends one). */
async function withStore(test: (store: SqlSimStore) => Promise<void>): Promise<void> {
  await runInDurableObject(env.ORDERS.get(env.ORDERS.newUniqueId()), (_instance, state) => test(new SqlSimStore(state.storage)));
}

/** What both API views and the control API show. */
async function views(r: V3Rig) {
  const strip = (answer: { status: number; json: unknown }) => ({ status: answer.status, json: answer.json });
  return {
    order: await r.control(`/__sim/orders/${ORDER}`),
    refund: await r.control("/__sim/refunds/REFUND-V3-0001"),
    settings: await r.control("/__sim/settings"),
    calls: await r.control("/__sim/calls"),
    query: strip(await r.call("GET", `/v3/pay/transactions/out-trade-no/${ORDER}?mchid=${CONFIG.mchId}`)),
    refundQuery: strip(await r.call("GET", "/v3/refund/domestic/refunds/REFUND-V3-0001")),
    nextDueAt: r.sim.nextDueAt(),
  };
}

describe("v3 records in the store", () => {
  it("survive a rebuild after each step, and the new instance sends their v3 notifications", async () => {
    await withStore(async (store) => {
      let r = v3Rig({ store });
      const again = async () => {
        const next = v3Rig({ store, clock: r.clock });
        next.reply = r.reply;
        // views() makes v3 calls, which each instance adds to its own log: the log is checked at the end.
        const [before, after] = [await views(r), await views(next)];
        expect({ ...after, calls: undefined }).toEqual({ ...before, calls: undefined });
        r = next;
      };

      await r.control("/__sim/settings", { v3KeyMode: "certificate", v3ProbeNotifications: 0 });
      const openid = await r.openid();
      const placed = await r.prepay(openid);
      await again();
      // The same prepay_id for an identical re-entry, from the new instance.
      expect((await r.prepay(openid)).json.prepay_id).toBe(placed.json.prepay_id);

      r.reply = () => new Response(null, { status: 500 });
      expect((await r.control(`/__sim/orders/${ORDER}/pay`, {})).json).toMatchObject({ delivered: false });
      await again();
      // The retry 15 s later is the new instance's work, and is still a signed v3 notification.
      r.reply = () => new Response(null, { status: 204 });
      r.notifications.length = 0;
      r.clock.advance(15);
      await r.sim.runDue();
      expect(r.notifications).toHaveLength(1);
      expect(await verify(r.notifications[0]!.headers, r.notifications[0]!.body, r.sim.now())).toEqual({ ok: true, serial: PLATFORM_SERIAL });
      expect((await r.open(r.notifications[0]!)).resource).toMatchObject({ out_trade_no: ORDER, trade_state: "SUCCESS" });
      await again();

      expect((await r.refund()).json.status).toBe("PROCESSING");
      await again();
      r.notifications.length = 0;
      r.clock.advance(5);
      await r.sim.runDue();
      expect((await r.open(r.notifications[0]!)).envelope.event_type).toBe("REFUND.SUCCESS");
      await again();
      expect((await r.call("GET", "/v3/refund/domestic/refunds/REFUND-V3-0001")).json.status).toBe("SUCCESS");
      expect((await r.control("/__sim/settings")).json.v3KeyMode).toBe("certificate");
      const { json } = await r.control<{ calls: { api: string }[] }>("/__sim/calls?api=v3_jsapi");
      expect(json.calls).toHaveLength(2);
    });
  });

  it("keeps the probe count: probes not yet sent are sent by the next instance", async () => {
    await withStore(async (store) => {
      const first = v3Rig({ store });
      await first.control("/__sim/settings", { v3ProbeAnswers: 1 });
      const next = v3Rig({ store, clock: first.clock });
      const answer = await next.call("GET", "/v3/certificates");
      expect(answer.check).toEqual({ ok: false, reason: "signature_probe" });
      expect((await next.call("GET", "/v3/certificates")).check.ok).toBe(true);
    });
  });
});
