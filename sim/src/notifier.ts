// Notifications: building the signed payment XML, POSTing any notification (payment or refund, v2
// or v3) to its URL, judging the reply (v2: only `return_code=SUCCESS` with HTTP 200 acknowledges;
// v3: only HTTP 200 or 204, whatever the body), the 15-step retry schedule, which all of them share,
// and the hold fault that keeps first attempts back so that /__sim/notifications/release can
// deliver them out of order. Each v3 POST is signed when it is made, and may be a signature probe.
import type { SimConfig } from "./context";
import type { SimTime } from "./clock";
import type { FaultQueue } from "./faults";
import { sleep } from "./faults";
import { newNonce } from "./ids";
import { orderFields } from "./order-rules";
import { signV2, type SignType } from "./sign";
import type { Notifiable, NotificationAttempt, NotificationJob, NotificationKind, OrderRecord, SimState } from "./state";
import type { V3Platform } from "./v3/platform";
import { buildWeChatXml, parseWeChatXml, type XmlFields } from "./xml";

/** Seconds between attempts: 15s/15s/30s/3m/10m/20m/30m/30m/30m/60m/3h/3h/3h/6h/6h (24h4m). */
export const RETRY_INTERVALS_S = [
  15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800, 10800, 21600, 21600,
] as const;

export type Deliver = (url: string, init: RequestInit) => Promise<Response>;

export interface NotifierOptions {
  config: SimConfig;
  time: SimTime;
  state: SimState;
  faults: FaultQueue;
  deliver: Deliver;
  /** Signs v3 notifications; null when v3 is not configured. */
  v3: V3Platform | null;
  /** Real ms to wait for a reply; WeChat gives up after about 5 s. */
  timeoutMs: number;
}

/** The notification XML: orderquery's fields minus trade_state, signed with the merchant key. */
export async function buildNotification(config: SimConfig, order: OrderRecord, signType: SignType): Promise<string> {
  const fields: XmlFields = { return_code: "SUCCESS", appid: config.appid, mch_id: config.mchId };
  if (order.deviceInfo !== null) fields.device_info = order.deviceInfo;
  fields.nonce_str = newNonce();
  // sign_type is only written for HMAC-SHA256: an MD5 notify without it is the real-world quirk.
  if (signType === "HMAC-SHA256") fields.sign_type = signType;
  fields.result_code = "SUCCESS";
  Object.assign(fields, orderFields(order));
  const sign = await signV2(fields, config.key, signType);
  return buildWeChatXml({ ...fields, sign });
}

type DeliveryResult = Pick<NotificationAttempt, "acknowledged" | "status" | "error" | "probe">;

/** What to send for one notification job. */
export interface NotificationStart {
  kind: NotificationKind;
  /** "v3" for a JSON notification (v3/notify.ts); absent for v2 XML. */
  protocol?: "v3";
  url: string;
  body: string;
  /** Near-simultaneous extra copies of the first attempt. */
  duplicates: number;
  /** Sim time the first attempt is due (retries are measured from it); default now. */
  at?: number;
}

class DeliveryTimeout extends Error {}

/** How /__sim/notifications/release orders the held POSTs. */
export const RELEASE_ORDERS = ["fifo", "reverse", "shuffle"] as const;
export type ReleaseOrder = (typeof RELEASE_ORDERS)[number];

/** One POST kept back by the hold fault: a first attempt (or one of its duplicate copies). */
interface HeldPost {
  target: Notifiable;
  job: NotificationJob;
  /** out_trade_no (payment) or out_refund_no (refund). */
  id: string;
  copy: number;
  /** Sim time the attempt was due (and counted as failed for the retry schedule). */
  heldAt: number;
}

/** What the control API shows of a held POST, and of one that release sent. */
export interface HeldPostView {
  kind: NotificationKind;
  id: string;
  copy: number;
  heldAt: number;
}
export type ReleasedPostView = HeldPostView & DeliveryResult & { releasedAt: number };

/** mulberry32: a small seeded PRNG, so a shuffled release is reproducible from its seed. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function notifiableId(target: Notifiable): string {
  if ("outRefundNo" in target && typeof target.outRefundNo === "string") return target.outRefundNo;
  if ("outTradeNo" in target && typeof target.outTradeNo === "string") return target.outTradeNo;
  return "?";
}

export class Notifier {
  readonly #options: NotifierOptions;
  /** The kinds whose first attempts are being held (POST /__sim/notifications/hold). */
  readonly #holding = new Set<NotificationKind>();
  /** Held first attempts, in the order they were due. */
  #held: HeldPost[] = [];

  constructor(options: NotifierOptions) {
    this.#options = options;
  }

  /**
   * Starts notifying (a just-paid order, a just-finished refund): runs the first attempt (plus
   * `duplicates` near-simultaneous copies) and schedules retries. Resolves to whether the first
   * attempt was acknowledged.
   */
  async start(target: Notifiable, start: NotificationStart): Promise<boolean> {
    const job: NotificationJob = {
      kind: start.kind,
      ...(start.protocol ? { protocol: start.protocol } : {}),
      url: start.url,
      body: start.body,
      attemptsMade: 0,
      nextAttemptAt: null,
      acknowledged: false,
      givenUp: false,
      inFlight: false,
    };
    target.notification = job;
    const at = start.at ?? this.#options.time.now();
    if (this.#holding.has(start.kind)) {
      this.#holdFirstAttempt(target, job, at, start.duplicates);
      return false;
    }
    await this.#attempt(target, job, at, start.duplicates);
    return job.acknowledged;
  }

  // --- the hold fault: out-of-order delivery ---------------------------------------------------

  /** From now on, first attempts of these kinds are kept back instead of sent. */
  hold(kinds: readonly NotificationKind[]): void {
    for (const kind of kinds) this.#holding.add(kind);
  }

  isHolding(kind: NotificationKind): boolean {
    return this.#holding.has(kind);
  }

  holdingKinds(): NotificationKind[] {
    return [...this.#holding];
  }

  heldPosts(): HeldPostView[] {
    return this.#held.map((post) => ({ kind: post.job.kind, id: post.id, copy: post.copy, heldAt: post.heldAt }));
  }

  /**
   * Stops holding, then POSTs every held first attempt in the given order, one after another, each
   * awaited. A held POST that is acknowledged stops its job's retries, as any acknowledged copy
   * does; one that is not changes nothing (the retry schedule already runs). Faults queued for
   * notify / refund_notify apply to these POSTs as to any other.
   */
  async release(order: ReleaseOrder, seed: number): Promise<ReleasedPostView[]> {
    const posts = this.#held;
    this.#held = [];
    this.#holding.clear();
    if (order === "reverse") posts.reverse();
    else if (order === "shuffle") {
      const random = mulberry32(seed);
      for (let i = posts.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [posts[i], posts[j]] = [posts[j]!, posts[i]!];
      }
    }
    const released: ReleasedPostView[] = [];
    for (const post of posts) {
      this.#touch(post.target, post.job.kind);
      const result = await this.#deliverOnce(post.job);
      const releasedAt = this.#options.time.now();
      post.target.notifications.push({ at: releasedAt, attempt: 1, copy: post.copy, ...result, released: true });
      if (result.acknowledged) {
        post.job.acknowledged = true;
        post.job.nextAttemptAt = null;
      }
      released.push({ kind: post.job.kind, id: post.id, copy: post.copy, heldAt: post.heldAt, releasedAt, ...result });
    }
    return released;
  }

  /** Stops holding and forgets the held POSTs: they are never sent; their jobs' retries go on. */
  discardHeld(): HeldPostView[] {
    const dropped = this.heldPosts();
    this.#held = [];
    this.#holding.clear();
    return dropped;
  }

  /** Forgets the hold state (POST /__sim/reset). */
  reset(): void {
    this.discardHeld();
  }

  /**
   * The first attempt of a held job: not sent, but counted as made and failed (no answer yet), so
   * the retry schedule runs from `at` as usual and a never-released notification is not lost.
   */
  #holdFirstAttempt(target: Notifiable, job: NotificationJob, at: number, duplicates: number): void {
    const id = notifiableId(target);
    for (let copy = 0; copy <= duplicates; copy++) {
      target.notifications.push({ at, attempt: 1, copy, acknowledged: false, status: null, error: "held" });
      this.#held.push({ target, job, id, copy, heldAt: at });
    }
    job.attemptsMade = 1;
    job.nextAttemptAt = at + RETRY_INTERVALS_S[0] * 1000;
  }

  /** Runs every attempt due now; retries that fall due during the run (after a clock jump) too. */
  async runDue(): Promise<void> {
    for (;;) {
      const now = this.#options.time.now();
      const due = this.#targets().flatMap((target) => {
        const job = target.notification;
        return job && !job.inFlight && job.nextAttemptAt !== null && job.nextAttemptAt <= now
          ? [{ target, job, at: job.nextAttemptAt }]
          : [];
      });
      if (due.length === 0) return;
      for (const { target, job } of due) this.#touch(target, job.kind);
      await Promise.all(due.map(({ target, job, at }) => this.#attempt(target, job, at, 0)));
    }
  }

  nextDueAt(): number | null {
    let next: number | null = null;
    for (const target of this.#targets()) {
      const at = target.notification?.nextAttemptAt ?? null;
      if (at !== null && (next === null || at < next)) next = at;
    }
    return next;
  }

  /** Every record that may have a notification job: orders (payment) and refunds, read only. */
  #targets(): Notifiable[] {
    const { orders, refunds } = this.#options.state;
    return [...orders.peek(), ...refunds.peek()];
  }

  /** Notes, for the store (persistence.ts), that a record found by #targets() or held is about to change. */
  #touch(target: Notifiable, kind: NotificationKind): void {
    const { orders, refunds } = this.#options.state;
    (kind === "notify" ? orders : refunds).touch(notifiableId(target));
  }

  /** What the hold fault keeps, for a store: the held kinds and which POSTs are held. */
  holdSnapshot(): { holding: NotificationKind[]; held: HeldPostView[] } {
    return { holding: this.holdingKinds(), held: this.heldPosts() };
  }

  /** Takes the hold state back from a store; a held POST whose record is gone is dropped. */
  restoreHold(snapshot: { holding: NotificationKind[]; held: HeldPostView[] }): void {
    this.hold(snapshot.holding);
    const { orders, refunds } = this.#options.state;
    for (const view of snapshot.held) {
      const target: Notifiable | undefined = view.kind === "notify" ? orders.get(view.id) : refunds.get(view.id);
      const job = target?.notification;
      if (target && job) this.#held.push({ target, job, id: view.id, copy: view.copy, heldAt: view.heldAt });
    }
  }

  /** One attempt, due at sim time `at`; the next retry is scheduled from `at`, not from the clock. */
  async #attempt(target: Notifiable, job: NotificationJob, at: number, duplicates: number): Promise<void> {
    job.inFlight = true;
    job.nextAttemptAt = null;
    const attempt = job.attemptsMade + 1;
    const results = await Promise.all(Array.from({ length: 1 + duplicates }, () => this.#deliverOnce(job)));
    results.forEach((result, copy) => target.notifications.push({ at, attempt, copy, ...result }));
    job.attemptsMade = attempt;
    job.inFlight = false;
    // Any copy acknowledged stops the retries, as when one of several WeChat senders gets through.
    if (results.some((result) => result.acknowledged)) {
      job.acknowledged = true;
      return;
    }
    // A released held POST may have been acknowledged while this attempt was under way.
    if (job.acknowledged) return;
    const interval = RETRY_INTERVALS_S[attempt - 1];
    if (interval === undefined) job.givenUp = true;
    else job.nextAttemptAt = at + interval * 1000;
  }

  async #deliverOnce(job: NotificationJob): Promise<DeliveryResult> {
    const fault = this.#options.faults.take(job.kind);
    if (fault?.kind === "drop") return { acknowledged: false, status: null, error: "dropped (injected fault)" };
    if (fault?.kind === "delay") await sleep(fault.delayMs);

    // v2: the headers observed on real WeChat notifications; v3 adds its signature to each POST.
    let headers: Record<string, string> = { "Content-Type": "text/xml", "User-Agent": "Mozilla/4.0", Accept: "*/*", Pragma: "no-cache" };
    let probe = false;
    if (job.protocol === "v3") {
      if (this.#options.v3 === null) return { acknowledged: false, status: null, error: "v3 is not configured" };
      const signed = await this.#options.v3.notificationHeaders(job.body);
      probe = signed.probe;
      headers = { "Content-Type": "application/json", "User-Agent": "Mozilla/4.0", Accept: "*/*", ...signed.headers };
    }

    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | null = null;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        controller.abort();
        reject(new DeliveryTimeout());
      }, this.#options.timeoutMs);
    });
    try {
      const response = await Promise.race([
        this.#options.deliver(job.url, {
          method: "POST",
          headers,
          body: job.body,
          signal: controller.signal,
        }),
        timeout,
      ]);
      const text = await Promise.race([response.text(), timeout]);
      if (job.protocol === "v3") return judgeV3(response.status, probe);
      if (response.status !== 200) return { acknowledged: false, status: response.status, error: `HTTP ${response.status}` };
      const reply = parseWeChatXml(text);
      if (!reply.ok) return { acknowledged: false, status: 200, error: "reply is not WeChat XML" };
      if (reply.fields.return_code !== "SUCCESS") {
        return { acknowledged: false, status: 200, error: `reply return_code=${reply.fields.return_code ?? "(missing)"}` };
      }
      return { acknowledged: true, status: 200, error: null };
    } catch (error) {
      const marked = probe ? { probe: true as const } : {};
      if (error instanceof DeliveryTimeout) return { acknowledged: false, status: null, error: "timeout", ...marked };
      return { acknowledged: false, status: null, error: `network error: ${error instanceof Error ? error.message : String(error)}`, ...marked };
    } finally {
      if (timer !== null) clearTimeout(timer);
    }
  }
}

/**
 * A v3 reply: only the status counts (§4.6), 200 or 204 acknowledging. A probe never acknowledges: a
 * merchant must refuse it, and one that answers it with any 2xx is recorded as having accepted a forgery.
 */
function judgeV3(status: number, probe: boolean): DeliveryResult {
  if (probe) {
    const accepted = status >= 200 && status < 300;
    return { acknowledged: false, status, error: accepted ? "signature probe accepted" : "signature probe refused", probe: true };
  }
  if (status === 200 || status === 204) return { acknowledged: true, status, error: null };
  return { acknowledged: false, status, error: `HTTP ${status}` };
}
