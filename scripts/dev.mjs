// `npm run dev`: the service and the WeChat simulator side by side on loopback, with local KV and
// Durable Objects (Miniflare). No Cloudflare or WeChat account is involved. Ctrl-C stops both.
import { spawn } from "node:child_process";
import { ensureDeps } from "./ensure-deps.mjs";

ensureDeps();

const SERVICE = "http://127.0.0.1:8787";
const SIMULATOR = "http://127.0.0.1:8788";
const wrangler = process.platform === "win32" ? "npx.cmd" : "npx";

const children = [
  run("simulator", ["wrangler", "dev", "-c", "sim/wrangler.toml", "--ip", "127.0.0.1", "--port", "8788", "--persist-to", ".wrangler/sim-state"]),
  run("service", ["wrangler", "dev", "--env", "local", "--ip", "127.0.0.1", "--port", "8787", "--persist-to", ".wrangler/state"]),
];

function run(label, args) {
  const child = spawn(wrangler, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, WRANGLER_SEND_METRICS: "false" } });
  const prefix = (chunk) => chunk.toString().split("\n").filter(Boolean).map((l) => `[${label}] ${l}`).join("\n") + "\n";
  child.stdout.on("data", (d) => process.stdout.write(prefix(d)));
  child.stderr.on("data", (d) => process.stderr.write(prefix(d)));
  child.on("exit", (code) => {
    console.error(`[${label}] exited (${code}); stopping.`);
    stop(code ?? 1);
  });
  return child;
}

let stopping = false;
function stop(code) {
  if (stopping) return;
  stopping = true;
  for (const c of children) if (c.exitCode === null) c.kill("SIGTERM");
  setTimeout(() => process.exit(code), 500);
}
process.on("SIGINT", () => stop(0));
process.on("SIGTERM", () => stop(0));

async function ready(url) {
  for (let i = 0; i < 240; i++) {
    try {
      const res = await fetch(url);
      if (res.status < 500 || res.status === 503) return true;
    } catch {}
    await new Promise((r) => setTimeout(r, 500));
  }
  return false;
}

if ((await ready(`${SIMULATOR}/__sim/clock`)) && (await ready(`${SERVICE}/healthz`))) {
  console.log(`
wxpay-edge is running at ${SERVICE}, WeChat simulator at ${SIMULATOR}.

Try a login (the simulator mints the code wx.login would give the mini-program):

  curl -s -X POST ${SIMULATOR}/__sim/login-codes -H 'Content-Type: application/json' -d '{"user":"alice"}'
  curl -s -X POST ${SERVICE}/api/login -H 'Content-Type: application/json' -d '{"code":"<code from above>"}'

Health: curl -s ${SERVICE}/healthz        Stop: Ctrl-C
`);
} else {
  console.error("The service or the simulator did not come up; see the output above.");
  stop(1);
}
