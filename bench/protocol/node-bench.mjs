// Protocol micro-benchmarks in Node: ours (src/wechat through an esbuild bundle) against the v2
// helpers of the npm packages tenpay and wechatpay-axios-plugin, interleaved run by run.
// Usage: node bench/protocol/node-bench.mjs --bundle <ours.mjs> [--runs 7] [--run-ms 400]
//        [--warmup-ms 300] [--only ours] [--op <one op>] [--out <file.json>]
import { createRequire } from "node:module";
import { writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { summarize } from "../lib/stats.mjs";

const { values: args } = parseArgs({
  options: {
    bundle: { type: "string" },
    runs: { type: "string", default: "7" },
    "run-ms": { type: "string", default: "400" },
    "warmup-ms": { type: "string", default: "300" },
    only: { type: "string" },
    op: { type: "string" },
    out: { type: "string" },
  },
});
if (!args.bundle) throw new Error("--bundle <path to the esbuild bundle of bench/protocol/ours.ts> is required");
const RUNS = Number(args.runs);
const RUN_MS = Number(args["run-ms"]);
const WARMUP_MS = Number(args["warmup-ms"]);

const ours = await import(pathToFileURL(args.bundle).href);
const require = createRequire(import.meta.url);
const fixtures = await ours.prepareFixtures();
const { KEY, APPID, MCH_ID } = ours;

const impls = { ours: ours.ourOps(fixtures) };
if (args.only !== "ours") {
  impls.tenpay = tenpayOps(fixtures);
  impls["wechatpay-axios-plugin"] = wechatpayAxiosPluginOps(fixtures);
}

/** tenpay 2.x: Payment#_getSign (sorted query string + "&key=", Node crypto), util.parseXML / buildXML (xml2js),
 * and Payment#_parse(xml, "middleware_pay"), the body of its notification middleware (parse, codes, appid, mch_id, sign). */
function tenpayOps(f) {
  const Payment = require("tenpay");
  const util = require("tenpay/lib/util");
  const payment = new Payment({ appid: APPID, mchid: MCH_ID, partnerKey: KEY });
  return {
    signMd5: { async: false, run: () => payment._getSign(f.signFields, "MD5") },
    signHmacSha256: { async: false, run: () => payment._getSign(f.signFields, "HMAC-SHA256") },
    parseXml: { async: true, run: () => util.parseXML(f.notificationXml) },
    buildXml: { async: false, run: () => util.buildXML(f.buildFields) },
    verifyNotification: { async: true, run: () => payment._parse(f.notificationXml, "middleware_pay") },
  };
}

/** wechatpay-axios-plugin 0.9: Hash.sign (Formatter.ksort + queryStringLike, Node crypto), Transformer.toObject /
 * toXml (fast-xml-parser), and its v2 response verifier (return/result codes, sign by length, Hash.equals) after
 * toObject; it does not check appid / mch_id, so those two comparisons are added here to match the others. */
function wechatpayAxiosPluginOps(f) {
  const { Hash, Transformer } = require("wechatpay-axios-plugin");
  const verifier = new Transformer(MCH_ID, KEY).verifier;
  const context = { url: "/pay/notify" };
  return {
    signMd5: { async: false, run: () => Hash.sign(Hash.ALGO_MD5, f.signFields, KEY) },
    signHmacSha256: { async: false, run: () => Hash.sign(Hash.ALGO_HMAC_SHA256, f.signFields, KEY) },
    parseXml: { async: false, run: () => Transformer.toObject(f.notificationXml) },
    buildXml: { async: false, run: () => Transformer.toXml(f.buildFields) },
    verifyNotification: {
      async: false,
      run: () => {
        const data = Transformer.toObject(f.notificationXml);
        if (data.appid !== APPID || data.mch_id !== MCH_ID) throw new Error("envelope mismatch");
        const checked = verifier.call(context, data);
        if (checked instanceof Error) throw checked;
        return checked;
      },
    },
  };
}

/** Every implementation must compute the same thing before any of it is timed. */
async function checkEquivalence() {
  const problems = [];
  const expect = (cond, what) => { if (!cond) problems.push(what); };
  for (const [name, ops] of Object.entries(impls)) {
    expect((await ops.signMd5.run()) === fixtures.expectedMd5, `${name}: MD5 sign differs from ours`);
    expect((await ops.signHmacSha256.run()) === fixtures.expectedHmac, `${name}: HMAC-SHA256 sign differs from ours`);
    const parsed = await ops.parseXml.run();
    for (const [k, v] of Object.entries(fixtures.notificationFields)) {
      expect(String(parsed[k]) === v, `${name}: parsed ${k} differs`);
    }
    const xml = await ops.buildXml.run();
    expect(typeof xml === "string" && xml.includes("<out_trade_no>") && xml.includes(fixtures.buildFields.notify_url), `${name}: built XML lacks fields`);
    const verified = await ops.verifyNotification.run();
    expect(verified !== null && typeof verified === "object", `${name}: verification returned nothing`);
  }
  // A tampered amount must fail verification everywhere (so no implementation skips the sign check).
  const tampered = { ...fixtures, notificationXml: fixtures.notificationXml.replace("<total_fee>3600<", "<total_fee>3601<") };
  const tamperedImpls = { ours: ours.ourOps(tampered) };
  if (impls.tenpay) tamperedImpls.tenpay = tenpayOps(tampered);
  if (impls["wechatpay-axios-plugin"]) tamperedImpls["wechatpay-axios-plugin"] = wechatpayAxiosPluginOps(tampered);
  for (const [name, ops] of Object.entries(tamperedImpls)) {
    let refused = false;
    try { await ops.verifyNotification.run(); } catch { refused = true; }
    expect(refused, `${name}: accepted a tampered notification`);
  }
  if (problems.length) throw new Error(`implementations disagree:\n  ${problems.join("\n  ")}`);
}

await checkEquivalence();

const opNames = Object.keys(impls.ours).filter((op) => !args.op || op === args.op);
if (opNames.length === 0) throw new Error(`no op named ${args.op}`);
const results = {};
for (const op of opNames) {
  results[op] = {};
  for (const impl of Object.keys(impls)) {
    const { run, async } = impls[impl][op];
    await ours.measure(run, async, WARMUP_MS);
    results[op][impl] = [];
  }
  // Interleaved: run r of every implementation follows run r-1 of all of them, so drift hits all alike.
  for (let r = 0; r < RUNS; r++) {
    for (const impl of Object.keys(impls)) {
      const { run, async } = impls[impl][op];
      const sample = await ours.measure(run, async, RUN_MS);
      results[op][impl].push(sample.rate);
    }
  }
  const line = Object.entries(results[op]).map(([impl, rates]) => `${impl} ${Math.round(summarize(rates).median)}/s`).join(", ");
  process.stderr.write(`  node  ${op.padEnd(20)} ${line}\n`);
}

const out = {
  runtime: "node",
  node: process.version,
  runs: RUNS,
  runMs: RUN_MS,
  warmupMs: WARMUP_MS,
  ops: Object.fromEntries(
    Object.entries(results).map(([op, byImpl]) => [
      op,
      Object.fromEntries(Object.entries(byImpl).map(([impl, rates]) => [impl, { ...summarize(rates), samples: rates }])),
    ]),
  ),
  // ours ÷ theirs run by run: run k of each ran back to back, so a paired ratio is spared most of the machine's drift.
  pairedRatios: Object.fromEntries(
    Object.entries(results).map(([op, byImpl]) => [
      op,
      Object.fromEntries(
        Object.entries(byImpl)
          .filter(([impl]) => impl !== "ours")
          .map(([impl, rates]) => [impl, summarize(rates.map((rate, k) => byImpl.ours[k] / rate))]),
      ),
    ]),
  ),
};
if (args.out) writeFileSync(args.out, JSON.stringify(out, null, 2));
else process.stdout.write(JSON.stringify(out));
