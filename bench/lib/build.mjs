// esbuild bundles of bench TypeScript (which imports src/wechat): one for Node, one Worker for workerd.
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
export async function bundleBenchWorker(root) {
  const result = await build({
    entryPoints: [join(root, "bench/protocol/worker.ts")],
    write: false,
    bundle: true,
    platform: "neutral",
    mainFields: ["module", "main"],
    format: "esm",
    target: "es2022",
    logLevel: "warning",
  });
  return result.outputFiles[0].text;
}
