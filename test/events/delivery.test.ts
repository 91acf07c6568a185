// Merchant events on the wire: signed as Standard Webhooks (checked with the reference library,
// `standardwebhooks`), retried on a schedule that meets the contract, and delivered to an endpoint
// we do not control without following its redirects, reading its body or waiting past 10 s.
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { DELIVERY_TIMEOUT_MS, deliverEvent } from "../../src/events/delivery";
import { MAX_ATTEMPTS, RETRY_DELAYS_MS, nextAttemptAt } from "../../src/events/schedule";
import { webhookHeaders, webhookSecretProblem } from "../../src/events/signature";

const SECRET = `whsec_${btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))))}`;
const BODY = JSON.stringify({ id: "evt_2026120100000001", type: "order.paid", timestamp: "2026-12-01T14:00:00.000Z", data: { order: { id: "o1", amount: 1800 } } });

describe("the signature", () => {
  it("verifies with the reference Standard Webhooks library", async () => {
    const now = Date.now();
    const headers = await webhookHeaders(SECRET, "evt_2026120100000001", Math.floor(now / 1000), BODY);
    expect(headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(new Webhook(SECRET).verify(BODY, headers)).toEqual(JSON.parse(BODY));
  });

  it("fails the reference verification for another body, id, timestamp or secret", async () => {
    const ts = Math.floor(Date.now() / 1000);
    const headers = await webhookHeaders(SECRET, "evt_1", ts, BODY);
    const other = `whsec_${btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))))}`;
    expect(() => new Webhook(SECRET).verify(`${BODY} `, headers)).toThrow();
    expect(() => new Webhook(SECRET).verify(BODY, { ...headers, "webhook-id": "evt_2" })).toThrow();
    expect(() => new Webhook(SECRET).verify(BODY, { ...headers, "webhook-timestamp": String(ts + 1) })).toThrow();
    expect(() => new Webhook(other).verify(BODY, headers)).toThrow();
  });

  it.each([
    ["no prefix", btoa("x".repeat(32)), 'must start with "whsec_"'],
    ["not base64", "whsec_***", 'must be "whsec_" followed by base64'],
    ["too short", `whsec_${btoa("x".repeat(16))}`, "must hold 24 to 64 random bytes"],
    ["too long", `whsec_${btoa("x".repeat(65))}`, "must hold 24 to 64 random bytes"],
  ])("refuses a secret with %s, without quoting it", (_what, secret, problem) => {
    expect(webhookSecretProblem(secret)).toBe(problem);
  });
});

describe("the retry schedule", () => {
  it("retries first within 60 s, with growing delays, at least 12 times over at least 24 h", () => {
    expect(RETRY_DELAYS_MS[0]).toBeLessThanOrEqual(60_000 / 1.1);
    for (let i = 1; i < RETRY_DELAYS_MS.length; i++) expect(RETRY_DELAYS_MS[i]).toBeGreaterThan(RETRY_DELAYS_MS[i - 1]!);
    expect(MAX_ATTEMPTS).toBeGreaterThanOrEqual(12);
    expect(RETRY_DELAYS_MS.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(24 * 3600_000);
  });

  it("gives the next attempt's time with at most 10 % jitter, and none after the last attempt", () => {
    expect(nextAttemptAt(1, 1000, 0)).toBe(1000 + RETRY_DELAYS_MS[0]!);
    expect(nextAttemptAt(1, 1000, 0.999)).toBeLessThan(1000 + RETRY_DELAYS_MS[0]! * 1.1);
    expect(nextAttemptAt(MAX_ATTEMPTS - 1, 0, 0)).toBe(RETRY_DELAYS_MS.at(-1));
    expect(nextAttemptAt(MAX_ATTEMPTS, 0, 0)).toBeNull();
  });
});

describe("one delivery attempt", () => {
  const attempt = (fetchFn: typeof fetch, timeoutMs?: number) =>
    deliverEvent({ url: "https://merchant.example/hooks", secret: SECRET, id: "evt_1", body: BODY, now: Date.now(), fetch: fetchFn, ...(timeoutMs !== undefined ? { timeoutMs } : {}) });

  it("POSTs the exact body with the three headers; any 2xx is a delivery", async () => {
    let seen: Request | undefined;
    const outcome = await attempt(async (input, init) => {
      seen = new Request(input, init);
      return new Response(null, { status: 204 });
    });
    expect(outcome).toEqual({ delivered: true, status: 204 });
    expect(seen!.method).toBe("POST");
    expect(seen!.headers.get("Content-Type")).toBe("application/json");
    expect(await seen!.text()).toBe(BODY);
    expect(new Webhook(SECRET).verify(BODY, Object.fromEntries(seen!.headers))).toBeTruthy();
  });

  it.each([
    ["a 500", () => new Response("boom: our database password is hunter2", { status: 500 }), "HTTP 500"],
    ["a 404", () => new Response("not here", { status: 404 }), "HTTP 404"],
    ["a redirect (not followed)", () => new Response(null, { status: 302, headers: { Location: "https://elsewhere.example/" } }), "HTTP 302 (redirects are not followed)"],
  ])("records %s as its status only, never the body", async (_what, answer, error) => {
    const outcome = await attempt(async () => answer());
    expect(outcome).toEqual({ delivered: false, error });
  });

  it("asks not to follow redirects", async () => {
    let redirect: RequestInit["redirect"];
    await attempt(async (_input, init) => {
      redirect = init?.redirect;
      return new Response(null, { status: 200 });
    });
    expect(redirect).toBe("manual");
  });

  it("gives up after the time-out on an endpoint that never answers (10 s by default)", async () => {
    expect(DELIVERY_TIMEOUT_MS).toBe(10_000);
    const started = Date.now();
    const outcome = await attempt(() => new Promise<Response>(() => undefined), 50);
    expect(outcome).toEqual({ delivered: false, error: "no answer within 0.05 s" });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("does not read a huge or endless answer", async () => {
    let pulled = 0;
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled++;
        controller.enqueue(new Uint8Array(65536));
      },
    });
    expect(await attempt(async () => new Response(endless, { status: 200 }))).toEqual({ delivered: true, status: 200 });
    expect(pulled).toBeLessThanOrEqual(2);
  });

  it("records a network failure as such", async () => {
    expect(await attempt(async () => Promise.reject(new TypeError(`connect ECONNREFUSED ${SECRET}`)))).toEqual({ delivered: false, error: "network error" });
  });
});
