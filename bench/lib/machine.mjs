// What the figures were taken on: cores, CPU model, memory, load, Node, workerd and tool versions.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { join } from "node:path";

export function machineInfo(root) {
  const cpuinfo = safe(() => readFileSync("/proc/cpuinfo", "utf8"), "");
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? cpus()[0]?.model ?? "unknown";
  const version = (pkg) => safe(() => JSON.parse(readFileSync(join(root, "node_modules", pkg, "package.json"), "utf8")).version, null);
  return {
    nproc: Number(safe(() => execFileSync("nproc").toString().trim(), String(cpus().length))),
    cpuModel: model,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    kernel: safe(() => execFileSync("uname", ["-r"]).toString().trim(), null),
    node: process.version,
    workerd: safe(() => execFileSync(join(root, "node_modules/.bin/workerd"), ["--version"]).toString().trim(), null),
    workerdPackage: version("workerd"),
    wrangler: version("wrangler"),
    miniflare: version("miniflare"),
    esbuild: version("esbuild"),
    autocannon: version("autocannon"),
    tenpay: version("tenpay"),
    wechatpayAxiosPlugin: version("wechatpay-axios-plugin"),
    loadAverageAtStart: loadavg().map((v) => Math.round(v * 100) / 100),
  };
}

function safe(fn, fallback) {
  try {
    return fn();
  } catch {
    return fallback;
  }
}
