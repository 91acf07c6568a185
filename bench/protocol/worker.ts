// The workerd micro-benchmark Worker: runs one op back to back inside a request and answers how many
// completed in how long (workerd's own clock). Ours, plus MD5 by spark-md5 (what sign.ts uses) against
// workerd's crypto.subtle.digest("MD5"), and HMAC with a per-call against a reused CryptoKey (diagnostics).
import SparkMD5 from "spark-md5";
import { KEY, measure, ourOps, prepareFixtures, signingString, type Fixtures, type OpSet } from "./ours";

const encoder = new TextEncoder();
/** In-flight digests per batch for the concurrent subtle variant. */
const CONCURRENCY = 64;

let ready: Promise<{ fixtures: Fixtures; ops: OpSet }> | null = null;

async function setup(): Promise<{ fixtures: Fixtures; ops: OpSet }> {
  const fixtures = await prepareFixtures();
  const message = encoder.encode(signingString(fixtures.signFields, KEY));
  const messageBuffer = message.buffer.slice(message.byteOffset, message.byteOffset + message.byteLength) as ArrayBuffer;
  const hmacKey = await crypto.subtle.importKey("raw", encoder.encode(KEY), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const diagnostics: OpSet = {
    "md5.sparkMd5": { async: false, run: () => SparkMD5.ArrayBuffer.hash(messageBuffer) },
    "md5.subtleDigest": { async: true, run: () => crypto.subtle.digest("MD5", message) },
    "md5.subtleDigestConcurrent": {
      async: true,
      // one op = CONCURRENCY digests awaited together; divided back out by the caller
      run: () => Promise.all(Array.from({ length: CONCURRENCY }, () => crypto.subtle.digest("MD5", message))),
    },
    "hmac.importKeyPerCall": {
      async: true,
      run: async () => {
        const key = await crypto.subtle.importKey("raw", encoder.encode(KEY), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
        return crypto.subtle.sign("HMAC", key, message);
      },
    },
    "hmac.reusedKey": { async: true, run: () => crypto.subtle.sign("HMAC", hmacKey, message) },
  };
  return { fixtures, ops: { ...ourOps(fixtures), ...diagnostics } };
}

function hex(buffer: ArrayBuffer): string {
  return [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export default {
  async fetch(request: Request): Promise<Response> {
    ready ??= setup();
    const { fixtures, ops } = await ready;
    const url = new URL(request.url);
    if (url.pathname === "/ops") return Response.json({ ops: Object.keys(ops), concurrency: CONCURRENCY });
    if (url.pathname === "/check") {
      const message = encoder.encode(signingString(fixtures.signFields, KEY));
      const run = (name: string) => ops[name]!.run();
      return Response.json({
        expectedMd5: fixtures.expectedMd5,
        expectedHmac: fixtures.expectedHmac,
        md5Spark: (await run("md5.sparkMd5")) as string,
        md5Subtle: hex(await crypto.subtle.digest("MD5", message)),
        verify: ((await run("verifyNotification")) as { ok: boolean }).ok,
      });
    }
    const name = url.searchParams.get("op") ?? "";
    const op = ops[name];
    if (!op) return new Response(`unknown op ${name}`, { status: 404 });
    const ms = Number(url.searchParams.get("ms") ?? "400");
    const sample = await measure(op.run, op.async, ms);
    const perOp = name === "md5.subtleDigestConcurrent" ? CONCURRENCY : 1;
    return Response.json({ ops: sample.ops * perOp, ms: sample.ms, rate: sample.rate * perOp });
  },
};
