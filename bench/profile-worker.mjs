// Where the service's Worker spends CPU per request: starts the simulator and the service under
// `wrangler dev` (as `npm run dev` does), attaches to the service's inspector, and takes one
// sampling CPU profile per endpoint while autocannon loads it. Writes bench/results/profile-worker.md.
// Usage: node --experimental-websocket bench/profile-worker.mjs [--seconds 5]
// KEEP_PROFILES=<dir> keeps the .cpuprofile files (open them in Chrome DevTools); BENCH_REF as for run.mjs.
// (Node 20 needs the flag for its WebSocket client; Node 22 has it built in.)
import { existsSync, mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { bundleOursForNode } from "./lib/build.mjs";
import { freePort, killAllNow, sleep, startGroup, stopAll, WRANGLER_BIN } from "./lib/procs.mjs";
import { makeSnapshot } from "./lib/snapshot.mjs";
import { moduleAt, moduleIndex } from "./lib/bundle-modules.mjs";
import { call, load, mapLimit, postJson } from "./e2e/client.mjs";
import { connectInspector } from "./lib/inspector.mjs";
import { paidNotification, ready } from "./e2e/scenario.mjs";

if (typeof WebSocket !== "function") {
  console.error("No WebSocket client: run with `node --experimental-websocket bench/profile-worker.mjs` on Node 20.");
  process.exit(2);
}
const PROJECT = join(dirname(fileURLToPath(import.meta.url)), "..");
const { values } = parseArgs({ options: { seconds: { type: "string", default: "5" }, top: { type: "string", default: "15" } } });
const SECONDS = Number(values.seconds);
/** Module index and lines of the service bundle, filled once wrangler has built it. */
let modules = [];
let bundleLines = [];
process.on("exit", killAllNow);
process.on("SIGINT", async () => {
  await stopAll(2000);
  process.exit(130);
});
const deadline = setTimeout(async () => {
  console.error("profile-worker: over 240 s, stopping");
  await stopAll(2000);
  process.exit(1);
}, 240_000);

const tmp = mkdtempSync(join(tmpdir(), "wxpay-profile-worker-"));
const root = join(tmp, "tree");
try {
  const source = makeSnapshot(PROJECT, root, process.env.BENCH_REF);
  const ours = await import(pathToFileURL(await bundleOursForNode(root, tmp)).href);
  const [simPort, servicePort, simInspector, serviceInspector] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const sim = `http://127.0.0.1:${simPort}`;
  const service = `http://127.0.0.1:${servicePort}`;
  const dev = (label, args) =>
    startGroup({ label, command: process.execPath, args: [WRANGLER_BIN(root), "dev", ...args, "--ip", "127.0.0.1", "--show-interactive-dev-session=false"], cwd: root, env: { WRANGLER_SEND_METRICS: "false", WRANGLER_LOG_PATH: join(tmp, "wrangler-debug") }, logFile: join(tmp, `${label}.log`) });
  const simGroup = dev("simulator", ["-c", "sim/wrangler.toml", "--port", String(simPort), "--inspector-port", String(simInspector), "--persist-to", join(tmp, "state-sim")]);
  const serviceGroup = dev("service", ["--env", "local", "--port", String(servicePort), "--inspector-port", String(serviceInspector), "--persist-to", join(tmp, "state-service"),
    "--var", `WECHAT_API_BASE:${sim}`, "--var", `WECHATPAY_API_BASE:${sim}`, "--var", `PUBLIC_BASE_URL:${service}`]);
  await Promise.all([ready(`${sim}/__sim/clock`, simGroup, 120), ready(`${service}/healthz`, serviceGroup, 120)]);

  // wrangler's bundle of the service (deleted when wrangler exits): its `// src/…` comments map profile lines to modules.
  const bundleDir = join(root, ".wrangler/tmp");
  const bundles = existsSync(bundleDir) ? readdirSync(bundleDir).map((d) => join(bundleDir, d, "index.js")).filter(existsSync) : [];
  const bundleText = bundles.length ? readFileSync(bundles[0], "utf8") : "";
  modules = moduleIndex(bundleText);
  bundleLines = bundleText.split("\n");
  const inspector = await connectInspector(serviceInspector);
  const mint = async () => (await postJson(`${sim}/__sim/login-codes`, {})).json.code;
  // Distinct client addresses and enough users to stay under the service's login and order rate limits.
  let phones = 0;
  const phone = () => `10.${(++phones >> 8) & 255}.${phones & 255}.1`;
  const users = await mapLimit(Array.from({ length: 40 }), 5, async () => (await postJson(`${service}/api/login`, { code: await mint() }, { "CF-Connecting-IP": phone() })).json);
  const orderBody = JSON.stringify({ items: [{ sku: "coffee", quantity: 2 }] });
  const created = [];
  const sections = [];

  const profiled = async (name, run) => {
    await inspector.send("Profiler.enable");
    await inspector.send("Profiler.setSamplingInterval", { interval: 200 });
    await inspector.send("Profiler.start");
    const result = await run();
    const { profile } = await inspector.send("Profiler.stop");
    if (process.env.KEEP_PROFILES) writeFileSync(join(process.env.KEEP_PROFILES, `${name.replace(/\W+/g, "_")}.cpuprofile`), JSON.stringify(profile));
    sections.push({ name, result, rows: selfTimes(profile) });
    process.stderr.write(`profiled ${name}: ${result.requests} requests\n`);
  };

  const codes = await mapLimit(Array.from({ length: 1500 }), 16, mint);
  let nextCode = 0;
  await profiled("POST /api/login", () =>
    load({ url: service, connections: 10, durationS: SECONDS, check: (s) => s === 200,
      nextRequest: () => ({ method: "POST", path: "/api/login", headers: { "Content-Type": "application/json", "CF-Connecting-IP": phone() }, body: JSON.stringify({ code: codes[nextCode++] ?? "none" }) }) }));
  let nextUser = 0;
  await profiled("POST /api/orders", () =>
    load({ url: service, connections: 10, durationS: SECONDS, check: (s) => s === 201,
      nextRequest: () => ({ method: "POST", path: "/api/orders", headers: { "Content-Type": "application/json", Authorization: `Bearer ${users[nextUser++ % users.length].token}` }, body: orderBody }),
      onBody: (s, body) => { if (s === 201) { const { order } = JSON.parse(body); created.push({ id: order.id, amount: order.amount }); } } }));
  const notifications = await mapLimit(created, 16, (order) => paidNotification({ sim, service }, ours, order));
  let nextNotification = 0;
  await profiled("POST /api/pay/notify (distinct orders)", () =>
    load({ url: service, connections: 10, amount: notifications.length, check: (s) => s === 200,
      nextRequest: () => ({ method: "POST", path: "/api/pay/notify", headers: { "Content-Type": "text/xml" }, body: notifications[nextNotification++].xml }) }));
  inspector.close();

  const out = ["# Where the service's Worker spends CPU (workerd, under wrangler dev)", "",
    `\`node --experimental-websocket bench/profile-worker.mjs\` on ${new Date().toISOString()}, ${source.kind === "git" ? `commit ${source.commit}` : `the working tree at ${source.commit}${source.uncommittedChanges ? " with uncommitted changes" : ""}`}: V8 sampling profiles (200 µs) of the service's ` +
    "isolate through its inspector while autocannon loaded one endpoint (10 connections). Only the isolate's thread is sampled: " +
    "`(program)` is time in the runtime outside JavaScript (I/O, SQLite, HTTP) as seen from that thread, `(idle)` is waiting, and a runtime " +
    "built-in is shown as `builtin ← caller` with its caller's module.", ""];
  for (const { name, result, rows } of sections) {
    out.push(`## ${name}: ${result.requests} requests (${result.errors} errors), ${result.rps} req/s`, "", "| self % of samples | self % of busy (non-idle) | function | where | hottest line |", "|---|---|---|---|---|");
    for (const row of rows.slice(0, Number(values.top))) {
      const code = row.code ? `\`${row.code.replaceAll("|", "\\|").replaceAll("`", "'")}\`` : "";
      out.push(`| ${row.pct.toFixed(1)} | ${row.busyPct === null ? "–" : row.busyPct.toFixed(1)} | \`${row.name}\` | ${row.where.replace(/ \(bundle line \d+\)$/, "")} | ${code} |`);
    }
    const byModule = moduleTotals(rows);
    out.push("", `By source (share of busy samples): ${byModule.map(([m, p]) => `${m} ${p.toFixed(1)} %`).join(", ")}`, "");
  }
  mkdirSync(join(PROJECT, "bench/results"), { recursive: true });
  writeFileSync(join(PROJECT, "bench/results/profile-worker.md"), out.join("\n"));
  process.stdout.write(out.join("\n") + "\n");
} finally {
  clearTimeout(deadline);
  const left = await stopAll();
  if (left.length) console.error(`still running: ${JSON.stringify(left)}`);
  rmSync(tmp, { recursive: true, force: true });
}

function selfTimes(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  let total = 0;
  let idle = 0;
  const lines = new Map(); // key -> Map(bundle line -> ticks)
  const parentOf = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node);
  const keyOf = (frame) => `${frame.functionName || "(anonymous)"}\u0000${whereOf(frame)}`;
  // A runtime built-in (no script: Response, console.log, SQL exec, …) is named after its JavaScript caller.
  const sampleKey = (node) => {
    const frame = node.callFrame;
    const parent = parentOf.get(node.id);
    if (frame.url || /^\((idle|program|garbage collector|root)\)$/.test(frame.functionName) || !parent || parent.callFrame.functionName === "(root)") return keyOf(frame);
    return `${frame.functionName || "(anonymous)"} ← ${parent.callFrame.functionName || "(anonymous)"}\u0000${whereOf(parent.callFrame)}`;
  };
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    total += dt;
    const node = byId.get(id);
    const frame = node.callFrame;
    if (frame.functionName === "(idle)") idle += dt;
    const key = sampleKey(node);
    self.set(key, (self.get(key) ?? 0) + dt);
  });
  for (const node of profile.nodes) {
    if (node.callFrame.url !== "index.js") continue;
    const perLine = lines.get(keyOf(node.callFrame)) ?? new Map();
    for (const { line, ticks } of node.positionTicks ?? []) perLine.set(line, (perLine.get(line) ?? 0) + ticks);
    lines.set(keyOf(node.callFrame), perLine);
  }
  return [...self.entries()]
    .map(([key, t]) => {
      const [name, where] = key.split("\u0000");
      const hottest = [...(lines.get(key) ?? new Map())].sort((a, b) => b[1] - a[1])[0];
      const code = hottest ? bundleLines[hottest[0] - 1]?.trim().slice(0, 70) : undefined;
      return { name, where, code, pct: (t / total) * 100, busyPct: name === "(idle)" ? null : (t / (total - idle)) * 100 };
    })
    .sort((a, b) => b.pct - a.pct);
}

function whereOf(frame) {
  if (!frame.url) return "(runtime)";
  if (frame.url === "index.js" && modules.length) {
    const found = moduleAt(modules, frame.lineNumber, "index.js");
    if (found.startsWith("node_modules/")) return found.replace(/^(node_modules\/(?:@[^/]+\/)?[^/]+).*/, "$1");
    return frame.functionName ? found : `${found} (bundle line ${frame.lineNumber + 1})`;
  }
  const url = frame.url.replace(/^file:\/\//, "");
  const m = /(src\/[^?]+|sim\/src\/[^?]+|node_modules\/(?:@[^/]+\/)?[^/]+)/.exec(url);
  return m ? m[1] : url;
}

function moduleTotals(rows) {
  const totals = new Map();
  for (const row of rows) {
    if (row.busyPct === null) continue;
    const key = row.where.startsWith("(") ? `${row.name} (runtime)` : row.where.replace(/ \(bundle line \d+\)$/, "");
    totals.set(key, (totals.get(key) ?? 0) + row.busyPct);
  }
  return [...totals.entries()].sort((a, b) => b[1] - a[1]).slice(0, 10);
}
