// A record of every call to the simulated WeChat APIs, so tests can assert what the client sent.
import { isoTime } from "./clock";

export type ApiName =
  | "code2session"
  | "unifiedorder"
  | "orderquery"
  | "closeorder"
  | "refund"
  | "refundquery"
  | "v3_jsapi"
  | "v3_query"
  | "v3_close"
  | "v3_refund"
  | "v3_refundquery"
  | "v3_certificates"
  | "stable_token"
  | "upload_shipping_info"
  | "get_order";

export interface CallRecord {
  api: ApiName;
  /** Sim time of the call. */
  at: number;
  /** The request's fields as received (query parameters, XML elements, or v3 JSON as dotted paths). */
  fields: Record<string, string>;
  /** "SUCCESS", an err_code / return-level code such as "SIGNERROR", an errcode, a v3 code, or "http_500". */
  outcome: string;
  /** The injected fault that shaped this call, if any. */
  fault: string | null;
  /** Present (true) when the v3 answer carried a WECHATPAY/SIGNTEST/ probe signature. */
  probe?: true;
}

export class CallLog {
  #calls: CallRecord[] = [];
  /** How many calls a store already holds, and whether it must forget them (after clear()). */
  #stored = 0;
  #cleared = false;

  record(call: CallRecord): void {
    this.#calls.push(call);
  }

  list(api?: string): CallRecord[] {
    return api ? this.#calls.filter((call) => call.api === api) : [...this.#calls];
  }

  clear(): void {
    this.#calls = [];
    this.#stored = 0;
    this.#cleared = true;
  }

  /** Calls restored from a store, already stored. */
  restore(calls: CallRecord[]): void {
    this.#calls = [...calls];
    this.#stored = calls.length;
  }

  /** What a store lacks: whether to forget what it holds, and the calls from index `from` on. */
  takeUnstored(): { cleared: boolean; from: number; calls: CallRecord[] } {
    const unstored = { cleared: this.#cleared, from: this.#stored, calls: this.#calls.slice(this.#stored) };
    this.#stored = this.#calls.length;
    this.#cleared = false;
    return unstored;
  }
}

/** The control API's JSON view of a call. */
export function callToJson(call: CallRecord) {
  return { ...call, at: isoTime(call.at) };
}
