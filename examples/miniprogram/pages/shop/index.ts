// The example shop page: the catalog, a cart of one product, paying for it, and the user's orders.
import { newIdempotencyKey, WxPayEdgeError, type Order, type PayOutcome, type Product } from "wxpay-edge-client";
import type { ShopApp } from "../../app";

interface ProductRow {
  readonly sku: string;
  readonly name: string;
  readonly price: string;
}

interface OrderRow {
  readonly id: string;
  readonly description: string;
  readonly amount: string;
  readonly status: Order["status"];
  readonly payable: boolean;
}

const { shop } = getApp<ShopApp>().globalData;

/** Fen as yuan, e.g. 1800 → "¥18.00": amounts stay integers until they are shown. */
function yuan(fen: number): string {
  return `¥${Math.floor(fen / 100)}.${String(fen % 100).padStart(2, "0")}`;
}

const OUTCOME_TEXT: Record<PayOutcome, string> = {
  paid: "Paid. Thank you!",
  cancelled: "Not paid: you can pay this order from the list below.",
  pending: "Confirming the payment with WeChat… pull down to refresh.",
};

// The purchase attempt in progress: the same key if the user taps "pay" again after a failure, so
// a request that reached the service before the network failed never makes a second order.
let attemptKey: string | null = null;
let catalog: readonly Product[] = [];
let orders: readonly Order[] = [];

Page({
  data: {
    products: [] as ProductRow[],
    cart: null as ProductRow | null,
    orders: [] as OrderRow[],
    message: "",
    busy: false,
  },

  onLoad() {
    void this.refresh();
  },

  onPullDownRefresh() {
    void this.refresh().then(() => wx.stopPullDownRefresh());
  },

  async refresh() {
    await this.run(() => this.load());
  },

  /** Reads the catalog and the latest orders (the first call logs in by itself). */
  async load() {
    [catalog, { orders }] = await Promise.all([shop.products(), shop.listOrders({ limit: 10 })]);
    this.setData({
      products: catalog.map((p) => ({ sku: p.sku, name: p.name, price: yuan(p.price) })),
      orders: orders.map((o) => ({ id: o.id, description: o.description, amount: yuan(o.amount), status: o.status, payable: o.status === "pending" })),
    });
  },

  onPick(event: WechatMiniprogram.TouchEvent<Record<string, never>, Record<string, never>, { sku: string }>) {
    const product = catalog.find((p) => p.sku === event.currentTarget.dataset.sku);
    if (product === undefined) return;
    attemptKey = newIdempotencyKey();
    this.setData({ cart: { sku: product.sku, name: product.name, price: yuan(product.price) }, message: "" });
  },

  async onBuy() {
    const cart = this.data.cart;
    if (cart === null || attemptKey === null) return;
    const idempotencyKey = attemptKey;
    await this.run(async () => {
      const checkout = await shop.createOrder([{ sku: cart.sku, quantity: 1 }], { idempotencyKey });
      // The order exists: a new tap on "pay" is a new purchase.
      attemptKey = null;
      this.setData({ cart: null });
      await this.showOutcome(await shop.pay(checkout));
    });
  },

  async onPayOrder(event: WechatMiniprogram.TouchEvent<Record<string, never>, Record<string, never>, { id: string }>) {
    const order = orders.find((o) => o.id === event.currentTarget.dataset.id);
    if (order === undefined) return;
    await this.run(async () => this.showOutcome(await shop.pay(order)));
  },

  async showOutcome(outcome: PayOutcome) {
    this.setData({ message: OUTCOME_TEXT[outcome] });
    await this.load();
  },

  /** Runs one user action at a time and shows its failure; the error's code decides the words. */
  async run(action: () => Promise<void>) {
    if (this.data.busy) return;
    this.setData({ busy: true });
    try {
      await action();
    } catch (error) {
      const code = error instanceof WxPayEdgeError ? error.code : "unknown";
      this.setData({ message: code === "network" ? "No connection: try again." : `Something went wrong (${code}).` });
    } finally {
      this.setData({ busy: false });
    }
  },
});
