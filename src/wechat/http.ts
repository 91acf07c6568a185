// One HTTP exchange with WeChat under a deadline, mapped to WeChatError kinds. Never puts the URL (it may carry the AppSecret) or body into an error.
import { WeChatError, type WeChatApi } from "./errors";

/** Used when a client is not given `timeoutMs`: WeChat normally answers well within a second. */
export const DEFAULT_TIMEOUT_MS = 5000;

/** The platform fetch, called through a wrapper because some runtimes refuse a detached `fetch` ("Illegal invocation"). */
export const platformFetch: typeof fetch = (input, init) => fetch(input, init);

/**
 * Sends one request and returns the body of a 2xx answer as text. The deadline covers both the headers and the body.
 * Failures: deadline passed → timeout; fetch or body read threw → network; non-2xx → http.
 */
export function exchange(api: WeChatApi, fetchFn: typeof fetch, url: string, init: RequestInit, timeoutMs: number): Promise<string> {
  return underDeadline(api, timeoutMs, async (signal) => {
    // Racing against the signal, not only passing it, also bounds an injected fetch that ignores `signal`.
    const response = await untilAborted(fetchFn(url, { ...init, signal }), signal);
    if (!response.ok) {
      await response.body?.cancel().catch(() => undefined);
      throw new WeChatError(api, { kind: "http", status: response.status });
    }
    return untilAborted(response.text(), signal);
  });
}

/** An answer as it came: what a caller needs to verify a signature over the raw body before reading it. */
export interface RawAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Uint8Array;
}

/** Like exchange(), but any status is an answer, returned with its headers and raw body (API v3 signs its errors too). */
export function exchangeRaw(api: WeChatApi, fetchFn: typeof fetch, url: string, init: RequestInit, timeoutMs: number): Promise<RawAnswer> {
  return underDeadline(api, timeoutMs, async (signal) => {
    const response = await untilAborted(fetchFn(url, { ...init, signal }), signal);
    const body = new Uint8Array(await untilAborted(response.arrayBuffer(), signal));
    return { status: response.status, headers: response.headers, body };
  });
}

/** Runs `work` under a deadline; anything but a WeChatError it throws becomes timeout (deadline passed) or network. */
async function underDeadline<T>(api: WeChatApi, timeoutMs: number, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    return await work(controller.signal);
  } catch (error) {
    if (error instanceof WeChatError) throw error;
    // The original error is not attached as `cause`: some runtimes include the request URL in it.
    throw new WeChatError(api, controller.signal.aborted ? { kind: "timeout" } : { kind: "network" });
  } finally {
    clearTimeout(timer);
  }
}

function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Error("aborted"));
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}

/** Joins a base URL (possibly with a path prefix) and an API path without doubling or losing a slash. */
export function joinUrl(apiBase: string, path: string): string {
  return `${apiBase.replace(/\/+$/, "")}/${path.replace(/^\/+/, "")}`;
}

/** Checks a client's timeout setting once, when the client is configured. */
export function checkTimeout(timeoutMs: number | undefined): number {
  const value = timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isFinite(value) || value <= 0) throw new RangeError("timeoutMs must be a positive number");
  return value;
}
