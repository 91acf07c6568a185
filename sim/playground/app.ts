// The playground's script: the real mini-program client driven through a browser stand-in for wx
// (codes from the simulator, requests through the simulator's proxy, a simulated pay sheet,
// sessionStorage), and an operator pane over the admin API. Local only: it holds the local example token.
import { createClient, DEFAULT_STORAGE_KEY, WxPayEdgeError, type Checkout, type Order, type Product, type WxApi } from "../../client/src/index";

/** The service as this page reaches it: the simulator's proxy, since the service sends no CORS headers. */
const SERVICE = `${location.origin}/__sim/playground`;
/** wrangler.toml's local ADMIN_TOKEN: an example that only this machine's service accepts. */
const LOCAL_ADMIN_TOKEN = "local-admin-token-change-me-in-production";
/** Whom wx.login mints codes for, kept with the token so that a reload stays the same user. */
const USER_KEY = "wxpay-playground:user";
/** A refund finishes at the simulator about 5 s after it is made; the pane watches it that long and more. */
const REFUND_WATCH_MS = 30_000;

interface AdminView {
  readonly order: Order;
  readonly history: readonly { at: string; from: string | null; to: string; source: string }[];
  readonly refunds: readonly { id: string; amount: number; status: string; createdAt: string; finishedAt: string | null }[];
}

const byId = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const yuan = (fen: number) => `¥${(fen / 100).toFixed(2)}`;

/** An element with text children only: names and messages never go through innerHTML. */
function el(tag: string, attributes: Record<string, string> = {}, ...children: (Node | string)[]): HTMLElement {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

const statusBadge = (status: string, id?: string) => el("span", { class: "status", "data-status": status, ...(id ? { id } : {}) }, status);

function log(text: string): void {
  byId("log").prepend(el("li", {}, `${new Date().toLocaleTimeString()}  ${text}`));
}

/** A POST to the simulator's control API (same origin); its error message on failure. */
async function simControl<T>(path: string, body: object): Promise<T> {
  const response = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  const data = (await response.json().catch(() => ({}))) as { message?: string };
  if (!response.ok) throw new Error(data.message ?? `HTTP ${response.status}`);
  return data as T;
}

/** The order the pay sheet is open for: wx.requestPayment itself only gets the five parameters. */
let paying: Order | null = null;

/** wx.requestPayment: the simulated sheet; the simulator pays (with or without the notification) or nothing happens. */
function openPaySheet(option: WechatMiniprogram.RequestPaymentOption): void {
  const order = paying;
  if (order === null) {
    option.fail?.({ errMsg: "requestPayment:fail no order on the sheet" });
    return;
  }
  const sheet = byId("paysheet");
  byId("paysheet-amount").textContent = yuan(order.amount);
  sheet.hidden = false;
  const prepayId = option.package.replace(/^prepay_id=/, "");
  const pay = async (deliver: boolean) => {
    sheet.hidden = true;
    try {
      const paid = await simControl<{ delivered: boolean }>(`/__sim/orders/${encodeURIComponent(order.id)}/pay`, { prepayId, deliver });
      log(`pay sheet: paid at WeChat; notification ${paid.delivered ? "delivered" : "lost"}`);
      option.success?.({ errMsg: "requestPayment:ok" });
    } catch (error) {
      option.fail?.({ errMsg: `requestPayment:fail ${(error as Error).message}` });
    }
  };
  byId("pay-confirm").onclick = () => void pay(true);
  byId("pay-lose").onclick = () => void pay(false);
  byId("pay-cancel").onclick = () => {
    sheet.hidden = true;
    log("pay sheet: cancelled");
    option.fail?.({ errMsg: "requestPayment:fail cancel" });
  };
}

const wxShim: WxApi = {
  login(option) {
    const user = sessionStorage.getItem(USER_KEY) ?? byId<HTMLInputElement>("user").value;
    simControl<{ code: string }>("/__sim/login-codes", { user }).then(
      ({ code }) => {
        log(`wx.login: a code for ${user}`);
        option.success?.({ code, errMsg: "login:ok" });
      },
      (error: Error) => option.fail?.({ errMsg: `login:fail ${error.message}` } as WechatMiniprogram.LoginFailCallbackErr),
    );
  },
  request(option) {
    const init: RequestInit = { method: option.method ?? "GET", headers: (option.header ?? {}) as Record<string, string> };
    if (option.data !== undefined) init.body = JSON.stringify(option.data);
    fetch(option.url, init).then(
      async (response) => {
        const text = await response.text();
        let data: unknown = text;
        try {
          data = JSON.parse(text);
        } catch {
          // not JSON: handed over as text, as wx.request does
        }
        // Only the fields the client reads; the rest of wx's result (profile, cookies…) means nothing here.
        const result = { statusCode: response.status, data, header: Object.fromEntries(response.headers), errMsg: "request:ok" };
        option.success?.(result as WechatMiniprogram.RequestSuccessCallbackResult);
      },
      (error: Error) => option.fail?.({ errMsg: `request:fail ${error.message}`, errno: 600001 } as WechatMiniprogram.RequestFailCallbackErr),
    );
  },
  requestPayment: openPaySheet,
  getStorageSync: (key) => sessionStorage.getItem(key) ?? "",
  setStorageSync: (key, data) => sessionStorage.setItem(key, data),
  removeStorageSync: (key) => sessionStorage.removeItem(key),
};

const shop = createClient({ baseUrl: SERVICE, wx: wxShim });

/** The order shown on the phone and in the operator pane. */
let selected: Order | null = null;

/** Runs a handler, showing a failure in the activity log instead of losing it. */
function guard(handler: () => Promise<void>): void {
  handler().catch((error: unknown) => {
    const text = error instanceof WxPayEdgeError ? `${error.code} (${error.status}): ${error.message}` : String(error);
    log(`error: ${text}`);
  });
}

function renderProducts(products: readonly Product[]): void {
  byId("products").replaceChildren(
    ...products.map((product) => {
      const buy = el("button", { "data-sku": product.sku }, "Buy");
      buy.onclick = () => guard(() => buyOne(product));
      return el("li", { class: "row" }, el("span", {}, product.name), el("span", {}, yuan(product.price)), buy);
    }),
  );
}

function renderOrder(order: Order, note: string): void {
  const card = byId("order");
  card.classList.remove("muted");
  const lines: (Node | string)[] = [
    el("div", { class: "row" }, el("strong", {}, order.description), statusBadge(order.status, "order-status")),
    el("div", { class: "muted" }, `${yuan(order.amount)} · ${order.id}`),
    el("div", { id: "order-note" }, note),
  ];
  if (order.status === "pending" && paying === null) {
    const again = el("button", { id: "repay", class: "primary" }, "Pay");
    again.onclick = () => guard(() => payOrder(order));
    lines.push(again);
  }
  card.replaceChildren(...lines);
}

async function refreshOrders(): Promise<void> {
  if (wxShim.getStorageSync(DEFAULT_STORAGE_KEY) === "") return;
  const { orders } = await shop.listOrders({ limit: 10 });
  byId("orders").replaceChildren(
    ...orders.map((order) => {
      const row = el("li", { class: "row", "data-order": order.id, "aria-selected": String(order.id === selected?.id) },
        el("span", {}, order.description), el("span", {}, yuan(order.amount)), statusBadge(order.status));
      row.onclick = () => guard(async () => select(await shop.getOrder(order.id), ""));
      return row;
    }),
  );
}

/** Shows an order on the phone (and marks it in "My orders"), leaving the operator pane as it is. */
function show(order: Order, note: string): void {
  selected = order;
  renderOrder(order, note);
  for (const row of byId("orders").querySelectorAll("li")) row.setAttribute("aria-selected", String(row.dataset.order === order.id));
}

async function select(order: Order, note: string): Promise<void> {
  show(order, note);
  await loadAdmin(order.id);
}

async function buyOne(product: Product): Promise<void> {
  const checkout = await shop.createOrder([{ sku: product.sku, quantity: 1 }]);
  log(`createOrder: ${checkout.order.id}, ${yuan(checkout.order.amount)}, ${checkout.order.status}`);
  await payOrder(checkout);
}

/** pay() as a mini-program calls it, then the order as the service now has it. */
async function payOrder(target: Checkout | Order): Promise<void> {
  const order = "order" in target ? target.order : target;
  paying = order;
  let outcome: string;
  try {
    // Not the operator's view yet: reading it asks WeChat about a pending order, and the service
    // then waits a few seconds before asking again, which would slow the client's own check.
    show(order, "Paying…");
    byId("admin").replaceChildren(el("p", { class: "muted" }, "The operator's view of this order follows the payment."));
    byId("refund-form").hidden = true;
    outcome = await shop.pay(target);
  } finally {
    paying = null;
  }
  log(`pay(): ${outcome}`);
  await select(await shop.getOrder(order.id), `pay() said ${outcome}`);
  await refreshOrders();
}

async function admin<T>(path: string, body?: object): Promise<T> {
  const headers: Record<string, string> = { Authorization: `Bearer ${LOCAL_ADMIN_TOKEN}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(`${SERVICE}/admin${path}`, body === undefined ? { headers } : { method: "POST", headers, body: JSON.stringify(body) });
  const data = (await response.json().catch(() => ({}))) as { error?: { code: string; message: string } };
  if (!response.ok) throw new Error(data.error ? `${data.error.code}: ${data.error.message}` : `HTTP ${response.status}`);
  return data as T;
}

async function loadAdmin(id: string): Promise<AdminView> {
  const view = await admin<AdminView>(`/orders/${encodeURIComponent(id)}`);
  if (selected?.id === id) renderAdmin(view);
  return view;
}

function renderAdmin({ order, history, refunds }: AdminView): void {
  const table = (id: string, head: string[], rows: (Node | string)[][]) =>
    el("table", { id }, el("tr", {}, ...head.map((h) => el("th", {}, h))), ...rows.map((cells) => el("tr", {}, ...cells.map((c) => el("td", {}, c)))));
  byId("admin").replaceChildren(
    el("div", { class: "row" }, el("code", {}, order.id), statusBadge(order.status, "admin-status")),
    el("div", { class: "muted" }, `${yuan(order.amount)} · paid ${order.paidAt === null ? "not yet" : new Date(order.paidAt).toLocaleTimeString()} · refunded ${yuan(order.refundedAmount)} · transaction ${order.transactionId ?? "none"}`),
    el("h2", {}, "History"),
    table("history", ["at", "from", "to", "source"], history.map((h) => [new Date(h.at).toLocaleTimeString(), h.from ?? "", h.to, h.source])),
    el("h2", {}, "Refunds"),
    refunds.length === 0
      ? el("p", { id: "refunds", class: "muted" }, "None.")
      : table("refunds", ["refund", "amount", "status", "finished"], refunds.map((r) => [r.id, yuan(r.amount), statusBadge(r.status), r.finishedAt === null ? "" : new Date(r.finishedAt).toLocaleTimeString()])),
  );
  // What is left to refund: the order's amount less every refund that has not failed.
  const left = order.amount - refunds.reduce((sum, r) => (r.status === "failed" ? sum : sum + r.amount), 0);
  const refundable = (order.status === "paid" || order.status === "partially_refunded") && left > 0;
  byId("refund-form").hidden = !refundable;
  if (refundable) byId<HTMLInputElement>("refund-amount").value = String(left);
}

/** Refunds the selected order, then watches the pane until no refund is processing any more. */
async function refundSelected(): Promise<void> {
  if (selected === null) return;
  const id = selected.id;
  const amount = Number(byId<HTMLInputElement>("refund-amount").value);
  const { refund } = await admin<{ refund: { id: string; status: string } }>(`/orders/${encodeURIComponent(id)}/refunds`, { amount, reason: "playground" });
  log(`refund ${refund.id}: ${yuan(amount)}, ${refund.status}`);
  const deadline = Date.now() + REFUND_WATCH_MS;
  for (let view = await loadAdmin(id); view.refunds.some((r) => r.status === "processing") && Date.now() < deadline; view = await loadAdmin(id)) {
    await sleep(1000);
  }
  if (selected?.id === id) renderOrder(await shop.getOrder(id), "refunded by the operator");
  await refreshOrders();
}

byId("admin-token").textContent = LOCAL_ADMIN_TOKEN;
byId("login-form").onsubmit = (event) => {
  event.preventDefault();
  guard(async () => {
    const user = byId<HTMLInputElement>("user").value.trim();
    // The previous user's session ends first, as a real logout would.
    await shop.logout();
    sessionStorage.setItem(USER_KEY, user);
    const { openid } = await shop.login();
    byId("whoami").textContent = `Logged in as ${user} (openid ${openid}).`;
    selected = null;
    await refreshOrders();
  });
};
byId("refund-form").onsubmit = (event) => {
  event.preventDefault();
  guard(refundSelected);
};

guard(async () => {
  renderProducts(await shop.products());
  const user = sessionStorage.getItem(USER_KEY);
  if (user !== null) {
    byId<HTMLInputElement>("user").value = user;
    byId("whoami").textContent = `Logged in as ${user}.`;
  }
  await refreshOrders();
});
