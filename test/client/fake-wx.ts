// A fake `wx` for the mini-program client's tests: requests go to the real app through the harness
// (the Worker's own fetch, real KV and Durable Objects), logins and payments happen at the simulator.
import type { WxApi } from "../../client/src/index";
import type { Harness } from "../support/harness";

/** What the user does when the pay sheet opens. */
export type PaySheetAction =
  | "pay" // pays; WeChat notifies the service
  | "pay-notification-lost" // pays; WeChat's notification never arrives
  | "cancel" // closes the sheet: "requestPayment:fail cancel"
  | "pay-reported-as-cancel"; // pays, but the sheet's callback says cancel (a late tap, a slow network)

/** A request as the client sent it. */
export interface SentRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
}

export interface FakeWx extends WxApi {
  /** The mini-program's storage. */
  readonly storage: Map<string, unknown>;
  /** Every request the client made, in order, including those whose answer was lost. */
  readonly sent: SentRequest[];
  /** How many times wx.login was called. */
  logins: number;
  /** The order ids whose pay sheet was opened, in order. */
  readonly paySheets: string[];
  /** The next n requests reach the service, but the phone loses the answer ("request:fail timeout"). */
  loseAnswers(n: number): void;
  /** The next n requests never leave the phone ("request:fail"). */
  failToSend(n: number): void;
  /** What the user does at the next pay sheets, one action each; "pay" once they run out. */
  readonly payActions: PaySheetAction[];
}

/** A fake wx for one user of the simulator (a fresh one unless named). */
export function fakeWx(h: Harness, user: string = `user-${crypto.randomUUID()}`): FakeWx {
  const storage = new Map<string, unknown>();
  const sent: SentRequest[] = [];
  // wx.requestPayment receives the five fields only: the order is found by the package it was issued with.
  const orderOfPackage = new Map<string, string>();
  let answersToLose = 0;
  let requestsToFail = 0;
  // Callbacks run later, as wx runs them, never inside the call.
  const later = (fn: () => void) => void Promise.resolve().then(fn);

  const fake: FakeWx = {
    storage,
    sent,
    logins: 0,
    paySheets: [],
    payActions: [],
    loseAnswers: (n) => void (answersToLose = n),
    failToSend: (n) => void (requestsToFail = n),

    login(option) {
      fake.logins++;
      void h.simControl<{ code: string }>("/__sim/login-codes", { user }).then(({ code }) => later(() => option.success?.({ code, errMsg: "login:ok" })));
    },

    request(option) {
      const url = new URL(option.url);
      const headers = Object.fromEntries(Object.entries(option.header ?? {}).map(([k, v]) => [k, String(v)]));
      const method = option.method ?? "GET";
      sent.push({ method, path: url.pathname + url.search, headers });
      if (requestsToFail > 0) {
        requestsToFail--;
        later(() => option.fail?.({ errMsg: "request:fail", errno: 600001 } as WechatMiniprogram.RequestFailCallbackErr));
        return;
      }
      const body = option.data === undefined ? undefined : typeof option.data === "string" ? option.data : JSON.stringify(option.data);
      void h.call(url.pathname + url.search, { method, headers, ...(body === undefined ? {} : { body }) }).then(async (response) => {
        const text = await response.text();
        const data: unknown = parseJson(text);
        rememberPayment(data);
        if (answersToLose > 0) {
          answersToLose--;
          return later(() => option.fail?.({ errMsg: "request:fail timeout", errno: 5 } as WechatMiniprogram.RequestFailCallbackErr));
        }
        // Only the fields the client reads; the rest of wx's result (profile, cookies…) means nothing here.
        const result = { statusCode: response.status, data, header: Object.fromEntries(response.headers), errMsg: "request:ok" };
        later(() => option.success?.(result as WechatMiniprogram.RequestSuccessCallbackResult));
      });
    },

    requestPayment(option) {
      const orderId = orderOfPackage.get(option.package);
      if (orderId === undefined) throw new Error(`the fake saw no payment with package ${option.package}`);
      fake.paySheets.push(orderId);
      const action = fake.payActions.shift() ?? "pay";
      if (action === "cancel") return later(() => option.fail?.({ errMsg: "requestPayment:fail cancel" }));
      const prepayId = option.package.replace(/^prepay_id=/, "");
      void h
        .simControl<{ transactionId?: string; error?: string }>(`/__sim/orders/${orderId}/pay`, { prepayId, deliver: action !== "pay-notification-lost" })
        .then((paid) =>
          later(() =>
            paid.transactionId === undefined
              ? option.fail?.({ errMsg: `requestPayment:fail ${paid.error}` })
              : action === "pay-reported-as-cancel"
                ? option.fail?.({ errMsg: "requestPayment:fail cancel" })
                : option.success?.({ errMsg: "requestPayment:ok" }),
          ),
        );
    },

    getStorageSync: (key) => storage.get(key) ?? "",
    setStorageSync: (key, data) => void storage.set(key, data),
    removeStorageSync: (key) => void storage.delete(key),
  };

  function rememberPayment(data: unknown): void {
    const { order, payment } = (typeof data === "object" && data !== null ? data : {}) as { order?: { id: string }; payment?: { package: string } };
    if (order !== undefined && payment !== undefined) orderOfPackage.set(payment.package, order.id);
  }

  return fake;
}

/** What wx.request does with dataType "json": the parsed body, or the text when it is not JSON. */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** A sleep that does not wait and remembers what it was asked to wait. */
export function recordingSleep(): { sleep: (ms: number) => Promise<void>; waits: number[] } {
  const waits: number[] = [];
  return { waits, sleep: async (ms) => void waits.push(ms) };
}
