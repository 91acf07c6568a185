// The loopback ports of the local setup (`npm run dev`), and who holds a port when one is taken:
// shared by the dev script, the demo and the test of the local setup.
import { readFileSync, readdirSync, readlinkSync } from "node:fs";
import { readStat } from "../bench/lib/procs.mjs";

export const LOCAL_PORTS = {
  service: { label: "service", port: 8787, inspectorPort: 9229 },
  simulator: { label: "simulator", port: 8788, inspectorPort: 9230 },
};
export const SERVICE = `http://127.0.0.1:${LOCAL_PORTS.service.port}`;
export const SIMULATOR = `http://127.0.0.1:${LOCAL_PORTS.simulator.port}`;
/** The playground page on the simulator's origin (sim/src/playground.ts serves it there). */
export const PLAYGROUND_PATH = "/__sim/playground";

/** Socket inodes listening on `port` (from /proc/net/tcp and tcp6; Linux only, else none). */
function listeningInodes(port) {
  const inodes = new Set();
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = readFileSync(table, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      // fields[1] is address:port in hex, fields[3] the state (0A = LISTEN), fields[9] the inode.
      if (fields.length > 9 && fields[3] === "0A" && parseInt(fields[1].split(":")[1], 16) === port) inodes.add(fields[9]);
    }
  }
  return inodes;
}

/** "pid 1234 (node …/wrangler.js dev …)" for the process listening on `port`, as far as it can be told. */
export function describePort(port) {
  const inodes = listeningInodes(port);
  if (inodes.size > 0) {
    for (const entry of readdirSync("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      let fds = [];
      try {
        fds = readdirSync(`/proc/${entry}/fd`);
      } catch {
        continue; // another user's process, or gone
      }
      for (const fd of fds) {
        let target = "";
        try {
          target = readlinkSync(`/proc/${entry}/fd/${fd}`);
        } catch {
          continue;
        }
        const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
        if (inode && inodes.has(inode)) return describeProcess(Number(entry));
      }
    }
  }
  return "another process (this system does not say which)";
}

function commandOf(pid) {
  try {
    const command = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean).join(" ");
    return command.length > 100 ? `${command.slice(0, 99)}…` : command;
  } catch {
    return "?";
  }
}


/** The process, and the `npm run dev` (or wrangler) that started it: the one to stop. */
function describeProcess(pid) {
  let starter = null;
  const parentOf = (p) => readStat(p)?.ppid ?? 0;
  for (let ancestor = parentOf(pid); ancestor > 1; ancestor = parentOf(ancestor)) {
    const command = commandOf(ancestor);
    // The dev script itself if there is one (not npm's `sh -c` around it), else the outermost wrangler.
    if (/^\S*node \S*scripts\/dev\.mjs/.test(command)) {
      starter = { pid: ancestor, command };
      break;
    }
    if (/wrangler/.test(command)) starter = { pid: ancestor, command };
  }
  const self = `pid ${pid} (${commandOf(pid)})`;
  return starter ? `${self}, started by pid ${starter.pid} (${starter.command})` : self;
}
