// How busy the machine was with work that is not this benchmark's: every 500 ms, the CPU the whole
// system used (/proc/stat) minus the CPU of this process and of every process group it started.
// Other sessions running tests on the same 2 cores show up here, so the figures can be judged.
import { readFileSync } from "node:fs";
import { cpuTicks, ownProcesses } from "./procs.mjs";

function systemBusyTicks() {
  const fields = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal guest guest_nice: busy = all but idle and iowait (guest is inside user)
  const [user, nice, system, , , irq, softirq, steal] = fields;
  return user + nice + system + irq + softirq + steal;
}

export function startLoadMonitor(intervalMs = 500) {
  const phases = new Map();
  let phase = "setup";
  let prevSystem = systemBusyTicks();
  let prevOwn = new Map();
  for (const pid of ownProcesses()) prevOwn.set(pid, cpuTicks(pid) ?? 0);
  let prevAt = performance.now();
  const tick = () => {
    const now = performance.now();
    const system = systemBusyTicks();
    const own = new Map();
    let ownDelta = 0;
    for (const pid of ownProcesses()) {
      const t = cpuTicks(pid);
      if (t === null) continue;
      own.set(pid, t);
      ownDelta += t - (prevOwn.get(pid) ?? 0);
    }
    const seconds = (now - prevAt) / 1000;
    const foreignTicks = Math.max(0, system - prevSystem - ownDelta);
    const p = phases.get(phase) ?? { seconds: 0, foreignTicks: 0, peakCores: 0 };
    p.seconds += seconds;
    p.foreignTicks += foreignTicks;
    p.peakCores = Math.max(p.peakCores, foreignTicks / 100 / seconds);
    phases.set(phase, p);
    prevSystem = system;
    prevOwn = own;
    prevAt = now;
  };
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  return {
    /** Later samples count towards `name`. */
    phase(name) {
      tick();
      phase = name;
    },
    /** { phase: { seconds, meanCores, peakCores } }: CPU cores used by processes outside the benchmark. */
    stop() {
      tick();
      clearInterval(timer);
      return Object.fromEntries(
        [...phases].map(([name, p]) => [name, { seconds: Math.round(p.seconds), meanCores: round(p.foreignTicks / 100 / p.seconds), peakCores: round(p.peakCores) }]),
      );
    },
  };
}

function round(v) {
  return Math.round(v * 100) / 100;
}
