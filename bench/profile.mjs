// Where our protocol operations spend their time in Node: each op of bench/protocol/ours.ts runs
// alone under `node --cpu-prof`, and the top self-time functions are listed with the source module
// they come from. Writes bench/results/profile.md. Usage: node bench/profile.mjs [--seconds 3]
// (BENCH_REF=<git ref> profiles that commit instead of the working tree, as for run.mjs.)
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { bundleOursForNode } from "./lib/build.mjs";
import { killAllNow, runGroup } from "./lib/procs.mjs";
import { makeSnapshot } from "./lib/snapshot.mjs";
import { moduleAt, moduleIndex } from "./lib/bundle-modules.mjs";

const PROJECT = join(dirname(fileURLToPath(import.meta.url)), "..");
const OPS = ["signMd5", "signHmacSha256", "parseXml", "buildXml", "verifyNotification"];
const { values } = parseArgs({ options: { seconds: { type: "string", default: "3" }, top: { type: "string", default: "12" } } });
process.on("exit", killAllNow);
process.on("SIGINT", () => process.exit(130));

const tmp = mkdtempSync(join(tmpdir(), "wxpay-profile-"));
try {
  const root = join(tmp, "tree");
  const source = makeSnapshot(PROJECT, root, process.env.BENCH_REF);
  const bundle = await bundleOursForNode(root, tmp);
  const modules = moduleIndex(readFileSync(bundle, "utf8"));
  const measured = source.kind === "git" ? `commit ${source.commit}` : `the working tree at ${source.commit}${source.uncommittedChanges ? " with uncommitted changes" : ""}`;
  const out = ["# Where our protocol ops spend their time (Node)", "", `\`node bench/profile.mjs\` on ${new Date().toISOString()}, ${measured}, Node ${process.version}: ` +
    `each op alone under \`node --cpu-prof\` for ${values.seconds} s. Self time: time in the function itself, not its callees.`, ""];
  for (const op of OPS) {
    const dir = join(tmp, op);
    const { code, stderr } = await runGroup({
      label: `profile ${op}`,
      command: process.execPath,
      args: ["--cpu-prof", "--cpu-prof-dir", dir, join(root, "bench/protocol/node-bench.mjs"), "--bundle", bundle, "--only", "ours", "--op", op,
        "--runs", "1", "--run-ms", String(Number(values.seconds) * 1000), "--warmup-ms", "300", "--out", join(tmp, `${op}.json`)],
      cwd: root,
      timeoutMs: 60_000,
    });
    if (code !== 0) throw new Error(`profiling ${op} failed:\n${stderr}`);
    const profile = JSON.parse(readFileSync(join(dir, readdirSync(dir).find((f) => f.endsWith(".cpuprofile"))), "utf8"));
    const rate = JSON.parse(readFileSync(join(tmp, `${op}.json`), "utf8")).ops[op].ours.median;
    out.push(`## ${op}: ${Math.round(rate).toLocaleString("en")} ops/s (${(1e6 / rate).toFixed(2)} µs per op)`, "");
    out.push("| self % | function | where |", "|---|---|---|");
    for (const row of selfTimes(profile, bundle, modules).slice(0, Number(values.top))) {
      out.push(`| ${row.pct.toFixed(1)} | \`${row.name}\` | ${row.where} |`);
    }
    out.push("");
    process.stderr.write(`profiled ${op}\n`);
  }
  mkdirSync(join(PROJECT, "bench/results"), { recursive: true });
  writeFileSync(join(PROJECT, "bench/results/profile.md"), out.join("\n"));
  process.stdout.write(out.join("\n") + "\n");
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

/** Self time per function (summed over the profile's samples), as a share of the whole profile, largest first. */
function selfTimes(profile, bundle, modules) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    total += dt;
    const frame = byId.get(id).callFrame;
    const where = frame.url.endsWith(bundle.split("/").pop()) ? `${moduleAt(modules, frame.lineNumber)} (bundle line ${frame.lineNumber + 1})` : frame.url.replace(/^file:\/\/.*node_modules\//, "node_modules/") || "(native / VM)";
    const key = `${frame.functionName || "(anonymous)"}\u0000${where}`;
    self.set(key, (self.get(key) ?? 0) + dt);
  });
  return [...self.entries()]
    .map(([key, t]) => {
      const [name, where] = key.split("\u0000");
      return { name, where, pct: (t / total) * 100 };
    })
    .sort((a, b) => b.pct - a.pct);
}
