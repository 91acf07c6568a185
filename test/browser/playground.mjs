// The playground in a real browser (`npm run test:browser`, in CI by .ci/run): `npm run dev` as a
// person starts it, headless Chromium (Debian's, driven by playwright-core) opening the address it
// prints, and the page's purchases and refund end to end. Screenshots go to test-output/browser/.
// Loopback only; `npm run dev` is always stopped, and the whole is bounded.
import { spawn } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync } from "node:fs";
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import { descendants, portIsFree, readStat } from "../../bench/lib/procs.mjs";
import { LOCAL_PORTS, SERVICE, SIMULATOR, describePort } from "../../scripts/local-ports.mjs";

const root = new URL("../..", import.meta.url).pathname;
const OUTPUT = `${root}test-output/browser`;
/** The README's screenshot: the last scenario's page, with a paid, refunded order in both panes. */
const README_SCREENSHOT = `${root}docs/playground.png`;
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
// Headless on a machine without Internet access: no GPU, and none of Chromium's own background
// connections (updates, sync, QUIC probes), which a closed network refuses noisily.
const CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];
const START_TIMEOUT_S = 150;
const STOP_TIMEOUT_S = 20;
/** The client confirms a payment for about 10 s; a refund finishes at the simulator after about 5 s. */
const STEP_TIMEOUT_MS = 30_000;
const PORTS = Object.values(LOCAL_PORTS).flatMap((w) => [w.port, w.inspectorPort]);
/** Users of this run only, so that "My orders" holds exactly what the run bought (state outlives runs). */
const RUN = Date.now().toString(36);

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
/** A time limit to race against: it must not keep the test's process alive once the race is won. */
const limit = (ms) => new Promise((resolve) => setTimeout(resolve, ms).unref());

const state = { dev: null, browser: null, url: null, portsTaken: false };

// Bounded as a whole: whatever happens, nothing of ours outlives this.
const watchdog = setTimeout(() => {
  console.error("playground browser test: over 6 minutes; stopping everything it started.");
  if (state.dev) killDev(state.dev);
  process.exit(1);
}, 6 * 60_000);
watchdog.unref();




/** `npm run dev` in a process group of its own, as a terminal runs it; its output is kept. */
function startDev() {
  const child = spawn("npm", ["run", "dev"], { cwd: root, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  const dev = { child, output: "", exit: null, seen: new Set() };
  child.stdout.on("data", (d) => (dev.output += d));
  child.stderr.on("data", (d) => (dev.output += d));
  dev.exited = new Promise((resolve) => child.on("exit", (code, signal) => resolve((dev.exit = { code, signal }))));
  // Noted while it runs, so that a last-resort kill reaches processes that left its group.
  dev.watch = setInterval(() => descendants(child.pid).forEach((p) => dev.seen.add(p.pid)), 500);
  return dev;
}

function killDev(dev) {
  for (const pid of [-dev.child.pid, ...dev.seen]) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

/** Ctrl-C, as a terminal sends it; SIGKILL for whatever is still there after STOP_TIMEOUT_S. */
async function stopDev(dev) {
  try {
    process.kill(-dev.child.pid, "SIGINT");
  } catch {
    // the group has already ended
  }
  await Promise.race([dev.exited, limit(STOP_TIMEOUT_S * 1000)]);
  clearInterval(dev.watch);
  const left = [...dev.seen].filter((pid) => readStat(pid) !== null);
  if (dev.exit === null || left.length) killDev(dev);
  return { stoppedCleanly: dev.exit !== null && left.length === 0 };
}

/** A fresh browser context (its own sessionStorage: a new phone) on the playground, logged in as `user`. */
async function openAs(user) {
  const context = await state.browser.newContext({ viewport: { width: 1200, height: 820 } });
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  const errors = [];
  page.on("pageerror", (error) => errors.push(error.message));
  await page.goto(state.url);
  await page.fill("#user", user);
  await page.click("#login");
  await page.locator("#whoami", { hasText: `Logged in as ${user} (openid` }).waitFor();
  return { page, errors, close: () => context.close() };
}

/** Buys one product: Buy, then the simulated pay sheet opens for it. */
async function buy(page, sku) {
  await page.click(`button[data-sku="${sku}"]`);
  await page.locator("#paysheet").waitFor({ state: "visible" });
}

const orderStatus = (page, status) => page.locator(`#order-status[data-status="${status}"]`).waitFor();
const adminStatus = (page, status) => page.locator(`#admin-status[data-status="${status}"]`).waitFor();
const shot = (page, name) => page.screenshot({ path: `${OUTPUT}/${name}.png`, fullPage: true });
const orderId = async (page) => (await page.locator("#admin code").first().textContent()).trim();
/** The activity log, for failure messages. */
const activity = async (page) => (await page.locator("#log").innerText()).split("\n").reverse().join("\n");

async function simOrder(id) {
  const response = await fetch(`${SIMULATOR}/__sim/orders/${id}`);
  return response.json();
}

before(async () => {
  mkdirSync(OUTPUT, { recursive: true });
  for (const port of PORTS) {
    if (!(await portIsFree(port))) {
      state.portsTaken = `port ${port} is in use by ${describePort(port)}`;
      return;
    }
  }
});

after(async () => {
  await state.browser?.close().catch(() => undefined);
  if (state.dev && state.dev.exit === null) killDev(state.dev);
});

/** A step; skipped when the start failed, which the first steps report. */
function step(name, fn) {
  test(name, (t) => (state.url === null ? t.skip("the playground is not up") : fn()));
}

test("npm run dev starts and prints the playground's address", async () => {
  assert.equal(state.portsTaken, false, `the ports of the local setup must be free: ${state.portsTaken}`);
  state.dev = startDev();
  const deadline = Date.now() + START_TIMEOUT_S * 1000;
  while (Date.now() < deadline && state.dev.exit === null && !state.dev.output.includes("wxpay-edge is running")) await sleep(250);
  assert.match(state.dev.output, /wxpay-edge is running/, `npm run dev did not start within ${START_TIMEOUT_S} s. Its output:\n${state.dev.output}`);
  const url = /Playground.*?: (http:\/\/\S+)/.exec(state.dev.output)?.[1];
  assert.equal(url, `${SIMULATOR}/__sim/playground`, `the welcome lines should name the playground:\n${state.dev.output}`);
  state.browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  state.url = url;
});

step("only the simulator serves the page, and the service still sends no CORS headers", async () => {
  assert.equal((await fetch(`${SERVICE}/__sim/playground`)).status, 404, "the service's Worker must not serve the playground");
  const { page, close } = await openAs(`cors-${RUN}`);
  // The browser refuses the service's answer to another origin: the page can only go through the proxy.
  const direct = await page.evaluate((service) => fetch(`${service}/api/products`).then(() => "read", () => "refused"), SERVICE);
  assert.equal(direct, "refused");
  await close();
});

step("log in, buy, pay: the order is paid, on the phone and in the operator pane", async () => {
  const { page, errors, close } = await openAs(`alice-${RUN}`);
  await buy(page, "coffee");
  await orderStatus(page, "pending");
  await shot(page, "1-pay-sheet");
  await page.click("#pay-confirm");
  await orderStatus(page, "paid");
  await adminStatus(page, "paid");
  await page.locator("#orders li").first().locator('.status[data-status="paid"]').waitFor();
  assert.equal(await page.locator("#orders li").count(), 1, await activity(page));
  assert.match(await page.locator("#history").innerText(), /pending\s+paid\s+notify/, "paid by WeChat's notification");
  await shot(page, "1-paid");
  assert.deepEqual(errors, []);
  await close();
});

step("cancel on the pay sheet, then pay again: the same order is paid", async () => {
  const { page, errors, close } = await openAs(`bob-${RUN}`);
  await buy(page, "tea");
  await page.click("#pay-cancel");
  await page.locator("#order-note", { hasText: "pay() said cancelled" }).waitFor();
  await orderStatus(page, "pending");
  const id = await orderId(page);
  await shot(page, "2-cancelled");
  await page.click("#repay");
  await page.locator("#paysheet").waitFor({ state: "visible" });
  await page.click("#pay-confirm");
  await orderStatus(page, "paid");
  assert.equal(await orderId(page), id, "paying again after a cancel pays the same order");
  assert.equal(await page.locator("#orders li").count(), 1, await activity(page));
  await shot(page, "2-repaid");
  assert.deepEqual(errors, []);
  await close();
});

step("pay with the notification lost: the client asks the service, which asks WeChat, and it is paid", async () => {
  const { page, errors, close } = await openAs(`carol-${RUN}`);
  await buy(page, "cake");
  await page.click("#pay-lose");
  await orderStatus(page, "paid");
  const id = await orderId(page);
  assert.deepEqual((await simOrder(id)).notifications, [], "the simulator sent no notification");
  assert.match(await page.locator("#history").innerText(), /pending\s+paid\s+query/, "paid by the service's order query");
  await shot(page, "3-lost-notification");
  assert.deepEqual(errors, []);
  await close();
});

step("the operator refunds an order: processing, then succeeded", async () => {
  const { page, errors, close } = await openAs(`dave-${RUN}`);
  await buy(page, "coffee");
  await page.click("#pay-confirm");
  await adminStatus(page, "paid");
  await page.fill("#refund-amount", "800");
  await page.click("#refund");
  await page.locator('#refunds .status[data-status="processing"]').waitFor();
  await shot(page, "4-refund-processing");
  await page.locator('#refunds .status[data-status="succeeded"]').waitFor();
  await adminStatus(page, "partially_refunded");
  await orderStatus(page, "partially_refunded");
  assert.match(await page.locator("#admin").innerText(), /refunded ¥8\.00/);
  await shot(page, "4-refund-succeeded");
  // The README's picture is renewed on request only, so that a test run leaves the work tree as it was.
  if (process.env.UPDATE_README_SCREENSHOT === "1") copyFileSync(`${OUTPUT}/4-refund-succeeded.png`, README_SCREENSHOT);
  assert.deepEqual(errors, []);
  await close();
});

test("Ctrl-C stops npm run dev and frees its ports", async (t) => {
  if (state.dev === null) return t.skip("npm run dev was not started");
  await state.browser?.close();
  state.browser = null;
  const { stoppedCleanly } = await stopDev(state.dev);
  assert.ok(stoppedCleanly, `npm run dev left processes running ${STOP_TIMEOUT_S} s after Ctrl-C. Its output:\n${state.dev.output}`);
  for (const port of PORTS) assert.equal(await portIsFree(port), true, `port ${port} is still in use by ${describePort(port)}`);
});
