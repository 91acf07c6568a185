// The deployable bundle: `wrangler deploy --dry-run --outdir <dir>`, then raw and gzip bytes of what it wrote.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { gzipSync } from "node:zlib";
import { runGroup, WRANGLER_BIN } from "./procs.mjs";

export async function measureBundle(root, outDir) {
  const args = [WRANGLER_BIN(root), "deploy", "--dry-run", "--outdir", outDir];
  const { code, stdout, stderr } = await runGroup({ label: "wrangler deploy --dry-run", command: process.execPath, args, cwd: root, env: { WRANGLER_SEND_METRICS: "false", WRANGLER_LOG_PATH: join(outDir, "..", "wrangler-debug") }, timeoutMs: 90_000 });
  if (code !== 0) throw new Error(`wrangler deploy --dry-run failed (${code}):\n${stderr.slice(-2000)}`);
  // What is uploaded: the modules (wrangler also writes a README.md and, on request, source maps there).
  const files = walk(outDir).filter((f) => /\.(m?js|wasm|bin|txt|html|sql)$/.test(f) && !f.endsWith(".map"));
  const perFile = files.map((file) => {
    const bytes = readFileSync(file);
    return { file: relative(outDir, file), rawBytes: bytes.byteLength, gzipBytes: gzipSync(bytes, { level: 9 }).byteLength };
  });
  const reported = /Total Upload:\s*([\d.]+ KiB)\s*\/\s*gzip:\s*([\d.]+ KiB)/.exec(stdout + stderr);
  return {
    command: "npx wrangler deploy --dry-run --outdir <tmp>",
    files: perFile,
    rawBytes: perFile.reduce((s, f) => s + f.rawBytes, 0),
    gzipBytes: perFile.reduce((s, f) => s + f.gzipBytes, 0),
    gzip: "node zlib, level 9, per file",
    wranglerReported: reported ? { total: reported[1], gzip: reported[2] } : null,
  };
}

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}
