// Loopback HTTP helpers for the end-to-end benchmark: JSON calls with a deadline, a bounded
// concurrent map, and one autocannon run with per-request bodies, exact status counts and timing.
import autocannon from "autocannon";

export async function call(url, { method = "GET", headers = {}, body, timeoutMs = 10_000 } = {}) {
  const response = await fetch(url, { method, headers, body, signal: AbortSignal.timeout(timeoutMs) });
  const text = await response.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {
    // not JSON (XML, or an error page)
  }
  return { status: response.status, text, json };
}

export function postJson(url, value, headers = {}) {
  return call(url, { method: "POST", headers: { "Content-Type": "application/json", ...headers }, body: JSON.stringify(value) });
}

/** Maps `items` through async `fn` with at most `limit` in flight; order of results is kept. */
export async function mapLimit(items, limit, fn) {
  const results = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await fn(items[i], i);
      }
    }),
  );
  return results;
}

/**
 * One autocannon run against `url`. `nextRequest()` gives each request's { method, path, headers, body }
 * (called once per request sent); `check(status, body)` says whether a response counts as a success.
 * Bounded by `durationS` or, when given, by `amount` requests (and then by `maxDurationS`).
 * Rates are computed from our own clock: responses received / (last response - start).
 */
export async function load({ url, connections, durationS, amount, maxDurationS = 60, nextRequest, check, onBody }) {
  const statuses = {};
  let ok = 0;
  let bad = 0;
  let responses = 0;
  let lastResponseAt = 0;
  const times = [];
  const started = performance.now();
  const options = {
    url,
    connections,
    pipelining: 1,
    timeout: 10,
    sampleInt: 100,
    requests: [
      {
        setupRequest: (request) => ({ ...request, ...nextRequest() }),
        onResponse: (status, body) => {
          responses++;
          lastResponseAt = performance.now();
          times.push(lastResponseAt);
          statuses[status] = (statuses[status] ?? 0) + 1;
          if (check(status, body)) ok++;
          else bad++;
          onBody?.(status, body);
        },
      },
    ],
  };
  if (amount !== undefined) options.amount = amount;
  else options.duration = durationS;
  const instance = autocannon(options);
  const guard = setTimeout(() => instance.stop(), (amount !== undefined ? maxDurationS : durationS + 5) * 1000);
  const result = await instance;
  clearTimeout(guard);
  const seconds = (lastResponseAt - started) / 1000;
  // Requests per whole second of the run, for the spread of the rate (a partial last second is left out).
  const perSecond = new Array(Math.floor(seconds)).fill(0);
  for (const t of times) {
    const i = Math.floor((t - started) / 1000);
    if (i < perSecond.length) perSecond[i]++;
  }
  return {
    connections,
    requests: responses,
    seconds: round(seconds, 3),
    rps: seconds > 0 ? round(responses / seconds, 1) : null,
    rpsPerSecond: perSecond,
    latencyMs: {
      p50: result.latency.p50,
      p90: result.latency.p90,
      p99: result.latency.p99,
      max: result.latency.max,
      mean: round(result.latency.mean, 2),
    },
    statuses,
    succeeded: ok,
    // every failed check, socket error and timeout counts as an error
    errors: bad + result.errors + result.timeouts,
    socketErrors: result.errors,
    timeouts: result.timeouts,
  };
}

export function round(value, digits) {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
