// The end-to-end benchmark: the service and the simulator as `npm run dev` runs them (two `wrangler
// dev`), plus the trivial Worker as the ceiling, loaded over loopback with autocannon. Each measured
// run records requests/s, latency, errors, and the CPU time of the Worker processes over the run.
import { join } from "node:path";
import { mkdirSync } from "node:fs";
import { call, load, mapLimit, postJson, round } from "./client.mjs";
import { cpuMs, commandLine, freePort, groupMembers, portIsFree, sleep, startGroup, stopAll, WRANGLER_BIN } from "../lib/procs.mjs";

const APPID = "wx5f0c3a9e7d1b2c4a";
const MCH_ID = "1900000109";
const PAY_KEY = "sim0key0for0local0dev0only000032";
const ADMIN_TOKEN = "local-admin-token-change-me-in-production";
const ORDER_BODY = JSON.stringify({ items: [{ sku: "coffee", quantity: 2 }] });
/** Notifications: the first NOTIFY_WARMUP distinct orders warm up, then at least NOTIFY_MIN_MEASURED are measured. */
const NOTIFY_WARMUP = 100;
const NOTIFY_MIN_MEASURED = 600;
const NOTIFY_MAX_MEASURED = 3000;
/** Users placing orders, round robin: the service allows each a limited number of new orders a minute (ORDER_RATE_LIMIT). */
const USERS = 100;
/**
 * A distinct client address per login, as many phones would have: the service limits logins per
 * CF-Connecting-IP (LOGIN_RATE_LIMIT), which wrangler dev passes through from the request.
 */
let phones = 0;
function phoneAddress() {
  const n = ++phones;
  return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
}
/** Concurrent control calls to the simulator while preparing (it is a single Durable Object). */
const SIM_CONCURRENCY = 4;

/**
 * Runs every end-to-end phase. `ours` is the Node bundle of bench/protocol/ours.ts (sign and XML of
 * src/wechat, used to sign the notifications). Returns the results; stops every process it started.
 */
export async function runEndToEnd({ root, tmp, ours, durationS, connections, stormCount, stormConnections, log }) {
  const ports = await choosePorts(log);
  const logs = join(tmp, "logs");
  mkdirSync(logs, { recursive: true });
  // orderId -> { applied } from the service's order_transition log lines into "paid" (a repeated
  // notification changes nothing and writes no line)
  const accepted = new Map();
  // wrangler dev rebuilds and restarts a Worker when a file it watches changes; the figures of a run with a restart are suspect.
  const reloads = { simulator: 0, service: 0, trivial: 0 };
  const watchReloads = (label) => (line) => {
    if (line.includes("Reloading local server")) {
      reloads[label]++;
      log(`  e2e: WARNING wrangler dev restarted the ${label} (a watched file changed)`);
    }
  };
  const onServiceLine = (line) => {
    watchReloads("service")(line);
    if (!line.includes('"order_transition"')) return;
    try {
      const entry = JSON.parse(line.slice(line.indexOf("{")));
      if (entry.to !== "paid") return;
      const counts = accepted.get(entry.orderId) ?? { applied: 0 };
      counts.applied++;
      accepted.set(entry.orderId, counts);
    } catch {
      // a line that only looked like one
    }
  };

  const base = { sim: `http://127.0.0.1:${ports.sim}`, service: `http://127.0.0.1:${ports.service}`, trivial: `http://127.0.0.1:${ports.trivial}` };
  const dev = (label, args, extra = {}) =>
    startGroup({
      label,
      command: process.execPath,
      args: [WRANGLER_BIN(root), "dev", ...args, "--ip", "127.0.0.1", "--show-interactive-dev-session=false"],
      cwd: root,
      // wrangler's debug log (every request's inspector events) goes with the run's files, not into ~/.config.
      env: { WRANGLER_SEND_METRICS: "false", WRANGLER_LOG_PATH: join(logs, "wrangler-debug") },
      logFile: join(logs, `${label}.log`),
      ...extra,
    });
  const serviceVars = ports.default
    ? []
    : ["--var", `WECHAT_API_BASE:${base.sim}`, "--var", `WECHATPAY_API_BASE:${base.sim}`, "--var", `PUBLIC_BASE_URL:${base.service}`];

  const startedAt = performance.now();
  const groups = {
    sim: dev("simulator", ["-c", "sim/wrangler.toml", "--port", String(ports.sim), "--inspector-port", String(ports.inspector[0]), "--persist-to", join(tmp, "state-sim")], { onLine: watchReloads("simulator") }),
    service: dev("service", ["--env", "local", "--port", String(ports.service), "--inspector-port", String(ports.inspector[1]), "--persist-to", join(tmp, "state-service"), ...serviceVars], { onLine: onServiceLine }),
    trivial: dev("trivial", ["-c", "bench/trivial-worker/wrangler.toml", "--port", String(ports.trivial), "--inspector-port", String(ports.inspector[2]), "--persist-to", join(tmp, "state-trivial")], { onLine: watchReloads("trivial") }),
  };
  try {
    await Promise.all([
      ready(`${base.sim}/__sim/clock`, groups.sim, 120),
      ready(`${base.service}/healthz`, groups.service, 120),
      ready(`${base.trivial}/`, groups.trivial, 120),
    ]);
    const health = await call(`${base.service}/healthz`);
    if (health.status !== 200) throw new Error(`the service is not healthy: ${health.text}`);
    log(`  e2e: wrangler dev x3 ready in ${Math.round(performance.now() - startedAt)} ms (service :${ports.service}, simulator :${ports.sim}, trivial :${ports.trivial})`);

    const procs = Object.fromEntries(Object.entries(groups).map(([name, group]) => [name, roles(group)]));
    const measured = async (name, target, run) => {
      const before = cpuSnapshot(procs);
      const clientBefore = process.cpuUsage();
      const result = await run();
      const after = cpuSnapshot(procs);
      const client = process.cpuUsage(clientBefore);
      result.cpuMsPerRequest = cpuPerRequest(before, after, result.requests);
      result.cpuMsTotal = cpuDiff(before, after);
      result.loadGeneratorCpuMs = round((client.user + client.system) / 1000, 0);
      result.target = target;
      log(`  e2e: ${name.padEnd(22)} ${String(result.rps).padStart(8)} req/s  p50 ${result.latencyMs.p50} ms  p99 ${result.latencyMs.p99} ms  errors ${result.errors}  ` +
        `worker CPU ${fmt(result.cpuMsPerRequest[target]?.worker)} ms/req`);
      return result;
    };

    const results = { ports: { service: ports.service, simulator: ports.sim, trivial: ports.trivial }, durationS, connections, users: USERS };
    const xmlBody = ours.buildXml({ return_code: "SUCCESS", appid: APPID, mch_id: MCH_ID, nonce_str: ours.randomNonce(32), sign: "0".repeat(64), filler: "x".repeat(700) });

    // --- the ceiling: a Worker that answers a constant, same wrangler dev setup, same shape of request
    const trivialRequest = () => ({ method: "POST", path: "/", headers: { "Content-Type": "text/xml" }, body: xmlBody });
    await load({ url: base.trivial, connections, durationS: 2, nextRequest: trivialRequest, check: (s) => s === 200 });
    results.trivial = await measured("trivial Worker", "trivial", () =>
      load({ url: base.trivial, connections, durationS, nextRequest: trivialRequest, check: (s) => s === 200 }));
    // the same, writing one log line per request, as a payment notification does: what logging costs under wrangler dev
    const loggingRequest = () => ({ ...trivialRequest(), path: "/log" });
    results.trivialLogging = await measured("trivial Worker + 1 log line", "trivial", () =>
      load({ url: base.trivial, connections, durationS, nextRequest: loggingRequest, check: (s) => s === 200 }));

    // --- (a) login: a distinct, freshly minted code per request
    const mint = (n) => mapLimit(Array.from({ length: n }), SIM_CONCURRENCY * 2, async () => {
      const r = await postJson(`${base.sim}/__sim/login-codes`, {});
      if (r.status !== 200 || !r.json?.code) throw new Error(`minting a login code failed: HTTP ${r.status}`);
      return r.json.code;
    });
    const loginRun = (codes, options) => {
      let next = 0;
      let exhausted = false;
      const run = load({
        url: base.service,
        connections,
        ...options,
        nextRequest: () => {
          const code = codes[next++];
          if (code === undefined) exhausted = true;
          return {
            method: "POST",
            path: "/api/login",
            headers: { "Content-Type": "application/json", "CF-Connecting-IP": phoneAddress() },
            body: JSON.stringify({ code: code ?? "exhausted-pool" }),
          };
        },
        check: (s, body) => s === 200 && body.includes('"token"'),
      });
      return run.then((r) => ({ ...r, codesMinted: codes.length, codePoolExhausted: exhausted }));
    };
    let mintStarted = performance.now();
    const warmCodes = await mint(300);
    const mintRate = 300 / ((performance.now() - mintStarted) / 1000);
    const warm = await loginRun(warmCodes, { amount: warmCodes.length });
    const poolSize = Math.min(30_000, Math.ceil((warm.rps ?? 100) * durationS * 1.6) + 300);
    mintStarted = performance.now();
    const codes = await mint(poolSize);
    log(`  e2e: minted ${poolSize} login codes in ${Math.round(performance.now() - mintStarted)} ms (${Math.round(mintRate)}/s)`);
    results.login = await measured("login", "service", () => loginRun(codes, { durationS }));

    // --- users for the order phases (the service allows each user a limited number of new orders a minute)
    const users = await mapLimit(Array.from({ length: USERS }), 8, async () => {
      const [code] = await mint(1);
      const r = await postJson(`${base.service}/api/login`, { code }, { "CF-Connecting-IP": phoneAddress() });
      if (r.status !== 200) throw new Error(`login for the order phases failed: HTTP ${r.status} ${r.text}`);
      return { token: r.json.token, openid: r.json.openid };
    });
    const tokenOf = new Map(users.map((u) => [u.openid, u.token]));

    // --- (b) create order: each request a new order, round-robin over the users
    const created = [];
    const orderRun = (options) => {
      let next = 0;
      return load({
        url: base.service,
        connections,
        ...options,
        nextRequest: () => ({
          method: "POST",
          path: "/api/orders",
          headers: { "Content-Type": "application/json", Authorization: `Bearer ${users[next++ % users.length].token}` },
          body: ORDER_BODY,
        }),
        check: (s, body) => s === 201 && body.includes('"prepay_id='),
        onBody: (s, body) => {
          if (s !== 201) return;
          try {
            const { order } = JSON.parse(body);
            created.push({ id: order.id, amount: order.amount });
          } catch {
            // counted as an error by check()
          }
        },
      });
    };
    await orderRun({ amount: 60 });
    results.createOrder = await measured("create order", "service", () => orderRun({ durationS }));

    // Enough distinct orders for a notification run of a useful length (not measured; at most 25 s).
    const wanted = NOTIFY_WARMUP + NOTIFY_MIN_MEASURED;
    if (created.length < wanted) {
      const deadline = Date.now() + 25_000;
      log(`  e2e: creating ${wanted - created.length} more orders for the notification run`);
      await mapLimit(Array.from({ length: wanted - created.length }), connections, async (_, i) => {
        if (Date.now() > deadline) return;
        const r = await postJson(`${base.service}/api/orders`, JSON.parse(ORDER_BODY), { Authorization: `Bearer ${users[i % users.length].token}` });
        if (r.status === 201) created.push({ id: r.json.order.id, amount: r.json.order.amount });
      });
    }

    // --- (c) notifications, each for a distinct order WeChat knows as paid
    // One order is set aside for the storm; the rest get one notification each.
    const stormOrder = created.pop();
    const pending = created.slice(0, NOTIFY_WARMUP + NOTIFY_MAX_MEASURED);
    if (!stormOrder || pending.length < NOTIFY_WARMUP + 20) throw new Error(`only ${created.length} orders were created; too few for the notification runs`);
    log(`  e2e: paying ${pending.length + 1} orders at the simulator (deliver: false) and signing their notifications`);
    // The simulator is one Durable Object: a few calls at a time is all it needs.
    const [storm, ...notifications] = await mapLimit([stormOrder, ...pending], SIM_CONCURRENCY, (order) => paidNotification(base, ours, order));
    await expectSimulatorKnows(base, storm.id);
    const warmCount = NOTIFY_WARMUP;
    const notifyRun = (batch) => {
      let next = 0;
      return load({
        url: base.service,
        connections: Math.min(connections, batch.length),
        amount: batch.length,
        nextRequest: () => ({ method: "POST", path: "/api/pay/notify", headers: { "Content-Type": "text/xml" }, body: batch[next++].xml }),
        check: (s, body) => s === 200 && body.includes("<return_code><![CDATA[SUCCESS]]></return_code>"),
      });
    };
    await notifyRun(notifications.slice(0, warmCount));
    const measuredBatch = notifications.slice(warmCount);
    results.notify = await measured("payment notification", "service", () => notifyRun(measuredBatch));
    await sleep(1000); // let the last log lines arrive
    const appliedOnce = measuredBatch.filter((n) => accepted.get(n.id)?.applied === 1).length;
    const sample = measuredBatch.filter((_, i) => i % Math.max(1, Math.floor(measuredBatch.length / 20)) === 0).slice(0, 20);
    const sampleStatuses = await mapLimit(sample, 5, async (n) => (await call(`${base.service}/api/orders/${n.id}`, { headers: { Authorization: `Bearer ${tokenOf.get(n.openid)}` } })).json?.order?.status);
    results.notify.checks = {
      simulatorRetries,
      distinctOrders: measuredBatch.length,
      appliedExactlyOnceInLog: appliedOnce,
      sampledPaid: `${sampleStatuses.filter((s) => s === "paid").length}/${sample.length}`,
    };

    // --- (d) a storm of duplicate notifications for one order
    const owner = { token: tokenOf.get(storm.openid) };
    results.storm = await measured(`storm x${stormCount} (c=${stormConnections})`, "service", () =>
      load({
        url: base.service,
        connections: stormConnections,
        amount: stormCount,
        nextRequest: () => ({ method: "POST", path: "/api/pay/notify", headers: { "Content-Type": "text/xml" }, body: storm.xml }),
        check: (s, body) => s === 200 && body.includes("<return_code><![CDATA[SUCCESS]]></return_code>"),
      }));
    await sleep(1000);
    const view = await call(`${base.service}/api/orders/${storm.id}`, { headers: { Authorization: `Bearer ${owner.token}` } });
    const admin = await call(`${base.service}/admin/orders/${storm.id}`, { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } });
    const history = admin.status === 200 && Array.isArray(admin.json?.history) ? admin.json.history : null;
    const logCounts = accepted.get(storm.id) ?? { applied: 0 };
    results.storm.checks = {
      orderStatus: view.json?.order?.status ?? `HTTP ${view.status}`,
      transactionIdMatches: view.json?.order?.transactionId === storm.transactionId,
      paidTransitionsInHistory: history ? history.filter((h) => h.to === "paid").length : null,
      historyFrom: history ? "GET /admin/orders/:id" : `not available (GET /admin/orders/:id answered HTTP ${admin.status})`,
      logApplied: logCounts.applied,
    };
    const c = results.storm.checks;
    c.exactlyOnePaidTransition =
      c.orderStatus === "paid" && c.logApplied === 1 && (c.paidTransitionsInHistory === null || c.paidTransitionsInHistory === 1);
    log(`  e2e: storm checks ${JSON.stringify(c)}`);

    results.workerRestarts = reloads;
    results.processes = Object.fromEntries(Object.entries(procs).map(([k, v]) => [k, Object.fromEntries(Object.entries(v).map(([role, pid]) => [role, commandLine(pid)[0]?.split("/").pop()]))]));
    return results;
  } finally {
    const leftovers = await stopAll();
    if (leftovers.length) log(`  e2e: WARNING processes left after stopping: ${JSON.stringify(leftovers)}`);
  }
}

/** 503s from the simulator while paying orders (each retried once). */
let simulatorRetries = 0;

/** The simulator must know every order it is asked about: if it lost one, every figure after that is meaningless. */
async function expectSimulatorKnows(base, orderId) {
  const known = await call(`${base.sim}/__sim/orders/${orderId}`);
  if (known.status !== 200) {
    throw new Error(`the simulator no longer knows order ${orderId} (HTTP ${known.status}): it lost its state`);
  }
}

/** Pays `order` at the simulator without delivery, then signs the notification WeChat would send. */
export async function paidNotification(base, ours, order) {
  let paid = await postJson(`${base.sim}/__sim/orders/${order.id}/pay`, { deliver: false });
  // wrangler's proxy answers 503 "restarted mid-request" when the simulator's connection drops; a retry tells a
  // transient failure (then 200, or 409 if the first attempt got through) from lost state (404).
  if (paid.status === 503) {
    simulatorRetries++;
    paid = await postJson(`${base.sim}/__sim/orders/${order.id}/pay`, { deliver: false });
  }
  const retriedAfterSuccess = paid.status === 409 && paid.json?.error === "ORDER_NOT_PAYABLE";
  if (paid.status !== 200 && !retriedAfterSuccess) throw new Error(`paying ${order.id} at the simulator failed: HTTP ${paid.status} ${paid.text}`);
  const known = await call(`${base.sim}/__sim/orders/${order.id}`);
  if (known.status !== 200 || known.json.tradeState !== "SUCCESS") throw new Error(`the simulator does not know ${order.id} as paid (HTTP ${known.status})`);
  const fields = {
    return_code: "SUCCESS",
    appid: APPID,
    mch_id: MCH_ID,
    nonce_str: ours.randomNonce(32),
    sign_type: "HMAC-SHA256",
    result_code: "SUCCESS",
    openid: known.json.openid,
    is_subscribe: "N",
    trade_type: "JSAPI",
    bank_type: "CFT",
    total_fee: String(known.json.totalFee),
    fee_type: "CNY",
    cash_fee: String(known.json.totalFee),
    transaction_id: known.json.transactionId,
    out_trade_no: order.id,
    time_end: ours.formatBeijingTime(Date.now()),
  };
  if (String(order.amount) !== fields.total_fee) throw new Error(`order ${order.id}: amounts differ between the service and the simulator`);
  const sign = await ours.sign(fields, PAY_KEY, "HMAC-SHA256");
  return { id: order.id, openid: known.json.openid, transactionId: known.json.transactionId, xml: ours.buildXml({ ...fields, sign }) };
}

async function choosePorts(log) {
  const wanted = { service: 8787, sim: 8788, trivial: 8789 };
  const free = await Promise.all(Object.values(wanted).map(portIsFree));
  const inspector = [await freePort(), await freePort(), await freePort()];
  if (free.every(Boolean)) return { ...wanted, inspector, default: true };
  log("  e2e: 8787-8789 are in use (is `npm run dev` running?); using free ports and pointing the service at them with --var");
  return { service: await freePort(), sim: await freePort(), trivial: await freePort(), inspector, default: false };
}

export async function ready(url, group, timeoutS) {
  const deadline = Date.now() + timeoutS * 1000;
  while (Date.now() < deadline) {
    if (group.exited) throw new Error(`${group.label} (wrangler dev) exited early (${group.exitCode}); see its log`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await response.arrayBuffer();
      if (response.status < 500 || response.status === 503) return;
    } catch {
      // not listening yet
    }
    await sleep(250);
  }
  throw new Error(`${group.label} did not answer ${url} within ${timeoutS} s`);
}

/**
 * The processes of one `wrangler dev`: `worker` is the workerd running the Worker itself (the one
 * with the inspector), `proxy` the workerd in front of it that owns the public port, `wrangler` the
 * Node process of wrangler (it prints every request's log line).
 */
function roles(group) {
  const found = {};
  for (const { pid, comm } of groupMembers(group.pgid)) {
    const args = commandLine(pid).join(" ");
    if (comm === "workerd") {
      if (args.includes("--inspector-addr")) found.worker = pid;
      else found.proxy = pid;
    } else if (comm === "node" && args.includes("wrangler-dist/cli.js")) {
      found.wrangler = pid;
    }
  }
  if (!found.worker || !found.proxy || !found.wrangler) throw new Error(`could not tell the processes of ${group.label} apart: ${JSON.stringify(found)}`);
  return found;
}

function cpuSnapshot(procs) {
  const snapshot = {};
  for (const [name, pids] of Object.entries(procs)) {
    snapshot[name] = Object.fromEntries(Object.entries(pids).map(([role, pid]) => [role, cpuMs(pid)]));
  }
  return snapshot;
}

function cpuDiff(before, after) {
  const out = {};
  for (const [name, roles] of Object.entries(after)) {
    out[name] = Object.fromEntries(Object.entries(roles).map(([role, ms]) => [role, round(ms - before[name][role], 0)]));
  }
  return out;
}

function cpuPerRequest(before, after, requests) {
  const diff = cpuDiff(before, after);
  const out = {};
  for (const [name, roles] of Object.entries(diff)) {
    out[name] = Object.fromEntries(Object.entries(roles).map(([role, ms]) => [role, requests > 0 ? round(ms / requests, 3) : null]));
  }
  return out;
}

function fmt(value) {
  return value === undefined || value === null ? "?" : value.toFixed(3);
}
