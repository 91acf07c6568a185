// The simulator's state in a store (sim/src/persistence.ts): built again from the store, as after
// its Durable Object was evicted or `npm run dev` restarted, the simulator answers as before.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { SqlSimStore } from "../../sim/src/simulator";
import { ACK, CONFIG, NACK, rig, type Rig } from "./helpers";

/**
 * Runs `test` with a SqlSimStore on a fresh SQLite-backed object. The simulator's own object is
 * not in this pool (it is the service's Worker), so the service's ORDERS namespace lends one.
 */
async function withStore(test: (store: SqlSimStore) => Promise<void>): Promise<void> {
  await runInDurableObject(env.ORDERS.get(env.ORDERS.newUniqueId()), (_instance, state) => test(new SqlSimStore(state.storage)));
}

/** Everything the control API shows, and the next due work. */
async function views(r: Rig) {
  const get = async (path: string) => r.control(path);
  return {
    orders: await Promise.all(["ORDER-0001", "ORDER-0002"].map((id) => get(`/__sim/orders/${id}`))),
    refund: await get("/__sim/refunds/REFUND-0001"),
    faults: await get("/__sim/faults"),
    settings: await get("/__sim/settings"),
    held: await get("/__sim/notifications/held"),
    calls: await get("/__sim/calls"),
    clock: await get("/__sim/clock"),
    nextDueAt: r.sim.nextDueAt(),
  };
}

const exchange = async (r: Rig, code: string) =>
  (await r.raw(`/sns/jscode2session?appid=${CONFIG.appid}&secret=${CONFIG.secret}&js_code=${code}&grant_type=authorization_code`)).json() as Promise<{
    openid?: string;
    errcode?: number;
  }>;

describe("a simulator built again from its store", () => {
  it("has every record, setting, fault, held notification and call of the one before, after each step", async () => {
    await withStore(async (store) => {
      let r = rig({ store });
      /** The same simulator, a new instance: it must show what the old one shows, and carry on from there. */
      const again = async () => {
        const next = rig({ store, clock: r.clock });
        expect(await views(next)).toEqual(await views(r));
        r = next;
      };

      const { json: minted } = await r.control<{ code: string; openid: string }>("/__sim/login-codes", { user: "alice" });
      await again();
      expect(await exchange(r, minted.code)).toMatchObject({ openid: minted.openid });
      await again();
      expect(await exchange(r, minted.code)).toMatchObject({ errcode: 40163 });

      expect((await r.unifiedOrder(minted.openid)).fields.result_code).toBe("SUCCESS");
      await again();
      r.reply = NACK;
      expect((await r.control("/__sim/orders/ORDER-0001/pay", {})).json).toMatchObject({ delivered: false });
      await again();
      // The retry 15 s later is due work of the new instance.
      r.clock.advance(15);
      await r.sim.runDue();
      expect(r.notifications).toHaveLength(1);
      await again();

      expect((await r.refund()).fields.result_code).toBe("SUCCESS");
      await again();
      r.clock.advance(5);
      await r.sim.runDue();
      await again();
      expect((await r.control("/__sim/refunds/REFUND-0001")).json).toMatchObject({ status: "SUCCESS" });

      await r.control("/__sim/settings", { refundSpacingSeconds: 0 });
      await r.control("/__sim/faults", { api: "orderquery", kind: "SYSTEMERROR", times: 2 });
      await r.control("/__sim/notifications/hold", { kinds: ["notify"] });
      await r.unifiedOrder(minted.openid, { out_trade_no: "ORDER-0002" });
      expect((await r.control("/__sim/orders/ORDER-0002/pay", {})).json).toMatchObject({ held: true });
      await again();
      const released = await r.control<{ released: { id: string; acknowledged: boolean }[] }>("/__sim/notifications/release", {});
      expect(released.json.released).toEqual([expect.objectContaining({ id: "ORDER-0002", acknowledged: true })]);
      await again();
      await r.control("/__sim/clock/advance", { seconds: 3600 });
      await again();

      await r.control("/__sim/reset", {});
      await again();
      expect((await r.control("/__sim/orders/ORDER-0001")).status).toBe(404);
      expect((await r.control("/__sim/calls")).json).toEqual({ calls: [] });
    });
  });

  it("makes again a notification attempt that was under way when the last instance stopped", async () => {
    await withStore(async (store) => {
      const r = rig({ store, notifyTimeoutMs: 200 });
      await r.unifiedOrder(await r.openid("bob"));
      // The merchant never answers: the attempt is under way when the instance is replaced.
      r.reply = () => new Promise<Response>(() => {});
      const paying = r.control("/__sim/orders/ORDER-0001/pay", {});
      await expect.poll(() => r.notifications.length).toBe(1);

      const next = rig({ store, clock: r.clock });
      expect(next.sim.nextDueAt()).toBe(next.sim.now());
      next.reply = ACK;
      await next.sim.runDue();
      expect(next.notifications).toHaveLength(1);
      const { json } = await next.control<{ tradeState: string; notifications: { acknowledged: boolean }[] }>("/__sim/orders/ORDER-0001");
      expect(json.tradeState).toBe("SUCCESS");
      expect(json.notifications.at(-1)).toMatchObject({ acknowledged: true });
      await paying;
    });
  });
});
