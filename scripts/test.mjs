// `npm test`: vitest (arguments passed on), with exactly one known line taken out of its output.
// @cloudflare/vitest-pool-workers 0.15 closes its WebSocket to the test runner and disposes the
// runtime without waiting for the close handshake, once per test file, and workerd reports each as
// an uncaught exception on stdout. It is not a test's doing and says nothing; every other line,
// and vitest's exit code, pass through untouched.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const KNOWN_TEARDOWN_LINE = "exception = workerd/api/web-socket.c++:821: disconnected: WebSocket peer disconnected";
const vitest = fileURLToPath(new URL("../node_modules/vitest/vitest.mjs", import.meta.url));

// The pipe would otherwise make vitest drop its colours in a terminal.
const color = process.stdout.isTTY && process.env.FORCE_COLOR === undefined && process.env.NO_COLOR === undefined ? { FORCE_COLOR: "1" } : {};
const child = spawn(process.execPath, [vitest, "run", ...process.argv.slice(2)], { stdio: ["inherit", "pipe", "inherit"], env: { ...process.env, ...color } });

let pending = "";
child.stdout.on("data", (chunk) => {
  const lines = (pending + chunk).split("\n");
  pending = lines.pop();
  const kept = lines.filter((line) => line !== KNOWN_TEARDOWN_LINE);
  if (kept.length) process.stdout.write(`${kept.join("\n")}\n`);
});
child.stdout.on("end", () => {
  if (pending && pending !== KNOWN_TEARDOWN_LINE) process.stdout.write(pending);
});
// Ctrl-C reaches vitest directly (same process group); this process only waits for its exit code.
process.on("SIGINT", () => {});
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
