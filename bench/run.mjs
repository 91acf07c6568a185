// `npm run bench`: protocol micro-benchmarks (Node, against tenpay and wechatpay-axios-plugin, and
// inside workerd), the Worker's own CPU per request (the app inside workerd with nothing to wait
// on), the bundle size, and the end-to-end run (service + simulator + trivial Worker under
// `wrangler dev`, loaded over loopback). Writes bench/results/latest.json and BENCHMARKS.md.
// Bounded: every step has a deadline, the whole run stops itself at 285 s, and every process it
// starts is stopped on the way out, also on error or Ctrl-C.
//
// Environment: BENCH_REF=<git ref> measures that commit (read with `git archive`) instead of the
// working tree; BENCH_BASELINE=<git ref> also measures that commit's Worker CPU per request and
// costs, in the same run and with the same harness, for the before/after table; BENCH_QUICK=1
// shortens every run (for trying the harness, not for figures); TMPDIR=<dir> keeps the work files,
// local storage included, there instead of on /dev/shm.
// `npm run bench -- --only=handler` runs the Worker CPU per request (and its baseline) alone and
// prints it, leaving bench/results/latest.json and BENCHMARKS.md as they are.
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { bundleBenchWorker, bundleOursForNode } from "./lib/build.mjs";
import { measureBundle } from "./lib/bundle-size.mjs";
import { startLoadMonitor } from "./lib/load-monitor.mjs";
import { machineInfo } from "./lib/machine.mjs";
import { makeWorkDir } from "./lib/work-dir.mjs";
import { killAllNow, runGroup, stopAll } from "./lib/procs.mjs";
import { makeSnapshot } from "./lib/snapshot.mjs";
import { runEndToEnd } from "./e2e/scenario.mjs";
import { renderReport } from "./report.mjs";

const PROJECT = join(dirname(fileURLToPath(import.meta.url)), "..");
const QUICK = process.env.BENCH_QUICK === "1";
const BASELINE = process.env.BENCH_BASELINE;
const ONLY_HANDLER = process.argv.slice(2).includes("--only=handler");
const TIME_LIMIT_S = BASELINE ? 600 : 285;
const MICRO = QUICK ? { runs: 3, runMs: 150, warmupMs: 100 } : { runs: 7, runMs: 400, warmupMs: 300 };
const HANDLER = QUICK ? { runs: 3 } : { runs: 9 };
const E2E = QUICK
  ? { durationS: 3, connections: 10, stormCount: 1000, stormConnections: 50 }
  : { durationS: 10, connections: 10, stormCount: 1000, stormConnections: 50 };
/** ms of CPU per request, Worker and Durable Objects together (issue 13); order creation net of the runtime's start of its new object. */
const TARGETS = { cpuMs: { login: 0.15, createOrder: 2.0, notify: 0.45, getOrder: 0.2 }, notifyShareOfTrivial: 0.5 };

const started = Date.now();
const log = (line) => process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s] ${line}\n`);
const workDir = makeWorkDir("wxpay-bench-");
const tmp = workDir.path;
/** "running" → "aborting" (an error, Ctrl-C or the time limit; ends the process) or "done". */
let state = "running";

async function abort(reason, code, { keepFiles = true } = {}) {
  if (state === "aborting") return;
  state = "aborting";
  log(`stopping: ${reason}`);
  const leftovers = await stopAll(3000);
  if (leftovers.length) log(`WARNING: still running after SIGKILL: ${JSON.stringify(leftovers)}`);
  if (keepFiles) log(`work files (wrangler logs) kept in ${tmp}`);
  else rmSync(tmp, { recursive: true, force: true });
  process.exit(code);
}
process.on("SIGINT", () => abort("interrupted (SIGINT)", 130, { keepFiles: false }));
process.on("SIGTERM", () => abort("terminated (SIGTERM)", 143, { keepFiles: false }));
process.on("exit", killAllNow);
const watchdog = setTimeout(() => abort(`the run took longer than ${TIME_LIMIT_S} s`, 1), TIME_LIMIT_S * 1000);

const monitor = startLoadMonitor();

try {
  const machine = machineInfo(PROJECT);
  log(`machine: ${machine.nproc} cores, ${machine.cpuModel}, Node ${machine.node}, ${machine.workerd}, load ${machine.loadAverageAtStart.join(" ")}`);

  const root = join(tmp, "tree");
  const source = makeSnapshot(PROJECT, root, process.env.BENCH_REF);
  log(`measuring ${source.kind === "git" ? `${source.ref} (${source.commit})` : `the working tree at ${source.commit}${source.uncommittedChanges ? " plus uncommitted changes" : ""}`}`);

  // The Worker's CPU per request, and the baseline's beside it (same workerd version, runs alternating).
  let baseSource = null;
  const handlerArgs = ["--experimental-websocket", join(root, "bench/handler/handler-bench.mjs"), "--root", root, "--out", join(tmp, "handler.json"), "--runs", String(HANDLER.runs)];
  if (BASELINE) {
    const baseRoot = join(tmp, "baseline");
    baseSource = makeSnapshot(PROJECT, baseRoot, BASELINE);
    log(`baseline: the Worker's CPU per request of ${baseSource.ref} (${baseSource.commit}), with this run's harness, its runs alternating with this code's`);
    handlerArgs.push("--baseline-root", baseRoot, "--baseline-out", join(tmp, "handler-baseline.json"));
  }
  const runHandler = async () => {
    await child("CPU per request", handlerArgs, BASELINE ? 300 : 150);
    return { handler: await readJson(join(tmp, "handler.json")), handlerBaseline: BASELINE ? { source: baseSource, ...(await readJson(join(tmp, "handler-baseline.json"))) } : null };
  };
  if (ONLY_HANDLER) {
    const { handler, handlerBaseline } = await runHandler();
    for (const [endpoint, e] of Object.entries(handler.endpoints)) {
      const b = handlerBaseline?.endpoints[endpoint];
      const paired = b ? pairedRatio(e.samples, b.samples) : null;
      log(`  ${endpoint.padEnd(14)} ${e.msPerRequest.median.toFixed(3)} ms${b === undefined ? "" : ` (baseline ${b.msPerRequest.median.toFixed(3)} ms; run by run ${paired.median.toFixed(2)}×, ${paired.min.toFixed(2)}–${paired.max.toFixed(2)})`}`);
    }
    for (const [kind, c] of Object.entries(handler.costs ?? {})) {
      const b = handlerBaseline?.costs?.[kind];
      log(`  cost of ${kind}: ${Object.entries(c).map(([k, v]) => (b && b[k] !== v ? `${k} ${b[k]}→${v}` : `${k} ${v}`)).join(", ")}`);
    }
    clearTimeout(watchdog);
    state = "done";
    await stopAll();
    rmSync(tmp, { recursive: true, force: true });
    process.exit(0);
  }

  const oursBundle = await bundleOursForNode(root, tmp);
  const workerScript = join(tmp, "bench-worker.mjs");
  writeFileSync(workerScript, await bundleBenchWorker(root));
  const microArgs = ["--runs", String(MICRO.runs), "--run-ms", String(MICRO.runMs), "--warmup-ms", String(MICRO.warmupMs)];

  log("protocol micro-benchmarks in Node (ours, tenpay, wechatpay-axios-plugin)");
  monitor.phase("micro-benchmarks in Node");
  const nodeOut = join(tmp, "micro-node.json");
  await child("node micro-benchmarks", [join(root, "bench/protocol/node-bench.mjs"), "--bundle", oursBundle, "--out", nodeOut, ...microArgs], 150);
  const microNode = await readJson(nodeOut);

  log("protocol micro-benchmarks inside workerd (Miniflare)");
  monitor.phase("micro-benchmarks in workerd");
  const workerdOut = join(tmp, "micro-workerd.json");
  await child("workerd micro-benchmarks", [join(root, "bench/protocol/workerd-bench.mjs"), "--script", workerScript, "--out", workerdOut, ...microArgs], 120);
  const microWorkerd = await readJson(workerdOut);

  log("the Worker's own CPU per request (the app and its Durable Objects inside workerd, nothing to wait on)");
  monitor.phase("CPU per request in workerd");
  const { handler, handlerBaseline } = await runHandler();

  log("bundle size (wrangler deploy --dry-run)");
  monitor.phase("bundle size");
  const bundle = await measureBundle(root, join(tmp, "dist"));
  log(`  bundle: ${bundle.rawBytes} bytes raw, ${bundle.gzipBytes} bytes gzip`);

  log("end to end (wrangler dev: simulator, service, trivial Worker)");
  monitor.phase("end to end");
  const ours = await import(pathToFileURL(oursBundle).href);
  const loadBeforeE2e = loadavg().map((v) => Math.round(v * 100) / 100);
  const e2e = await runEndToEnd({ root, tmp, ours, ...E2E, log });
  const otherLoad = monitor.stop();
  for (const [name, l] of Object.entries(otherLoad)) log(`other processes on the machine during ${name}: ${l.meanCores} cores on average, ${l.peakCores} at peak`);

  const results = {
    generatedAt: new Date().toISOString(),
    command: "npm run bench",
    quick: QUICK,
    source,
    machine: { ...machine, loadAverageBeforeEndToEnd: loadBeforeE2e, otherLoad, workDir: { base: workDir.base, filesystem: workDir.filesystem } },
    micro: { node: microNode, workerd: microWorkerd },
    handler,
    handlerBaseline,
    endToEnd: e2e,
    bundle,
    durationS: Math.round((Date.now() - started) / 1000),
  };
  results.targets = evaluateTargets(results);

  mkdirSync(join(PROJECT, "bench/results"), { recursive: true });
  writeFileSync(join(PROJECT, "bench/results/latest.json"), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(PROJECT, "BENCHMARKS.md"), renderReport(results));
  for (const t of results.targets) log(`target ${t.met ? "MET    " : "NOT MET"} ${t.name}: ${t.actual}`);
  log(`wrote bench/results/latest.json and BENCHMARKS.md in ${results.durationS} s`);
  clearTimeout(watchdog);
  state = "done";
  const leftovers = await stopAll();
  if (leftovers.length) throw new Error(`processes still running: ${JSON.stringify(leftovers)}`);
  rmSync(tmp, { recursive: true, force: true });
} catch (error) {
  // Once aborting (Ctrl-C, time limit), work in flight fails as its processes go: that is not news.
  if (state !== "aborting") {
    log(error instanceof Error ? error.stack ?? error.message : String(error));
    clearTimeout(watchdog);
    state = "running";
    await abort("error", 1);
  }
}

async function child(label, args, timeoutS) {
  const { code, stderr } = await runGroup({ label, command: process.execPath, args, cwd: join(tmp, "tree"), timeoutMs: timeoutS * 1000, echo: true });
  if (code !== 0) throw new Error(`${label} failed (exit ${code}):\n${stderr.slice(-3000)}`);
}

/** The median (and range) of after ÷ before over runs made back to back: run k of each. */
export function pairedRatio(after, before) {
  const ratios = after.map((a, k) => a / before[k]).sort((x, y) => x - y);
  const mid = ratios.length >> 1;
  return { median: ratios.length % 2 ? ratios[mid] : (ratios[mid - 1] + ratios[mid]) / 2, min: ratios[0], max: ratios[ratios.length - 1] };
}

async function readJson(path) {
  const { readFileSync } = await import("node:fs");
  return JSON.parse(readFileSync(path, "utf8"));
}

/** Each target of the issue, with the figure it is judged on. */
function evaluateTargets(r) {
  const targets = [];
  const e = r.endToEnd;
  const h = r.handler.endpoints;
  const msOf = (endpoint) => h[endpoint].msPerRequest.median;
  for (const [key, label] of [["login", "login"], ["createOrder", "order creation"], ["notify", "payment notification"], ["getOrder", "order status"]]) {
    const total = msOf(key);
    const judged = key === "createOrder" ? total - msOf("newEmptyObject") : total;
    const parts = h[key].objectsMsPerRequest > 0
      ? `; by the isolates' profiles, the Worker ${h[key].workerMsPerRequest.toFixed(3)} ms and its Durable Objects ${h[key].objectsMsPerRequest.toFixed(3)} ms`
      : "; all of it in the Worker (no Durable Object)";
    const emptyStart = msOf("newEmptyObject").toFixed(3);
    const followUpKey = { createOrder: "createFollowUp", notify: "notifyFollowUp" }[key];
    const followUp = followUpKey && h[followUpKey] ? `; the alarm it arms (the order's index entry), run apart: ${msOf(followUpKey).toFixed(3)} ms` : "";
    const start = key === "createOrder" ? `; includes the runtime starting the order's new Durable Object (an empty one alone: ${emptyStart} ms)`
      : key === "notify" ? `; the order's object in memory (waking an evicted one adds the runtime's start, ~${emptyStart} ms)` : "";
    targets.push({
      name: `CPU per request at most ${TARGETS.cpuMs[key]} ms: ${label}${key === "createOrder" ? " (net of the runtime's start of the new object)" : ""}`,
      actual: `${total.toFixed(3)} ms for the whole request, Worker and Durable Objects together (median of ${h[key].samples.length} runs, ${h[key].msPerRequest.min.toFixed(3)}–${h[key].msPerRequest.max.toFixed(3)})${key === "createOrder" ? `, ${judged.toFixed(3)} ms net` : ""}${parts}${start}${followUp}`,
      value: judged,
      met: judged <= TARGETS.cpuMs[key],
    });
  }
  const share = e.notify.rps / e.trivial.rps;
  const logging = e.trivialLogging ? `; the trivial Worker writing one log line per request, as a notification does, managed ${e.trivialLogging.rps} req/s (${((e.trivialLogging.rps / e.trivial.rps) * 100).toFixed(1)} %), and the notifications are ${((e.notify.rps / e.trivialLogging.rps) * 100).toFixed(1)} % of that` : "";
  targets.push({
    name: `notification throughput ≥ ${TARGETS.notifyShareOfTrivial * 100} % of the trivial Worker`,
    actual: `${(share * 100).toFixed(1)} % (${e.notify.rps} vs ${e.trivial.rps} req/s)${logging}`,
    value: share,
    met: share >= TARGETS.notifyShareOfTrivial,
  });
  for (const [op, byImpl] of Object.entries(r.micro.node.ops)) {
    const paired = r.micro.node.pairedRatios[op];
    // The faster package is the one ours compares worst against.
    const [bestName, ratio] = Object.entries(paired).sort((a, b) => a[1].median - b[1].median)[0];
    const inWorkerd = r.micro.workerd.ops[op]?.median;
    targets.push({
      name: `protocol op at least as fast as the faster npm package: ${op}`,
      actual: `${ratio.median.toFixed(2)}× ${bestName} in Node (runs ${ratio.min.toFixed(2)}–${ratio.max.toFixed(2)}×)` +
        (inWorkerd ? `; ours inside workerd ${(inWorkerd / byImpl[bestName].median).toFixed(2)}× ${bestName} in Node` : ""),
      value: ratio.median,
      met: ratio.median >= 1,
    });
  }
  targets.push({
    name: "duplicate-notification storm: 0 errors and exactly one paid transition",
    actual: `${e.storm.errors} errors; ${e.storm.checks.logApplied} transition(s) into paid logged; status ${e.storm.checks.orderStatus}` +
      (e.storm.checks.paidTransitionsInHistory !== null ? `; ${e.storm.checks.paidTransitionsInHistory} paid transition(s) in history` : ""),
    value: e.storm.errors,
    met: e.storm.errors === 0 && e.storm.checks.exactlyOnePaidTransition,
  });
  return targets;
}
