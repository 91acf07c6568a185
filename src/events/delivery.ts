// One attempt to deliver a merchant event: POST the body with its Standard Webhooks headers, wait
// at most 10 s, and judge only the status. The merchant's endpoint is outside our control: a
// redirect is not followed (not a delivery), the answer's body is never read (only cancelled), and
// what is recorded of a failure is a status or a kind of network error, never the body.
import { webhookHeaders } from "./signature";

/** The contract: any 2xx within 10 s is a delivery. */
export const DELIVERY_TIMEOUT_MS = 10_000;

export type DeliveryOutcome = { delivered: true; status: number } | { delivered: false; error: string };

/** Sends one attempt of event `id` with `body` (the exact JSON bytes, the same on every attempt). */
export async function deliverEvent(input: {
  url: string;
  secret: string;
  id: string;
  body: string;
  /** ms clock for the attempt's timestamp */
  now: number;
  fetch?: typeof fetch;
  timeoutMs?: number;
}): Promise<DeliveryOutcome> {
  const headers = { "Content-Type": "application/json", "User-Agent": "wxpay-edge-webhooks", ...(await webhookHeaders(input.secret, input.id, Math.floor(input.now / 1000), input.body)) };
  const timeoutMs = input.timeoutMs ?? DELIVERY_TIMEOUT_MS;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const fetchFn = input.fetch ?? ((url: RequestInfo | URL, init?: RequestInit) => fetch(url, init));
  try {
    const sent = fetchFn(input.url, { method: "POST", headers, body: input.body, redirect: "manual", signal: controller.signal });
    const response = await Promise.race([
      sent,
      new Promise<never>((_, reject) => controller.signal.addEventListener("abort", () => reject(new Error("timeout")), { once: true })),
    ]);
    // Never read: a huge or endless body costs nothing, and nothing of it can reach a log.
    await response.body?.cancel().catch(() => undefined);
    if (response.status >= 200 && response.status < 300) return { delivered: true, status: response.status };
    return { delivered: false, error: response.status >= 300 && response.status < 400 ? `HTTP ${response.status} (redirects are not followed)` : `HTTP ${response.status}` };
  } catch {
    return { delivered: false, error: controller.signal.aborted ? `no answer within ${timeoutMs / 1000} s` : "network error" };
  } finally {
    clearTimeout(timer);
  }
}
