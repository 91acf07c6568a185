// The local setup as a person uses it (`npm run test:setup`, in CI by .ci/run): `npm run dev` as the
// README says, pauses longer than the runtime keeps an idle Durable Object between steps, a
// restart, a second start while one runs, Ctrl-C, and the README's walkthrough run by
// `npm run demo`. Loopback only; every process it starts is stopped, and the whole is bounded.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { descendants, portIsFree, readStat } from "../../bench/lib/procs.mjs";
import { LOCAL_PORTS, SERVICE, SIMULATOR, describePort } from "../../scripts/local-ports.mjs";
import { walkMarkdown } from "../../scripts/walkthrough.mjs";

const root = new URL("../..", import.meta.url).pathname;
/** workerd evicts a Durable Object after about 10 s without a request; a person is slower than that. */
const PAUSE_S = 15;
const START_TIMEOUT_S = 150;
const STOP_TIMEOUT_S = 20;
const ADMIN = "local-admin-token-change-me-in-production";
const PORTS = Object.values(LOCAL_PORTS).flatMap((w) => [w.port, w.inspectorPort]);

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Bounded as a whole: whatever happens, nothing of ours outlives this.
const watchdog = setTimeout(() => {
  console.error("local-setup: over 9 minutes; stopping everything it started.");
  for (const run of runs) killTree(run, "SIGKILL");
  process.exit(1);
}, 9 * 60_000);
watchdog.unref();



const runs = [];

/** `npm run dev` in a process group of its own, as a terminal runs it; its output is kept. */
function startDev() {
  const child = spawn("npm", ["run", "dev"], { cwd: root, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  const run = { child, output: "", exit: null, seen: new Map() };
  child.stdout.on("data", (d) => (run.output += d));
  child.stderr.on("data", (d) => (run.output += d));
  run.exited = new Promise((resolve) => child.on("exit", (code, signal) => resolve((run.exit = { code, signal }))));
  // Everything it starts, noted while it runs, so that the check after Ctrl-C covers processes
  // that left its tree (reparented) too.
  run.watch = setInterval(() => {
    for (const p of descendants(child.pid)) run.seen.set(p.pid, p.comm);
  }, 200);
  runs.push(run);
  return run;
}

function killTree(run, signal) {
  for (const pid of [run.child.pid, ...run.seen.keys()]) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/** Processes noted for `run` that are still alive (same pid, same command name). */
function leftovers(run) {
  return [...run.seen].filter(([pid, comm]) => readStat(pid)?.comm === comm).map(([pid, comm]) => `${comm} (pid ${pid})`);
}

async function waitRunning(run) {
  const deadline = Date.now() + START_TIMEOUT_S * 1000;
  while (Date.now() < deadline && run.exit === null) {
    if (run.output.includes("wxpay-edge is running")) return;
    await sleep(250);
  }
  assert.fail(`npm run dev did not say it was running within ${START_TIMEOUT_S} s (exit: ${JSON.stringify(run.exit)}). Its output:\n${run.output}`);
}

/** Ctrl-C: SIGINT to the whole foreground group, as a terminal sends it; then none of its processes may be left. */
async function interrupt(run) {
  try {
    process.kill(-run.child.pid, "SIGINT");
  } catch {
    // the group has already ended (a start that refused)
  }
  const deadline = Date.now() + STOP_TIMEOUT_S * 1000;
  while (Date.now() < deadline && (run.exit === null || leftovers(run).length > 0)) await sleep(250);
  clearInterval(run.watch);
  assert.deepEqual(leftovers(run), [], `left running ${STOP_TIMEOUT_S} s after Ctrl-C. Output:\n${run.output}`);
}

async function assertPortsFree(when) {
  for (const port of PORTS) assert.equal(await portIsFree(port), true, `port ${port} is in use ${when} by ${describePort(port)}`);
}


async function call(url, { json, token, method } = {}) {
  const headers = {};
  if (json !== undefined) headers["Content-Type"] = "application/json";
  if (token !== undefined) headers.Authorization = `Bearer ${token}`;
  const response = await fetch(url, {
    method: method ?? (json === undefined ? "GET" : "POST"),
    headers,
    body: json === undefined ? undefined : JSON.stringify(json),
    signal: AbortSignal.timeout(20_000),
  });
  const text = await response.text();
  let body = null;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: kept as text for the message
  }
  return { status: response.status, body, text };
}

/** A person's pause: longer than an idle object lives. */
const pause = () => sleep(PAUSE_S * 1000);

/** A token, from the step that logs in after a pause, or from a prompt login, so that each step shows its own failure. */
async function token() {
  if (state.token) return state.token;
  const minted = await call(`${SIMULATOR}/__sim/login-codes`, { json: {} });
  const login = await call(`${SERVICE}/api/login`, { json: { code: minted.body?.code } });
  assert.equal(login.status, 200, `a prompt login: ${login.text}`);
  return (state.token = login.body.token);
}

after(() => {
  for (const run of runs) if (run.exit === null || leftovers(run).length) killTree(run, "SIGKILL");
});

const state = { portsTaken: false };

test("the ports of the local setup are free to start with", async () => {
  state.portsTaken = true;
  await assertPortsFree("before the test (stop that process first)");
  state.portsTaken = false;
});

/** A step of the walk; skipped when another process holds the ports, which the test above reports. */
function step(name, fn) {
  test(name, (t) => (state.portsTaken ? t.skip("the ports are taken by another process") : fn()));
}

step("npm run dev starts and says so", async () => {
  state.dev = startDev();
  await waitRunning(state.dev);
  assert.deepEqual((await call(`${SERVICE}/healthz`)).body, { ok: true });
  assert.doesNotMatch(state.dev.output, /ENOTFOUND|Error:|update available/, "quiet start-up");
});

step("a second npm run dev refuses, naming the port that is taken", async () => {
  const second = startDev();
  const { code } = await Promise.race([second.exited, sleep(60_000).then(() => ({ code: "still running after 60 s" }))]);
  await interrupt(second);
  assert.notEqual(code, 0, `the second start should fail. Its output:\n${second.output}`);
  assert.match(second.output, /port 878[78]/, `the message should name the port. Its output:\n${second.output}`);
  assert.doesNotMatch(second.output, /is running/);
  // ...and the first one is untouched.
  assert.equal((await call(`${SERVICE}/healthz`)).status, 200);
});

step("a login code pasted after a pause still logs in", async () => {
  const minted = await call(`${SIMULATOR}/__sim/login-codes`, { json: {} });
  assert.equal(minted.status, 200, minted.text);
  await pause();
  const login = await call(`${SERVICE}/api/login`, { json: { code: minted.body.code } });
  assert.equal(login.status, 200, `login ${PAUSE_S} s after minting: ${login.text}`);
  state.token = login.body.token;
});

step("an order created, then paid at the simulator after a pause, is paid", async () => {
  const created = await call(`${SERVICE}/api/orders`, { token: await token(), json: { items: [{ sku: "coffee", quantity: 1 }] } });
  assert.equal(created.status, 201, created.text);
  const id = created.body.order.id;
  await pause();
  const paid = await call(`${SIMULATOR}/__sim/orders/${id}/pay`, { json: {} });
  assert.equal(paid.status, 200, `pay ${PAUSE_S} s after creating: ${paid.text}`);
  await pause();
  const read = await call(`${SERVICE}/api/orders/${id}`, { token: await token() });
  assert.equal(read.body?.order?.status, "paid", read.text);
  state.paidOrder = id;
});

step("a refund after a pause is made, and finished by the simulator's alarm", async () => {
  if (!state.paidOrder) {
    // The step above failed: an order paid promptly, so that this step shows its own failure.
    const created = await call(`${SERVICE}/api/orders`, { token: await token(), json: { items: [{ sku: "coffee", quantity: 1 }] } });
    assert.equal((await call(`${SIMULATOR}/__sim/orders/${created.body?.order?.id}/pay`, { json: {} })).status, 200, "a prompt payment");
    state.paidOrder = created.body.order.id;
  }
  await pause();
  const refund = await call(`${SERVICE}/admin/orders/${state.paidOrder}/refunds`, { token: ADMIN, json: { amount: 500, reason: "test" } });
  assert.equal(refund.status, 201, `refund ${PAUSE_S} s after payment: ${refund.text}`);
  let view;
  for (let i = 0; i < 40; i++) {
    view = await call(`${SERVICE}/admin/orders/${state.paidOrder}`, { token: ADMIN });
    if (view.body?.refunds?.[0]?.status === "succeeded") break;
    await sleep(1000);
  }
  assert.equal(view.body?.refunds?.[0]?.status, "succeeded", view.text);
  // The local setup sets no MERCHANT_WEBHOOK_URL: a paid and refunded order records no merchant event.
  assert.deepEqual(view.body?.events, [], view.text);
  // …and the operator's listing (the D1 index the order keeps up to date) shows it as it is now.
  let listed;
  for (let i = 0; i < 10; i++) {
    listed = await call(`${SERVICE}/admin/orders?limit=100`, { token: ADMIN });
    if (listed.body?.orders?.some((o) => o.id === state.paidOrder && o.status === "partially_refunded")) break;
    await sleep(500);
  }
  assert.ok(listed.body?.orders?.some((o) => o.id === state.paidOrder && o.status === "partially_refunded"), listed.text);
});

step("a logged-in user's new order after a pause is accepted by WeChat", async () => {
  await pause();
  const created = await call(`${SERVICE}/api/orders`, { token: await token(), json: { items: [{ sku: "tea", quantity: 1 }] } });
  assert.equal(created.status, 201, created.text);
  state.pendingOrder = created.body.order.id;
});

step("Ctrl-C stops npm run dev and everything it started", async () => {
  await interrupt(state.dev);
  await assertPortsFree("after Ctrl-C");
});

step("after a restart, an order created before it can be paid", async () => {
  state.dev = startDev();
  await waitRunning(state.dev);
  const paid = await call(`${SIMULATOR}/__sim/orders/${state.pendingOrder}/pay`, { json: {} });
  assert.equal(paid.status, 200, `pay after the restart: ${paid.text}`);
  const read = await call(`${SERVICE}/api/orders/${state.pendingOrder}`, { token: await token() });
  assert.equal(read.body?.order?.status, "paid", read.text);
});

step("the README's walkthrough is what npm run demo runs, and it works", async () => {
  const readme = readFileSync(new URL("README.md", `file://${root}`), "utf8");
  assert.ok(readme.includes(walkMarkdown()), "README.md's walkthrough differs from scripts/walkthrough.mjs: paste `node scripts/walkthrough.mjs` into it");
  const demo = spawn("npm", ["run", "-s", "demo"], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  demo.stdout.on("data", (d) => (output += d));
  demo.stderr.on("data", (d) => (output += d));
  const code = await new Promise((resolve) => demo.on("exit", resolve));
  assert.equal(code, 0, `npm run demo failed:\n${output}`);
});

step("Ctrl-C after the restart leaves nothing behind either", async () => {
  await interrupt(state.dev);
  await assertPortsFree("after Ctrl-C");
});
