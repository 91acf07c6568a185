// Installs the locked dependencies on a fresh clone, so `npm run dev` and `npm test` work as the
// first commands a new user types. Does nothing when node_modules is already in place.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

export function ensureDeps() {
  if (existsSync(new URL("../node_modules/.package-lock.json", import.meta.url))) return;
  console.log("Installing the locked dependencies (npm ci)…");
  const result = spawnSync(process.platform === "win32" ? "npm.cmd" : "npm", ["ci", "--no-audit", "--no-fund"], { stdio: "inherit" });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

if (import.meta.url === `file://${process.argv[1]}`) ensureDeps();
