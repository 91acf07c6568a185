// esbuild bundles of bench TypeScript: the protocol ops for Node, and the two bench Workers for workerd.
import { build } from "esbuild";
import { join } from "node:path";

/** Bundles `<root>/bench/protocol/ours.ts` as an ES module for Node; returns its path. */
export async function bundleOursForNode(root, outDir) {
  const outfile = join(outDir, "ours.node.mjs");
  await build({
    entryPoints: [join(root, "bench/protocol/ours.ts")],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    logLevel: "warning",
  });
  return outfile;
}

/** Bundles the workerd micro-benchmark Worker (`bench/protocol/worker.ts`) as one ES module; returns its source. */
export function bundleBenchWorker(root) {
  return bundleWorker(join(root, "bench/protocol/worker.ts"));
}

/**
 * Bundles the CPU-per-request bench Worker (`bench/handler/worker.ts`, which imports the whole app and
 * its Durable Objects) as one ES module, leaving the runtime's own modules to workerd; returns its source.
 */
export function bundleHandlerWorker(root) {
  return bundleWorker(join(root, "bench/handler/worker.ts"), {
    conditions: ["workerd", "worker", "browser"],
    external: ["cloudflare:workers", "node:async_hooks"],
  });
}

async function bundleWorker(entry, options = {}) {
  const result = await build({
    entryPoints: [entry],
    write: false,
    bundle: true,
    platform: "neutral",
    mainFields: ["module", "main"],
    format: "esm",
    target: "es2022",
    logLevel: "warning",
    ...options,
  });
  return result.outputFiles[0].text;
}
