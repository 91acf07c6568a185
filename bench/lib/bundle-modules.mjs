// esbuild writes `// path/to/module` before each module it bundles (when not minifying): this maps
// a line of a bundle back to the module it came from, for CPU profiles of bundled code.

/** [{ line (0-based), module }] in bundle order; module paths are project-relative where possible. */
export function moduleIndex(text) {
  const index = [];
  text.split("\n").forEach((line, i) => {
    const m = /^\/\/ (\S+\.(?:ts|mts|js|mjs|cjs))$/.exec(line);
    if (m) index.push({ line: i, module: projectPath(m[1]) });
  });
  return index;
}

/** The module holding 0-based `line`, or `fallback` before the first module. */
export function moduleAt(index, line, fallback = "bundle") {
  let found = fallback;
  for (const entry of index) {
    if (entry.line > line) break;
    found = entry.module;
  }
  return found;
}

function projectPath(path) {
  // node_modules and snapshots are reached through links, so esbuild may name a module by its real path.
  const packages = path.lastIndexOf("node_modules/");
  if (packages >= 0) return path.slice(packages);
  const tree = path.lastIndexOf("/tree/");
  if (tree >= 0) return path.slice(tree + "/tree/".length);
  return path.replace(/^(\.\.\/)+/, "");
}
