// `npm run deploy`: deploys the production Worker (the top level of wrangler.toml, not the `local`
// environment) only if the settings it carries are usable, as judged by the service's own reader
// of settings (src/config.ts). Secrets live in Cloudflare, not here: /healthz checks them after.
// Extra arguments go to `wrangler deploy` (e.g. `npm run deploy -- --dry-run`).
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { unstable_readConfig } from "wrangler";

const root = fileURLToPath(new URL("..", import.meta.url));
// Set with `wrangler secret put`, never in [vars]; config.ts requires some only with other settings (the v3
// keys with WECHATPAY_API_VERSION = "v3", the webhook secret with its URL): left out here, a v3 shop or
// one with merchant events could not deploy.
const SECRETS = new Set(["WECHAT_SECRET", "WECHATPAY_KEY", "ADMIN_TOKEN", "WECHATPAY_APIV3_KEY", "WECHATPAY_PRIVATE_KEY", "MERCHANT_WEBHOOK_SECRET"]);

// env "": the top-level environment, which is what a deploy without --env would use.
const { vars } = unstable_readConfig({ config: `${root}wrangler.toml`, env: "" }, { hideWarnings: true });
const bundled = await build({ entryPoints: [`${root}src/config.ts`], bundle: true, format: "esm", platform: "node", write: false, logLevel: "error" });
const { configProblems } = await import(`data:text/javascript;base64,${Buffer.from(bundled.outputFiles[0].text).toString("base64")}`);

const problems = configProblems(vars).filter((p) => !SECRETS.has(p.setting));
if (problems.length > 0) {
  console.error(`Not deploying: wrangler.toml's top-level [vars] are not ready for production.
${problems.map((p) => `  ${p.setting}: ${p.problem}`).join("\n")}
Set them (README, "Deploying"), then run npm run deploy again.`);
  process.exit(1);
}
console.log(`Settings in wrangler.toml look usable. Secrets are not checked here: after the deploy, /healthz names any missing one (${[...SECRETS].join(", ")}).`);
const wrangler = fileURLToPath(new URL("../node_modules/wrangler/bin/wrangler.js", import.meta.url));
const result = spawnSync(process.execPath, [wrangler, "deploy", "--env=", ...process.argv.slice(2)], { cwd: root, stdio: "inherit" });
process.exit(result.status ?? 1);
