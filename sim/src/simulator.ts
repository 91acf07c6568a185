// The WeChat simulator core: one in-memory instance serving the login and mini-program server APIs, v2 pay and refund APIs and,
// when configured, API v3 (as on api.weixin.qq.com and api.mch.weixin.qq.com) plus the /__sim control API. It shares no code with
// the service it tests. Time and notification delivery are injected so tests can drive them.
import { Hono } from "hono";
import { CallLog } from "./call-log";
import { SimTime, systemClock, type SimClock } from "./clock";
import type { SimContext } from "./context";
import { controlRoutes } from "./control";
import { nextDueAt, runDueWork } from "./due-work";
import { FaultQueue, SimulatedDropError } from "./faults";
import { loginRoutes } from "./login";
import { mpRoutes } from "./mp";
import { checkPushKeys, mpControlRoutes } from "./mp-control";
import { Notifier } from "./notifier";
import { payRoutes } from "./pay";
import { Persistence, type SimStore } from "./persistence";
import { refundRoutes } from "./refund";
import { defaultSettings } from "./settings";
import { createState } from "./state";
import { V3Platform, type SimV3Options } from "./v3/platform";
import { v3Routes } from "./v3/routes";

export type { SimClock } from "./clock";
export { SimulatedDropError } from "./faults";
export { RETRY_INTERVALS_S } from "./notifier";
export { SqlSimStore, type SimStore } from "./persistence";
export type { SimV3Options } from "./v3/platform";

export interface SimulatorOptions {
  appid: string;
  secret: string;
  mchId: string;
  key: string;
  /** ms clock; default Date.now. Tests pass a manual clock. */
  clock?: SimClock;
  /** how a notification is POSTed to notify_url; default globalThis.fetch. Tests route it into the service in-process. */
  deliver?: (url: string, init: RequestInit) => Promise<Response>;
  /** Real ms to wait for a notification reply before counting the attempt as failed; default 5000. */
  notifyTimeoutMs?: number;
  /**
   * Where the state lives between instances: loaded now, written after every request and run of
   * due work, and before each notification POST. Default: none, the state is in memory only.
   */
  store?: SimStore;
  /**
   * API v3: the APIv3 key, the merchant's certificate serial and public (or private) key, and
   * WeChat's keys (platform certificate and key, the WeChat Pay public key pair). Without it the
   * /v3 endpoints answer 404 "not simulated" and v2 is unaffected.
   */
  v3?: SimV3Options;
  /** The mini program's message push Token (3–32 letters or digits); without it /__sim/push answers 409. */
  pushToken?: string;
  /** The mini program's EncodingAESKey (43 letters or digits) for safe-mode pushes; without it only plain pushes. */
  pushEncodingAesKey?: string;
}

export interface Simulator {
  /** Serves the WeChat APIs and the /__sim control API. Rejects with SimulatedDropError under a `drop` fault. */
  fetch(request: Request): Promise<Response>;
  /**
   * Runs everything due at the current clock time (notification attempts and retries, scheduled
   * refund completions and the notifications they send); resolves when they finished.
   */
  runDue(): Promise<void>;
  /** sim-time ms of the next due notification attempt or refund completion, or null. */
  nextDueAt(): number | null;
  /** The current sim time in ms (the clock plus what /__sim/clock/advance added). */
  now(): number;
}

export function createSimulator(options: SimulatorOptions): Simulator {
  const config = { appid: options.appid, secret: options.secret, mchId: options.mchId, key: options.key };
  for (const [name, value] of Object.entries(config)) {
    if (!value) throw new Error(`createSimulator: ${name} is required`);
  }
  const pushKeys = { token: options.pushToken ?? null, encodingAesKey: options.pushEncodingAesKey ?? null };
  checkPushKeys(pushKeys);
  const time = new SimTime(options.clock ?? systemClock);
  const settings = defaultSettings();
  const v3 = options.v3 ? new V3Platform(options.v3, settings, () => time.now()) : null;
  const state = createState();
  const faults = new FaultQueue();
  const deliver = options.deliver ?? ((url, init) => fetch(url, init));
  // What led to a notification or push is stored before it leaves: the merchant may query it at once.
  const saveAndDeliver = (url: string, init: RequestInit) => {
    persistence?.save();
    return deliver(url, init);
  };
  const notifyTimeoutMs = options.notifyTimeoutMs ?? 5000;
  const notifier = new Notifier({
    config,
    time,
    state,
    faults,
    deliver: saveAndDeliver,
    v3,
    timeoutMs: notifyTimeoutMs,
  });
  const ctx: SimContext = {
    config,
    settings,
    time,
    state,
    calls: new CallLog(),
    faults,
    notifier,
    v3,
    droppedResponses: new WeakMap(),
  };

  const persistence = options.store ? new Persistence(ctx, options.store) : null;
  persistence?.load();
  const around = <T>(work: () => Promise<T>) => (persistence ? persistence.around(work) : work());

  const app = new Hono();
  app.route("/", loginRoutes(ctx));
  app.route("/", mpRoutes(ctx));
  app.route("/", payRoutes(ctx));
  app.route("/", refundRoutes(ctx));
  if (v3) app.route("/", v3Routes(ctx, v3));
  app.route("/", controlRoutes(ctx));
  app.route("/", mpControlRoutes(ctx, { push: pushKeys, deliver: saveAndDeliver, timeoutMs: notifyTimeoutMs }));
  app.notFound((c) => c.json({ error: "NOT_FOUND", message: `${c.req.method} ${c.req.path} is not simulated` }, 404));

  return {
    async fetch(request) {
      const response = await around(async () => app.fetch(request));
      const dropped = ctx.droppedResponses.get(response);
      if (dropped) throw new SimulatedDropError(dropped);
      return response;
    },
    runDue: () => around(() => runDueWork(ctx)),
    nextDueAt: () => nextDueAt(ctx),
    now: () => time.now(),
  };
}
