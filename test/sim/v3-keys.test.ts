// Which of WeChat's keys signs v3 answers (§4.3): the WeChat Pay public key, the platform
// certificate, or, during migration, the public key only for requests that name it; the
// /v3/certificates download; and WECHATPAY/SIGNTEST/ probes in answers.
import { describe, expect, it } from "vitest";
import { readCertificatesAnswer } from "../../src/wechat/v3";
import { CONFIG } from "./helpers";
import { PLATFORM_SERIAL, V3, v3Rig, verify } from "./v3-helpers";

const QUERY = `/v3/pay/transactions/out-trade-no/ANYORDER01?mchid=${CONFIG.mchId}`;

describe("v3 key modes", () => {
  it("public_key (the default): answers are signed with the WeChat Pay public key, named PUB_KEY_ID_…", async () => {
    const answer = await v3Rig().call("GET", QUERY);
    expect(answer.headers.get("Wechatpay-Serial")).toBe(V3.publicKeyId);
    expect(answer.check).toEqual({ ok: true, serial: V3.publicKeyId });
  });

  it("certificate: answers are signed with the platform certificate's key, named by its serial", async () => {
    const r = v3Rig();
    expect((await r.control("/__sim/settings", { v3KeyMode: "certificate" })).json.v3KeyMode).toBe("certificate");
    const answer = await r.call("GET", QUERY, undefined, { serial: V3.publicKeyId });
    expect(answer.headers.get("Wechatpay-Serial")).toBe(PLATFORM_SERIAL);
    expect(answer.check).toEqual({ ok: true, serial: PLATFORM_SERIAL });
  });

  it("migration: the public key only when the request names it in Wechatpay-Serial, else the certificate", async () => {
    const r = v3Rig();
    await r.control("/__sim/settings", { v3KeyMode: "migration" });
    expect((await r.call("GET", QUERY)).check).toEqual({ ok: true, serial: PLATFORM_SERIAL });
    expect((await r.call("GET", QUERY, undefined, { serial: V3.publicKeyId })).check).toEqual({ ok: true, serial: V3.publicKeyId });
    expect((await r.call("GET", QUERY, undefined, { serial: "PUB_KEY_ID_0000000000000000000000000000000001" })).check).toEqual({ ok: true, serial: PLATFORM_SERIAL });
  });

  it("every answer carries the Wechatpay-* headers, its timestamp the sim time and a fresh nonce", async () => {
    const r = v3Rig();
    r.clock.advance(1000);
    const [a, b] = [await r.call("GET", QUERY), await r.call("GET", QUERY)];
    expect(a.headers.get("Wechatpay-Timestamp")).toBe(String(Math.floor(r.sim.now() / 1000)));
    expect(a.headers.get("Wechatpay-Nonce")).toMatch(/^[0-9A-Za-z]{32}$/);
    expect(a.headers.get("Wechatpay-Nonce")).not.toBe(b.headers.get("Wechatpay-Nonce"));
    expect(a.headers.get("Wechatpay-Signature-Type")).toBe("WECHATPAY2-SHA256-RSA2048");
  });

  it("refuses an unknown key mode", async () => {
    const r = v3Rig();
    expect((await r.control("/__sim/settings", { v3KeyMode: "both" })).status).toBe(400);
    expect((await r.control("/__sim/settings", { v3MigrationShare: 1.5 })).status).toBe(400);
    expect((await r.control("/__sim/settings", { v3ProbeAnswers: -1 })).status).toBe(400);
    expect((await r.control("/__sim/settings")).json).toMatchObject({ v3KeyMode: "public_key", v3MigrationShare: 0.5, v3ProbeAnswers: 0 });
  });
});

describe("GET /v3/certificates", () => {
  it.each(["certificate", "migration"])("in %s mode serves the platform certificate, encrypted with the APIv3 key", async (mode) => {
    const r = v3Rig();
    await r.control("/__sim/settings", { v3KeyMode: mode });
    const answer = await r.call("GET", "/v3/certificates");
    expect(answer.status).toBe(200);
    expect(answer.check).toEqual({ ok: true, serial: PLATFORM_SERIAL });
    expect(answer.json).toEqual({
      data: [
        {
          serial_no: PLATFORM_SERIAL,
          effective_time: "2026-12-01T22:35:06+08:00",
          expire_time: "2031-11-30T22:35:06+08:00",
          encrypt_certificate: {
            algorithm: "AEAD_AES_256_GCM",
            associated_data: "certificate",
            nonce: expect.stringMatching(/^[0-9A-Za-z]{12}$/),
            ciphertext: expect.any(String),
          },
        },
      ],
    });
    const [certificate] = await readCertificatesAnswer(answer.text, V3.apiV3Key);
    expect(certificate).toMatchObject({ serialNo: PLATFORM_SERIAL, notBefore: Date.parse("2026-12-01T14:35:06Z"), notAfter: Date.parse("2031-11-30T14:35:06Z") });
  });

  it("in public_key mode lists no certificate: the merchant never had one", async () => {
    const answer = await v3Rig().call("GET", "/v3/certificates");
    expect(answer.json).toEqual({ data: [] });
    expect(answer.check.ok).toBe(true);
  });
});

describe("signature probes in answers", () => {
  it("the next N answers carry a WECHATPAY/SIGNTEST/ signature that does not verify; the call log marks them", async () => {
    const r = v3Rig();
    expect((await r.control("/__sim/settings", { v3ProbeAnswers: 2 })).json.v3ProbeAnswers).toBe(2);
    const answers = [await r.call("GET", QUERY), await r.call("GET", QUERY), await r.call("GET", QUERY)];
    expect(answers.map((answer) => answer.headers.get("Wechatpay-Signature")!.startsWith("WECHATPAY/SIGNTEST/"))).toEqual([true, true, false]);
    expect(answers.map((answer) => answer.check)).toEqual([
      { ok: false, reason: "signature_probe" },
      { ok: false, reason: "signature_probe" },
      { ok: true, serial: V3.publicKeyId },
    ]);
    // A merchant that ignored the prefix would still find the signature wrong.
    const stripped = new Headers(answers[0]!.headers);
    stripped.set("Wechatpay-Signature", stripped.get("Wechatpay-Signature")!.slice("WECHATPAY/SIGNTEST/".length));
    expect(await verify(stripped, answers[0]!.text, r.sim.now())).toEqual({ ok: false, reason: "bad_signature" });
    const { json } = await r.control<{ calls: { probe?: boolean }[] }>("/__sim/calls?api=v3_query");
    expect(json.calls.map((call) => call.probe ?? false)).toEqual([true, true, false]);
    expect((await r.control("/__sim/settings")).json.v3ProbeAnswers).toBe(0);
  });
});
