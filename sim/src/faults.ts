// Injected faults: a queue per API, consumed one per matching call in the order they were added.
// Validation of a fault request lives here too, so only meaningful (api, kind) pairs are queued.

export const FAULT_APIS = [
  "code2session",
  "unifiedorder",
  "orderquery",
  "closeorder",
  "refund",
  "refundquery",
  "v3_jsapi",
  "v3_query",
  "v3_close",
  "v3_refund",
  "v3_refundquery",
  "v3_certificates",
  "stable_token",
  "upload_shipping_info",
  "get_order",
  "notify",
  "refund_notify",
] as const;
export type FaultApi = (typeof FAULT_APIS)[number];

export const FAULT_KINDS = ["SYSTEMERROR", "BIZERR_NEED_RETRY", "http_500", "delay", "busy", "rate_limit", "drop"] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/**
 * Which kinds make sense for which API:
 * - SYSTEMERROR: a signed `result_code=FAIL, err_code=SYSTEMERROR`; pay APIs only. In v3, a signed
 *   HTTP 500 `{"code":"SYSTEM_ERROR"}`.
 * - BIZERR_NEED_RETRY: the same with `err_code=BIZERR_NEED_RETRY`; refund only (the one API documenting it).
 * - busy / rate_limit: errcode -1 / 45011 (code2session and the mini-program server APIs).
 * - http_500: HTTP 500 with a text body (not for notify: the merchant is the server there).
 * - delay: wait delayMs of real time, then behave normally (for notify: before the POST).
 * - drop: for an API, the call takes effect but its response is lost (the simulator's fetch
 *   rejects); for notify / refund_notify, that delivery attempt is never made and counts as failed.
 */
export const APPLICABLE: Readonly<Record<FaultApi, readonly FaultKind[]>> = {
  code2session: ["busy", "rate_limit", "http_500", "delay", "drop"],
  unifiedorder: ["SYSTEMERROR", "http_500", "delay", "drop"],
  orderquery: ["SYSTEMERROR", "http_500", "delay", "drop"],
  closeorder: ["SYSTEMERROR", "http_500", "delay", "drop"],
  refund: ["SYSTEMERROR", "BIZERR_NEED_RETRY", "http_500", "delay", "drop"],
  refundquery: ["SYSTEMERROR", "http_500", "delay", "drop"],
  v3_jsapi: ["SYSTEMERROR", "http_500", "delay", "drop"],
  v3_query: ["SYSTEMERROR", "http_500", "delay", "drop"],
  v3_close: ["SYSTEMERROR", "http_500", "delay", "drop"],
  v3_refund: ["SYSTEMERROR", "http_500", "delay", "drop"],
  v3_refundquery: ["SYSTEMERROR", "http_500", "delay", "drop"],
  v3_certificates: ["SYSTEMERROR", "http_500", "delay", "drop"],
  stable_token: ["busy", "rate_limit", "http_500", "delay", "drop"],
  upload_shipping_info: ["busy", "rate_limit", "http_500", "delay", "drop"],
  get_order: ["busy", "rate_limit", "http_500", "delay", "drop"],
  notify: ["delay", "drop"],
  refund_notify: ["delay", "drop"],
};

export interface Fault {
  api: FaultApi;
  kind: FaultKind;
  delayMs: number;
}

export interface FaultSpec extends Fault {
  times: number;
}

const DEFAULT_DELAY_MS = 1000;

/** Reads a `POST /__sim/faults` body, or says what is wrong with it. */
export function parseFaultSpec(body: unknown): { ok: true; spec: FaultSpec } | { ok: false; message: string } {
  if (typeof body !== "object" || body === null) return { ok: false, message: "body must be a JSON object" };
  const { api, kind, times = 1, delayMs = DEFAULT_DELAY_MS } = body as Record<string, unknown>;
  if (!FAULT_APIS.includes(api as FaultApi)) {
    return { ok: false, message: `api must be one of ${FAULT_APIS.join(", ")}` };
  }
  if (!FAULT_KINDS.includes(kind as FaultKind)) {
    return { ok: false, message: `kind must be one of ${FAULT_KINDS.join(", ")}` };
  }
  const faultApi = api as FaultApi;
  const faultKind = kind as FaultKind;
  if (!APPLICABLE[faultApi].includes(faultKind)) {
    return { ok: false, message: `kind ${faultKind} does not apply to ${faultApi}; use ${APPLICABLE[faultApi].join(", ")}` };
  }
  if (typeof times !== "number" || !Number.isInteger(times) || times < 1) {
    return { ok: false, message: "times must be a positive integer" };
  }
  if (typeof delayMs !== "number" || !Number.isFinite(delayMs) || delayMs < 0) {
    return { ok: false, message: "delayMs must be a non-negative number" };
  }
  return { ok: true, spec: { api: faultApi, kind: faultKind, times, delayMs } };
}

export class FaultQueue {
  #queue: FaultSpec[] = [];

  add(spec: FaultSpec): void {
    this.#queue.push({ ...spec });
  }

  /** Takes the next fault for `api`, if one is queued. */
  take(api: FaultApi): Fault | null {
    const index = this.#queue.findIndex((fault) => fault.api === api);
    const spec = this.#queue[index];
    if (spec === undefined) return null;
    spec.times -= 1;
    if (spec.times === 0) this.#queue.splice(index, 1);
    return { api: spec.api, kind: spec.kind, delayMs: spec.delayMs };
  }

  list(): FaultSpec[] {
    return this.#queue.map((spec) => ({ ...spec }));
  }

  clear(): void {
    this.#queue = [];
  }
}

/** Thrown by `Simulator.fetch` for a `drop` fault: the call took effect but no response came back. */
export class SimulatedDropError extends Error {
  constructor(api: FaultApi) {
    super(`simulated connection drop: the ${api} response was lost`);
    this.name = "SimulatedDropError";
  }
}

/** Real-time wait for `delay` faults (sim time does not move). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
