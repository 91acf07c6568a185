// The test rig: the service's own fetch handler, with every outbound call to WeChat routed into a
// fresh in-process WeChat simulator (sim/), the simulator's notifications routed back into the
// service, and merchant events routed to an in-test receiver that verifies them with the Standard
// Webhooks library. Nothing is canned: every side signs, verifies and keeps state as when deployed.
// The simulator speaks the test project's WeChat Pay API version, and `h.pay` (wechat-pay.ts) lets
// a suite say what it means in either: a prepay, a refund, a notification and its verdict.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { Webhook } from "standardwebhooks";
import { vi } from "vitest";
import worker from "../../src/index";
import { SessionStore } from "../../src/sessions/session-store";
import type { Env } from "../../src/env";
import { createSimulator, type SimV3Options, type Simulator } from "../../sim/src/simulator";
import { MERCHANT_KEY, PLATFORM_CERT, PLATFORM_KEY, WECHATPAY_PUBKEY_PRIVATE } from "../fixtures/v3-keys";
import { V3_SIM_SETTINGS } from "./v3-settings";
import { wechatPay, type CommonApi, type NotificationPost, type PayApi, type PayCall, type Verdict, type WeChatPay } from "./wechat-pay";

export const SERVICE_ORIGIN = "http://127.0.0.1:8787";

/** One delivery the merchant receiver got. */
export interface MerchantDelivery {
  readonly id: string;
  readonly timestamp: string;
  readonly signature: string;
  readonly body: string;
  /** the body, parsed */
  readonly event: { id: string; type: string; timestamp: string; data: Record<string, unknown> };
  /** whether the signature verified with the secret (the Standard Webhooks reference library) */
  readonly verified: boolean;
  /** the receiver's answer: its status, or "hang" (no answer until released), "refuse" (connection refused) */
  readonly answer: number | "hang" | "refuse";
}

/** What the merchant receiver answers one delivery: a status, no answer until `release` is called, or a refused connection. */
export type MerchantAnswer = number | "hang" | "refuse";

/** The merchant's backend, in the test: records each delivery and answers as told. */
export interface MerchantReceiver {
  readonly deliveries: MerchantDelivery[];
  /** how to answer a delivery (default 204); called with the parsed event */
  answer: (event: MerchantDelivery["event"]) => MerchantAnswer;
  /** answers every hanging delivery (with 204, or the connection drops if the service gave up) */
  release(): void;
  /** deliveries of one event id, in order */
  of(eventId: string): MerchantDelivery[];
}

export const MERCHANT_ORIGIN = "https://merchant.example";

export interface Harness {
  readonly env: Env;
  readonly sim: Simulator;
  /** Calls the service as a client would. */
  call(path: string, init?: RequestInit & { json?: unknown; token?: string }): Promise<Response>;
  /** Calls the simulator's control API. */
  simControl<T = Record<string, unknown>>(path: string, body?: unknown): Promise<T>;
  /** Removes every fault queued at the simulator. */
  clearFaults(): Promise<void>;
  /** Mints a wx.login code at the simulator and exchanges it at /api/login. */
  login(user?: string): Promise<{ token: string; openid: string; expiresIn: number }>;
  /** Every outbound request the service made, in order. */
  readonly outbound: Request[];
  /** Every notification the simulator POSTed (payments and refunds), in order, as WeChat would send it again. */
  readonly notifications: NotificationPost[];
  /** While true, notifications are captured but lost on the way (the service never sees them). */
  loseNotifications: boolean;
  /** WeChat Pay in the project's API version: its APIs by what they do, notifications, verdicts. */
  readonly pay: WeChatPay;
  /** The simulator's log of calls to one WeChat API (a pay API by what it does, in the project's version). */
  calls(api: PayApi | CommonApi): Promise<PayCall[]>;
  /** Queues a fault at the simulator for one WeChat API (by what it does, in the project's version). */
  fault(api: PayApi | CommonApi, kind: string, options?: { times?: number; delayMs?: number }): Promise<void>;
  /** Sends a notification to the service as WeChat would (a v3 one signed now), and returns the service's answer. */
  postNotification(post: NotificationPost): Promise<Response>;
  /** The same, read as WeChat reads the answer: acknowledged, refused, or something else spelled out. */
  deliver(post: NotificationPost): Promise<Verdict>;
  readonly merchant: MerchantReceiver;
  /** Creates an order for the logged-in user and returns the response body. */
  createOrder(token: string, items?: unknown, headers?: Record<string, string>): Promise<Response>;
  /** Creates a pending order of one coffee (1800 fen) for the user and returns its id; throws unless WeChat took it. */
  newOrder(token: string): Promise<string>;
  /**
   * The same for a payer never seen before, whose session is stored directly (no login): for many
   * orders in a row, past the per-user limit of 30 order creations a minute and the login limit.
   */
  newPayersOrder(): Promise<string>;
}

/** The simulator's API v3 keys: the project's test keys, and the identifiers the v3 test project configures the service with. */
export const V3_SIM: SimV3Options = {
  ...V3_SIM_SETTINGS,
  merchantPrivateKey: MERCHANT_KEY,
  platformPrivateKey: PLATFORM_KEY,
  platformCertificate: PLATFORM_CERT,
  publicKeyPrivateKey: WECHATPAY_PUBKEY_PRIVATE,
};

/** Starts a fresh simulator and routes the service's outbound fetches to it. */
export function startHarness(options: { env?: Env } = {}): Harness {
  const serviceEnv = options.env ?? env;
  // Assigned at the end; the simulator's deliver() reads its loseNotifications switch.
  let harness: Harness;
  const outbound: Request[] = [];
  const notifications: NotificationPost[] = [];
  const callService = async (request: Request): Promise<Response> => {
    const ctx = createExecutionContext();
    const response = await worker.fetch(request as Request<unknown, IncomingRequestCfProperties>, serviceEnv, ctx);
    await waitOnExecutionContext(ctx);
    return response;
  };
  const sim = createSimulator({
    appid: env.WECHAT_APPID ?? "",
    secret: env.WECHAT_SECRET ?? "",
    mchId: env.WECHATPAY_MCHID ?? "",
    key: env.WECHATPAY_KEY ?? "",
    // The v3 test project (vitest.config.ts) runs the service on API v3: the simulator speaks it too.
    ...(env.WECHATPAY_API_VERSION === "v3" ? { v3: V3_SIM } : {}),
    // The mini program's message push settings, as the service is configured with them.
    pushToken: env.WECHAT_PUSH_TOKEN || undefined,
    pushEncodingAesKey: env.WECHAT_PUSH_AES_KEY || undefined,
    deliver: async (url, init) => {
      const request = new Request(url, init);
      notifications.push({ path: new URL(request.url).pathname, body: await request.clone().text(), seal: "genuine" });
      return harness.loseNotifications ? new Response("lost", { status: 503 }) : callService(request);
    },
  });
  const merchant = merchantReceiver();
  const wechatOrigins = new Set([new URL(env.WECHAT_API_BASE ?? "").origin, new URL(env.WECHATPAY_API_BASE ?? "").origin]);
  vi.stubGlobal("fetch", async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    if (new URL(request.url).origin === MERCHANT_ORIGIN) return merchant.receive(request);
    if (!wechatOrigins.has(new URL(request.url).origin)) throw new Error(`unexpected outbound fetch to ${new URL(request.url).origin}`);
    outbound.push(request.clone());
    return sim.fetch(request);
  });

  // Each rig is its own client address, so that per-address rate limits never couple two tests.
  const clientAddress = `203.0.${Math.floor(Math.random() * 256)}.${1 + Math.floor(Math.random() * 254)}`;
  const call: Harness["call"] = (path, init = {}) => {
    const { json, token, ...rest } = init;
    const headers = new Headers(rest.headers);
    if (!headers.has("CF-Connecting-IP")) headers.set("CF-Connecting-IP", clientAddress);
    if (json !== undefined) headers.set("Content-Type", "application/json");
    if (token !== undefined) headers.set("Authorization", `Bearer ${token}`);
    return callService(
      new Request(SERVICE_ORIGIN + path, { ...rest, headers, ...(json !== undefined ? { body: JSON.stringify(json), method: rest.method ?? "POST" } : {}) }),
    );
  };

  const simControl: Harness["simControl"] = async (path, body) => {
    const response = await sim.fetch(
      new Request(`http://127.0.0.1:8788${path}`, body === undefined ? {} : { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) }),
    );
    return (await response.json()) as never;
  };

  const login: Harness["login"] = async (user) => {
    const { code } = await simControl<{ code: string }>("/__sim/login-codes", user === undefined ? {} : { user });
    const response = await call("/api/login", { json: { code } });
    if (response.status !== 200) throw new Error(`login failed: ${response.status} ${await response.text()}`);
    return (await response.json()) as { token: string; openid: string; expiresIn: number };
  };

  const clearFaults = async () => {
    await sim.fetch(new Request("http://127.0.0.1:8788/__sim/faults", { method: "DELETE" }));
  };

  const pay = wechatPay(env.WECHATPAY_API_VERSION === "v3" ? "v3" : "v2", {
    appid: env.WECHAT_APPID ?? "",
    mchid: env.WECHATPAY_MCHID ?? "",
    key: env.WECHATPAY_KEY ?? "",
    signType: env.WECHATPAY_SIGN_TYPE === "MD5" ? "MD5" : "HMAC-SHA256",
    publicBaseUrl: env.PUBLIC_BASE_URL ?? "",
  });

  const calls: Harness["calls"] = async (api) =>
    (await simControl<{ calls: { fields: Record<string, string>; outcome: string }[] }>(`/__sim/calls?api=${pay.simApi(api)}`)).calls.map((c) => pay.readCall(c));

  const fault: Harness["fault"] = async (api, kind, options = {}) => {
    const answer = await sim.fetch(
      new Request("http://127.0.0.1:8788/__sim/faults", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ api: pay.simApi(api), kind, ...options }) }),
    );
    // A fault the simulator refuses (one that does not apply to the API) would make the test prove nothing.
    if (answer.status !== 200) throw new Error(`fault refused: ${await answer.text()}`);
  };

  const postNotification: Harness["postNotification"] = async (post) => call(post.path, await pay.request(post));
  const deliver: Harness["deliver"] = async (post) => pay.verdict(post, await postNotification(post));

  const createOrder: Harness["createOrder"] = (token, items = [{ sku: "coffee", quantity: 1 }], headers = {}) =>
    call("/api/orders", { json: { items }, token, headers });

  const newOrder: Harness["newOrder"] = async (token) => {
    const response = await createOrder(token);
    if (response.status !== 201) throw new Error(`order not created: ${response.status} ${await response.text()}`);
    return ((await response.json()) as { order: { id: string } }).order.id;
  };

  const newPayersOrder: Harness["newPayersOrder"] = async () => {
    const { openid } = await simControl<{ openid: string }>("/__sim/login-codes", {});
    const session = await new SessionStore(serviceEnv.SESSIONS).create({ openid, sessionKey: "AAAAAAAAAAAAAAAAAAAAAA==", ttlSeconds: 600 });
    return newOrder(session.token);
  };

  harness = { env: serviceEnv, sim, call, simControl, login, outbound, notifications, loseNotifications: false, pay, calls, fault, postNotification, deliver, createOrder, newOrder, newPayersOrder, clearFaults, merchant };
  return harness;
}

function merchantReceiver(): MerchantReceiver & { receive(request: Request): Promise<Response> } {
  const verifier = new Webhook(env.MERCHANT_WEBHOOK_SECRET ?? "");
  const deliveries: MerchantDelivery[] = [];
  // Polled, not a promise resolved from the test: a promise made in one Durable Object's context
  // cannot be settled from another's.
  let released = false;
  const receiver = {
    deliveries,
    answer: (_event: MerchantDelivery["event"]): MerchantAnswer => 204,
    release() {
      released = true;
    },
    of: (eventId: string) => deliveries.filter((d) => d.id === eventId),
    async receive(request: Request): Promise<Response> {
      const body = await request.text();
      const headers = Object.fromEntries(request.headers);
      let verified = true;
      try {
        verifier.verify(body, headers);
      } catch {
        verified = false;
      }
      const event = JSON.parse(body) as MerchantDelivery["event"];
      const answer = receiver.answer(event);
      deliveries.push({ id: headers["webhook-id"] ?? "", timestamp: headers["webhook-timestamp"] ?? "", signature: headers["webhook-signature"] ?? "", body, event, verified, answer });
      if (answer === "refuse") throw new TypeError("connection refused");
      if (answer === "hang") {
        while (!released && !request.signal.aborted) await new Promise((resolve) => setTimeout(resolve, 20));
        return new Response(null, { status: 204 });
      }
      return new Response(answer === 204 ? null : "merchant says no", { status: answer });
    },
  };
  return receiver;
}

/** The JSON error body of the contract. */
export async function errorOf(response: Response): Promise<{ code: string; message: string }> {
  const body = (await response.json()) as { error: { code: string; message: string } };
  return body.error;
}

/** Every KV key under a prefix. */
export async function kvKeys(prefix: string): Promise<KVNamespaceListKey<unknown>[]> {
  return (await env.SESSIONS.list({ prefix })).keys;
}
