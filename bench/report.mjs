// Renders BENCHMARKS.md from bench/results/latest.json. `node bench/report.mjs` re-renders it
// without measuring again; bench/run.mjs calls renderReport() after a run.
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const OPS = {
  signMd5: "canonical sign string + MD5 (17 notification fields)",
  signHmacSha256: "canonical sign string + HMAC-SHA256 (same fields)",
  parseXml: "XML parse of a payment notification (18 fields, CDATA, ~700 bytes)",
  buildXml: "XML build of a unifiedorder request (14 fields)",
  verifyNotification: "full notification verification (parse + envelope + HMAC-SHA256 sign check)",
};
const IMPLS = ["ours", "tenpay", "wechatpay-axios-plugin"];

export function renderReport(r) {
  const m = r.machine;
  const node = r.micro.node;
  const wd = r.micro.workerd;
  const e = r.endToEnd;
  const out = [];
  const p = (line = "") => out.push(line);

  p("# Benchmarks");
  p();
  p(`Produced by \`npm run bench\` (bench/run.mjs) on ${r.generatedAt.slice(0, 10)} (${r.generatedAt}), in ${r.durationS} s; ` +
    `the raw figures are in [bench/results/latest.json](bench/results/latest.json) and this file is rendered from them by bench/report.mjs.`);
  if (r.quick) p("\n> **BENCH_QUICK=1 run: shortened runs, for trying the harness only. These are not the figures to quote.**");
  p();
  p(`Code measured: ${r.source.kind === "git" ? `commit ${r.source.commit} (\`BENCH_REF=${r.source.ref}\`)` : `the working tree at ${r.source.commit}${r.source.uncommittedChanges ? " **with uncommitted changes in src/ or sim/**" : ""}`}, ` +
    "copied to a temporary folder at the start so that every figure of the run is of the same code.");
  p();
  p("| machine | |");
  p("|---|---|");
  p(`| cores (\`nproc\`) | ${m.nproc} |`);
  p(`| CPU (/proc/cpuinfo) | ${m.cpuModel} |`);
  p(`| memory | ${m.memoryGiB} GiB |`);
  p(`| Node | ${m.node} |`);
  p(`| workerd | ${m.workerd} (npm workerd ${m.workerdPackage}), wrangler ${m.wrangler}, miniflare ${m.miniflare} |`);
  p(`| load generator | autocannon ${m.autocannon}, in the same Node process as the orchestration, on the same 2 cores |`);
  p(`| compared packages | tenpay ${m.tenpay}, wechatpay-axios-plugin ${m.wechatpayAxiosPlugin} |`);
  p(`| load average at start / before end-to-end | ${m.loadAverageAtStart.join(" ")} / ${m.loadAverageBeforeEndToEnd.join(" ")} |`);
  if (m.workDir) {
    p(`| work files, local Durable Object and KV storage included | ${m.workDir.base} (${m.workDir.filesystem}) |`);
  }
  const other = Object.entries(m.otherLoad ?? {}).filter(([name]) => name !== "setup");
  if (other.length) {
    p(`| CPU used by other processes during the run, mean (peak) cores | ${other.map(([name, l]) => `${name}: ${l.meanCores} (${l.peakCores})`).join("; ")} |`);
  }
  p();
  if (m.workDir) {
    p(m.workDir.filesystem === "tmpfs"
      ? "Work files live in memory (tmpfs) unless `TMPDIR` names another place: on this machine's disk each local SQLite commit costs ~0.45 ms " +
        "and each new Durable Object ~4 ms of file I/O, against ~0.1 and ~0.5 ms in memory. That is the disk's cost, not our code's, nor what " +
        "Cloudflare's storage does (`TMPDIR=/tmp npm run bench` measures with it)."
      : "Work files, local storage included, are on disk here: each local SQLite commit and each new Durable Object pays this machine's file I/O, " +
        "which is not our code's cost nor what Cloudflare's storage does.");
    p();
  }
  p("Everything shares the machine's cores: the load generator, wrangler's Node processes and the workerd processes. Other work on the " +
    "machine (the last row: all CPU time of the system minus this benchmark's processes, sampled every 500 ms) makes every figure lower " +
    "and noisier; compare runs only when that row is near 0 in both.");
  // The bundle size does not depend on load, so its phase does not make a run noisy.
  const busiest = Math.max(0, ...other.filter(([name]) => name !== "bundle size").map(([, l]) => l.meanCores));
  if (busiest >= 0.2) {
    p();
    p(`> **Noisy run:** other processes used ${busiest} cores on average in at least one phase (of ${m.nproc}). Treat absolute figures as low; ratios measured in the same run (ours ÷ theirs, share of the trivial Worker) hold up better.`);
  }
  p();

  p("## Targets (from the issue)");
  p();
  p("| target | measured | |");
  p("|---|---|---|");
  for (const t of r.targets) p(`| ${t.name} | ${t.actual} | ${t.met ? "met" : "**not met**"} |`);
  p();

  p("## 1. Protocol micro-benchmarks");
  p();
  p(`Each operation, for each implementation: a warm-up of ${node.warmupMs} ms, then ${node.runs} runs of ${node.runMs} ms each, interleaved ` +
    "(run *k* of every implementation before run *k+1* of any). A run counts completed operations back to back (async ones awaited one at a " +
    "time, sync ones called without a promise). The figure is the **median** ops/s of the runs. " +
    "Before timing, every implementation must produce the same MD5 and HMAC-SHA256 signs and parse the same fields, and each must refuse " +
    "a notification whose amount was altered.");
  p();
  p("Ours is src/wechat bundled by esbuild (bench/protocol/ours.ts): `sign()` (async: spark-md5, or WebCrypto `importKey` + `sign` for HMAC), " +
    "`parseXml()` (fast-xml-parser with its validator, plus our flat-document checks), `buildXml()`, and `verifyPaymentNotification(parseXml(xml), trust)`. " +
    "tenpay: `Payment#_getSign`, `util.parseXML` / `util.buildXML` (xml2js), and `Payment#_parse(xml, \"middleware_pay\")` (its notification middleware's " +
    "check: parse, return/result codes, appid, mch_id, sign). wechatpay-axios-plugin: `Hash.sign`, `Transformer.toObject` / `toXml` (fast-xml-parser), " +
    "and `toObject` + appid/mch_id comparison + its v2 response `verifier` (return/result codes, sign, `Hash.equals`).");
  p();
  p(`### In Node ${node.node}`);
  p();
  p("| operation | ours ops/s | tenpay ops/s | wechatpay-axios-plugin ops/s | ours ÷ tenpay | ours ÷ wechatpay-axios-plugin |");
  p("|---|---|---|---|---|---|");
  for (const [op, byImpl] of Object.entries(node.ops)) {
    const cells = IMPLS.map((impl) => (byImpl[impl] ? rate(byImpl[impl]) : "–"));
    const ratio = (impl) => {
      const paired = node.pairedRatios?.[op]?.[impl];
      return paired ? `${paired.median.toFixed(2)}× (${paired.min.toFixed(2)}–${paired.max.toFixed(2)})` : "–";
    };
    p(`| ${OPS[op] ?? op} | ${cells.join(" | ")} | ${ratio("tenpay")} | ${ratio("wechatpay-axios-plugin")} |`);
  }
  p();
  p("Rates: median ops/s (± half the spread, i.e. (max − min) / 2 / median). Ratios: the median of the per-run ratios ours ÷ theirs " +
    "(run *k* of both ran back to back), with their min–max; above 1× means ours is faster.");
  p();
  p("### Inside workerd");
  p();
  p(`The same operations of ours in a bench Worker (bench/protocol/worker.ts, bundled by esbuild) run by Miniflare ${m.miniflare} (${m.workerd}); ` +
    `each run is one request that loops for ${wd.runMs} ms by workerd's own \`performance.now()\` (a millisecond clock here, so ` +
    "each timing is long enough for its resolution not to matter; the request's wall time seen from Node is recorded as a check). The packages are Node libraries and are not run in workerd; " +
    "the last column compares ours in workerd with the faster package in Node, which is how they would actually be deployed.");
  p();
  p("| operation | ours in workerd ops/s | ours in Node ops/s | workerd ÷ Node | ours in workerd ÷ faster package in Node |");
  p("|---|---|---|---|---|");
  for (const op of Object.keys(node.ops)) {
    const w = wd.ops[op];
    const n = node.ops[op];
    const best = Math.max(...Object.entries(n).filter(([k]) => k !== "ours").map(([, v]) => v.median));
    p(`| ${op} | ${rate(w)} | ${rate(n.ours)} | ${(w.median / n.ours.median).toFixed(2)}× | ${(w.median / best).toFixed(2)}× |`);
  }
  p();
  const sp = wd.ops["md5.sparkMd5"];
  const sd = wd.ops["md5.subtleDigest"];
  const sc = wd.ops["md5.subtleDigestConcurrent"];
  p("### MD5 inside workerd: spark-md5 or `crypto.subtle.digest('MD5')`");
  p();
  p("The message is the canonical sign string of the notification fields (with `&key=…`), as `sign()` hashes it.");
  p();
  p("| MD5 of the sign string | ops/s | µs per op |");
  p("|---|---|---|");
  p(`| spark-md5 \`ArrayBuffer.hash\` (sync; what sign.ts uses) | ${rate(sp)} | ${us(sp.median)} |`);
  p(`| \`crypto.subtle.digest("MD5")\`, awaited one at a time | ${rate(sd)} | ${us(sd.median)} |`);
  p(`| \`crypto.subtle.digest("MD5")\`, 64 in flight, counted per digest | ${rate(sc)} | ${us(sc.median)} |`);
  const [fast, slow, fastName, slowName] = sp.median >= sd.median ? [sp, sd, "spark-md5", "crypto.subtle.digest"] : [sd, sp, "crypto.subtle.digest", "spark-md5"];
  const clear = fast.min > slow.max;
  p();
  p(clear
    ? `Where it runs (workerd), **${fastName}** is faster per operation: ${(fast.median / slow.median).toFixed(2)}× ${slowName} (sequential; every run of one beat every run of the other).`
    : `Where it runs (workerd), **neither is clearly faster**: ${fastName} leads by ${((fast.median / slow.median - 1) * 100).toFixed(1)} % at the median, ` +
      "within the runs' spread (their ranges overlap). The digest itself is a small part of a sign: compare µs per op here with signMd5 above " +
      `(${us(wd.ops.signMd5.median)} µs for the whole MD5 sign inside workerd).`);
  p();
  const hi = wd.ops["hmac.importKeyPerCall"];
  const hr = wd.ops["hmac.reusedKey"];
  if (hi && hr) {
    p("Diagnostic, HMAC-SHA256 of the same message in workerd: `importKey` + `sign` per call (what sign.ts does) " +
      `${rate(hi)} ops/s against a reused CryptoKey ${rate(hr)} ops/s (${(hr.median / hi.median).toFixed(2)}×).`);
    p();
  }

  renderHandler(r, p);

  p("## 3. End to end");
  p();
  p("The simulator and the service run as `npm run dev` runs them: two `wrangler dev` processes " +
    `(simulator \`-c sim/wrangler.toml --port ${e.ports.simulator}\`, service \`--env local --port ${e.ports.service}\`, both \`--ip 127.0.0.1\`, ` +
    `each with its own \`--persist-to\` folder under a temporary directory), plus the trivial Worker (bench/trivial-worker/, a constant answer) as a third ` +
    `\`wrangler dev\` on :${e.ports.trivial}. autocannon drives them over loopback with ${e.connections} connections, no pipelining. ` +
    `Duration-bounded runs last ${e.durationS} s after a warm-up; the notification runs are bounded by their number of distinct requests.`);
  p();
  p(`- **trivial Worker**: \`POST /\` with a ~1 KB XML body (the size of a notification), answered with a constant.`);
  if (e.trivialLogging) {
    p("- **trivial Worker writing 1 log line**: the same at `POST /log`, which first writes one JSON line shaped like the service's " +
      "`order_transition` line with `console.log`, as every payment notification does. Under `wrangler dev` each console line travels " +
      "through the inspector to the proxy and on to wrangler's terminal, so this row is the ceiling for a Worker that logs once per request.");
  }
  p(`- **login**: \`POST /api/login\`, each request with a distinct code minted beforehand by \`POST /__sim/login-codes\` (${e.login.codesMinted} minted; pool exhausted: ${e.login.codePoolExhausted ? "**yes**" : "no"}) ` +
    "and its own \`CF-Connecting-IP\` (many phones, so the per-address login rate limit is checked but never reached). Includes the service's code2session call to the simulator and the KV write.");
  p(`- **create order**: \`POST /api/orders\` with a bearer token (${e.users ?? 20} users, round robin, each staying under the per-user order rate limit), each a new order: Durable Object writes, unifiedorder at the simulator, paySign.`);
  p(`- **payment notification**: ${e.notify.checks.distinctOrders} orders created in the order runs, each paid at the simulator with \`{"deliver": false}\`, ` +
    "its notification signed with the local merchant key by src/wechat (sign.ts, xml.ts) and POSTed once to `/api/pay/notify`. " +
    "The orders were created at least ~10 s before (all are paid at the simulator first), so their objects may have to be started again, " +
    "as for most real notifications: Cloudflare evicts an object after ~10 s idle.");
  p(`- **storm**: ${e.storm.requests} copies of one order's notification, ${e.storm.connections} connections.`);
  p();
  const restarts = Object.entries(e.workerRestarts ?? {}).filter(([, n]) => n > 0);
  if (restarts.length) {
    p(`> **wrangler dev restarted ${restarts.map(([w, n]) => `the ${w} ${n}×`).join(", ")} during this run** (a file it watches changed): ` +
      "the figures below are suspect; run again on a quiet tree.");
    p();
  }
  p("| run | requests | req/s | per-second windows: median (min–max) | share of trivial | p50 ms | p99 ms | errors | service workerd CPU ms/req | same minus the trivial Worker's | + proxy workerd | + wrangler (Node) | simulator workerds |");
  p("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
  const baseline = e.trivial.cpuMsPerRequest.trivial.worker;
  for (const [key, label] of [["trivial", "trivial Worker (ceiling)"], ["trivialLogging", "trivial Worker writing 1 log line"], ["login", "login"], ["createOrder", "create order"], ["notify", "payment notification"], ["storm", "duplicate storm"]]) {
    const x = e[key];
    if (!x) continue;
    const own = x.cpuMsPerRequest[x.target];
    const sim = key.startsWith("trivial") ? "–" : ms(x.cpuMsPerRequest.sim.worker + x.cpuMsPerRequest.sim.proxy);
    const net = key === "trivial" ? "–" : ms(own.worker - baseline);
    p(`| ${label} | ${x.requests} | ${x.rps} | ${windows(x.rpsPerSecond)} | ${key === "trivial" ? "100 %" : `${((x.rps / e.trivial.rps) * 100).toFixed(1)} %`} | ${x.latencyMs.p50} | ${x.latencyMs.p99} | ${x.errors} | ${ms(own.worker)} | ${net} | ${ms(own.proxy)} | ${ms(own.wrangler)} | ${sim} |`);
  }
  p();
  p("req/s is requests answered ÷ time from the start to the last answer; the windows column gives the spread over the run's whole seconds " +
    "(runs bounded by a number of requests may last only a few seconds). Latency is autocannon's, per request, in ms.");
  p();
  p("CPU per request is the CPU time (utime + stime from /proc/<pid>/stat, 10 ms ticks) that a process used during the run, divided by the " +
    "requests answered. **It includes the runtime's own overhead** (HTTP parsing, the isolate, SQLite for Durable Objects, local KV, the " +
    "inspector), not only our code. *service workerd* is the workerd process that runs the Worker (for the trivial row, the trivial Worker's); " +
    "under `wrangler dev` a second workerd process (the proxy that owns the port) forwards every request to it and relays the inspector's " +
    "network events for it, and wrangler's Node process logs every request (its debug log records each request's inspector events): both " +
    "columns are dev-server overhead that production does not have. *Same minus the trivial Worker's* subtracts " +
    "the trivial Worker's own figure from the same setup, as a rough estimate of what our code and its storage cost on top of the runtime " +
    "(rough: the two ran at different request rates). The simulator's CPU (its workerd processes) is shown for the runs that call it.");
  p();
  const c = e.storm.checks;
  p("Duplicate storm checks, after the run:");
  p();
  p(`- order status by \`GET /api/orders/:id\` (owner's token): **${c.orderStatus}**, transaction id as notified: ${c.transactionIdMatches ? "yes" : "**no**"}`);
  p(`- paid transitions in the order's history: ${c.paidTransitionsInHistory === null ? `– (${c.historyFrom})` : `**${c.paidTransitionsInHistory}** (${c.historyFrom})`}`);
  p(`- the service's \`order_transition\` log lines into \`paid\` for the order: ${c.logApplied}${c.logRepeated !== undefined ? ` (older runs counted pay_notify_accepted: ${c.logRepeated} repeated)` : ""}`);
  p(`- response codes: ${Object.entries(e.storm.statuses).map(([s, n]) => `${n}× ${s}`).join(", ")}; errors (anything but 200 with return_code SUCCESS, socket errors, timeouts): **${e.storm.errors}**`);
  p(`- verdict: ${c.exactlyOnePaidTransition && e.storm.errors === 0 ? "exactly one paid transition, no errors" : "**FAILED**"}`);
  p();
  p(`Notification run checks: ${e.notify.checks.appliedExactlyOnceInLog} of ${e.notify.checks.distinctOrders} orders logged one transition into \`paid\`; ` +
    `sampled orders paid by \`GET /api/orders/:id\`: ${e.notify.checks.sampledPaid}. While preparing, the simulator answered ` +
    `${e.notify.checks.simulatorRetries ?? 0} \`/pay\` call(s) with 503 (each retried once; the run checks afterwards that the simulator still knows the orders).`);
  p();

  p("## 4. Bundle size");
  p();
  p(`\`${r.bundle.command}\`: ${r.bundle.rawBytes.toLocaleString("en")} bytes raw, ${r.bundle.gzipBytes.toLocaleString("en")} bytes gzip (${r.bundle.gzip})` +
    (r.bundle.wranglerReported ? `; wrangler reports ${r.bundle.wranglerReported.total} / gzip ${r.bundle.wranglerReported.gzip}.` : "."));
  p();
  p("| file | raw bytes | gzip bytes |");
  p("|---|---|---|");
  for (const f of r.bundle.files) p(`| ${f.file} | ${f.rawBytes.toLocaleString("en")} | ${f.gzipBytes.toLocaleString("en")} |`);
  p();

  p("## Reproducing");
  p();
  p("```sh");
  p("npm run bench                  # about 3-4 minutes; needs ports 8787-8789 free (otherwise it picks free ones)");
  p("BENCH_REF=HEAD npm run bench   # measure a commit instead of the working tree");
  p("node bench/report.mjs          # re-render this file from bench/results/latest.json");
  p("node bench/profile.mjs         # CPU profile of our protocol ops in Node: bench/results/profile.md");
  p("node --experimental-websocket bench/profile-worker.mjs   # the service's isolate profiled per endpoint: bench/results/profile-worker.md");
  p("node --experimental-websocket bench/handler/handler-bench.mjs --profile <dir>   # section 2 alone; keeps each isolate's .cpuprofile");
  p("BENCH_BASELINE=<ref> npm run bench -- --only=handler   # section 2 with a commit's code beside this code's, printed, nothing written");
  p("TMPDIR=/tmp npm run bench      # work files and local storage on disk instead of /dev/shm");
  p("```");
  p();
  p("The run stops itself after 285 s (600 s with a baseline), and stops every process it started (wrangler, workerd, esbuild) on success, error or Ctrl-C.");
  p();
  return out.join("\n");
}

const HANDLER_ROWS = [
  ["login", "login", "`POST /api/login` with a new code: code2session (answered at once), the session written to KV (a Map here)"],
  ["createOrder", "order creation", "`POST /api/orders`: session, validation, pricing, the user's index object, a **new** order object (stored, unifiedorder built, signed, answered at once, its answer parsed and verified), paySign"],
  ["createFollowUp", "its follow-up (alarm)", "the alarm the creation armed, as the runtime runs it (no Worker): the order's entry written to the operator's index (D1), the alarm armed for the order's expiry"],
  ["notify", "payment notification", "`POST /api/pay/notify` for a distinct pending order whose object is in memory: parse, verify (HMAC-SHA256), the order object's transition to paid. Cloudflare evicts an object after ~10 s idle; a notification that finds its object evicted also pays the runtime's start of it (last row)"],
  ["notifyFollowUp", "its follow-up (alarm)", "the alarm the payment armed: the order's index entry rewritten as paid (D1); no alarm left after it"],
  ["notifyV3", "payment notification, API v3", "`POST /api/v3/pay/notify` (issue #17): the WeChat Pay signature checked (SHA256withRSA over the raw body), the resource decrypted (AEAD_AES_256_GCM), then the same transition to paid"],
  ["notifyRepeat", "repeated notification", "the same notification again (the storm's case): parse, verify, the object answers \"already paid\""],
  ["notifyForged", "forged notification", "a notification whose sign is wrong: parse, verify, FAIL; no object is called"],
  ["getOrder", "order status", "`GET /api/orders/:id` by its payer, for a paid order (the app asking after paying): session, one call to the order's object, which checks the payer itself"],
  ["healthz", "`GET /healthz`", "the app's floor: request id, log context, body limit, routing, a JSON answer"],
  ["newEmptyObject", "runtime: a new empty Durable Object", "the bench Worker calling a method that does nothing on a new object: what the runtime itself spends to start one (not our code)"],
  ["objectWrites", "runtime: a payment's writes, bare", "the bench Worker calling an object in memory that holds a pending order's row and history (two small tables) and, with none of our code, does what a payment makes the order object do to storage: the row's UPDATE and a history INSERT in one `transactionSync`, then `setAlarm`. The runtime's floor under the notification's object share"],
];

/** Rows that are an object's alarm run, invoked by the bench instead of the runtime. */
const FOLLOW_UP_ROWS = new Set(["createFollowUp", "notifyFollowUp"]);

function renderHandler(r, p) {
  const h = r.handler;
  if (!h) return;
  p("## 2. The Worker's own CPU per request");
  p();
  p("The service's app (src/app.ts) and its Durable Object classes, bundled by esbuild with bench/handler/worker.ts and run by Miniflare " +
    `${r.machine.miniflare} in one workerd process as two Workers, so that the objects have an isolate of their own as in production. ` +
    "Each run is one bench request that hands its requests to `app.fetch` one after another and times them with workerd's clock. " +
    "Nothing waits: WeChat is a fake peer inside each isolate (code2session answered from the code, one unifiedorder answer and the " +
    "notifications signed before timing by the simulator's own code), KV is a Map, the rate limiters always allow. So the time of a run is " +
    "CPU: the *CPU ÷ time* column checks it against the workerd process's CPU counters. Durable Object storage is the real local SQLite, " +
    `its files on ${h.storage} (see *work files* above), and the operator's index a real local D1 database. Logging is on, as deployed ` +
    "(console output goes to workerd's stdout).");
  p();
  p("A change to an order arms the object's alarm for at once: the alarm writes the order's entry to the index (and delivers merchant " +
    "events, when a webhook is set; none is here). The bench holds each alarm when the runtime fires it and runs it later, alone and timed, " +
    "as the *follow-up* rows: so a request's figure is the request's own, and the alarm's work is counted, not lost or mixed in.");
  p();
  p(`Each endpoint: a warm-up, then ${h.runs} timed runs; the figure is the median µs per request of the runs (min–max). One more run of each ` +
    "is profiled in both isolates at once (V8's sampling profiler, 100 µs): each isolate's samples in its own code (JavaScript, the runtime " +
    "built-ins it calls, its garbage collector) split the median between the Worker and its Durable Objects. workerd runs both isolates on " +
    "one thread and an isolate's sampler takes no sample while the other runs, so a sample counts for at most 1.5 times the median interval " +
    "(otherwise the Worker's samples carry the object's time inside the call to it, and the two shares add up to about twice the run). The " +
    "split stays approximate: the runtime's work outside any script (`(program)`) is left out of both shares, and the runtime's start of an " +
    "object shows mostly on the calling side, inside the call (the last row: a call that does nothing on a new object).");
  p();
  p("| request | what it does | µs per request | Worker | Durable Objects | CPU ÷ time | timed requests |");
  p("|---|---|---|---|---|---|---|");
  for (const [key, label, what] of HANDLER_ROWS) {
    const e = h.endpoints[key];
    if (!e) continue;
    const part = (v) => (v === null ? "–" : Math.round(v * 1000).toLocaleString("en"));
    // An alarm run has no Worker: the calling side is the bench's own call into the object (as for the last row).
    const worker = FOLLOW_UP_ROWS.has(key) ? `(${part(e.workerMsPerRequest)})` : part(e.workerMsPerRequest);
    p(`| ${label} | ${what} | **${part(e.msPerRequest.median)}** (${part(e.msPerRequest.min)}–${part(e.msPerRequest.max)}) | ${worker} | ` +
      `${part(e.objectsMsPerRequest)} | ${e.cpuToInsideClock.toFixed(2)} | ${e.requestsTimed.toLocaleString("en")} |`);
  }
  p();
  p("The follow-up rows' Worker column, in brackets, is the bench Worker calling the object to run its alarm (in production the runtime " +
    "invokes the alarm, with no Worker): the runtime's cost of a call, as in the last row, not the service's.");
  p();
  const n = h.endpoints.notify;
  const repeat = h.endpoints.notifyRepeat;
  renderBaseline(r, p);
  renderCosts(r, p);
  const v3 = h.endpoints.notifyV3;
  const sent = (key) => h.endpoints[key].requestsTimed + h.plan[key].count + h.plan[key].warmup;
  p(`Checks: ${n.transitionLogLines} \`order_transition\` lines for the ${sent("notify")} distinct v2 notifications sent ` +
    `(warm-up, timed and profiled runs)${v3 ? `, ${v3.transitionLogLines} for the ${sent("notifyV3")} v3 ones` : ""}, ${repeat.transitionLogLines} for the ${sent("notifyRepeat")} repeats; ` +
    `every answer was checked (status and body) and a wrong one stops the run.`);
  p();
}

/** The same requests measured on the baseline commit (BENCH_BASELINE) in the same run, with the same harness. */
function renderBaseline(r, p) {
  const b = r.handlerBaseline;
  if (!b) return;
  const h = r.handler;
  p(`### Before and after: ${b.source.ref} (${b.source.commit.slice(0, 7)}) and this code, in the same run`);
  p();
  p(`\`BENCH_BASELINE=${b.source.ref}\` measured that commit's src/ and sim/ with this run's harness, beside this code: each in a workerd ` +
    "of its own, the timed runs alternating (run *k* of one, then run *k* of the other, the order swapped every run), so that the machine's " +
    "changing load weighs on both alike. *Run by run* is the median of the ratios after ÷ before of runs made back to back (with their " +
    "range): the figure to trust when the machine is busy. µs per request; Worker and Durable Objects by the profiles' split.");
  p();
  p("| request | before | after | run by run | Worker before → after | Durable Objects before → after |");
  p("|---|---|---|---|---|---|");
  const us = (v) => (v === null || v === undefined ? "–" : Math.round(v * 1000).toLocaleString("en"));
  for (const [key, label] of HANDLER_ROWS) {
    const before = b.endpoints[key];
    const after = h.endpoints[key];
    if (!before || !after) continue;
    const ratios = after.samples.map((a, k) => a / before.samples[k]).sort((x, y) => x - y);
    const mid = ratios.length >> 1;
    const ratio = ratios.length % 2 ? ratios[mid] : (ratios[mid - 1] + ratios[mid]) / 2;
    p(`| ${label} | ${us(before.msPerRequest.median)} (${us(before.msPerRequest.min)}–${us(before.msPerRequest.max)}) | **${us(after.msPerRequest.median)}** (${us(after.msPerRequest.min)}–${us(after.msPerRequest.max)}) | ` +
      `**${ratio.toFixed(2)}×** (${ratios[0].toFixed(2)}–${ratios[ratios.length - 1].toFixed(2)}) | ${us(before.workerMsPerRequest)} → ${us(after.workerMsPerRequest)} | ${us(before.objectsMsPerRequest)} → ${us(after.objectsMsPerRequest)} |`);
  }
  p();
}

/**
 * Cloudflare's published prices (Workers Paid plan), per million units beyond the monthly included
 * amounts, as read on PRICES.checked from the pages named in PRICES.sources.
 */
const PRICES = {
  checked: "2026-12-01",
  sources: [
    ["Workers", "https://developers.cloudflare.com/workers/platform/pricing/", "requests $0.30 and CPU time $0.02 per million ms beyond 10 million requests and 30 million CPU ms a month; $5 a month minimum (the same figures on the Workflows pricing page, which is \"identical to Workers Standard pricing\")"],
    ["Durable Objects", "https://developers.cloudflare.com/durable-objects/platform/pricing/", "requests $0.15 per million beyond 1 million, \"HTTP requests, RPC sessions, WebSocket messages, and alarm invocations\" (every RPC method call on a stub is its own session, so one request); duration $12.50 per million GB-s beyond 400,000 GB-s, wall-clock while active or idle but unable to hibernate, at 128 MB per object; SQLite storage (billed since January 2026): rows read $0.001 per million beyond 25 billion, rows written $1.00 per million beyond 50 million, each setAlarm() billed as a row written"],
    ["D1", "https://developers.cloudflare.com/d1/platform/pricing/", "rows read $0.001 per million beyond 25 billion a month, rows written $1.00 per million beyond 50 million (rows written count each index a write updates: what meta.rows_written reports)"],
    ["Workers KV", "https://developers.cloudflare.com/kv/platform/pricing/", "keys read $0.50 per million beyond 10 million, keys written $5.00 and deleted $5.00 per million beyond 1 million"],
  ],
  workersRequest: 0.3,
  workersCpuMs: 0.02,
  durableObjectRequest: 0.15,
  durableObjectGbSecond: 12.5,
  rowRead: 0.001,
  rowWritten: 1.0,
  d1RowRead: 0.001,
  d1RowWritten: 1.0,
  kvRead: 0.5,
  kvWrite: 5.0,
};

/** Wall-clock waits the objects spend on the network, which duration bills and the bench (everything answered at once) does not see. */
const ASSUMED_WAITS_MS = { unifiedOrder: 200, indexWrite: 20 };

/** The steps of one paid order, in the order the cost run makes them. */
const COST_STEPS = [
  ["login", "login"],
  ["createOrder", "order creation"],
  ["createFollowUp", "its follow-up (alarm: index entry)"],
  ["notify", "payment notification"],
  ["notifyFollowUp", "its follow-up (alarm: index entry)"],
  ["getOrder", "one status read"],
];

/** The billed units of one paid order's requests (counted exactly in the cost run), and what a million paid orders cost. */
function renderCosts(r, p) {
  const costs = r.handler.costs;
  if (!costs) return;
  const before = r.handlerBaseline?.costs ?? null;
  p("### What each request is billed for");
  p();
  p("Counted exactly, after the timed runs, for one new user's paid order: each step's Durable Object requests (RPC calls, and the alarm " +
    "invocations the changes arm, run as the runtime runs them), `sql.exec` statements with the `rowsRead` / `rowsWritten` of their cursors " +
    "(what Cloudflare bills), alarm writes (each billed as a row written), D1 statements with the rows D1 reports for them, and KV " +
    "operations. The order creation includes creating the new user's index object; a returning user's costs less. A paid order's object " +
    "keeps no alarm after its last follow-up: nothing fires at its expiry." + (before ? ` Before → after: ${r.handlerBaseline.source.ref} → this code.` : ""));
  p();
  p("| request | Durable Object requests | SQL statements | rows read | rows written | alarm writes | D1 statements | D1 rows read | D1 rows written | KV reads | KV writes |");
  p("|---|---|---|---|---|---|---|---|---|---|---|");
  const show = (now, was) => (was === undefined || was === now ? String(now) : `${was} → **${now}**`);
  const cell = (key, field) => show(costs[key]?.[field] ?? 0, before?.[key]?.[field]);
  const alarmWrites = (c) => (c ? (c.alarmsSet ?? 0) + (c.alarmsDeleted ?? 0) : undefined);
  const totals = {};
  for (const [key, label] of COST_STEPS) {
    if (!costs[key]) continue;
    p(`| ${label} | ${cell(key, "durableObjectRequests")} | ${cell(key, "sqlExecs")} | ${cell(key, "rowsRead")} | ${cell(key, "rowsWritten")} | ` +
      `${show(alarmWrites(costs[key]), before ? alarmWrites(before[key]) : undefined)} | ${cell(key, "d1Statements")} | ${cell(key, "d1RowsRead")} | ${cell(key, "d1RowsWritten")} | ${cell(key, "kvReads")} | ${cell(key, "kvWrites")} |`);
    for (const field of ["durableObjectRequests", "sqlExecs", "rowsRead", "rowsWritten", "d1Statements", "d1RowsRead", "d1RowsWritten", "kvReads", "kvWrites"]) {
      totals[field] = { now: (totals[field]?.now ?? 0) + (costs[key][field] ?? 0), was: (totals[field]?.was ?? 0) + (before?.[key]?.[field] ?? 0) };
    }
    totals.alarm = { now: (totals.alarm?.now ?? 0) + alarmWrites(costs[key]), was: (totals.alarm?.was ?? 0) + (before ? alarmWrites(before[key]) ?? 0 : 0) };
  }
  const total = (field) => `**${before && totals[field].was !== totals[field].now ? `${totals[field].was} → ${totals[field].now}` : totals[field].now}**`;
  p(`| **one paid order** | ${total("durableObjectRequests")} | ${total("sqlExecs")} | ${total("rowsRead")} | ${total("rowsWritten")} | ${total("alarm")} | ${total("d1Statements")} | ${total("d1RowsRead")} | ${total("d1RowsWritten")} | ${total("kvReads")} | ${total("kvWrites")} |`);
  p();
  const now = orderCost(r.handler, costs);
  const was = before ? orderCost(r.handlerBaseline, before) : null;
  p("### One million paid orders at Cloudflare's prices");
  p();
  p(`Each order: a login, its creation, its payment notification, one status read, and the two alarm runs the creation and the payment arm. Prices as published, read on ${PRICES.checked}:`);
  p();
  for (const [name, url, what] of PRICES.sources) p(`- ${name}, <${url}>: ${what}.`);
  p();
  p("Marginal cost, that is past the monthly included amounts and the $5 minimum. Workers CPU is the Worker isolate's share of each " +
    "request measured above (this machine's CPU, not Cloudflare's). Durable Object duration is wall-clock time while an object is " +
    "active: the objects' share measured above for every request and alarm run, plus the waits the bench does not have: WeChat's " +
    `unifiedorder, which the new order's object awaits (assumed ${ASSUMED_WAITS_MS.unifiedOrder} ms), and each index write to D1 (assumed ${ASSUMED_WAITS_MS.indexWrite} ms).`);
  p();
  p(`| item | units per million orders | price per million units | cost (USD)${was ? " | before" : ""} |`);
  p(`|---|---|---|---|${was ? "---|" : ""}`);
  for (const [i, row] of now.rows.entries()) {
    p(`| ${row.item} | ${fmtUnits(row.units)} | $${row.price} | ${row.cost.toFixed(2)}${was ? ` | ${was.rows[i].cost.toFixed(2)}` : ""} |`);
  }
  p(`| **total** | | | **${now.total.toFixed(2)}**${was ? ` | ${was.total.toFixed(2)}` : ""} |`);
  p();
}

/** A million paid orders' billed units and their cost at PRICES. */
function orderCost(handler, costs) {
  const sum = (field) => COST_STEPS.reduce((total, [key]) => total + (costs[key]?.[field] ?? 0), 0);
  const share = (key, side) => handler.endpoints[key]?.[side] ?? 0;
  const workerMs = ["login", "createOrder", "notify", "getOrder"].reduce((total, key) => total + share(key, "workerMsPerRequest"), 0);
  const indexWrites = sum("d1Statements") > 0 ? COST_STEPS.filter(([key]) => (costs[key]?.d1Statements ?? 0) > 0).length : 0;
  const objectMs =
    ["createOrder", "createFollowUp", "notify", "notifyFollowUp", "getOrder"].reduce((total, key) => total + share(key, "objectsMsPerRequest"), 0) +
    ASSUMED_WAITS_MS.unifiedOrder + ASSUMED_WAITS_MS.indexWrite * indexWrites;
  const rows = [
    { item: "Workers requests", units: 4e6, price: PRICES.workersRequest },
    { item: "Workers CPU ms", units: workerMs * 1e6, price: PRICES.workersCpuMs },
    { item: "Durable Object requests (alarm runs included)", units: sum("durableObjectRequests") * 1e6, price: PRICES.durableObjectRequest },
    { item: "Durable Object duration, GB-s (128 MB)", units: 0.125 * (objectMs / 1000) * 1e6, price: PRICES.durableObjectGbSecond },
    { item: "Durable Object SQLite rows read", units: sum("rowsRead") * 1e6, price: PRICES.rowRead },
    { item: "Durable Object SQLite rows written (alarm writes included)", units: (sum("rowsWritten") + sum("alarmsSet") + sum("alarmsDeleted")) * 1e6, price: PRICES.rowWritten },
    { item: "D1 rows read", units: sum("d1RowsRead") * 1e6, price: PRICES.d1RowRead },
    { item: "D1 rows written", units: sum("d1RowsWritten") * 1e6, price: PRICES.d1RowWritten },
    { item: "KV reads", units: sum("kvReads") * 1e6, price: PRICES.kvRead },
    { item: "KV writes", units: sum("kvWrites") * 1e6, price: PRICES.kvWrite },
  ].map((row) => ({ ...row, cost: (row.units / 1e6) * row.price }));
  return { rows, total: rows.reduce((t, row) => t + row.cost, 0) };
}

function fmtUnits(v) {
  return Math.round(v).toLocaleString("en");
}

function rate(s) {
  return `${fmtInt(s.median)} (±${(s.spreadPct / 2).toFixed(1)} %)`;
}

function windows(counts) {
  if (!counts || counts.length === 0) return "–";
  const sorted = [...counts].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return `${median} (${sorted[0]}–${sorted[sorted.length - 1]}), ${counts.length} s`;
}

function fmtInt(v) {
  return Math.round(v).toLocaleString("en");
}

function us(opsPerSecond) {
  return (1e6 / opsPerSecond).toFixed(2);
}

function ms(v) {
  return v === null || v === undefined ? "–" : v.toFixed(3);
}

if (import.meta.url === (await import("node:url")).pathToFileURL(process.argv[1] ?? "").href) {
  const root = join(dirname(fileURLToPath(import.meta.url)), "..");
  const results = JSON.parse(readFileSync(join(root, "bench/results/latest.json"), "utf8"));
  writeFileSync(join(root, "BENCHMARKS.md"), renderReport(results));
  console.log("wrote BENCHMARKS.md");
}
