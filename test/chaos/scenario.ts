// The chaos scenario, shared by the suite's small run (chaos.test.ts) and `npm run chaos`
// (chaos.chaos.ts): many users log in, place orders (with and without Idempotency-Key, sometimes
// twice), then pay (notifications delivered, duplicated, dropped, held and released out of order,
// or left to the retry schedule), pay with the notification lost, abandon, close, race a payment
// against a close, or pay and get refunds from an operator, while faults are injected at random
// into the simulated WeChat. An operator ships some paid orders (right after payment or later, a
// double click, a re-shipment) while the shipping APIs fail and the access token is revoked, and
// WeChat pushes settlements. Then everything is settled (time moved past every expiry, every
// order's alarm run until nothing is due, the simulator's retries run out) and our state is
// compared with the simulator's, order by order. Every decision comes from a seeded PRNG.
import { APPLICABLE, type FaultApi } from "../../sim/src/faults";
import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { vi } from "vitest";
import type { HistoryEntry, OrderRecord, RefundView } from "../../src/orders/order-record";
import { checkTransition, isPaidStatus, type OrderStatus } from "../../src/orders/order-state";
import { orderObject } from "../../src/orders/order-store";
import { startHarness, type Harness, type MerchantDelivery } from "../support/harness";
import { preventPrototypeProxyChains } from "./proxy-chain-workaround";
import { Rng, deal, deriveSeed } from "./rng";

export interface ChaosOptions {
  /** Users, each placing one purchase (some place a second order by accident). */
  readonly users: number;
  readonly seed: number;
  /** Users running at the same time; also the size of one wave (hold windows are per wave). */
  readonly concurrency: number;
  /**
   * Harsher faults, as shares of the faults injected at random: bursts (5–9 in a row, so that the
   * service's 7 s retry budget runs out and it answers 502 / leaves the work to its alarm) and
   * delays that outlast the service's 3 s per-call time-out (WeChat acts after the caller gave up).
   * Each costs seconds of real time. Default: none.
   */
  readonly harsh?: { readonly burst: number; readonly timeout: number };
  /** Progress lines (phase changes); the final report is returned, not logged. */
  readonly progress?: (line: string) => void;
}

export interface Mismatch {
  readonly orderId: string | null;
  readonly check: string;
  readonly detail: string;
}

export interface ChaosReport {
  readonly seed: number;
  readonly mismatches: Mismatch[];
  readonly figures: Figures;
  /** The figures as printable text. */
  readonly text: string;
}

// --- what the scenario does ---------------------------------------------------------------------

const ACTIONS = {
  pay: 26,
  pay_lost: 14,
  abandon: 14,
  close: 14,
  pay_close_race: 6,
  pay_refund: 26,
} as const;
type Action = keyof typeof ACTIONS;

/** How the payment notification of a paying user is disturbed (besides the wave's hold window). */
const NOTIFY_MODES = { normal: 45, duplicates: 25, drop_first: 20, drop_first_two: 10 } as const;
type NotifyMode = keyof typeof NOTIFY_MODES;

const REFUND_PLANS = { full: 25, partial: 25, split: 25, over: 12, race: 13 } as const;
type RefundPlan = keyof typeof REFUND_PLANS;

/** A wave's hold window: none, or hold every first notification attempt and then release / discard. */
type HoldMode = "none" | "reverse" | "shuffle" | "discard";

/**
 * What the operator does about shipping a paid order, dealt among the users whose order can ship
 * (paid, and not refunded in full: WeChat refuses to ship those): nothing; one request, right after
 * payment (WeChat does not know the payment for a minute: the alarm retries) or later; the same
 * request twice at once (a double click); or a first request and, once it landed, a re-shipment and
 * a third request, which must be refused.
 */
const SHIP_PLANS = { none: 60, at_once: 12, later: 12, twice: 8, reship: 8 } as const;
type ShipPlan = keyof typeof SHIP_PLANS;

/** How the goods travel: one parcel, 2–3 parcels (split delivery), or no parcel (itemDesc only). */
const DELIVERIES = { express: 35, split: 20, virtual: 15, same_city: 15, pickup: 15 } as const;
type Delivery = keyof typeof DELIVERIES;

/**
 * WeChat's settlement pushes for an order: settled (once, or twice: a duplicate at once or a turn
 * later), receipt confirmed then settled a turn later, or receipt confirmed only.
 */
const PUSH_PLANS = { settled: 35, settled_twice: 25, received_then_settled: 25, received: 15 } as const;
type PushPlan = keyof typeof PUSH_PLANS;

/** Refund plans that leave part of the money paid, so the order can still ship. */
const SHIPPABLE_REFUND_PLANS: ReadonlySet<RefundPlan> = new Set(["partial", "over", "race"]);

/** The mini-program APIs the shipping work calls; the shipping turns queue faults for these. */
const SHIPPING_APIS = ["upload_shipping_info", "get_order", "stable_token"] as const;

/**
 * The faults injected at random: every kind the simulator accepts, for every API the service calls
 * in the run's WeChat Pay version (not the other version's pay APIs, which it never calls) but login.
 */
function faultsOf(run: Run): Readonly<Record<string, readonly string[]>> {
  return Object.fromEntries(Object.entries(APPLICABLE).filter(([api]) => api !== "code2session" && run.h.pay.speaks(api as FaultApi)));
}
/** Real milliseconds of a `delay` fault: short, so runs stay fast (the service's per-call time-out is 3 s). */
const DELAY_MS = { min: 20, max: 150, pastTimeoutMin: 3200, pastTimeoutMax: 3600 } as const;

const SEC = 1000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;
/** Between two refunds of one order WeChat wants a minute; the service keeps 61 s. */
const REFUND_TURN_MS = 62 * SEC;
/** After the last expiry: the service checks at expiry + 60 s. */
const PAST_EXPIRY_MS = 2 * MIN;
/** WeChat's notification retries span 24 h 4 min. */
const RETRIES_RUN_OUT_MS = 25 * HOUR;
const SETTLE_ROUNDS = 80;
const REFUND_ROUNDS = 15;
/** A shipping turn: more than WeChat's minute before it knows a payment. */
const SHIPPING_TURN_MS = 62 * SEC;
const SHIPPING_ROUNDS = 40;
/**
 * Turns in which shipping faults are queued and the token revoked. Later turns let the uploads'
 * retries finish: a fault a turn would keep the last upload waiting failing for hours.
 */
const SHIPPING_FAULT_TURNS = 3;
/** Turns an operator waits for a payment to reach us before giving up on shipping that order. */
const SHIPPING_WAIT_TURNS = 3;

// --- figures ------------------------------------------------------------------------------------

type Counter = Record<string, number>;

export interface Figures {
  users: number;
  waves: number;
  orders: number;
  ordersKnownToWeChat: number;
  statusHere: Counter;
  tradeStateAtWeChat: Counter;
  actions: Counter;
  notifyModes: Counter;
  payments: number;
  paidTransitionsBySource: Counter;
  lostNotifications: { total: number; recoveredByQuery: number; recoveredByAlarm: number; recoveredByClose: number; notRecovered: number };
  paidWithoutNotification: number;
  paymentNotifications: Counter;
  refundNotifications: Counter;
  holdWaves: Counter;
  heldPostsReleased: number;
  heldPostsDiscarded: number;
  refunds: Counter;
  refundedFen: number;
  refundSuccessBySource: Counter;
  faultsInjected: Record<string, { injected: number; consumed: number; seenInCallLog: number }>;
  faultsInjectedTotal: number;
  faultShapes: Counter;
  faultsConsumedTotal: number;
  http: Counter;
  alarmsRun: number;
  idempotencyReplays: Counter;
  virtualMinutes: number;
  realSeconds: number;
  /** the merchant's receiver: its answers, and the events delivered by type */
  merchantAnswers: Counter;
  eventsDelivered: Counter;
  shipping: ShippingFigures;
}

export interface ShippingFigures {
  plans: Counter;
  deliveries: Counter;
  /** the operator's requests: step, then the answers (a double click has two) */
  requests: Counter;
  /** requests the service accepted (202), and the uploads WeChat recorded */
  accepted: number;
  uploadsAtWeChat: number;
  /** calls WeChat saw, by outcome or injected fault */
  uploadCalls: Counter;
  getOrderCalls: Counter;
  tokenCalls: Counter;
  /** upload calls beyond one per accepted request */
  retries: number;
  tokenRevocations: Counter;
  pushes: Counter;
  statusHere: Counter;
  turns: number;
}

function count(counter: Counter, key: string, by = 1): void {
  counter[key] = (counter[key] ?? 0) + by;
}

// --- the run ------------------------------------------------------------------------------------

interface User {
  readonly index: number;
  readonly name: string;
  readonly ip: string;
  readonly rng: Rng;
  readonly action: Action;
  readonly plan: RefundPlan;
  readonly ship: ShipPlan;
  readonly delivery: Delivery;
  /** the user's own stream for shipping and settlement, apart from `rng` so that the rest of the run draws as before */
  readonly shipRng: Rng;
  token: string | null;
}

interface Placed {
  readonly id: string;
  readonly amount: number;
  prepayId: string | null;
}

interface RefundJob {
  readonly orderId: string;
  readonly amount: number;
  readonly plan: RefundPlan;
  readonly rng: Rng;
}

type ShipStep = "first" | "reship" | "third";

/** A shipping request's body, as the operator sends it. */
interface ShippingBody {
  readonly logisticsType: string;
  readonly packages?: readonly { trackingNo: string; expressCompany: string; itemDesc: string; receiverContact?: string }[];
  readonly itemDesc?: string;
  readonly split?: boolean;
  readonly isAllDelivered?: boolean;
}

/** What the simulator answers about one push it sent. */
interface SimPush {
  readonly status: number | null;
  readonly reply: string | null;
  readonly error: string | null;
  readonly acknowledged: boolean;
  /** the event as WeChat writes it (JSON) */
  readonly message: string;
}

/** A paid order that can ship: what its operator plans, what was accepted, and WeChat's pushes about it. */
interface ShipJob {
  readonly orderId: string;
  readonly plan: ShipPlan;
  readonly delivery: Delivery;
  readonly rng: Rng;
  /** requests still to make, in order */
  steps: ShipStep[];
  /** the bodies of the requests the service accepted (202), in order */
  readonly accepted: ShippingBody[];
  /** turns spent waiting for the payment to reach us */
  waited: number;
  readonly push: PushPlan | null;
  readonly pushes: SimPush[];
}

interface Run {
  readonly h: Harness;
  readonly opts: ChaosOptions;
  readonly startedAt: number;
  readonly realStart: number;
  clock: number;
  readonly mismatches: Mismatch[];
  readonly figures: Figures;
  /** api:kind → times injected */
  readonly injected: Counter;
  readonly products: readonly (readonly [string, number])[];
  /** what each order's user meant to do with it */
  readonly intent: Map<string, { action: Action | "double_tap_abandoned"; lost: boolean }>;
  readonly refundOrders: Set<string>;
  deferredRefunds: RefundJob[];
  readonly users: User[];
  /** every paid order that can ship, whether its operator ships it or not */
  readonly shipJobs: ShipJob[];
}

const ADMIN = () => env.ADMIN_TOKEN ?? "";

export async function runChaos(opts: ChaosOptions): Promise<ChaosReport> {
  const restoreProxy = preventPrototypeProxyChains();
  const h = startHarness();
  vi.useFakeTimers({ toFake: ["Date"] });
  const start = Date.now();
  vi.setSystemTime(start);
  const products = Object.entries(JSON.parse(env.PRODUCTS ?? "{}") as Record<string, { price: number }>).map(
    ([sku, p]) => [sku, p.price] as const,
  );
  const master = new Rng(deriveSeed(opts.seed, 0));
  const actions = deal(master, opts.users, ACTIONS);
  // The refund plans are dealt among the paying-and-refunding users, so small runs see each kind.
  const plans = deal(master, actions.filter((a) => a === "pay_refund").length, REFUND_PLANS);
  const refundPlans = actions.map((a) => (a === "pay_refund" ? plans.shift()! : "full"));
  // Shipping plans are dealt among the users whose order can ship, from a stream of their own.
  const canShip = actions.map((a, i) => a !== "abandon" && a !== "close" && (a !== "pay_refund" || SHIPPABLE_REFUND_PLANS.has(refundPlans[i]!)));
  const shipDealer = new Rng(deriveSeed(opts.seed, 5));
  const shipPlans = deal(shipDealer, canShip.filter(Boolean).length, SHIP_PLANS);
  const deliveries = deal(shipDealer, shipPlans.filter((p) => p !== "none").length, DELIVERIES);
  const shipPlanOf = (i: number): ShipPlan => (canShip[i] ? shipPlans.shift()! : "none");
  const run: Run = {
    h,
    opts,
    startedAt: start,
    realStart: performance.now(),
    clock: start,
    mismatches: [],
    figures: emptyFigures(opts.users),
    injected: {},
    products,
    intent: new Map(),
    refundOrders: new Set(),
    deferredRefunds: [],
    users: actions.map((action, index) => {
      const ship = shipPlanOf(index);
      return {
        index,
        name: `chaos-${opts.seed}-${index}`,
        ip: `10.77.${Math.floor(index / 250)}.${(index % 250) + 1}`,
        rng: new Rng(deriveSeed(opts.seed, 1, index)),
        action,
        plan: refundPlans[index]!,
        ship,
        delivery: ship === "none" ? "express" : deliveries.shift()!,
        shipRng: new Rng(deriveSeed(opts.seed, 5, index)),
        token: null,
      };
    }),
    shipJobs: [],
  };
  // The merchant's backend is unreliable too: a seeded share of deliveries fail (500, 503, a refused
  // connection). Hanging receivers are left to the merchant-event tests: each costs the 10 s time-out.
  const merchantRng = new Rng(deriveSeed(opts.seed, 4));
  run.h.merchant.answer = () => {
    const roll = merchantRng.int(1, 100);
    const answer = roll <= 15 ? 500 : roll <= 20 ? 503 : roll <= 25 ? "refuse" : 204;
    count(run.figures.merchantAnswers, String(answer));
    return answer;
  };
  try {
    await shop(run, master);
    await refundTurns(run);
    // Listed with the users' sessions while they last; shipping makes no orders.
    const ids = await enumerateOrders(run);
    await shippingTurns(run);
    await settlementPushes(run);
    await settle(run, ids);
    await compare(run, ids);
  } finally {
    vi.useRealTimers();
    vi.unstubAllGlobals();
    restoreProxy();
  }
  run.figures.virtualMinutes = Math.round((run.clock - run.startedAt) / MIN);
  run.figures.realSeconds = Math.round((performance.now() - run.realStart) / 100) / 10;
  return { seed: opts.seed, mismatches: run.mismatches, figures: run.figures, text: render(run) };
}

// --- time ---------------------------------------------------------------------------------------

/** Moves the one clock (the service's Date, and so the simulator's) and lets the simulator do what is due. */
async function setClock(run: Run, at: number): Promise<void> {
  run.clock = Math.max(run.clock, at);
  vi.setSystemTime(run.clock);
  await run.h.simControl("/__sim/clock/advance", { seconds: 0 });
}

const advance = (run: Run, ms: number) => setClock(run, run.clock + ms);

function progress(run: Run, line: string): void {
  run.opts.progress?.(`[${((performance.now() - run.realStart) / 1000).toFixed(1)} s] ${line}`);
}

// --- calls --------------------------------------------------------------------------------------

interface Answer {
  readonly status: number;
  /** the parsed JSON body (or the text), read loosely: the contract's shapes are checked by the other tests */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly body: any;
}

function mismatch(run: Run, orderId: string | null, check: string, detail: string): void {
  run.mismatches.push({ orderId, check, detail });
}

async function call(run: Run, route: string, path: string, init: RequestInit & { json?: unknown; token?: string }, orderId: string | null = null): Promise<Answer> {
  const response = await run.h.call(path, init);
  const text = await response.text();
  let body: unknown = null;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  count(run.figures.http, `${route} ${response.status}`);
  // 502 / 504 are the contract's answers to a failing WeChat; anything else 5xx (or 429) is a defect.
  if ((response.status >= 500 && response.status !== 502 && response.status !== 504) || response.status === 429) {
    mismatch(run, orderId, "http_status", `${route} answered ${response.status}: ${text.slice(0, 200)}`);
  }
  return { status: response.status, body };
}

function userCall(run: Run, user: User, route: string, path: string, init: RequestInit & { json?: unknown } = {}, orderId: string | null = null) {
  const headers = new Headers(init.headers);
  headers.set("CF-Connecting-IP", user.ip);
  return call(run, route, path, { ...init, headers, token: user.token ?? "" }, orderId);
}

function adminCall(run: Run, route: string, path: string, init: RequestInit & { json?: unknown } = {}, orderId: string | null = null) {
  return call(run, route, path, { ...init, token: ADMIN() }, orderId);
}

async function inject(run: Run, api: string, kind: string, times: number, delayMs?: number): Promise<void> {
  await run.h.simControl("/__sim/faults", { api, kind, times, ...(delayMs !== undefined ? { delayMs } : {}) });
  count(run.injected, `${api}:${kind}`, times);
}

async function injectRandomFaults(run: Run, rng: Rng, n: number, apis?: readonly string[]): Promise<void> {
  const faults = faultsOf(run);
  for (let i = 0; i < n; i++) {
    const api = rng.pick(apis ?? Object.keys(faults));
    const kind = rng.pick(faults[api]!);
    const harsh = run.opts.harsh;
    const burst = harsh !== undefined && rng.chance(harsh.burst);
    const long = harsh !== undefined && kind === "delay" && !api.includes("notify") && rng.chance(harsh.timeout);
    if (burst) count(run.figures.faultShapes, "burst");
    if (long) count(run.figures.faultShapes, "past_time_out");
    const delayMs = kind !== "delay" ? undefined : long ? rng.int(DELAY_MS.pastTimeoutMin, DELAY_MS.pastTimeoutMax) : rng.int(DELAY_MS.min, DELAY_MS.max);
    await inject(run, api, kind, burst ? rng.int(5, 9) : rng.int(1, 2), delayMs);
  }
}

/** Runs `work` over `items`, at most `n` at a time. */
async function pool<T>(items: readonly T[], n: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(n, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await work(item);
    }
  });
  await Promise.all(workers);
}

// --- phase 1: shopping, in waves of `concurrency` users -----------------------------------------

async function shop(run: Run, master: Rng): Promise<void> {
  const { concurrency } = run.opts;
  const waves = Math.ceil(run.users.length / concurrency);
  run.figures.waves = waves;
  for (let wave = 0; wave < waves; wave++) {
    const users = run.users.slice(wave * concurrency, (wave + 1) * concurrency);
    // The first waves cover each hold mode; later ones draw it.
    const fixed: HoldMode[] = ["reverse", "none", "shuffle", "discard"];
    const hold: HoldMode = fixed[wave] ?? master.weighted({ none: 55, reverse: 18, shuffle: 18, discard: 9 });
    count(run.figures.holdWaves, hold);
    if (hold !== "none") await run.h.simControl("/__sim/notifications/hold", {});
    await injectRandomFaults(run, master, master.int(1, Math.ceil(users.length / 2) + 1));

    await Promise.all(users.map((user) => shopper(run, user)));

    // WeChat finishes this wave's refunds (5 s); their notifications go out, or are held.
    await advance(run, 6 * SEC);
    if (hold === "reverse" || hold === "shuffle") {
      const released = await run.h.simControl<{ released: unknown[] }>("/__sim/notifications/release", { order: hold, seed: master.seed() });
      run.figures.heldPostsReleased += released.released.length;
    } else if (hold === "discard") {
      // Never released: the retry schedule must deliver them.
      const dropped = await run.h.sim.fetch(new Request("http://127.0.0.1:8788/__sim/notifications/held", { method: "DELETE" }));
      run.figures.heldPostsDiscarded += ((await dropped.json()) as { discarded: unknown[] }).discarded.length;
    }
    progress(run, `wave ${wave + 1}/${waves} (${hold}) done: ${run.intent.size} orders so far`);
  }
}

function randomItems(rng: Rng, products: Run["products"]): { sku: string; quantity: number }[] {
  const skus = rng.shuffle(products.map(([sku]) => sku)).slice(0, rng.int(1, Math.min(3, products.length)));
  return skus.map((sku) => ({ sku, quantity: rng.int(1, 3) }));
}

function prepayOf(body: { payment?: { package?: string } } | null): string | null {
  const pkg = body?.payment?.package;
  return typeof pkg === "string" && pkg.startsWith("prepay_id=") ? pkg.slice("prepay_id=".length) : null;
}

async function shopper(run: Run, user: User): Promise<void> {
  const rng = user.rng;
  const { code } = await run.h.simControl<{ code: string }>("/__sim/login-codes", { user: user.name });
  const login = await call(run, "login", "/api/login", { json: { code }, headers: { "CF-Connecting-IP": user.ip } });
  if (login.status !== 200) {
    mismatch(run, null, "login", `user ${user.name}: ${login.status}`);
    return;
  }
  user.token = login.body.token as string;

  const items = randomItems(rng, run.products);
  const key = rng.chance(0.5) ? `chaos-${run.opts.seed}-${user.index}-${rng.int(0, 1e9)}` : null;
  // The same request twice: a retry with its Idempotency-Key (after the first answer, or racing
  // it), or a double tap without one.
  const repeat = rng.chance(0.25);
  const together = repeat && key !== null && rng.chance(0.5);
  let placed: Placed | null;
  let again: Placed | null = null;
  if (together) [placed, again] = await Promise.all([place(run, user, items, key), place(run, user, items, key)]);
  else {
    placed = await place(run, user, items, key);
    if (repeat && placed !== null) again = await place(run, user, items, key);
  }
  if (placed === null) [placed, again] = [again, null];
  if (placed === null) return;
  if (again !== null) {
    if (key !== null) {
      count(run.figures.idempotencyReplays, together ? "order_concurrent" : "order");
      if (again.id !== placed.id) mismatch(run, placed.id, "idempotency", `the same Idempotency-Key gave another order ${again.id}`);
      if (placed.prepayId !== null && again.prepayId !== null && again.prepayId !== placed.prepayId) {
        mismatch(run, placed.id, "idempotency", "the same Idempotency-Key gave another prepay_id");
      }
    } else {
      count(run.figures.actions, "double_tap");
      const [kept, dropped] = rng.chance(0.5) ? [again, placed] : [placed, again];
      run.intent.set(dropped.id, { action: "double_tap_abandoned", lost: false });
      placed = kept;
    }
  }
  run.intent.set(placed.id, { action: user.action, lost: user.action === "pay_lost" });
  count(run.figures.actions, user.action);

  switch (user.action) {
    case "pay":
      if (await payOrder(run, user, placed, { get: rng.chance(0.5), closeAfter: rng.chance(0.1) })) await planShipping(run, user, placed.id, true);
      break;
    case "pay_lost": {
      if (!(await prepare(run, user, placed))) break;
      const paid = await simPay(run, placed.id, { deliver: false });
      if (paid && rng.chance(0.5)) await getOrder(run, user, placed.id);
      if (paid) await planShipping(run, user, placed.id, false);
      break;
    }
    case "abandon":
      // Sometimes the pay sheet is opened again first: the same prepay_id must come back.
      if (placed.prepayId !== null && rng.chance(0.4)) {
        const before = placed.prepayId;
        placed.prepayId = null;
        if ((await prepare(run, user, placed)) && placed.prepayId !== before) {
          mismatch(run, placed.id, "prepay_reuse", `a fresh prepay_id was not reused: ${before} → ${placed.prepayId}`);
        }
      }
      break;
    case "close":
      await closeOrder(run, user, placed.id, [200]);
      break;
    case "pay_close_race": {
      if (!(await prepare(run, user, placed))) break;
      const mode = notifyMode(run, rng);
      await notifyFaults(run, mode);
      // Either one starts first, the other a few real milliseconds later: both outcomes are legal,
      // as long as both sides agree in the end. (A close goes through the service first, so it
      // gets a longer head start.)
      const body = payBody(rng, mode);
      const closeFirst = rng.chance(0.5);
      const lag = closeFirst ? rng.int(0, 40) : rng.int(0, 4);
      const later = <T>(work: () => Promise<T>) => new Promise<void>((resolve) => setTimeout(resolve, lag)).then(work);
      const close = () => closeOrder(run, user, placed.id, [200, 409]);
      const pay = () => simPay(run, placed.id, body);
      const [paid] = closeFirst ? await Promise.all([later(pay), close()]) : await Promise.all([pay(), later(close)]);
      count(run.figures.actions, paid ? "race_payment_won" : "race_close_won");
      if (paid) await planShipping(run, user, placed.id, false);
      break;
    }
    case "pay_refund": {
      const paid = await payOrder(run, user, placed, { get: false, closeAfter: false });
      if (!paid) break;
      // Shipped before the refunds when the plan says at once: a partly refunded order still ships.
      await planShipping(run, user, placed.id, true);
      const job: RefundJob = { orderId: placed.id, amount: placed.amount, plan: user.plan, rng: new Rng(rng.seed()) };
      count(run.figures.refunds, `plan_${job.plan}`);
      run.refundOrders.add(placed.id);
      if (!(await tryRefunds(run, job))) run.deferredRefunds.push(job);
      break;
    }
  }
}

/** POST /api/orders, retried on 502 / 504 (with the same Idempotency-Key, or as a new order without one). */
async function place(run: Run, user: User, items: unknown, key: string | null): Promise<Placed | null> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const answer = await userCall(run, user, "create", "/api/orders", { json: { items }, headers: key === null ? {} : { "Idempotency-Key": key } });
    if (answer.status === 201) {
      return { id: answer.body.order.id as string, amount: answer.body.order.amount as number, prepayId: prepayOf(answer.body) };
    }
    if (answer.status !== 502 && answer.status !== 504) {
      mismatch(run, null, "create", `user ${user.name}: ${answer.status} ${JSON.stringify(answer.body).slice(0, 200)}`);
      return null;
    }
    count(run.figures.actions, "create_upstream_failure");
  }
  return null;
}

/** A prepay_id for the order: the one from creation, or POST /pay (retried on 502 / 504). */
async function prepare(run: Run, user: User, placed: Placed): Promise<boolean> {
  if (placed.prepayId !== null) return true;
  for (let attempt = 0; attempt < 3; attempt++) {
    const answer = await userCall(run, user, "pay_again", `/api/orders/${placed.id}/pay`, { method: "POST" }, placed.id);
    if (answer.status === 200) {
      placed.prepayId = prepayOf(answer.body);
      return placed.prepayId !== null;
    }
    if (answer.status !== 502 && answer.status !== 504) {
      mismatch(run, placed.id, "pay_again", `${answer.status} ${JSON.stringify(answer.body).slice(0, 200)}`);
      return false;
    }
  }
  return false;
}

function notifyMode(run: Run, rng: Rng): NotifyMode {
  const mode = rng.weighted(NOTIFY_MODES);
  count(run.figures.notifyModes, mode);
  return mode;
}

async function notifyFaults(run: Run, mode: NotifyMode): Promise<void> {
  // The notify queue is shared: under concurrency another user's notification may take the fault.
  if (mode === "drop_first") await inject(run, "notify", "drop", 1);
  if (mode === "drop_first_two") await inject(run, "notify", "drop", 2);
}

function payBody(rng: Rng, mode: NotifyMode): Record<string, unknown> {
  // WeChat sometimes signs the notification of an HMAC-SHA256 merchant with MD5.
  const md5 = rng.chance(0.2) ? { signType: "MD5" } : {};
  return mode === "duplicates" ? { duplicates: rng.int(1, 4), ...md5 } : md5;
}

/** The user pays at WeChat (the simulator); the notification does whatever the mode and the wave say. */
async function payOrder(run: Run, user: User, placed: Placed, then: { get: boolean; closeAfter: boolean }): Promise<boolean> {
  if (!(await prepare(run, user, placed))) return false;
  const mode = notifyMode(run, user.rng);
  await notifyFaults(run, mode);
  const paid = await simPay(run, placed.id, payBody(user.rng, mode));
  if (!paid) return false;
  if (then.get) await getOrder(run, user, placed.id);
  // Pressing "close" on a paid order: 409, and the order stays paid.
  if (then.closeAfter) await closeOrder(run, user, placed.id, [409]);
  return true;
}

async function simPay(run: Run, id: string, body: Record<string, unknown>): Promise<boolean> {
  const paid = await run.h.simControl<{ transactionId?: string; error?: string }>(`/__sim/orders/${id}/pay`, body);
  if (typeof paid.transactionId !== "string") {
    count(run.figures.actions, `sim_refused_payment_${paid.error ?? "?"}`);
    return false;
  }
  run.figures.payments += 1;
  return true;
}

async function getOrder(run: Run, user: User, id: string): Promise<void> {
  const answer = await userCall(run, user, "get", `/api/orders/${id}`, {}, id);
  if (answer.status !== 200) mismatch(run, id, "get", `${answer.status}`);
  else if (!["pending", "paid"].includes(answer.body.order.status as string)) {
    mismatch(run, id, "get", `a just-paid order reads ${answer.body.order.status}`);
  }
}

async function closeOrder(run: Run, user: User, id: string, expected: readonly number[]): Promise<void> {
  for (let attempt = 0; attempt < 2; attempt++) {
    const answer = await userCall(run, user, "close", `/api/orders/${id}/close`, { method: "POST" }, id);
    if (answer.status === 502 || answer.status === 504) continue; // the alarm finishes a close cut short
    if (!expected.includes(answer.status)) mismatch(run, id, "close", `expected ${expected.join("/")}, got ${answer.status}`);
    return;
  }
}

// --- refunds ------------------------------------------------------------------------------------

/** The operator looks at the order and, if it is paid here, makes the planned refunds. Returns false if not paid yet. */
async function tryRefunds(run: Run, job: RefundJob): Promise<boolean> {
  const view = await adminCall(run, "admin_view", `/admin/orders/${job.orderId}`, {}, job.orderId);
  if (view.status !== 200) {
    mismatch(run, job.orderId, "admin_view", `${view.status}`);
    return true;
  }
  if (view.body.order.status !== "paid") return false;
  await makeRefunds(run, job);
  return true;
}

function refundAmounts(job: RefundJob): { amounts: number[]; overAfter: boolean; race: boolean } {
  const { rng, amount } = job;
  switch (job.plan) {
    case "full":
      return { amounts: [amount], overAfter: false, race: false };
    case "partial":
      return { amounts: [rng.int(1, amount - 1)], overAfter: false, race: false };
    case "split": {
      const parts = rng.int(2, 3);
      const total = rng.chance(0.5) ? amount : rng.int(parts, amount);
      const cuts = new Set<number>();
      while (cuts.size < parts - 1) cuts.add(rng.int(1, total - 1));
      const points = [0, ...[...cuts].sort((a, b) => a - b), total];
      return { amounts: points.slice(1).map((p, i) => p - points[i]!), overAfter: false, race: false };
    }
    case "over":
      return { amounts: [rng.int(1, amount - 1)], overAfter: true, race: false };
    case "race": {
      const each = Math.ceil(amount * 0.6);
      return { amounts: [each, each], overAfter: false, race: true };
    }
  }
}

async function postRefund(run: Run, job: RefundJob, amount: number, key: string | null): Promise<Answer> {
  const answer = await adminCall(
    run,
    "refund",
    `/admin/orders/${job.orderId}/refunds`,
    { json: { amount, reason: `chaos ${job.plan}` }, headers: key === null ? {} : { "Idempotency-Key": key } },
    job.orderId,
  );
  count(run.figures.refunds, `requested_${answer.status}`);
  return answer;
}

async function makeRefunds(run: Run, job: RefundJob): Promise<void> {
  const { rng } = job;
  const { amounts, overAfter, race } = refundAmounts(job);
  const accepted: string[] = [];
  const keyFor = (i: number) => (rng.chance(0.4) ? `chaos-refund-${job.orderId}-${i}` : null);

  if (race) {
    // Two refunds that do not fit together, at once: exactly one is accepted.
    const answers = await Promise.all(amounts.map((a, i) => postRefund(run, job, a, keyFor(i))));
    const statuses = answers.map((a) => a.status).sort();
    if (statuses.join() !== "201,409") mismatch(run, job.orderId, "refund_race", `expected one 201 and one 409, got ${statuses.join(",")}`);
    for (const a of answers) if (a.status === 201) accepted.push(a.body.refund.id as string);
  } else {
    for (const [i, amount] of amounts.entries()) {
      const key = keyFor(i);
      // The operator's retry with the same key (after the answer, or racing it): the same refund.
      const replay = key !== null && rng.chance(0.5);
      const together = replay && rng.chance(0.5);
      const answers = together
        ? await Promise.all([postRefund(run, job, amount, key), postRefund(run, job, amount, key)])
        : [await postRefund(run, job, amount, key)];
      if (replay && !together) answers.push(await postRefund(run, job, amount, key));
      if (replay) count(run.figures.idempotencyReplays, together ? "refund_concurrent" : "refund");
      const [answer, ...replays] = answers;
      if (answer!.status !== 201) {
        mismatch(run, job.orderId, "refund", `a refund of ${amount} that fits answered ${answer!.status} ${JSON.stringify(answer!.body).slice(0, 200)}`);
        continue;
      }
      const id = answer!.body.refund.id as string;
      accepted.push(id);
      for (const again of replays) {
        if (again.status !== 201 || again.body.refund.id !== id) {
          mismatch(run, job.orderId, "idempotency", `refund replay answered ${again.status} ${again.body?.refund?.id ?? ""} for ${id}`);
        }
      }
    }
    if (overAfter) {
      const answer = await postRefund(run, job, job.amount - amounts[0]! + rng.int(1, 500), null);
      if (answer.status !== 409) mismatch(run, job.orderId, "over_refund", `a refund over what is left answered ${answer.status}`);
    }
  }

  // Sometimes WeChat closes a refund (REFUNDCLOSE) before it succeeds, or finishes it without
  // ever notifying us (only refundquery, from the admin view or the alarm, can learn of it).
  for (const id of accepted) {
    const fate = rng.weighted({ normal: 65, closed: 15, lost: 20 });
    if (fate === "normal") continue;
    const atWeChat = await run.h.simControl<{ status?: string }>(`/__sim/refunds/${id}`);
    if (atWeChat.status !== "PROCESSING") continue; // queued here, not at WeChat yet
    if (fate === "closed") {
      await run.h.simControl(`/__sim/refunds/${id}/complete`, { status: "REFUNDCLOSE" });
      count(run.figures.refunds, "closed_by_wechat");
    } else {
      await run.h.simControl(`/__sim/refunds/${id}/complete`, { status: "SUCCESS", deliver: false });
      count(run.figures.refunds, "notification_lost");
    }
  }
}

// --- phase 2: refund turns ----------------------------------------------------------------------

async function runDueAlarms(run: Run, ids: readonly string[]): Promise<number> {
  let ran = 0;
  await pool(ids, run.opts.concurrency, async (id) => {
    const stub = orderObject(env, id);
    const due = await stub.nextDueAt();
    if (due !== null && due <= run.clock && (await runDurableObjectAlarm(stub))) ran += 1;
  });
  run.figures.alarmsRun += ran;
  return ran;
}

async function refundTurns(run: Run): Promise<void> {
  const rng = new Rng(deriveSeed(run.opts.seed, 2));
  for (let round = 0; round < REFUND_ROUNDS; round++) {
    const open = (await openRefundOrders(run)).sort();
    if (open.length === 0 && run.deferredRefunds.length === 0) break;
    await advance(run, REFUND_TURN_MS);
    // The operator looks at some orders with refunds under way: refundquery for those processing.
    const looked = open.filter(() => rng.chance(0.3));
    await pool(looked, run.opts.concurrency, async (id) => {
      const view = await adminCall(run, "admin_view", `/admin/orders/${id}`, {}, id);
      if (view.status !== 200) mismatch(run, id, "admin_view", `${view.status}`);
    });
    const waiting = run.deferredRefunds;
    run.deferredRefunds = [];
    await pool(waiting, run.opts.concurrency, async (job) => {
      if (!(await tryRefunds(run, job))) run.deferredRefunds.push(job);
    });
    await runDueAlarms(run, [...run.refundOrders]);
    progress(run, `refund turn ${round + 1}: ${open.length} orders with refunds under way, ${run.deferredRefunds.length} waiting for payment`);
  }
  if (run.deferredRefunds.length > 0) count(run.figures.refunds, "never_made_order_not_paid_here", run.deferredRefunds.length);
}

async function openRefundOrders(run: Run): Promise<string[]> {
  const open: string[] = [];
  await pool([...run.refundOrders], run.opts.concurrency, async (id) => {
    const refunds = await orderObject(env, id).refunds();
    if (refunds.some((r) => r.status === "processing")) open.push(id);
  });
  return open;
}

// --- phase 3: shipping --------------------------------------------------------------------------

/**
 * Records a paid order that can ship, with what its user's plan does about it; at once (right after
 * payment, when `atOnce` allows and the plan says so) the first request is made now, before WeChat
 * knows the payment. Settlement pushes come later, to shipped orders and to some never shipped here.
 */
async function planShipping(run: Run, user: User, orderId: string, atOnce: boolean): Promise<void> {
  const rng = user.shipRng;
  const plan = user.ship;
  const push = rng.chance(plan === "none" ? 0.2 : 0.5) ? rng.weighted(PUSH_PLANS) : null;
  const steps: ShipStep[] = plan === "none" ? [] : plan === "reship" ? ["first", "reship", "third"] : ["first"];
  const job: ShipJob = { orderId, plan, delivery: user.delivery, rng, steps, accepted: [], waited: 0, push, pushes: [] };
  run.shipJobs.push(job);
  count(run.figures.shipping.plans, plan);
  if (plan === "none") return;
  count(run.figures.shipping.deliveries, job.delivery);
  const rightAway = plan === "at_once" || (plan !== "later" && rng.chance(0.5));
  if (rightAway && atOnce) await shippingStep(run, job, false);
}

const EXPRESS_COMPANIES = ["SF", "YTO", "ZTO", "STO", "YD", "JD", "EMS"] as const;
const GOODS = ["Coffee beans 1 kg", "咖啡豆 500 g", "Mugs ☕ ×2", "Course: latte art", "Cheesecake 🍰"] as const;

/** The request for the order's next shipment: new parcels (or a new description) each time, so a re-shipment differs from the first. */
function shippingBody(job: ShipJob): ShippingBody {
  const { rng } = job;
  const what = () => `${rng.pick(GOODS)} · shipment ${job.accepted.length + 1}`;
  const parcel = () => ({
    trackingNo: `${rng.pick(["SF", "YT", "ZT"])}${rng.int(100_000_000, 999_999_999)}`,
    expressCompany: rng.pick(EXPRESS_COMPANIES),
    itemDesc: what(),
    ...(rng.chance(0.5) ? { receiverContact: "189****1234" } : {}),
  });
  switch (job.delivery) {
    case "express":
      return { logisticsType: "express", packages: [parcel()] };
    case "split":
      return { logisticsType: "express", packages: Array.from({ length: rng.int(2, 3) }, parcel), split: true, isAllDelivered: rng.chance(0.7) };
    default:
      return { logisticsType: job.delivery, itemDesc: what() };
  }
}

/** The packages the service keeps (and WeChat gets) for a request: the parcels, or the one description. */
function packagesOf(body: ShippingBody): readonly Record<string, string>[] {
  return body.packages ?? [{ itemDesc: body.itemDesc ?? "" }];
}

type ShippingAnswer = "accepted" | "under_way" | "used_up" | "not_paid" | `other_${number}`;

/** An answer to a shipping request, by what the contract says it means. */
function shippingAnswer(answer: Answer): ShippingAnswer {
  if (answer.status === 202) return "accepted";
  const message = String(answer.body?.error?.message ?? "");
  if (answer.status === 409 && message.includes("under way")) return "under_way";
  if (answer.status === 409 && message.includes("re-shipped already")) return "used_up";
  if (answer.status === 409 && message.includes("only a paid")) return "not_paid";
  return `other_${answer.status}`;
}

/**
 * The operator's next shipping request for a job, once the order is ready for it: a first request
 * when the order is paid here (`look`: the operator reads it first; right after payment it does not),
 * a re-shipment or a third request once the view shows the last upload landed. Checks each answer
 * against what the contract guarantees:
 * - one first request: 202;
 * - the same first request twice at once: one 202 and one 409 "under way" — or two 202 if the first
 *   had finished (one answer shows it uploaded) before the second was decided: then the second is
 *   the order's re-shipment;
 * - a re-shipment: 202 while the order has one shipment, 409 once it has two; a third request: 409.
 * A 409 "not paid" to a first request made without looking leaves the request for a later turn.
 */
async function shippingStep(run: Run, job: ShipJob, look: boolean): Promise<void> {
  const step = job.steps[0];
  if (step === undefined) return;
  const id = job.orderId;
  if (step === "first" && look) {
    const status = (await orderObject(env, id).read())?.status;
    if (status !== "paid" && status !== "partially_refunded") {
      // A held or retried notification may still come; a lost one is found only at expiry.
      if (status === "pending" && job.waited++ < SHIPPING_WAIT_TURNS) return;
      count(run.figures.shipping.requests, `never_made_order_${status ?? "missing"}`);
      job.steps = [];
      return;
    }
  } else if (step !== "first") {
    const view = await adminCall(run, "admin_view", `/admin/orders/${id}`, {}, id);
    const status = view.body?.shipping?.status as string | undefined;
    if (status === "uploading") return;
    if (status !== "uploaded") {
      mismatch(run, id, "shipping_failed", `before the ${step} request, shipping is ${status ?? "null"}: ${view.body?.shipping?.lastError ?? ""}`);
      job.steps = [];
      return;
    }
  }
  const twice = step === "first" && job.plan === "twice";
  const body = shippingBody(job);
  const before = job.accepted.length;
  const answers = await Promise.all(Array.from({ length: twice ? 2 : 1 }, () => adminCall(run, "ship", `/admin/orders/${id}/shipping`, { json: body }, id)));
  const kinds = answers.map(shippingAnswer);
  count(run.figures.shipping.requests, `${step}${twice ? "_twice" : ""}${look ? "" : "_right_after_payment"} ${[...kinds].sort().join("+")}`);
  if (step === "first" && kinds.every((k) => k === "not_paid")) return;
  for (const kind of kinds) if (kind === "accepted") job.accepted.push(body);
  const accepted = job.accepted.length - before;
  run.figures.shipping.accepted += accepted;
  const finished = answers.some((a) => a.body?.shipping?.status === "uploaded");
  const expected =
    step === "third"
      ? kinds.every((k) => k === "under_way" || k === "used_up")
      : step === "reship"
        ? kinds[0] === (before < 2 ? "accepted" : "used_up")
        : twice
          ? (accepted === 1 && kinds.includes("under_way")) || (accepted === 2 && finished)
          : accepted === 1;
  if (!expected) {
    const said = answers.map((a) => `${a.status} ${a.body?.error?.message ?? a.body?.shipping?.status ?? ""}`).join("; ");
    mismatch(run, id, "shipping_request", `${step}${twice ? " (twice at once)" : ""} with ${before} accepted before: ${said}`);
  }
  job.steps.shift();
}

/** Revokes the service's access token at WeChat, in turn as a force refresh elsewhere (40001) and an expiry (42001) would. */
async function revokeToken(run: Run): Promise<void> {
  const revocations = Object.values(run.figures.shipping.tokenRevocations).reduce((sum, n) => sum + n, 0);
  const as = revocations % 2 === 0 ? "invalid" : "expired";
  const revoked = await run.h.simControl<{ revoked?: boolean }>("/__sim/mp/token/revoke", { as });
  count(run.figures.shipping.tokenRevocations, revoked.revoked === true ? as : "no_token_yet");
}

/**
 * Shipping turns: the clock moves at least a turn (to the next upload retry, when the operator waits
 * for one), in the first turns faults are queued for the shipping APIs and the access token is
 * revoked; then the operator looks and ships while the due alarms run, until every planned request
 * is made.
 */
async function shippingTurns(run: Run): Promise<void> {
  const rng = new Rng(deriveSeed(run.opts.seed, 6));
  const ids = [...new Set(run.shipJobs.filter((j) => j.plan !== "none").map((j) => j.orderId))].sort();
  for (let round = 0; round < SHIPPING_ROUNDS; round++) {
    const open = run.shipJobs.filter((j) => j.steps.length > 0);
    if (open.length === 0) break;
    const waiting = open.filter((j) => j.steps[0] !== "first").map((j) => j.orderId);
    const dues = (await Promise.all(waiting.map((id) => orderObject(env, id).nextDueAt()))).filter((d): d is number => d !== null);
    await setClock(run, Math.max(run.clock + SHIPPING_TURN_MS, dues.length === 0 ? 0 : Math.min(...dues)));
    if (round < SHIPPING_FAULT_TURNS) {
      await injectRandomFaults(run, rng, rng.int(1, Math.ceil(open.length / 3) + 1), SHIPPING_APIS);
      // Both kinds of revocation in the first two turns (small runs have few), then at random.
      if (round < 2 || rng.chance(0.5)) await revokeToken(run);
    }
    await Promise.all([runDueAlarms(run, ids), pool(open, run.opts.concurrency, (job) => shippingStep(run, job, true))]);
    run.figures.shipping.turns += 1;
    progress(run, `shipping turn ${round + 1}: ${open.length} orders with requests to make`);
  }
  for (const job of run.shipJobs) {
    if (job.steps.length > 0) mismatch(run, job.orderId, "shipping_turns", `${job.steps.join(", ")} still to make after ${SHIPPING_ROUNDS} turns`);
  }
}

/** One settlement push from the simulator to the service, kept on the job; WeChat must hear "success". */
async function pushSettlement(run: Run, job: ShipJob, settled: boolean): Promise<void> {
  const record = await run.h.simControl<SimPush>("/__sim/push", { event: "trade_manage_order_settlement", outTradeNo: job.orderId, mode: "safe", settled });
  job.pushes.push(record);
  count(run.figures.shipping.pushes, settled ? "settled" : "received");
  if (!record.acknowledged) mismatch(run, job.orderId, "push_unacknowledged", `${record.status ?? record.error}: ${record.reply ?? ""}`);
}

/**
 * WeChat's settlement pushes (safe mode), in two passes a turn apart: to orders whose shipping WeChat
 * has, and to paid orders never shipped here (the merchant shipped them in WeChat's console). A
 * duplicate comes at once or in the second pass; "received then settled" settles in the second.
 */
async function settlementPushes(run: Run): Promise<void> {
  const ready: ShipJob[] = [];
  await pool(run.shipJobs.filter((j) => j.push !== null), run.opts.concurrency, async (job) => {
    const status = (await orderObject(env, job.orderId).read())?.status;
    if (status !== "paid" && status !== "partially_refunded") return;
    if (job.accepted.length > 0) {
      const view = await adminCall(run, "admin_view", `/admin/orders/${job.orderId}`, {}, job.orderId);
      if (view.body?.shipping?.status !== "uploaded") return; // still uploading: WeChat would not settle it yet
    } else if (job.plan !== "none") return; // planned here but never made: not shipped anywhere
    ready.push(job);
    const settled = job.push === "settled" || job.push === "settled_twice";
    if (job.push === "settled_twice" && job.rng.chance(0.5)) {
      // WeChat pushes again before our answer reached it: the same settlement twice at once.
      await Promise.all([pushSettlement(run, job, true), pushSettlement(run, job, true)]);
      count(run.figures.shipping.pushes, "duplicate_at_once");
    } else await pushSettlement(run, job, settled);
  });
  await advance(run, SHIPPING_TURN_MS);
  await pool(ready, run.opts.concurrency, async (job) => {
    if (job.push === "settled_twice" && job.pushes.length === 1) count(run.figures.shipping.pushes, "duplicate_a_turn_later");
    else if (job.push !== "received_then_settled") return;
    await pushSettlement(run, job, true);
  });
  progress(run, `settlement pushes: ${fmt(run.figures.shipping.pushes)}`);
}

// --- phase 4: settling --------------------------------------------------------------------------

/**
 * Every order we hold, from each user's own list (GET /api/orders). Pages of 1 to 3: a user's
 * orders were all created at the same (frozen) time, so the cursor must tell ties apart.
 */
async function enumerateOrders(run: Run): Promise<string[]> {
  const ids = new Set<string>();
  await pool(run.users, run.opts.concurrency, async (user) => {
    if (user.token === null) return;
    const limit = 1 + (user.index % 3);
    let cursor: string | null = null;
    for (let page = 0; page < 20; page++) {
      const answer: Answer = await userCall(run, user, "list", `/api/orders?limit=${limit}${cursor === null ? "" : `&cursor=${encodeURIComponent(cursor)}`}`);
      if (answer.status !== 200) {
        mismatch(run, null, "list", `user ${user.name}: ${answer.status}`);
        return;
      }
      for (const order of answer.body.orders as { id: string }[]) ids.add(order.id);
      cursor = answer.body.cursor as string | null;
      if (cursor === null) break;
    }
  });
  for (const id of run.intent.keys()) if (!ids.has(id)) mismatch(run, id, "list", "an order the user placed is missing from the user's list");
  return [...ids].sort();
}

async function settle(run: Run, ids: readonly string[]): Promise<void> {
  let lastExpiry = run.clock;
  await pool(ids, run.opts.concurrency, async (id) => {
    const order = await orderObject(env, id).read();
    if (order !== null) lastExpiry = Math.max(lastExpiry, order.expiresAt);
  });
  await setClock(run, lastExpiry + PAST_EXPIRY_MS);
  // WeChat stays unreliable while the alarms do their work.
  const rng = new Rng(deriveSeed(run.opts.seed, 3));
  for (let i = 0; i < Math.ceil(ids.length / 20); i++) {
    const api = run.h.pay.simApi(rng.pick(["query", "close", "refundquery"] as const));
    const kind = rng.pick(faultsOf(run)[api]!);
    await inject(run, api, kind, rng.int(1, 2), kind === "delay" ? rng.int(DELAY_MS.min, DELAY_MS.max) : undefined);
  }
  progress(run, `settling ${ids.length} orders past their expiry`);
  await settleAlarms(run, ids);
  // Let WeChat's notification retries run out, then settle whatever they changed.
  await advance(run, RETRIES_RUN_OUT_MS);
  await settleAlarms(run, ids);
  const stillDue = run.h.sim.nextDueAt();
  if (stillDue !== null) mismatch(run, null, "settle", `the simulator still has work due at ${new Date(stillDue).toISOString()}`);
}

/** Runs every order's alarm until none is due, moving the clock to the latest due time each round. */
async function settleAlarms(run: Run, ids: readonly string[]): Promise<void> {
  for (let round = 0; round < SETTLE_ROUNDS; round++) {
    const dues: number[] = [];
    const dueIds: string[] = [];
    await pool(ids, run.opts.concurrency, async (id) => {
      const due = await orderObject(env, id).nextDueAt();
      if (due !== null) {
        dues.push(due);
        dueIds.push(id);
      }
    });
    if (dueIds.length === 0) return;
    await setClock(run, Math.max(run.clock + SEC, ...dues));
    await runDueAlarms(run, dueIds);
    progress(run, `settle round ${round + 1}: ${dueIds.length} alarms due`);
  }
  mismatch(run, null, "settle", `alarms still due after ${SETTLE_ROUNDS} rounds`);
}

// --- phase 5: comparing with WeChat -------------------------------------------------------------

interface SimAttempt {
  attempt: number;
  copy: number;
  acknowledged: boolean;
  error: string | null;
  released?: true;
}
interface SimRefund {
  outRefundNo: string;
  refundFee: number;
  status: string;
  notifications: SimAttempt[];
}
interface SimOrder {
  outTradeNo: string;
  tradeState: string;
  totalFee: number;
  transactionId: string | null;
  notifications: SimAttempt[];
  refundedFee: number;
  refunds: SimRefund[];
  error?: string;
}

async function compare(run: Run, ids: readonly string[]): Promise<void> {
  const f = run.figures;
  f.orders = ids.length;
  const known = new Set(ids);
  const transactions = new Map<string, string>();

  // Every order WeChat ever accepted is one of ours.
  const prepays = await run.h.calls("prepay");
  for (const no of new Set(prepays.filter((c) => c.outcome === "SUCCESS").map((c) => c.outTradeNo ?? ""))) {
    if (!known.has(no)) mismatch(run, no, "orphan", "WeChat holds an order we do not");
  }

  const events = deliveriesByOrder(run);
  const jobs = new Map(run.shipJobs.map((j) => [j.orderId, j]));
  await pool(ids, run.opts.concurrency, async (id) => {
    const stub = orderObject(env, id);
    const [order, history, refunds] = await Promise.all([stub.read(), stub.history(), stub.refunds()]);
    if (order === null) {
      mismatch(run, id, "missing", "listed for its user but no order object");
      return;
    }
    const sim = await run.h.simControl<SimOrder>(`/__sim/orders/${id}`);
    const atWeChat = sim.error === undefined ? sim : null;
    compareOrder(run, order, history as HistoryEntry[], refunds as RefundView[], atWeChat);
    compareOrderEvents(run, order, history as HistoryEntry[], refunds as RefundView[], events.get(id) ?? []);
    const view = await adminCall(run, "admin_view", `/admin/orders/${id}`, {}, id);
    const mp = await run.h.simControl<SimShipping>(`/__sim/mp/orders/${id}`);
    compareShipping(run, id, view.body?.shipping ?? null, mp.error === undefined ? mp : null, jobs.get(id), events.get(id) ?? []);
    if (order.transactionId !== null) {
      const other = transactions.get(order.transactionId);
      if (other !== undefined) mismatch(run, id, "transaction", `transaction_id also on ${other}`);
      transactions.set(order.transactionId, id);
    }
    tally(run, id, order, history as HistoryEntry[], refunds as RefundView[], atWeChat);
  });

  // Faults: injected (our log) against what is still queued (so not consumed) and what the call log saw.
  const left = await run.h.simControl<{ faults: { api: string; kind: string; times: number }[] }>("/__sim/faults");
  const remaining: Counter = {};
  for (const fault of left.faults) count(remaining, `${fault.api}:${fault.kind}`, fault.times);
  const calls = await run.h.simControl<{ calls: { api: string; fault: string | null }[] }>("/__sim/calls");
  const seen: Counter = {};
  for (const c of calls.calls) if (c.fault !== null) count(seen, `${c.api}:${c.fault}`);
  for (const [key, injected] of Object.entries(run.injected).sort()) {
    const consumed = injected - (remaining[key] ?? 0);
    f.faultsInjected[key] = { injected, consumed, seenInCallLog: seen[key] ?? 0 };
    f.faultsInjectedTotal += injected;
    f.faultsConsumedTotal += consumed;
  }
  // The shipping APIs' calls as WeChat saw them: by injected fault, else by outcome.
  const byApi = { upload_shipping_info: f.shipping.uploadCalls, get_order: f.shipping.getOrderCalls, stable_token: f.shipping.tokenCalls };
  for (const c of calls.calls as { api: keyof typeof byApi; fault: string | null; outcome: string }[]) if (c.api in byApi) count(byApi[c.api], c.fault ?? c.outcome);
  f.shipping.retries = Object.values(f.shipping.uploadCalls).reduce((s, n) => s + n, 0) - f.shipping.accepted;
  await run.h.clearFaults();
}

interface SimShipping {
  uploads: number;
  shipping: { shippingList: { tracking_no?: string; item_desc: string }[] } | null;
  error?: string;
}

/** The admin view's `shipping`, as far as the checks read it. */
interface ShippingView {
  status: string;
  logisticsType: string | null;
  packages: Record<string, string>[];
  lastError: string | null;
  uploadedAt: string | null;
  settledAt: string | null;
  estimatedSettlementAt: string | null;
}

/** JSON with each object's keys sorted: equal for equal data, whatever order the keys came in. */
const canonical = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) => (v !== null && typeof v === "object" && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b))) : v));

/** An ISO time from one of a push's times in seconds, the earliest or the latest of them, or null. */
function pushTime(pushes: readonly SimPush[], field: "settlement_time" | "estimated_settlement_time", pick: "first" | "last"): string | null {
  const times = pushes.map((p) => (JSON.parse(p.message) as Record<string, number | undefined>)[field]).filter((t): t is number => t !== undefined);
  if (times.length === 0) return null;
  return new Date((pick === "first" ? Math.min(...times) : Math.max(...times)) * 1000).toISOString();
}

/**
 * One order's shipping, against WeChat's books and the requests the service accepted: WeChat recorded
 * exactly one upload per accepted request (a lost answer is resolved by get_order, not a second
 * upload; a passing failure loses nothing), and the view shows the last request uploaded; an order
 * never asked has no shipping, unless WeChat reported a settlement (then uploaded elsewhere). The
 * first settled push sets settledAt, later ones change nothing; the estimate is the last push's.
 * The merchant got order.shipped per upload (the re-shipment's as evt_<id>.reshipped) and
 * order.settled once, each attempted only after order.paid (and a re-shipment after the first
 * shipment) was delivered.
 */
function compareShipping(run: Run, id: string, view: ShippingView | null, atWeChat: SimShipping | null, job: ShipJob | undefined, deliveries: MerchantDelivery[]): void {
  const bad = (check: string, detail: string) => mismatch(run, id, check, detail);
  const accepted = job?.accepted ?? [];
  const pushes = job?.pushes ?? [];
  const uploads = atWeChat?.uploads ?? 0;
  run.figures.shipping.uploadsAtWeChat += uploads;
  count(run.figures.shipping.statusHere, view === null ? "none" : view.logisticsType === null ? `${view.status}_elsewhere` : view.status);
  if (uploads > accepted.length) bad("shipping_uploaded_twice", `${accepted.length} requests accepted, WeChat recorded ${uploads} uploads`);
  if (uploads < accepted.length) bad("shipping_lost", `${accepted.length} requests accepted, WeChat recorded ${uploads} uploads (${view?.status}: ${view?.lastError ?? ""})`);
  const last = accepted.at(-1);
  if (last !== undefined) {
    if (view?.status !== "uploaded") bad("shipping_status", `accepted, but shipping is ${view?.status ?? "null"}: ${view?.lastError ?? ""}`);
    else if (view.logisticsType !== last.logisticsType || canonical(view.packages) !== canonical(packagesOf(last))) {
      bad("shipping_packages", `the view shows ${view.logisticsType} ${canonical(view.packages)}, the last request was ${last.logisticsType} ${canonical(packagesOf(last))}`);
    }
    const there = (atWeChat?.shipping?.shippingList ?? []).map((e) => [e.tracking_no ?? null, e.item_desc]);
    const sent = packagesOf(last).map((p) => [p.trackingNo ?? null, p.itemDesc]);
    if (canonical(there) !== canonical(sent)) bad("shipping_at_wechat", `WeChat holds ${canonical(there)}, the last request was ${canonical(sent)}`);
  } else if (pushes.length > 0) {
    if (view?.status !== "uploaded" || view.logisticsType !== null || view.packages.length > 0 || view.uploadedAt !== null) bad("shipping_elsewhere", `settled by WeChat only, but the view shows ${canonical(view)}`);
  } else if (view !== null) {
    bad("shipping_unasked", `never asked, but the view shows ${canonical(view)}`);
  }
  const settledAt = pushTime(pushes, "settlement_time", "first");
  if ((view?.settledAt ?? null) !== settledAt) bad("settled_at", `settledAt ${view?.settledAt ?? null}, the first settled push says ${settledAt}`);
  const estimate = pushTime(pushes, "estimated_settlement_time", "last");
  if ((view?.estimatedSettlementAt ?? null) !== estimate) bad("estimated_settlement", `estimatedSettlementAt ${view?.estimatedSettlementAt ?? null}, the last push says ${estimate}`);

  const delivered = (type: string) => [...new Set(deliveries.filter((d) => d.event.type === type && isDelivered(d)).map((d) => d.id))].sort();
  const expectShipped = [`evt_${id}.shipped`, `evt_${id}.reshipped`].slice(0, accepted.length).sort();
  const shipped = delivered("order.shipped");
  if (canonical(shipped) !== canonical(expectShipped)) bad("event_shipped", `${accepted.length} uploads, order.shipped delivered as ${canonical(shipped)}`);
  const settled = delivered("order.settled");
  if (canonical(settled) !== canonical(settledAt === null ? [] : [`evt_${id}.settled`])) bad("event_settled", `settledAt ${settledAt}, order.settled delivered as ${canonical(settled)}`);
  // In order even when the clock stood still (equal timestamps): each after the event it follows was delivered.
  const firstAttempt = (eventId: string) => deliveries.findIndex((d) => d.id === eventId);
  const firstDelivery = (eventId: string) => deliveries.findIndex((d) => d.id === eventId && isDelivered(d));
  const paid = deliveries.find((d) => d.event.type === "order.paid")?.id ?? "";
  const after: [string, string][] = [[`evt_${id}.shipped`, paid], [`evt_${id}.reshipped`, `evt_${id}.shipped`], [`evt_${id}.settled`, paid]];
  for (const [eventId, before] of after) {
    const at = firstAttempt(eventId);
    const earlier = firstDelivery(before);
    if (at >= 0 && (earlier < 0 || earlier > at)) bad("event_order", `${eventId} attempted before ${before || "order.paid"} was delivered`);
  }
}

const FINAL_REFUND: Readonly<Record<string, string>> = { succeeded: "SUCCESS", failed: "REFUNDCLOSE" };

function compareOrder(run: Run, order: OrderRecord, history: HistoryEntry[], refunds: RefundView[], sim: SimOrder | null): void {
  const id = order.id;
  const bad = (check: string, detail: string) => mismatch(run, id, check, detail);
  const paidHere = isPaidStatus(order.status);
  const paidThere = sim !== null && (sim.tradeState === "SUCCESS" || sim.tradeState === "REFUND");
  const intoPaid = history.filter((e) => e.to === "paid");

  // Payments: WeChat's word, exactly once, the same transaction.
  if (paidThere) {
    if (!paidHere) bad("paid_at_wechat", `WeChat says ${sim.tradeState}, we say ${order.status}`);
    if (order.transactionId !== sim.transactionId) bad("transaction_id", `ours ${order.transactionId}, WeChat's ${sim.transactionId}`);
    if (intoPaid.length !== 1) bad("paid_once", `${intoPaid.length} transitions into paid`);
  } else {
    if (paidHere || intoPaid.length > 0) bad("not_paid_at_wechat", `WeChat says ${sim?.tradeState ?? "(unknown order)"}, we say ${order.status}`);
    // Everything has expired by now: an unpaid order is closed on both sides.
    if (sim !== null) {
      if (sim.tradeState !== "CLOSED") bad("closed_at_wechat", `expired and unpaid, but WeChat says ${sim.tradeState}`);
      if (order.status !== "closed") bad("closed_here", `expired and unpaid (WeChat ${sim.tradeState}), but we say ${order.status}`);
    } else if (order.status !== "closed" && order.status !== "failed") {
      bad("closed_here", `never known to WeChat and expired, but we say ${order.status}`);
    }
  }

  // History: from creation, each step legal, no status reached twice, ending where the order is.
  const first = history[0];
  if (first === undefined || first.from !== null || first.to !== "pending") bad("history", "does not start with → pending");
  const reached = new Set<OrderStatus>();
  history.forEach((entry, i) => {
    if (reached.has(entry.to)) bad("history_double", `${entry.to} reached twice (entry ${i}, ${entry.source})`);
    reached.add(entry.to);
    if (i === 0) return;
    const previous = history[i - 1]!;
    if (entry.from !== previous.to) bad("history_chain", `entry ${i} leaves ${entry.from}, but the order was ${previous.to}`);
    if (entry.from !== null && checkTransition(entry.from, entry.to, entry.source).outcome !== "apply") {
      bad("history_illegal", `${entry.from} → ${entry.to} by ${entry.source} is not allowed`);
    }
  });
  if (history.at(-1)?.to !== order.status) bad("history_end", `history ends at ${history.at(-1)?.to}, the order is ${order.status}`);

  // Refunds: final, matching WeChat, never more than was paid.
  const reserved = refunds.filter((r) => r.status !== "failed").reduce((s, r) => s + r.amount, 0);
  const succeeded = refunds.filter((r) => r.status === "succeeded").reduce((s, r) => s + r.amount, 0);
  if (reserved > order.amount) bad("over_refund", `refunds of ${reserved} fen on an order of ${order.amount}`);
  if (order.refundedAmount !== succeeded) bad("refunded_amount", `refundedAmount ${order.refundedAmount}, succeeded refunds ${succeeded}`);
  const simRefunds = new Map((sim?.refunds ?? []).map((r) => [r.outRefundNo, r]));
  for (const refund of refunds) {
    const there = simRefunds.get(refund.id);
    if (refund.status === "processing") bad("refund_final", `refund ${refund.id} is still processing (WeChat: ${there?.status ?? "unknown"})`);
    else if (refund.status === "succeeded" && there?.status !== "SUCCESS") bad("refund_status", `refund ${refund.id} succeeded here, WeChat: ${there?.status ?? "unknown"}`);
    else if (refund.status === "failed" && there !== undefined && there.status !== FINAL_REFUND.failed) {
      bad("refund_status", `refund ${refund.id} failed here (${refund.failure}), WeChat: ${there.status}`);
    }
    if (there !== undefined && there.refundFee !== refund.amount) bad("refund_amount", `refund ${refund.id}: ${refund.amount} here, ${there.refundFee} at WeChat`);
  }
  const ours = new Set(refunds.map((r) => r.id));
  for (const no of simRefunds.keys()) if (!ours.has(no)) bad("refund_orphan", `WeChat holds refund ${no} we do not`);
  // WeChat's side of "nothing is lost": every notification it sent was acknowledged in the end.
  if (sim !== null) {
    if (sim.notifications.length > 0 && !sim.notifications.some((a) => a.acknowledged)) bad("notification_unacknowledged", "WeChat never got an acknowledgement for the payment notification");
    for (const r of sim.refunds) {
      if (r.notifications.length > 0 && !r.notifications.some((a) => a.acknowledged)) bad("notification_unacknowledged", `WeChat never got an acknowledgement for refund ${r.outRefundNo}'s notification`);
    }
    if (order.refundedAmount !== sim.refundedFee) bad("refunded_fee", `refunded ${order.refundedAmount} here, ${sim.refundedFee} at WeChat`);
    if (sim.refundedFee > sim.totalFee) bad("over_refund", `WeChat refunded ${sim.refundedFee} of ${sim.totalFee}`);
  }
  const expected = order.refundedAmount === 0 ? null : order.refundedAmount >= order.amount ? "refunded" : "partially_refunded";
  if (expected !== null && order.status !== expected) bad("refund_status_order", `refunded ${order.refundedAmount} of ${order.amount}, status ${order.status}`);
}

function tally(run: Run, id: string, order: OrderRecord, history: HistoryEntry[], refunds: RefundView[], sim: SimOrder | null): void {
  const f = run.figures;
  count(f.statusHere, order.status);
  count(f.tradeStateAtWeChat, sim === null ? "(never known)" : sim.tradeState);
  if (sim !== null) f.ordersKnownToWeChat += 1;
  const paid = history.find((e) => e.to === "paid");
  if (paid !== undefined) {
    count(f.paidTransitionsBySource, paid.source);
    if (paid.source !== "notify") f.paidWithoutNotification += 1;
  }
  if (run.intent.get(id)?.lost === true && sim !== null && sim.transactionId !== null) {
    f.lostNotifications.total += 1;
    if (paid?.source === "query") f.lostNotifications.recoveredByQuery += 1;
    else if (paid?.source === "alarm") f.lostNotifications.recoveredByAlarm += 1;
    else if (paid?.source === "close") f.lostNotifications.recoveredByClose += 1;
    else f.lostNotifications.notRecovered += 1;
  }
  if (sim !== null) {
    tallyAttempts(f.paymentNotifications, sim.notifications);
    for (const r of sim.refunds) tallyAttempts(f.refundNotifications, r.notifications);
  }
  for (const refund of refunds) {
    count(f.refunds, `final_${refund.status}${refund.status === "failed" ? `_${refund.failure ?? "?"}` : ""}`);
    if (refund.status === "succeeded") {
      f.refundedFen += refund.amount;
      const applied = history.find((e) => e.note?.includes(refund.id));
      count(f.refundSuccessBySource, applied?.source ?? "(order status unchanged, no history entry)");
    }
  }
}

function tallyAttempts(counter: Counter, attempts: readonly SimAttempt[]): void {
  if (attempts.length === 0) return;
  count(counter, "jobs");
  if (!attempts.some((a) => a.acknowledged)) count(counter, "never_acknowledged");
  for (const a of attempts) {
    if (a.error === "held") count(counter, "held");
    else {
      count(counter, "posts");
      if (a.released) count(counter, "released_late");
      if (a.acknowledged) count(counter, "acknowledged");
      if (a.error === "dropped (injected fault)") count(counter, "dropped_by_fault");
      if (a.attempt > 1) count(counter, "retries");
      if (a.copy > 0) count(counter, "duplicate_copies");
    }
  }
}

// --- the report ---------------------------------------------------------------------------------

function emptyFigures(users: number): Figures {
  return {
    users,
    waves: 0,
    orders: 0,
    ordersKnownToWeChat: 0,
    statusHere: {},
    tradeStateAtWeChat: {},
    actions: {},
    notifyModes: {},
    payments: 0,
    paidTransitionsBySource: {},
    lostNotifications: { total: 0, recoveredByQuery: 0, recoveredByAlarm: 0, recoveredByClose: 0, notRecovered: 0 },
    paidWithoutNotification: 0,
    paymentNotifications: {},
    refundNotifications: {},
    holdWaves: {},
    heldPostsReleased: 0,
    heldPostsDiscarded: 0,
    refunds: {},
    refundedFen: 0,
    refundSuccessBySource: {},
    faultsInjected: {},
    faultsInjectedTotal: 0,
    faultShapes: {},
    faultsConsumedTotal: 0,
    http: {},
    alarmsRun: 0,
    idempotencyReplays: {},
    virtualMinutes: 0,
    realSeconds: 0,
    merchantAnswers: {},
    eventsDelivered: {},
    shipping: {
      plans: {}, deliveries: {}, requests: {}, accepted: 0, uploadsAtWeChat: 0, uploadCalls: {}, getOrderCalls: {}, tokenCalls: {}, retries: 0,
      tokenRevocations: {}, pushes: {}, statusHere: {}, turns: 0,
    },
  };
}

const fmt = (counter: Counter) =>
  Object.entries(counter)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`)
    .join(", ") || "none";

/** The merchant receiver's deliveries, by the order their event is about (the data's order id). */
function deliveriesByOrder(run: Run): Map<string, MerchantDelivery[]> {
  const byOrder = new Map<string, MerchantDelivery[]>();
  for (const d of run.h.merchant.deliveries) {
    const id = (d.event.data.order as { id?: string } | undefined)?.id ?? "";
    byOrder.set(id, [...(byOrder.get(id) ?? []), d]);
    if (isDelivered(d)) count(run.figures.eventsDelivered, d.event.type);
    if (!d.verified) mismatch(run, id, "event_signature", `${d.event.type} did not verify with the Standard Webhooks library`);
  }
  return byOrder;
}

const isDelivered = (d: MerchantDelivery) => typeof d.answer === "number" && d.answer >= 200 && d.answer < 300;

/**
 * The merchant's view of one order, against the order: its `order.paid` delivered under exactly one
 * event id when it is paid (and none when not), `order.closed` when it was closed, each settled
 * refund's outcome event, and no event attempted before the order's earlier ones were delivered.
 */
function compareOrderEvents(run: Run, order: OrderRecord, history: HistoryEntry[], refunds: RefundView[], deliveries: MerchantDelivery[]): void {
  const bad = (check: string, detail: string) => mismatch(run, order.id, check, detail);
  const idsOf = (type: string, delivered: boolean) => new Set(deliveries.filter((d) => d.event.type === type && (!delivered || isDelivered(d))).map((d) => d.id));
  const paid = idsOf("order.paid", true);
  if (idsOf("order.paid", false).size > 1) bad("event_paid_ids", "order.paid sent under more than one event id");
  if (isPaidStatus(order.status) && paid.size !== 1) bad("event_paid", `paid, and order.paid delivered under ${paid.size} ids`);
  if (!isPaidStatus(order.status) && paid.size > 0) bad("event_paid", `not paid (${order.status}), but order.paid delivered`);
  if (history.some((e) => e.to === "closed") && idsOf("order.closed", true).size !== 1) bad("event_closed", "closed, but order.closed not delivered once");
  for (const refund of refunds) {
    if (refund.status === "processing") continue;
    const type = refund.status === "succeeded" ? "refund.succeeded" : "refund.failed";
    const found = deliveries.filter((d) => d.event.type === type && isDelivered(d) && (d.event.data.refund as { id?: string } | undefined)?.id === refund.id);
    if (new Set(found.map((d) => d.id)).size !== 1) bad("event_refund", `refund ${refund.id} is ${refund.status}, but ${type} was delivered under ${new Set(found.map((d) => d.id)).size} ids`);
  }
  // In order: when an event is attempted, every earlier event of the order has been delivered.
  const deliveredAt = new Map<string, number>();
  deliveries.forEach((d, i) => {
    if (isDelivered(d) && !deliveredAt.has(d.id)) deliveredAt.set(d.id, i);
  });
  for (const [i, d] of deliveries.entries()) {
    const early = deliveries.find((e) => e.id !== d.id && e.event.timestamp < d.event.timestamp && !((deliveredAt.get(e.id) ?? Infinity) < i));
    if (early !== undefined) {
      bad("event_order", `${d.event.type} attempted before ${early.event.type} was delivered`);
      return;
    }
  }
}

function render(run: Run): string {
  const f = run.figures;
  const lost = f.lostNotifications;
  const ship = f.shipping;
  const shippingFaults = { injected: 0, consumed: 0 };
  for (const [key, v] of Object.entries(f.faultsInjected)) {
    if (!SHIPPING_APIS.some((api) => key.startsWith(`${api}:`))) continue;
    shippingFaults.injected += v.injected;
    shippingFaults.consumed += v.consumed;
  }
  const faults = Object.entries(f.faultsInjected)
    .map(([key, v]) => `    ${key.padEnd(30)} injected ${String(v.injected).padStart(4)}  consumed ${String(v.consumed).padStart(4)}  in call log ${v.seenInCallLog}`)
    .join("\n");
  const lines = [
    `chaos seed=${run.opts.seed} users=${f.users} concurrency=${run.opts.concurrency} waves=${f.waves}`,
    `  orders: ${f.orders} here, ${f.ordersKnownToWeChat} known to WeChat`,
    `  final status here:   ${fmt(f.statusHere)}`,
    `  trade_state at WeChat: ${fmt(f.tradeStateAtWeChat)}`,
    `  user actions: ${fmt(f.actions)}`,
    `  notification modes: ${fmt(f.notifyModes)}`,
    `  payments made at WeChat: ${f.payments}; transitions into paid by source: ${fmt(f.paidTransitionsBySource)}`,
    `  paid without (before) a notification: ${f.paidWithoutNotification}`,
    `  lost notifications (deliver=false): ${lost.total}, recovered by query ${lost.recoveredByQuery}, by alarm ${lost.recoveredByAlarm}, by close ${lost.recoveredByClose}, not recovered ${lost.notRecovered}`,
    `  payment notifications: ${fmt(f.paymentNotifications)}`,
    `  refund notifications:  ${fmt(f.refundNotifications)}`,
    `  hold windows: ${fmt(f.holdWaves)}; held POSTs released out of order ${f.heldPostsReleased}, discarded (left to retries) ${f.heldPostsDiscarded}`,
    `  refunds: ${fmt(f.refunds)}; refunded ${f.refundedFen} fen`,
    `  refund successes applied by source: ${fmt(f.refundSuccessBySource)}`,
    `  idempotent replays: ${fmt(f.idempotencyReplays)}`,
    `  faults injected: ${f.faultsInjectedTotal}, consumed ${f.faultsConsumedTotal}; harsh ones: ${fmt(f.faultShapes)}`,
    faults,
    `  HTTP answers: ${fmt(f.http)}`,
    `  merchant receiver answers: ${fmt(f.merchantAnswers)}; events delivered: ${fmt(f.eventsDelivered)}`,
    `  shipping plans: ${fmt(ship.plans)}; deliveries: ${fmt(ship.deliveries)}`,
    `  shipping requests (${ship.turns} shipping turns): ${fmt(ship.requests)}`,
    `  shipping: ${ship.accepted} requests accepted, ${ship.uploadsAtWeChat} uploads at WeChat, ${ship.retries} upload calls beyond one per request; status here: ${fmt(ship.statusHere)}`,
    `  shipping calls at WeChat: upload_shipping_info ${fmt(ship.uploadCalls)}; get_order ${fmt(ship.getOrderCalls)}; stable_token ${fmt(ship.tokenCalls)}`,
    `  shipping faults: injected ${shippingFaults.injected}, consumed ${shippingFaults.consumed}; access token revoked: ${fmt(ship.tokenRevocations)}; settlement pushes: ${fmt(ship.pushes)}`,
    `  alarms run: ${f.alarmsRun}; virtual time ${f.virtualMinutes} min; real time ${f.realSeconds} s`,
    `  mismatches: ${run.mismatches.length}`,
    ...run.mismatches.map((m) => `    ${m.orderId ?? "-"}  ${m.check}: ${m.detail}`),
  ];
  return lines.join("\n");
}
