// The mini-program side of the simulator built again from its store: the token, its force-refresh count, the shipping state and the pushes carry over.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { SqlSimStore } from "../../sim/src/simulator";
import { CONFIG } from "./helpers";
import { mpRig, uploadBody, type MpRig } from "./mp-helpers";

async function withStore(test: (store: SqlSimStore) => Promise<void>): Promise<void> {
  await runInDurableObject(env.ORDERS.get(env.ORDERS.newUniqueId()), (_instance, state) => test(new SqlSimStore(state.storage)));
}

async function views(r: MpRig) {
  return {
    token: (await r.control("/__sim/mp/token")).json,
    shipping: (await r.control("/__sim/mp/orders/ORDER-0001")).json,
    pushes: (await r.control("/__sim/pushes")).json,
    settings: (await r.control("/__sim/settings")).json,
  };
}

describe("the mini-program side built again from its store", () => {
  it("keeps the token, the force-refresh count, the shipping state, the settings and the pushes", async () => {
    await withStore(async (store) => {
      let r = mpRig({ store });
      const again = async () => {
        const next = mpRig({ store, clock: r.clock });
        expect(await views(next)).toEqual(await views(r));
        r = next;
      };
      const { openid } = await r.shippableOrder();
      const forced = await r.api<{ access_token: string }>("/cgi-bin/stable_token", { grant_type: "client_credential", appid: CONFIG.appid, secret: CONFIG.secret, force_refresh: true });
      await again();
      // The same token after the rebuild, and it is accepted.
      expect(await r.token()).toBe(forced.access_token);
      expect(await r.api(`/wxa/sec/order/upload_shipping_info?access_token=${forced.access_token}`, uploadBody(openid))).toMatchObject({ errcode: 0 });
      await r.control("/__sim/settings", { mpPaymentVisibleAfterSeconds: 30 });
      await r.control("/__sim/mp/orders/ORDER-0001/state", { orderState: 3 });
      await again();
      r.reply = () => new Response("success");
      await r.control("/__sim/push", { event: "trade_manage_order_settlement", outTradeNo: "ORDER-0001", mode: "safe" });
      await again();
      expect((await views(r)).token).toMatchObject({ accessToken: forced.access_token, forceRefreshes: 1 });
      expect((await views(r)).shipping).toMatchObject({ orderState: 3, uploads: 1 });
      expect((await views(r)).pushes).toMatchObject({ pushes: [{ id: "push-000001", acknowledged: true }] });
      // A revocation is stored too.
      await r.control("/__sim/mp/token/revoke", {});
      await again();
      expect(await r.api(`/wxa/sec/order/get_order?access_token=${forced.access_token}`, { transaction_id: "x" })).toMatchObject({ errcode: 40001 });
    });
  });
});
