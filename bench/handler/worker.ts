// The Worker's own CPU per request: the real app (src/app.ts) and the real Durable Objects run inside
// workerd, and requests are handed to `app.fetch` back to back inside one bench request. Nothing
// waits on the network: WeChat is a fake peer inside each isolate whose answers cost next to nothing
// (the unifiedorder reply, once, and the notifications, before any timing, are signed by the
// simulator's independent code), KV is a Map, and the rate limiters always allow. With no I/O to
// wait for, the time a run takes is the CPU the Worker and its Durable Objects spent on it (the
// orchestrator checks this against the workerd process's CPU counters). Durable Object storage is
// the real local SQLite. The orchestrator loads this module twice, as the Worker and as the
// objects' own Worker, so that each side runs in its own isolate, as in production.
import { DurableObject } from "cloudflare:workers";
import { app } from "../../src/app";
import { signV2 } from "../../sim/src/sign";
import { buildWeChatXml } from "../../sim/src/xml";
import { aeadEncrypt, importApiV3Key, importPrivateKey, pemToDer, rsaSign, signedMessage } from "../../sim/src/v3/crypto";
import { WECHATPAY_PUBKEY_PRIVATE } from "../../test/fixtures/v3-keys";
import { V3_BINDINGS, V3_SIM_SETTINGS } from "../../test/support/v3-settings";

import { OrderObject as ServiceOrderObject } from "../../src/orders/order-object";
import { UserOrdersObject as ServiceUserOrdersObject } from "../../src/orders/user-orders-object";

/**
 * What the objects' storage did, as Cloudflare bills it: each sql.exec cursor's rows, alarm writes,
 * and the D1 statements of the operator's index with the rows D1 reports for them (meta.rows_read /
 * rows_written: what D1 bills, index rows included).
 */
interface StorageCounts {
  sqlExecs: number;
  rowsRead: number;
  rowsWritten: number;
  alarmsSet: number;
  alarmsDeleted: number;
  d1Statements: number;
  d1RowsRead: number;
  d1RowsWritten: number;
}

const noCounts = (): StorageCounts => ({ sqlExecs: 0, rowsRead: 0, rowsWritten: 0, alarmsSet: 0, alarmsDeleted: 0, d1Statements: 0, d1RowsRead: 0, d1RowsWritten: 0 });

/**
 * Counting is off while anything is timed: only objects constructed once the cost run has begun
 * (see OrderObject.benchStorageCounts) get a counting storage, so the timed runs pay nothing for it.
 */
let countNewObjects = false;
let storageCounts: StorageCounts = noCounts();
/** Cursors handed out since the last count: their rows are final once the code that asked has read them. */
let openCursors: SqlStorageCursor<Record<string, SqlStorageValue>>[] = [];

/** `target`'s member, methods bound to it (the runtime's objects want their own `this`). */
function member(target: object, name: string | symbol): unknown {
  const value = Reflect.get(target, name, target);
  return typeof value === "function" ? value.bind(target) : value;
}

/**
 * Makes the object's storage count every statement's rows and every alarm write. Done on the
 * runtime's own storage objects (the runtime accepts no stand-in for the state), before the
 * service's constructor takes them.
 */
function countStorage(ctx: DurableObjectState): void {
  if (!countNewObjects) return;
  const { storage } = ctx;
  const { sql } = storage;
  const exec = sql.exec.bind(sql);
  const setAlarm = storage.setAlarm.bind(storage);
  const deleteAlarm = storage.deleteAlarm.bind(storage);
  Object.defineProperty(sql, "exec", {
    value: (query: string, ...bindings: SqlStorageValue[]) => {
      // A cursor counts the rows of its last statement only: several statements in one exec (a
      // schema) are run one by one here, in the same order and transaction, so that each is counted.
      const statements = bindings.length === 0 ? splitStatements(query) : [query];
      let cursor: SqlStorageCursor<Record<string, SqlStorageValue>> | undefined;
      for (const statement of statements) {
        if (cursor !== undefined) for (const _ of cursor);
        cursor = exec(statement, ...bindings);
        storageCounts.sqlExecs++;
        openCursors.push(cursor);
      }
      return cursor ?? exec(query, ...bindings);
    },
  });
  Object.defineProperty(storage, "setAlarm", { value: (...args: Parameters<DurableObjectStorage["setAlarm"]>) => (storageCounts.alarmsSet++, setAlarm(...args)) });
  Object.defineProperty(storage, "deleteAlarm", { value: (...args: Parameters<DurableObjectStorage["deleteAlarm"]>) => (storageCounts.alarmsDeleted++, deleteAlarm(...args)) });
}

/** `query`'s statements, split at each ";" outside quotes and comments (our SQL: no triggers, no BEGIN…END). */
function splitStatements(query: string): string[] {
  const statements: string[] = [];
  let start = 0;
  let quote: string | null = null;
  for (let i = 0; i < query.length; i++) {
    const c = query[i]!;
    if (quote !== null) {
      if (c === quote) quote = null;
    } else if (c === "'" || c === '"') {
      quote = c;
    } else if (c === "-" && query[i + 1] === "-") {
      i = query.indexOf("\n", i) === -1 ? query.length : query.indexOf("\n", i);
    } else if (c === ";") {
      statements.push(query.slice(start, i));
      start = i + 1;
    }
  }
  statements.push(query.slice(start));
  const nonEmpty = statements.map((statement) => statement.trim()).filter((statement) => statement !== "");
  return nonEmpty.length > 0 ? nonEmpty : [query];
}

/**
 * The isolate's D1 binding, its batches counted: one wrapper per isolate, as the service keeps its
 * once-per-isolate schema check per binding (a wrapper per object would repeat it).
 */
let countedIndex: D1Database | null = null;

function countingD1(db: D1Database): D1Database {
  countedIndex ??= new Proxy(db, {
    get: (target, name) =>
      name === "batch"
        ? async (statements: D1PreparedStatement[]) => {
            const results = await target.batch(statements);
            storageCounts.d1Statements += statements.length;
            for (const r of results) {
              storageCounts.d1RowsRead += r.meta.rows_read ?? 0;
              storageCounts.d1RowsWritten += r.meta.rows_written ?? 0;
            }
            return results;
          }
        : member(target, name),
  });
  return countedIndex;
}

/**
 * Order objects whose alarm fired, oldest first (ids as hex). The bench holds each alarm instead of
 * running it when the runtime fires it, and runs it later, alone and timed, as a row of its own (an
 * order's follow-ups: its index entry, and its events when a webhook is set): so the requests'
 * figures are of the requests alone, and the alarm's work is neither lost nor mixed into them.
 */
const heldAlarms: string[] = [];

/** The service's order object, with WeChat faked in its isolate too. */
export class OrderObject extends ServiceOrderObject {
  constructor(ctx: DurableObjectState, env: BenchEnv) {
    countStorage(ctx);
    super(ctx, countNewObjects ? { ...env, ORDER_INDEX: countingD1(env.ORDER_INDEX) } : env);
    installFakeWeChat(env);
  }

  /** Held: see heldAlarms. */
  override async alarm(): Promise<void> {
    heldAlarms.push(this.ctx.id.toString());
  }

  /** Runs the service's alarm handler, as the runtime would have when it fired. */
  benchRunAlarm(): Promise<void> {
    return super.alarm();
  }

  /** Up to `count` held alarms, oldest first, waiting up to 2 s for them to fire. */
  async benchTakeHeldAlarms(count: number): Promise<string[]> {
    for (let waited = 0; heldAlarms.length < count && waited < 2000; waited += 20) await new Promise((r) => setTimeout(r, 20));
    return heldAlarms.splice(0, count);
  }

  /** This isolate's storage counts since the last call (and counting on for objects created from now on). */
  benchStorageCounts(): StorageCounts {
    countNewObjects = true;
    for (const cursor of openCursors) {
      storageCounts.rowsRead += cursor.rowsRead;
      storageCounts.rowsWritten += cursor.rowsWritten;
    }
    const counts = storageCounts;
    storageCounts = noCounts();
    openCursors = [];
    return counts;
  }

}

/** The service's user index object, its storage counted in the cost run. */
export class UserOrdersObject extends ServiceUserOrdersObject {
  constructor(ctx: DurableObjectState, env: BenchEnv) {
    countStorage(ctx);
    super(ctx, env);
  }
}

/**
 * The runtime's own cost of a Durable Object instance that does nothing: timed alone, it tells how
 * much of a request that creates or wakes an order object is the runtime's, not ours.
 */
export class EmptyObject extends DurableObject {
  ping(): number {
    return 1;
  }

  /** Untimed, before objectWrites: a row and a history table, as a pending order's object holds them. */
  wakeForWrites(): void {
    this.ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS row (singleton INTEGER PRIMARY KEY, status TEXT NOT NULL, transaction_id TEXT, paid_at INTEGER,
      version INTEGER NOT NULL DEFAULT 1);
      CREATE TABLE IF NOT EXISTS history (seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, from_status TEXT, to_status TEXT NOT NULL, source TEXT NOT NULL);
      INSERT OR IGNORE INTO row (singleton, status) VALUES (1, 'pending')`);
  }

  /**
   * What storage a payment costs the runtime, with none of our code: the row's UPDATE and a history
   * INSERT in one transactionSync, then setAlarm (an hour away, so it never fires here).
   */
  async paymentWrites(at: number): Promise<number> {
    const sql = this.ctx.storage.sql;
    this.ctx.storage.transactionSync(() => {
      for (const _ of sql.exec("UPDATE row SET status = 'paid', transaction_id = ?, paid_at = ?, version = version + 1", `42000000000000000000${at}`, at));
      for (const _ of sql.exec("INSERT INTO history (at, from_status, to_status, source) VALUES (?, 'pending', 'paid', 'notify')", at));
    });
    await this.ctx.storage.setAlarm(at + 3_600_000);
    return 1;
  }

  /** Untimed, after a run: the instance is discarded, so that local SQLite does not keep every object of the run open. */
  release(): void {
    this.ctx.abort("released by the bench");
  }

  override alarm(): void {}
}

interface BenchEnv extends Cloudflare.Env {
  EMPTY: DurableObjectNamespace<EmptyObject>;
  WECHATPAY_KEY: string;
  WECHAT_APPID: string;
  WECHATPAY_MCHID: string;
}

type Endpoint = "healthz" | "login" | "createOrder" | "createFollowUp" | "notify" | "notifyFollowUp" | "notifyRepeat" | "notifyForged" | "notifyV3" | "getOrder" | "newEmptyObject" | "objectWrites";
const ENDPOINTS: readonly string[] = ["healthz", "login", "createOrder", "createFollowUp", "notify", "notifyFollowUp", "notifyRepeat", "notifyForged", "notifyV3", "getOrder", "newEmptyObject", "objectWrites"];

/** The users logged in so far (tokens), the orders created so far, and the notifications signed for them. */
const tokens: string[] = [];
const orders: { id: string; amount: number; openid: string; token: string }[] = [];
/** v2 notifications for the first orders, v3 notifications (body and Wechatpay-* headers) for the rest. */
const notifications: { orderId: string; xml: string; length: string }[] = [];
const v3Notifications: { orderId: string; body: string; headers: Record<string, string> }[] = [];
let nextNotification = 0;
let nextV3Notification = 0;
/** Alarms taken for the next timed run of a follow-up row (order object ids, hex). */
let alarmsToRun: string[] = [];
let logins = 0;
let emptyObjects = 0;
/** The objects the next objectWrites run writes to (woken by /wake-writes), and those to release after it. */
let writeObjects: string[] = [];
let writeBatches = 0;
let merchant: BenchEnv | null = null;
let unifiedOrderReply: Promise<string> | null = null;

/** Replaces this isolate's fetch with the fake WeChat, for the merchant `env` describes. */
function installFakeWeChat(env: BenchEnv): void {
  if (merchant) return;
  merchant = env;
  (globalThis as { fetch: typeof fetch }).fetch = fakeWeChat as typeof fetch;
}

/** A successful unifiedorder answer, signed once: every order gets the same prepay_id. */
async function signedUnifiedOrderReply(env: BenchEnv): Promise<string> {
  const reply = { return_code: "SUCCESS", return_msg: "OK", appid: env.WECHAT_APPID, mch_id: env.WECHATPAY_MCHID, nonce_str: "5K8264ILTKCH16CQ2502SI8ZNMTM67VS", result_code: "SUCCESS", prepay_id: "wx201411101639507cbf6ffd8b0779950874", trade_type: "JSAPI" };
  return buildWeChatXml({ ...reply, sign: await signV2(reply, env.WECHATPAY_KEY, "HMAC-SHA256") });
}

/** WeChat, answered at once: code2session from the code, unifiedorder with the reply signed once. */
async function fakeWeChat(input: RequestInfo | URL, _init?: RequestInit): Promise<Response> {
  const url = new URL(input instanceof Request ? input.url : String(input));
  if (url.pathname === "/sns/jscode2session") {
    const code = url.searchParams.get("js_code") ?? "";
    return new Response(`{"openid":"o${code}","session_key":"c2Vzc2lvbi1rZXktZm9yLWJlbmNo"}`);
  }
  if (url.pathname === "/pay/unifiedorder" && merchant) {
    unifiedOrderReply ??= signedUnifiedOrderReply(merchant);
    return new Response(await unifiedOrderReply, { headers: { "content-type": "text/plain" } });
  }
  return new Response("not faked", { status: 500 });
}

class MemoryKv {
  readonly #values = new Map<string, string>();
  /** operations, as KV bills them */
  readonly counts = { reads: 0, writes: 0, deletes: 0 };
  async get(key: string, type?: string): Promise<unknown> {
    this.counts.reads++;
    const value = this.#values.get(key);
    if (value === undefined) return null;
    return type === "json" ? JSON.parse(value) : value;
  }
  async put(key: string, value: string): Promise<void> {
    this.counts.writes++;
    this.#values.set(key, value);
  }
  async delete(key: string): Promise<void> {
    this.counts.deletes++;
    this.#values.delete(key);
  }
}

/** A namespace whose stubs count their calls: each RPC method call is one billed Durable Object request. */
function countingNamespace<T extends Rpc.DurableObjectBranded | undefined>(namespace: DurableObjectNamespace<T>, calls: { count: number }): DurableObjectNamespace<T> {
  return new Proxy(namespace, {
    get: (target, name) =>
      name === "get"
        ? (id: DurableObjectId) => {
            const stub = target.get(id);
            return new Proxy(stub, {
              get: (s, method) => {
                const value = Reflect.get(s, method, s) as unknown;
                if (typeof value !== "function") return value;
                return (...args: unknown[]) => {
                  calls.count++;
                  // Reflect.apply: on an RPC stub, `.apply` would itself be a remote method.
                  return Reflect.apply(value as (...a: unknown[]) => unknown, s, args);
                };
              },
            });
          }
        : member(target, name),
  });
}

/** What one request of each kind of a paid order's life costs, as Cloudflare bills it. */
interface RequestCost extends StorageCounts {
  durableObjectRequests: number;
  kvReads: number;
  kvWrites: number;
}

/**
 * Untimed, after the timed runs: one paid order's requests (login, create, the notification, a
 * status read) and the alarm runs each change causes (the order's index entry), each counted on its
 * own; the alarm that follows a change is the runtime's, armed by that change for now.
 */
async function measureCosts(env: BenchEnv, ctx: ExecutionContext): Promise<Record<string, RequestCost>> {
  const counter = env.ORDERS.get(env.ORDERS.idFromName("bench-storage-counts")) as unknown as DurableObjectStub<OrderObject>;
  const kv = env.SESSIONS as unknown as MemoryKv;
  const calls = { count: 0 };
  const counted: BenchEnv = { ...env, ORDERS: countingNamespace(env.ORDERS, calls), USER_ORDERS: countingNamespace(env.USER_ORDERS, calls) };
  await counter.benchStorageCounts();
  // Alarms still held from the timed runs are not this order's.
  await counter.benchTakeHeldAlarms(Number.MAX_SAFE_INTEGER);
  const costs: Record<string, RequestCost> = {};
  const step = async (name: string, run: () => Promise<void>) => {
    const kvBefore = { ...kv.counts };
    calls.count = 0;
    await run();
    costs[name] = { durableObjectRequests: calls.count, kvReads: kv.counts.reads - kvBefore.reads, kvWrites: kv.counts.writes - kvBefore.writes + kv.counts.deletes - kvBefore.deletes, ...(await counter.benchStorageCounts()) };
  };
  // The alarm the last step armed, run as the runtime runs it: one Durable Object request.
  const followUp = async () => {
    const [id] = await counter.benchTakeHeldAlarms(1);
    if (id === undefined) throw new Error("cost run: the change armed no alarm");
    calls.count++;
    await (env.ORDERS.get(env.ORDERS.idFromString(id)) as unknown as DurableObjectStub<OrderObject>).benchRunAlarm();
  };
  let token = "";
  let order = { id: "", amount: 0 };
  const expect = async (what: string, response: Response, status: number) => {
    const text = await response.text();
    if (response.status !== status) throw new Error(`cost run, ${what}: HTTP ${response.status} ${text}`);
    return text;
  };
  await step("login", async () => {
    const body = JSON.stringify({ code: "costs1" });
    const response = await app.fetch(new Request("https://service.example/api/login", { method: "POST", headers: { "Content-Type": "application/json", "Content-Length": String(body.length), "CF-Connecting-IP": "10.200.0.1" }, body }), counted, ctx);
    token = (JSON.parse(await expect("login", response, 200)) as { token: string }).token;
  });
  await step("createOrder", async () => {
    const response = await app.fetch(
      new Request("https://service.example/api/orders", { method: "POST", headers: { "Content-Type": "application/json", "Content-Length": String(ORDER_BODY.length), Authorization: `Bearer ${token}`, "CF-Connecting-IP": "10.200.0.1" }, body: ORDER_BODY }),
      counted,
      ctx,
    );
    order = (JSON.parse(await expect("create order", response, 201)) as { order: { id: string; amount: number } }).order;
  });
  await step("createFollowUp", followUp);
  const xml = await signedNotification(env, { id: order.id, amount: order.amount, openid: "ocosts1" }, "4200009999999999999999999999");
  await step("notify", async () => {
    const response = await app.fetch(new Request("https://service.example/api/pay/notify", { method: "POST", headers: { "Content-Type": "text/xml", "Content-Length": String(new TextEncoder().encode(xml).length) }, body: xml }), counted, ctx);
    await expect("notify", response, 200);
  });
  await step("notifyFollowUp", followUp);
  await step("getOrder", async () => {
    await expect("get order", await app.fetch(new Request(`https://service.example/api/orders/${order.id}`, { headers: { Authorization: `Bearer ${token}` } }), counted, ctx), 200);
  });
  // A paid order's object keeps no alarm: nothing fires at its expiry.
  const left = await counter.benchTakeHeldAlarms(0);
  if ((await env.ORDERS.get(env.ORDERS.idFromName(order.id)).nextDueAt()) !== null || left.length > 0) throw new Error("cost run: the paid order still has an alarm");
  return costs;
}

const ORDER_BODY = '{"items":[{"sku":"coffee","quantity":2}]}';
const allow = { limit: async () => ({ success: true }) };
let appEnv: BenchEnv | null = null;

async function setup(env: BenchEnv): Promise<BenchEnv> {
  if (appEnv) return appEnv;
  installFakeWeChat(env);
  appEnv = { ...env, SESSIONS: new MemoryKv() as unknown as KVNamespace, LOGIN_RATE_LIMIT: allow as RateLimit, ORDER_RATE_LIMIT: allow as RateLimit, ADMIN_AUTH_RATE_LIMIT: allow as RateLimit };
  return appEnv;
}

/** One request of an endpoint, checked: a wrong answer stops the run instead of being timed. */
async function once(endpoint: Endpoint, env: BenchEnv, ctx: ExecutionContext, index: number): Promise<void> {
  if (endpoint === "healthz") {
    const response = await app.fetch(new Request("https://service.example/healthz"), env, ctx);
    await response.text();
    if (response.status !== 200) throw new Error(`healthz: HTTP ${response.status}`);
    return;
  }
  if (endpoint === "login") {
    const n = ++logins;
    const body = JSON.stringify({ code: `code${n}` });
    const response = await app.fetch(
      new Request("https://service.example/api/login", {
        method: "POST",
        // Content-Length as every client sends it (the bodies here are ASCII)
        headers: { "Content-Type": "application/json", "Content-Length": String(body.length), "CF-Connecting-IP": `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}` },
        body,
      }),
      env,
      ctx,
    );
    const answer = (await response.json()) as { token?: string };
    if (response.status !== 200 || !answer.token) throw new Error(`login: HTTP ${response.status}`);
    if (tokens.length < 200) tokens.push(answer.token);
    return;
  }
  if (endpoint === "createOrder") {
    const token = tokens[index % tokens.length]!;
    const response = await app.fetch(
      new Request("https://service.example/api/orders", {
        method: "POST",
        headers: { "Content-Type": "application/json", "Content-Length": String(ORDER_BODY.length), Authorization: `Bearer ${token}`, "CF-Connecting-IP": "10.9.8.7" },
        body: ORDER_BODY,
      }),
      env,
      ctx,
    );
    const body = (await response.json()) as { order?: { id: string; amount: number }; payment?: unknown };
    if (response.status !== 201 || !body.order || !body.payment) throw new Error(`create order: HTTP ${response.status} ${JSON.stringify(body)}`);
    orders.push({ id: body.order.id, amount: body.order.amount, openid: `o${index}`, token });
    return;
  }
  if (endpoint === "getOrder") {
    // the payer's app asking after paying: an order paid by the notification runs
    const paid = orders[index % Math.min(nextNotification, 200)];
    if (!paid) throw new Error("getOrder: no paid order yet (run the notifications first)");
    const response = await app.fetch(new Request(`https://service.example/api/orders/${paid.id}`, { headers: { Authorization: `Bearer ${paid.token}` } }), env, ctx);
    const body = (await response.json()) as { order?: { status: string } };
    if (response.status !== 200 || body.order?.status !== "paid") throw new Error(`getOrder: HTTP ${response.status} ${JSON.stringify(body)}`);
    return;
  }
  if (endpoint === "objectWrites") {
    const name = writeObjects[index];
    if (name === undefined || (await env.EMPTY.get(env.EMPTY.idFromName(name)).paymentWrites(Date.now())) !== 1) throw new Error("objectWrites: no woken object");
    return;
  }
  if (endpoint === "newEmptyObject") {
    // by name, as the order objects are addressed
    if ((await env.EMPTY.get(env.EMPTY.idFromName(`empty-${++emptyObjects}`)).ping()) !== 1) throw new Error("newEmptyObject: wrong answer");
    return;
  }
  if (endpoint === "createFollowUp" || endpoint === "notifyFollowUp") {
    const id = alarmsToRun[index];
    if (id === undefined) throw new Error(`${endpoint}: no held alarm left`);
    await (env.ORDERS.get(env.ORDERS.idFromString(id)) as unknown as DurableObjectStub<OrderObject>).benchRunAlarm();
    return;
  }
  if (endpoint === "notifyV3") {
    const notification = v3Notifications[nextV3Notification++];
    if (!notification) throw new Error("notifyV3: no signed notification left");
    const response = await app.fetch(new Request("https://service.example/api/v3/pay/notify", { method: "POST", headers: notification.headers, body: notification.body }), v3Env(env), ctx);
    const text = await response.text();
    if (response.status !== 204) throw new Error(`notifyV3: HTTP ${response.status} ${text}`);
    return;
  }
  const notification = endpoint === "notify" ? notifications[nextNotification++] : notifications[0];
  if (!notification) throw new Error("notify: no signed notification left (create more orders first)");
  // A forged copy: the first notification with its sign's last character changed, refused before any storage.
  const xml = endpoint === "notifyForged" ? notification.xml.replace(/([0-9A-F])(\]\]><\/sign>)/, (_, c: string, end: string) => (c === "0" ? "1" : "0") + end) : notification.xml;
  const response = await app.fetch(
    new Request("https://service.example/api/pay/notify", { method: "POST", headers: { "Content-Type": "text/xml", "Content-Length": notification.length }, body: xml }),
    env,
    ctx,
  );
  const text = await response.text();
  const expected = endpoint === "notifyForged" ? [400, "FAIL"] : [200, "SUCCESS"];
  if (response.status !== expected[0] || !text.includes(`<return_code><![CDATA[${expected[1]}]]></return_code>`)) throw new Error(`${endpoint}: HTTP ${response.status} ${text}`);
}

/** A payment notification for `order`, signed by the simulator's code. */
async function signedNotification(env: BenchEnv, order: { id: string; amount: number; openid: string }, transactionId: string): Promise<string> {
  const fields = {
    return_code: "SUCCESS", appid: env.WECHAT_APPID, mch_id: env.WECHATPAY_MCHID, nonce_str: crypto.randomUUID().replaceAll("-", ""),
    sign_type: "HMAC-SHA256", result_code: "SUCCESS", openid: order.openid, is_subscribe: "N", trade_type: "JSAPI", bank_type: "CFT",
    total_fee: String(order.amount), fee_type: "CNY", cash_fee: String(order.amount), transaction_id: transactionId,
    out_trade_no: order.id, time_end: "20261122120000",
  };
  return buildWeChatXml({ ...fields, sign: await signV2(fields, env.WECHATPAY_KEY, "HMAC-SHA256") });
}

/** The app's environment switched to API v3 (the test project's settings): the v3 notification's own configuration, parsed once per isolate like the v2 one. */
let v3Environment: BenchEnv | null = null;
function v3Env(env: BenchEnv): BenchEnv {
  v3Environment ??= { ...env, ...V3_BINDINGS };
  return v3Environment;
}

/**
 * A v3 TRANSACTION.SUCCESS notification for `order`, as WeChat Pay sends it: the transaction
 * encrypted with AEAD_AES_256_GCM under the APIv3 key, the body signed (SHA256withRSA) with the WeChat
 * Pay public key's private half, by the simulator's own crypto (sim/src/v3/crypto.ts).
 */
async function signedV3Notification(env: BenchEnv, order: { id: string; amount: number; openid: string }, transactionId: string): Promise<{ body: string; headers: Record<string, string> }> {
  const transaction = {
    appid: env.WECHAT_APPID, mchid: env.WECHATPAY_MCHID, out_trade_no: order.id, transaction_id: transactionId, trade_type: "JSAPI",
    trade_state: "SUCCESS", trade_state_desc: "支付成功", bank_type: "OTHERS", attach: "", success_time: "2026-11-22T12:00:00+08:00",
    payer: { openid: order.openid }, amount: { total: order.amount, payer_total: order.amount, currency: "CNY", payer_currency: "CNY" },
  };
  const nonce = crypto.randomUUID().replaceAll("-", "").slice(0, 12);
  const ciphertext = await aeadEncrypt(await importApiV3Key(V3_SIM_SETTINGS.apiV3Key), JSON.stringify(transaction), nonce, "transaction");
  const body = JSON.stringify({
    id: crypto.randomUUID(), create_time: "2026-11-22T12:00:01+08:00", resource_type: "encrypt-resource", event_type: "TRANSACTION.SUCCESS", summary: "支付成功",
    resource: { original_type: "transaction", algorithm: "AEAD_AES_256_GCM", ciphertext, associated_data: "transaction", nonce },
  });
  // Fresh for the service's 5-minute window: signed just before the v3 runs.
  const timestamp = String(Math.floor(Date.now() / 1000));
  const headerNonce = crypto.randomUUID().replaceAll("-", "");
  wechatPayKey ??= importPrivateKey(pemToDer(WECHATPAY_PUBKEY_PRIVATE, "PRIVATE KEY"));
  const signature = await rsaSign(await wechatPayKey, signedMessage([timestamp, headerNonce, body]));
  return {
    body,
    headers: {
      "Content-Type": "application/json", "Content-Length": String(new TextEncoder().encode(body).length), "Wechatpay-Timestamp": timestamp, "Wechatpay-Nonce": headerNonce,
      "Wechatpay-Signature": signature, "Wechatpay-Serial": V3_SIM_SETTINGS.publicKeyId, "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
    },
  };
}
let wechatPayKey: Promise<CryptoKey> | null = null;

/**
 * Signs a payment notification for every order that has none yet (untimed): v2 for the first
 * `v2Count` orders, v3 for the rest. Returns how many of each are left to send.
 */
async function signNotifications(env: BenchEnv, v2Count: number): Promise<{ v2: number; v3: number }> {
  for (const order of orders.slice(notifications.length, v2Count)) {
    const xml = await signedNotification(env, order, `4200000${String(notifications.length).padStart(21, "0")}`);
    notifications.push({ orderId: order.id, xml, length: String(new TextEncoder().encode(xml).length) });
  }
  for (const order of orders.slice(Math.max(v2Count, notifications.length) + v3Notifications.length)) {
    v3Notifications.push({ orderId: order.id, ...(await signedV3Notification(env, order, `4200001${String(v3Notifications.length).padStart(21, "0")}`)) });
  }
  return { v2: notifications.length - nextNotification, v3: v3Notifications.length - nextV3Notification };
}

export default {
  async fetch(request: Request, env: BenchEnv, ctx: ExecutionContext): Promise<Response> {
    const appEnvironment = await setup(env);
    const url = new URL(request.url);
    if (url.pathname === "/sign-notifications") return Response.json({ available: await signNotifications(env, Number(url.searchParams.get("v2") ?? "0")) });
    if (url.pathname === "/wake-orders") {
      // Untimed: brings the objects of the next `count` notifications' orders into memory. A payment
      // notification usually comes seconds after its order was created, while the object is still in
      // memory; waking an evicted one adds the runtime's cost that newEmptyObject measures.
      const count = Number(url.searchParams.get("count") ?? "0");
      const next = url.searchParams.get("version") === "v3" ? v3Notifications.slice(nextV3Notification, nextV3Notification + count) : notifications.slice(nextNotification, nextNotification + count);
      for (const n of next) await env.ORDERS.get(env.ORDERS.idFromName(n.orderId)).read();
      return Response.json({ woken: count });
    }
    if (url.pathname === "/wake-writes") {
      // Untimed: the previous run's objects discarded (local SQLite fails past ~2,200 open objects),
      // then `count` new ones given a pending order's two tables and brought into memory.
      for (const name of writeObjects) await env.EMPTY.get(env.EMPTY.idFromName(name)).release().catch(() => undefined);
      const count = Number(url.searchParams.get("count") ?? "0");
      const batch = ++writeBatches;
      writeObjects = Array.from({ length: count }, (_, i) => `write-${batch}-${i}`);
      for (const name of writeObjects) await env.EMPTY.get(env.EMPTY.idFromName(name)).wakeForWrites();
      return Response.json({ woken: count });
    }
    if (url.pathname === "/take-alarms") {
      // Untimed: the alarms the next follow-up run will run, oldest first.
      const count = Number(url.searchParams.get("count") ?? "0");
      alarmsToRun = await (env.ORDERS.get(env.ORDERS.idFromName("bench-storage-counts")) as unknown as DurableObjectStub<OrderObject>).benchTakeHeldAlarms(count);
      if (alarmsToRun.length < count) throw new Error(`only ${alarmsToRun.length} held alarms for ${count}`);
      return Response.json({ taken: alarmsToRun.length });
    }
    if (url.pathname === "/costs") return Response.json(await measureCosts(appEnvironment, ctx));
    if (url.pathname === "/counts") return Response.json({ tokens: tokens.length, orders: orders.length, notifications: notifications.length, used: nextNotification, v3Notifications: v3Notifications.length, v3Used: nextV3Notification });
    const endpoint = url.searchParams.get("endpoint") as Endpoint;
    if (!ENDPOINTS.includes(endpoint)) return new Response("unknown endpoint", { status: 404 });
    const count = Number(url.searchParams.get("count") ?? "100");
    const started = performance.now();
    for (let i = 0; i < count; i++) await once(endpoint, appEnvironment, ctx, i);
    const ms = performance.now() - started;
    return Response.json({ endpoint, count, ms, msPerRequest: ms / count });
  },
};
