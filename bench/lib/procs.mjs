// Child processes of the benchmark and of `npm run dev`: each started in its own process group, all
// stopped on the way out (normal end, error, Ctrl-C), and checked gone. Also CPU time of a process
// from /proc.
import { spawn, execFileSync } from "node:child_process";
import { createWriteStream, readFileSync, readdirSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";

const groups = new Set();

/** Process ids in process group `pgid` (from /proc/<pid>/stat, field 5). */
export function groupMembers(pgid) {
  const members = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (stat && stat.pgrp === pgid) members.push({ pid: Number(entry), comm: stat.comm });
  }
  return members;
}

/** What /proc/<pid>/stat says of a process (name, state, parent, group, CPU ticks), or null when it is gone. */
export function readStat(pid) {
  let text;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null;
  }
  const close = text.lastIndexOf(")");
  const comm = text.slice(text.indexOf("(") + 1, close);
  const rest = text.slice(close + 2).split(" ");
  // rest[0] is field 3 (state); field N is rest[N - 3]
  return { comm, state: rest[0], ppid: Number(rest[1]), pgrp: Number(rest[2]), utime: Number(rest[11]), stime: Number(rest[12]) };
}

let ticksPerSecond = null;
/** User + system CPU time of `pid` so far, in milliseconds (resolution: one clock tick, usually 10 ms). */
export function cpuMs(pid) {
  ticksPerSecond ??= Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;
  const stat = readStat(pid);
  if (!stat) throw new Error(`process ${pid} is gone`);
  return ((stat.utime + stat.stime) * 1000) / ticksPerSecond;
}

export function commandLine(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
  } catch {
    return [];
  }
}

/**
 * Starts `command args` in a new process group, its output appended to `logFile` and offered line by
 * line to `onLine`. The group is stopped by stopAll() / killAllNow().
 */
export function startGroup({ label, command, args, cwd, env, logFile, onLine }) {
  const child = spawn(command, args, { cwd, env: { ...process.env, ...env }, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  const entry = { label, pgid: child.pid, child, exited: false, exitCode: null };
  groups.add(entry);
  const log = logFile ? createWriteStream(logFile, { flags: "a" }) : null;
  for (const stream of [child.stdout, child.stderr]) {
    let pending = "";
    stream.on("data", (chunk) => {
      log?.write(chunk);
      if (!onLine) return;
      pending += chunk.toString();
      const lines = pending.split("\n");
      pending = lines.pop();
      for (const line of lines) onLine(line);
    });
  }
  child.on("exit", (code, signal) => {
    entry.exited = true;
    entry.exitCode = code ?? signal;
    log?.end();
  });
  child.on("error", () => {
    entry.exited = true;
  });
  return entry;
}

/** Runs a command to completion in its own group, killed after `timeoutMs`; resolves { code, stdout, stderr }. */
export function runGroup({ label, command, args, cwd, env, timeoutMs, echo = false }) {
  return new Promise((resolve, reject) => {
    let stdout = "";
    let stderr = "";
    const child = spawn(command, args, { cwd, env: { ...process.env, ...env }, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    const entry = { label, pgid: child.pid, child, exited: false, exitCode: null };
    groups.add(entry);
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => {
      stderr += d;
      if (echo) process.stderr.write(d);
    });
    const timer = setTimeout(() => {
      signalGroup(entry.pgid, "SIGKILL");
      reject(new Error(`${label} did not finish within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    child.on("error", (error) => {
      clearTimeout(timer);
      entry.exited = true;
      reject(error);
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      entry.exited = true;
      entry.exitCode = code;
      // Reap any grandchild left in the group.
      if (groupMembers(entry.pgid).length) signalGroup(entry.pgid, "SIGKILL");
      groups.delete(entry);
      resolve({ code, stdout, stderr });
    });
  });
}

function signalGroup(pgid, signal) {
  try {
    process.kill(-pgid, signal);
  } catch {
    // the group is already gone
  }
}

/** SIGTERM every group, wait up to `graceMs` for it to empty, then SIGKILL what is left. Returns leftovers. */
export async function stopAll(graceMs = 5000) {
  const entries = [...groups];
  for (const entry of entries) signalGroup(entry.pgid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && entries.some((e) => groupMembers(e.pgid).length)) await sleep(100);
  for (const entry of entries) if (groupMembers(entry.pgid).length) signalGroup(entry.pgid, "SIGKILL");
  await sleep(200);
  const leftovers = entries.flatMap((e) => groupMembers(e.pgid).map((m) => ({ group: e.label, ...m })));
  for (const entry of entries) groups.delete(entry);
  return leftovers;
}

/** Synchronous last resort (process 'exit' handler): SIGKILL every group still registered. */
export function killAllNow() {
  for (const entry of groups) signalGroup(entry.pgid, "SIGKILL");
  groups.clear();
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Whether 127.0.0.1:`port` can be bound now. */
export function portIsFree(port) {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** A port the kernel says is free now on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Every live descendant of `pid`, with its command name (wrangler's workerd runs in process groups of its own). */
export function descendants(pid) {
  const children = new Map();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (stat) children.set(stat.ppid, [...(children.get(stat.ppid) ?? []), { pid: Number(entry), comm: stat.comm }]);
  }
  const found = [];
  const walk = (parent) => {
    for (const child of children.get(parent) ?? []) {
      found.push(child);
      walk(child.pid);
    }
  };
  walk(pid);
  return found;
}

/** Process ids of this benchmark: this process and every member of the groups it started. */
export function ownProcesses() {
  const pgids = new Set([...groups].map((g) => g.pgid));
  const pids = new Set([process.pid]);
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (stat && pgids.has(stat.pgrp)) pids.add(Number(entry));
  }
  return pids;
}

/** Process ids of the direct children of `ppid` whose command name is `comm` (e.g. Miniflare's workerd). */
export function childrenNamed(ppid, comm) {
  const pids = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (stat && stat.ppid === ppid && stat.comm === comm) pids.push(Number(entry));
  }
  return pids;
}

/** CPU time of `pid` in clock ticks, or null when it is gone. */
export function cpuTicks(pid) {
  const stat = readStat(pid);
  return stat ? stat.utime + stat.stime : null;
}

export const WRANGLER_BIN = (root) => join(root, "node_modules/wrangler/bin/wrangler.js");
