// Builds sim/dist/playground.html: page.html with app.ts (and the client package it uses) bundled
// by esbuild and inlined, one file for the simulator Worker to embed. sim/wrangler.toml runs it as
// the simulator's custom build, so the page always carries the current client.
import { build } from "esbuild";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";

const here = new URL(".", import.meta.url).pathname;
const out = new URL("../dist/playground.html", import.meta.url).pathname;

const { outputFiles } = await build({
  entryPoints: [`${here}app.ts`],
  bundle: true,
  format: "iife",
  target: "es2020",
  write: false,
  logLevel: "warning",
});
// A "</script" inside the bundle would end the inline element early.
const script = outputFiles[0].text.replaceAll("</script", "<\\/script");
const template = readFileSync(`${here}page.html`, "utf8");
if (!template.includes("<!-- app.ts -->")) throw new Error("playground/page.html lost its <!-- app.ts --> marker");
mkdirSync(new URL("../dist/", import.meta.url).pathname, { recursive: true });
writeFileSync(out, template.replace("<!-- app.ts -->", () => `<script>\n${script}</script>`));
