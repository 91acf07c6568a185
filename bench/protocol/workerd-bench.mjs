// Our protocol ops measured inside workerd (Miniflare from the installed miniflare package), timed
// by workerd's own clock inside each request; the request's wall time from Node is kept as a check
// against a coarsened or frozen clock.
import { Miniflare } from "miniflare";
import { summarize } from "../lib/stats.mjs";

/** Runs every op of the bench Worker; returns { ops: { name: summary }, checks }. */
export async function runWorkerdBench({ script, runs, runMs, warmupMs, compatibilityDate, log = () => {} }) {
  const mf = new Miniflare({ modules: true, script, compatibilityDate });
  try {
    const call = async (path) => {
      const started = performance.now();
      const response = await mf.dispatchFetch(`http://bench.local${path}`);
      if (!response.ok) throw new Error(`bench worker ${path}: HTTP ${response.status} ${await response.text()}`);
      const body = await response.json();
      return { body, wallMs: performance.now() - started };
    };
    const checks = (await call("/check")).body;
    if (checks.md5Spark !== checks.md5Subtle) throw new Error("spark-md5 and crypto.subtle MD5 disagree");
    if (!checks.verify) throw new Error("notification did not verify inside workerd");
    const names = (await call("/ops")).body.ops;
    const ops = {};
    for (const name of names) {
      await call(`/run?op=${encodeURIComponent(name)}&ms=${warmupMs}`);
      const rates = [];
      const clockRatios = [];
      for (let r = 0; r < runs; r++) {
        const { body, wallMs } = await call(`/run?op=${encodeURIComponent(name)}&ms=${runMs}`);
        if (!(body.ms > 0)) throw new Error(`workerd's clock did not advance while timing ${name}`);
        rates.push(body.rate);
        clockRatios.push(body.ms / wallMs);
      }
      ops[name] = { ...summarize(rates), samples: rates, insideToWallClock: summarize(clockRatios).median };
      log(`  workerd ${name.padEnd(28)} ${Math.round(ops[name].median)}/s`);
    }
    return { ops, checks: { md5Agree: true, verify: true } };
  } finally {
    await mf.dispose();
  }
}

// CLI: node bench/protocol/workerd-bench.mjs --script <bundled worker.js> --out <file.json> [--runs --run-ms --warmup-ms]
if (import.meta.url === (await import("node:url")).pathToFileURL(process.argv[1] ?? "").href) {
  const { parseArgs } = await import("node:util");
  const { readFileSync, writeFileSync } = await import("node:fs");
  const { values } = parseArgs({
    options: {
      script: { type: "string" },
      out: { type: "string" },
      runs: { type: "string", default: "7" },
      "run-ms": { type: "string", default: "400" },
      "warmup-ms": { type: "string", default: "300" },
      "compatibility-date": { type: "string", default: "2026-04-20" },
    },
  });
  const result = await runWorkerdBench({
    script: readFileSync(values.script, "utf8"),
    runs: Number(values.runs),
    runMs: Number(values["run-ms"]),
    warmupMs: Number(values["warmup-ms"]),
    compatibilityDate: values["compatibility-date"],
    log: (line) => process.stderr.write(`${line}\n`),
  });
  const out = { runtime: "workerd", runs: Number(values.runs), runMs: Number(values["run-ms"]), warmupMs: Number(values["warmup-ms"]), ...result };
  if (values.out) writeFileSync(values.out, JSON.stringify(out, null, 2));
  else process.stdout.write(JSON.stringify(out));
}
