// The Worker's own CPU per request, by endpoint: bench/handler/worker.ts inside workerd (Miniflare),
// loaded twice: as the Worker ("app") and as the Worker that hosts the Durable Objects ("objects"),
// so that, as in production, the objects run in an isolate of their own.
//
// Timing: each run is one bench request that hands `count` requests to the app back to back; its
// time is workerd's own clock. Nothing in it waits (WeChat, KV and the rate limiters answer at once),
// and the workerd process's CPU counters over the same run check that: CPU ÷ time near 1.
//
// The operator's index is a real local D1 database, as deployed. The alarms that changes arm (an
// order's index entry, written after each change) are held when they fire and run afterwards as
// rows of their own (createFollowUp, notifyFollowUp), so that a request's figure is its own.
//
// Baseline: with --baseline-root, another tree's code runs beside it in a workerd of its own, and
// the timed runs of the two alternate (see runHandlerBench).
//
// Split: one more run of each endpoint is profiled in both isolates at once (V8 sampling profiler,
// 100 µs). Each isolate's samples in its own code (busyOf) give the shares of the Worker and of the
// objects; the profiler slows both down, so its times are only used as shares of the timed figure.
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Miniflare } from "miniflare";
import { bundleHandlerWorker } from "../lib/build.mjs";
import { connectInspector } from "../lib/inspector.mjs";
import { childrenNamed, cpuMs, freePort } from "../lib/procs.mjs";
import { summarize } from "../lib/stats.mjs";
import { makeWorkDir } from "../lib/work-dir.mjs";

/** The local environment's settings (wrangler.toml [env.local.vars]); WeChat itself is faked in the Worker. */
const VARS = {
  WECHAT_APPID: "wx5f0c3a9e7d1b2c4a",
  WECHAT_SECRET: "0f6b1c2d3e4a5b6c7d8e9f0a1b2c3d4e",
  WECHATPAY_MCHID: "1900000109",
  WECHATPAY_KEY: "sim0key0for0local0dev0only000032",
  WECHATPAY_SIGN_TYPE: "HMAC-SHA256",
  ADMIN_TOKEN: "local-admin-token-change-me-in-production",
  PUBLIC_BASE_URL: "https://service.example",
  // a loopback base, as in the local environment (refunds need no certificate then); every call is answered in-isolate
  WECHAT_API_BASE: "http://127.0.0.1:8788",
  WECHATPAY_API_BASE: "http://127.0.0.1:8788",
  PRODUCTS: '{"coffee":{"name":"Coffee","price":1800}}',
  SESSION_TTL_SECONDS: "7200",
  ORDER_TTL_SECONDS: "1800",
};

/**
 * Requests per timed run, and untimed warm-up requests, per endpoint, in the order they run.
 * Notifications need one order each; local SQLite fails (SQLITE_NOMEM) past about 2,200 objects
 * alive at once in one workerd (measured: the 2,032nd order of 200 users), which bounds the order
 * and notification counts: 1,550 orders here.
 */
export const PLAN = {
  healthz: { count: 2000, warmup: 500 },
  login: { count: 600, warmup: 200 },
  createOrder: { count: 150, warmup: 50 },
  // one alarm run per order created above, in the order they were created
  createFollowUp: { count: 150, warmup: 50 },
  // the orders created above: the first half paid by v2 notifications, the second by v3 ones
  notify: { count: 75, warmup: 25 },
  // one alarm run per paid order
  notifyFollowUp: { count: 75, warmup: 25 },
  notifyRepeat: { count: 1000, warmup: 200 },
  notifyForged: { count: 1000, warmup: 200 },
  notifyV3: { count: 75, warmup: 25 },
  getOrder: { count: 1000, warmup: 200 },
  newEmptyObject: { count: 200, warmup: 50 },
  // a pending order's storage work on a payment, bare: one object per request, woken before the run
  objectWrites: { count: 75, warmup: 25 },
};

/** Distinct orders each notification row consumes (warm-up, timed and profiled runs). */
const ordersFor = (endpoint, runs) => PLAN[endpoint].warmup + (runs + 1) * PLAN[endpoint].count;
const FOLLOW_UPS = new Set(["createFollowUp", "notifyFollowUp"]);
const NOTIFICATIONS = new Set(["notify", "notifyV3"]);

/**
 * µs of a profile spent running the isolate's own code: samples in JavaScript (runtime built-ins
 * included, under their caller) or in its garbage collector. "(program)" is left out on both sides.
 * workerd runs every isolate on one thread, and an isolate's sampler takes no sample while another
 * isolate runs: the next sample then carries the whole gap in its time delta, which would count the
 * other isolate's time (the object's, inside the Worker's call to it) as this one's. So a sample
 * counts for its delta only up to 1.5 times the profile's median delta (the sampler's actual period).
 */
function busyOf(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n.callFrame.functionName]));
  const deltas = [...profile.timeDeltas].sort((a, b) => a - b);
  const cap = 1.5 * (deltas[deltas.length >> 1] ?? 0);
  let busy = 0;
  profile.samples.forEach((id, i) => {
    const name = byId.get(id);
    if (name !== "(idle)" && name !== "(program)" && name !== "(root)") busy += Math.min(profile.timeDeltas[i] ?? 0, cap);
  });
  return { busyUs: busy };
}

/**
 * One copy of the code under test in its own Miniflare (its own workerd process): the app and its
 * objects, and the calls that prepare, time and profile its runs.
 */
async function startInstance({ label, script, compatibilityDate, compatibilityFlags, inspectorPort, profileDir }) {
  const state = { transitionLines: 0 };
  const objects = { ORDERS: "OrderObject", USER_ORDERS: "UserOrdersObject", EMPTY: "EmptyObject" };
  const worker = (name, durableObjects) => ({
    name,
    modules: [{ type: "ESModule", path: `${name}.mjs`, contents: script }],
    compatibilityDate,
    compatibilityFlags,
    bindings: VARS,
    durableObjects,
    // The operator's index, as deployed: the order objects write their entries to it in their alarms.
    d1Databases: { ORDER_INDEX: "bench-order-index" },
  });
  const before = new Set(childrenNamed(process.pid, "workerd"));
  const mf = new Miniflare({
    inspectorPort,
    durableObjectsPersist: false,
    workers: [
      worker("app", Object.fromEntries(Object.entries(objects).map(([binding, className]) => [binding, { className, scriptName: "objects", useSQLite: true }]))),
      worker("objects", Object.fromEntries(Object.entries(objects).map(([binding, className]) => [binding, { className, useSQLite: true }]))),
    ],
    handleRuntimeStdio(stdout, stderr) {
      stdout.on("data", (chunk) => {
        if (process.env.HANDLER_BENCH_ECHO) process.stderr.write(chunk);
        state.transitionLines += (String(chunk).match(/"order_transition"/g) ?? []).length;
      });
      if (process.env.HANDLER_BENCH_ECHO) stderr.pipe(process.stderr);
      else stderr.resume();
    },
  });
  await mf.ready;
  const pids = childrenNamed(process.pid, "workerd").filter((pid) => !before.has(pid));
  if (pids.length !== 1) throw new Error(`${label}: expected one new workerd process, found ${pids.length}`);
  const call = async (path) => {
    const response = await mf.dispatchFetch(`http://bench.local${path}`);
    const text = await response.text();
    if (!response.ok) throw new Error(`handler bench (${label}) ${path}: HTTP ${response.status} ${text.slice(0, 500)}`);
    return JSON.parse(text);
  };
  // Untimed, before each run: the notifications' orders brought into memory, or the alarms a follow-up run runs taken.
  const prepare = async (endpoint, count) => {
    if (NOTIFICATIONS.has(endpoint)) await call(`/wake-orders?count=${count}&version=${endpoint === "notifyV3" ? "v3" : "v2"}`);
    if (FOLLOW_UPS.has(endpoint)) await call(`/take-alarms?count=${count}`);
    if (endpoint === "objectWrites") await call(`/wake-writes?count=${count}`);
  };
  return {
    label,
    state,
    call,
    prepare,
    dispose: () => mf.dispose(),
    async timed(endpoint, count) {
      await prepare(endpoint, count);
      const cpuBefore = cpuMs(pids[0]);
      const wallBefore = performance.now();
      const body = await call(`/run?endpoint=${endpoint}&count=${count}`);
      const wall = performance.now() - wallBefore;
      const cpu = cpuMs(pids[0]) - cpuBefore;
      if (!(body.ms > 0)) throw new Error(`workerd's clock did not advance while timing ${endpoint}`);
      return { msPerRequest: body.msPerRequest, cpuToInside: cpu / body.ms, insideToWall: body.ms / wall };
    },
    async profiled(endpoint, count) {
      await prepare(endpoint, count);
      const isolates = {
        worker: await connectInspector(inspectorPort, (t) => t.id?.endsWith("core:user:app")),
        objects: await connectInspector(inspectorPort, (t) => t.id?.endsWith("core:user:objects")),
      };
      try {
        for (const inspector of Object.values(isolates)) {
          await inspector.send("Profiler.enable");
          await inspector.send("Profiler.setSamplingInterval", { interval: 100 });
          await inspector.send("Profiler.start");
        }
        const { ms } = await call(`/run?endpoint=${endpoint}&count=${count}`);
        const busy = { profiledMs: ms };
        for (const [name, inspector] of Object.entries(isolates)) {
          const { profile } = await inspector.send("Profiler.stop");
          if (profileDir) writeFileSync(join(profileDir, `${label === "current" ? "" : `${label}.`}${endpoint}.${name}.cpuprofile`), JSON.stringify(profile));
          busy[name] = busyOf(profile);
        }
        return busy;
      } finally {
        for (const inspector of Object.values(isolates)) inspector.close();
      }
    },
  };
}

/**
 * Runs every endpoint of PLAN on `current`, and on `baseline` too when given: then both copies run
 * side by side, each in its own workerd, and their timed runs alternate (run k of one, then run k of
 * the other, the order swapped every run), so that the machine's changing load weighs on both alike
 * and the before/after ratios hold even when the absolute figures do not.
 */
export async function runHandlerBench({ current, baseline, runs, profileDir, log = () => {} }) {
  const storage = makeWorkDir("wxpay-handler-");
  const previousTmp = process.env.TMPDIR;
  process.env.TMPDIR = storage.path; // Miniflare puts its temporary storage under os.tmpdir()
  const instances = [];
  try {
    instances.push(await startInstance({ label: "current", ...current, inspectorPort: await freePort(), profileDir }));
    if (baseline) instances.push(await startInstance({ label: "baseline", ...baseline, inspectorPort: await freePort(), profileDir }));
    const endpoints = new Map(instances.map((i) => [i, {}]));
    for (const endpoint of Object.keys(PLAN)) {
      const { count, warmup } = PLAN[endpoint];
      const linesBefore = new Map();
      for (const instance of instances) {
        if (NOTIFICATIONS.has(endpoint)) {
          const { available } = await instance.call(`/sign-notifications?v2=${ordersFor("notify", runs)}`);
          const left = endpoint === "notify" ? available.v2 : available.v3;
          if (left < ordersFor(endpoint, runs)) throw new Error(`${instance.label}: only ${left} notifications for ${ordersFor(endpoint, runs)} requests of ${endpoint}`);
        }
        linesBefore.set(instance, instance.state.transitionLines);
        await instance.prepare(endpoint, warmup);
        await instance.call(`/run?endpoint=${endpoint}&count=${warmup}`);
      }
      const samples = new Map(instances.map((i) => [i, []]));
      for (let r = 0; r < runs; r++) {
        for (const instance of r % 2 ? [...instances].reverse() : instances) samples.get(instance).push(await instance.timed(endpoint, count));
      }
      for (const instance of instances) {
        const busy = await instance.profiled(endpoint, count);
        const runsOf = samples.get(instance);
        const perRequest = summarize(runsOf.map((s) => s.msPerRequest));
        const totalBusy = busy.worker.busyUs + busy.objects.busyUs;
        const e = {
          requestsPerRun: count,
          requestsTimed: count * runs,
          msPerRequest: perRequest,
          samples: runsOf.map((s) => s.msPerRequest),
          cpuToInsideClock: summarize(runsOf.map((s) => s.cpuToInside)).median,
          insideToWallClock: summarize(runsOf.map((s) => s.insideToWall)).median,
          // the split of the median, by the profiled run's busy samples per isolate
          workerShare: totalBusy > 0 ? busy.worker.busyUs / totalBusy : null,
          workerMsPerRequest: totalBusy > 0 ? (perRequest.median * busy.worker.busyUs) / totalBusy : null,
          objectsMsPerRequest: totalBusy > 0 ? (perRequest.median * busy.objects.busyUs) / totalBusy : null,
          profiledBusyUsPerRequest: { worker: busy.worker.busyUs / count, objects: busy.objects.busyUs / count },
          profiledUsPerRequest: (busy.profiledMs * 1000) / count,
          transitionLogLines: null,
        };
        endpoints.get(instance)[endpoint] = e;
        log(`  handler ${instance.label === "current" ? "" : `(${instance.label}) `}${endpoint.padEnd(14)} ${(perRequest.median * 1000).toFixed(0).padStart(5)} µs/request (±${perRequest.spreadPct.toFixed(0)} %): Worker ${(e.workerMsPerRequest * 1000).toFixed(0)} µs, objects ${(e.objectsMsPerRequest * 1000).toFixed(0)} µs`);
      }
      if (NOTIFICATIONS.has(endpoint) || endpoint === "notifyRepeat" || FOLLOW_UPS.has(endpoint)) {
        // every distinct notification moves its order to paid exactly once; a repeat, or an alarm's follow-ups, move nothing
        await new Promise((r) => setTimeout(r, 300)); // the last log lines
        for (const instance of instances) {
          const lines = instance.state.transitionLines - linesBefore.get(instance);
          const expected = NOTIFICATIONS.has(endpoint) ? ordersFor(endpoint, runs) : 0;
          if (lines !== expected) throw new Error(`${instance.label}, ${endpoint}: ${lines} order_transition log lines, expected ${expected}`);
          endpoints.get(instance)[endpoint].transitionLogLines = lines;
        }
      }
    }
    // Untimed, last: one paid order's requests, each with its Durable Object calls, SQLite rows and KV operations.
    const results = [];
    for (const instance of instances) {
      results.push({ storage: storage.filesystem, endpoints: endpoints.get(instance), costs: await instance.call("/costs"), counts: await instance.call("/counts") });
    }
    return { current: results[0], baseline: results[1] ?? null };
  } finally {
    for (const instance of instances) await instance.dispose();
    if (previousTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previousTmp;
    rmSync(storage.path, { recursive: true, force: true });
  }
}

/** The Worker script and compatibility settings of the tree at `root`. */
async function codeAt(root) {
  const toml = readFileSync(join(root, "wrangler.toml"), "utf8");
  return {
    script: await bundleHandlerWorker(root),
    compatibilityDate: toml.match(/^compatibility_date\s*=\s*"([^"]+)"/m)[1],
    compatibilityFlags: JSON.parse(toml.match(/^compatibility_flags\s*=\s*(\[[^\]]*\])/m)?.[1] ?? "[]"),
  };
}

// CLI: node --experimental-websocket bench/handler/handler-bench.mjs [--root <tree>] [--baseline-root <tree>] [--out <file.json>] [--baseline-out <file.json>] [--runs 7] [--profile <dir>]
if (import.meta.url === (await import("node:url")).pathToFileURL(process.argv[1] ?? "").href) {
  const { parseArgs } = await import("node:util");
  const { values } = parseArgs({
    options: { root: { type: "string", default: "." }, "baseline-root": { type: "string" }, out: { type: "string" }, "baseline-out": { type: "string" }, runs: { type: "string", default: "7" }, profile: { type: "string" } },
  });
  const runs = Number(values.runs);
  const current = await codeAt(values.root);
  const baseline = values["baseline-root"] ? await codeAt(values["baseline-root"]) : undefined;
  const result = await runHandlerBench({
    current,
    baseline,
    runs,
    profileDir: values.profile,
    log: (line) => process.stderr.write(`${line}\n`),
  });
  const write = (file, r, code) => {
    const out = { runtime: "workerd", runs, plan: PLAN, compatibilityDate: code.compatibilityDate, compatibilityFlags: code.compatibilityFlags, ...r };
    if (file) writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
    else process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  };
  write(values.out, result.current, current);
  if (result.baseline) write(values["baseline-out"], result.baseline, baseline);
}
