// Where the bench keeps its files, local Durable Object and KV storage included: in memory (tmpfs)
// where the machine has one, unless TMPDIR says otherwise. On this kind of machine's disk each
// SQLite commit costs ~0.45 ms and each new Durable Object ~4 ms of file I/O (against ~0.1 and
// ~0.5 ms on tmpfs): that is the disk's cost, not our code's, nor what Cloudflare's storage does.
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A new folder under the chosen base; `filesystem` says what holds it (e.g. "tmpfs"). */
export function makeWorkDir(prefix) {
  const base = process.env.TMPDIR || !existsSync("/dev/shm") ? tmpdir() : "/dev/shm";
  const path = mkdtempSync(join(base, prefix));
  return { path, base, filesystem: filesystemOf(path) };
}

function filesystemOf(path) {
  try {
    const mounts = readFileSync("/proc/mounts", "utf8").split("\n").map((line) => line.split(" ")).filter((f) => f.length > 2);
    const best = mounts.filter(([, point]) => path === point || path.startsWith(point.endsWith("/") ? point : `${point}/`)).sort((a, b) => b[1].length - a[1].length)[0];
    return best ? best[2] : "unknown";
  } catch {
    return "unknown";
  }
}
