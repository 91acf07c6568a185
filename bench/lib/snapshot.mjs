// A private copy of the code under test, taken once at the start, so that every figure of one run
// measures the same code even while src/ and sim/ are being edited (wrangler dev would otherwise
// rebuild mid-run). node_modules is linked package by package, not copied. Nothing in the project is written.
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, symlinkSync } from "node:fs";
import { dirname, join } from "node:path";

const TREE = ["src", "sim", "wrangler.toml", "package.json", "tsconfig.json"];
/**
 * The simulator's custom build bundles client/ into its playground page; the handler bench signs v3
 * notifications with the test keys and settings. Refs from before them have none of these.
 */
const TREE_IF_PRESENT = ["client", "test/fixtures/v3-keys.ts", "test/support/v3-settings.ts"];

/**
 * Copies the service and simulator (from the working tree, or from git `ref` when given: read-only
 * `git archive`) and this bench/ folder into `dir`. Returns a description of what was copied.
 */
export function makeSnapshot(root, dir, ref) {
  mkdirSync(dir, { recursive: true });
  let source;
  if (ref) {
    const present = TREE_IF_PRESENT.filter((name) => git(root, ["cat-file", "-e", `${ref}:${name}`]) !== null);
    const tar = execFileSync("git", ["-C", root, "archive", "--format=tar", ref, ...TREE, ...present], { maxBuffer: 256 * 1024 * 1024 });
    execFileSync("tar", ["-x", "-C", dir], { input: tar });
    source = { kind: "git", ref, commit: git(root, ["rev-parse", ref]) };
  } else {
    for (const name of [...TREE, ...TREE_IF_PRESENT.filter((n) => existsSync(join(root, n)))]) {
      mkdirSync(dirname(join(dir, name)), { recursive: true });
      cpSync(join(root, name), join(dir, name), { recursive: true });
    }
    const dirty = git(root, ["status", "--porcelain", "--", "src", "sim", "wrangler.toml"]);
    source = { kind: "working-tree", commit: git(root, ["rev-parse", "HEAD"]), uncommittedChanges: dirty !== "" };
  }
  cpSync(join(root, "bench"), join(dir, "bench"), { recursive: true, filter: (path) => !path.includes(`${join(root, "bench", "results")}`) });
  linkNodeModules(join(root, "node_modules"), join(dir, "node_modules"));
  return source;
}

/**
 * A private node_modules folder whose entries link to the project's packages. Not one link to the
 * whole folder: wrangler dev (esbuild's watch) rebuilds and restarts every Worker, mid-measurement,
 * when a directory it resolved through changes, and other processes
 * (vitest's .vite-temp, Miniflare's .mf cache) write into the shared node_modules all the time.
 */
function linkNodeModules(source, target) {
  mkdirSync(target, { recursive: true });
  for (const name of readdirSync(source)) {
    if (SCRATCH.has(name) || existsSync(join(target, name))) continue;
    symlinkSync(join(source, name), join(target, name));
  }
}

/** Folders in node_modules that tools write to while running, never packages. */
const SCRATCH = new Set([".vite-temp", ".vite", ".cache", ".mf", ".vitest"]);

function git(root, args) {
  try {
    return execFileSync("git", ["-C", root, ...args], { stdio: ["ignore", "pipe", "ignore"] }).toString().trim();
  } catch {
    return null;
  }
}
