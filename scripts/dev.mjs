// `npm run dev`: the service and the WeChat simulator side by side on loopback, with local KV and
// Durable Objects (Miniflare) kept under .wrangler/. No Cloudflare or WeChat account is involved.
// It refuses to start on a taken port (naming what holds it), owns both wrangler process groups
// and stops them on any exit, failure or Ctrl-C. Quiet unless `npm run dev -- --verbose`.
import { killAllNow, portIsFree, sleep, startGroup, stopAll, WRANGLER_BIN } from "../bench/lib/procs.mjs";
import { ensureDeps } from "./ensure-deps.mjs";
import { describePort, LOCAL_PORTS, PLAYGROUND_PATH, SERVICE, SIMULATOR } from "./local-ports.mjs";

ensureDeps();

const root = new URL("..", import.meta.url).pathname;
const verbose = process.argv.includes("--verbose");
const READY_TIMEOUT_S = 120;

const workers = [
  { ...LOCAL_PORTS.simulator, args: ["-c", "sim/wrangler.toml", "--persist-to", ".wrangler/sim-state"], probe: `${SIMULATOR}/__sim/clock` },
  { ...LOCAL_PORTS.service, args: ["--env", "local", "--persist-to", ".wrangler/state"], probe: `${SERVICE}/healthz` },
];

// No telemetry, and no fetch of workers.cloudflare.com/cf.json: Miniflare makes it to fill in
// request.cf, which neither Worker reads, and prints an ENOTFOUND stack trace for it on a machine
// without Internet access. Quiet by default: no banner either, which is also what runs wrangler's
// npm update check.
const env = { WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", ...(verbose ? {} : { WRANGLER_HIDE_BANNER: "true" }) };

let stopping = false;
async function stop(code, why) {
  if (stopping) return;
  stopping = true;
  if (why) console.error(why);
  const leftovers = await stopAll(5000);
  if (leftovers.length) console.error(`Could not stop: ${leftovers.map((p) => `${p.comm} (pid ${p.pid})`).join(", ")}`);
  process.exit(code);
}
process.on("SIGINT", () => void stop(0, "\nStopping…"));
process.on("SIGTERM", () => void stop(0));
process.on("SIGHUP", () => void stop(0));
// The last resort if this process dies some other way: no wrangler or workerd is left behind.
process.on("exit", killAllNow);

const busy = [];
for (const w of workers) {
  for (const [port, what] of [[w.port, `the ${w.label}`], [w.inspectorPort, `the ${w.label}'s debugger (inspector)`]]) {
    if (!(await portIsFree(port))) busy.push(`  port ${port} (${what}) is in use by ${describePort(port)}`);
  }
}
if (busy.length) {
  console.error(`Cannot start: ${busy.length === 1 ? "a port it needs is" : "ports it needs are"} taken.\n${busy.join("\n")}
If that is an earlier \`npm run dev\`, stop it (Ctrl-C in its terminal, or kill the pid it was started by), then run \`npm run dev\` again.`);
  process.exit(1);
}

let ready = false;
const started = workers.map((w) => {
  const pending = [];
  let announced = false;
  const group = startGroup({
    label: w.label,
    command: process.execPath,
    args: [WRANGLER_BIN(root), "dev", ...w.args, "--ip", "127.0.0.1", "--port", String(w.port), "--inspector-port", String(w.inspectorPort), "--show-interactive-dev-session=false"],
    cwd: root,
    env,
    onLine: (line) => {
      if (/Ready on http:\/\/127\.0\.0\.1:\d+/.test(line)) announced = true;
      if (!line.trim()) return;
      // Until both are up, the start-up chatter (bindings tables, "Ready on") is kept back and
      // shown only if the start fails.
      if (verbose || ready) console.log(`[${w.label}] ${line}`);
      else pending.push(line);
    },
  });
  return { ...w, group, pending, announced: () => announced };
});

/** Ready: this child said "Ready on", still runs, and its own port answers. */
async function waitReady(w) {
  const deadline = Date.now() + READY_TIMEOUT_S * 1000;
  while (Date.now() < deadline) {
    if (w.group.exited) throw new Error(`the ${w.label} (wrangler dev) exited during start-up (${w.group.exitCode})`);
    if (w.announced()) {
      try {
        const response = await fetch(w.probe, { signal: AbortSignal.timeout(2000) });
        await response.arrayBuffer();
        if (response.status < 500 || response.status === 503) return;
      } catch {
        // announced but not answering yet
      }
    }
    await sleep(250);
  }
  throw new Error(`the ${w.label} did not come up within ${READY_TIMEOUT_S} s`);
}

try {
  await Promise.all(started.map(waitReady));
} catch (error) {
  for (const w of started) if (!verbose && w.pending.length) console.error(w.pending.map((l) => `[${w.label}] ${l}`).join("\n"));
  await stop(1, `npm run dev could not start: ${error.message}.`);
}
ready = true;

// From here on, either one ending takes the other down: half a setup only confuses.
for (const w of started) {
  const gone = () => void stop(1, `The ${w.label} (wrangler dev) stopped; stopping the other one too.`);
  if (w.group.exited) gone();
  else w.group.child.on("exit", gone);
}

const health = `curl -s ${SERVICE}/healthz`;
console.log(`
wxpay-edge is running at ${SERVICE}, the WeChat simulator at ${SIMULATOR}.
State is kept in .wrangler/ across restarts (rm -rf .wrangler to start afresh).
Playground (the mini-program and the operator, in a browser): ${SIMULATOR}${PLAYGROUND_PATH}
In another terminal:

  ${"npm run demo".padEnd(health.length)}   the whole walk with curl: login, order, pay, refund
  ${health}   the service's check of its own settings

The README's "Trying it locally" has the same commands to paste one by one. Stop: Ctrl-C.
`);
